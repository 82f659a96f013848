// The Tuner: tune to a station and get a local Icecast-compatible stream of it.
//
//   alluvium::Tuner tuner(options);
//   std::string url = tuner.tune("https://radio.example/station.rss", ec);
//   // any player can now open `url` (http://127.0.0.1:8000/stream)
//
// The Tuner reads the playlist (and re-reads it as the station says), follows its
// schedule, fetches each item from the swarm (peers first, the gateway's seed, the origin
// only for bytes no peer has in time) and serves the stream on 127.0.0.1.
//
// Threads: the Tuner owns its threads. Every public call is thread-safe and may be made
// from any thread, concurrently with the others (tune() and stop() included). Events reach
// the caller through a bounded queue: set_notify() is called (on a Tuner thread) when events
// are waiting, and must not block or call back into the Tuner; take_events() drains the
// queue from any thread. Once stop() returns, the notify callback is not called again.
#pragma once

#include <alluvium/export.hpp>
#include <alluvium/schedule.hpp>
#include <alluvium/time.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace alluvium {

struct ALLUVIUM_EXPORT TunerOptions {
    // Gateways that give swarm metadata, tried in order (failover).
    std::vector<std::string> gateways = {"http://127.0.0.1:8767"};
    // Media, metadata and resume data; default $XDG_CACHE_HOME/alluvium or ~/.cache/alluvium.
    std::filesystem::path cache_dir;
    std::uint64_t cache_size = 2ull << 30;
    // Where the local stream listens; port 0 picks a free one.
    std::string stream_address = "127.0.0.1";
    std::uint16_t stream_port = 8000;
    // BitTorrent listen interfaces (libtorrent syntax).
    std::string bt_listen = "0.0.0.0:6881";
    // Join the Mainline DHT when a gateway offers its seed as a node, and from these nodes
    // ("host:port,...") if given: listeners then find each other without a tracker or a
    // gateway. Empty here, so that a program linking the library contacts no address it did
    // not name; alluvium-tune and the desktop player default to public_dht_routers
    // (alluvium/dht.hpp).
    bool dht = true;
    std::string dht_bootstrap;
    // Ask the home router to forward the BitTorrent port (UPnP and NAT-PMP), so that
    // listeners behind other routers can connect in: most listeners are behind NAT, and two
    // that cannot reach each other never trade. Off here, for the same reason as the DHT's
    // nodes; alluvium-tune and the desktop player turn it on (--no-port-mapping turns it
    // off). A loopback or local-network listen address is never mapped.
    bool port_mapping = false;
    // Bytes/s this listener uploads to its peers, all items together; 0: no limit. Set a
    // little under the uplink, so that its queue stays short for everything else.
    std::uint64_t upload_limit = 0;
    // How far ahead of the schedule the stream is produced (at least; more for low bit
    // rates so that a new player gets a 64 KB burst).
    Milliseconds lead{4000};
    // A player this far behind the schedule is dropped.
    Milliseconds max_listener_lag{10000};
    // A live station (a playlist that grows around now) is played this many segments
    // behind its newest one, so that every listener is in step and the next segments are
    // published before they are due. 0 plays at the live edge.
    unsigned live_delay_segments = 3;
    // Correct the local clock by the playlist server's Date header.
    bool correct_clock = true;
    // A web origin ("https://radio.example") whose pages may read the local server's
    // answers (/status, the stream) from scripts. Empty: none, only pages the local server
    // serves itself (docs/SECURITY.md). Pages elsewhere can still play the stream in an
    // <audio> element; they cannot read what is playing.
    std::string allow_origin;
    // The clock; default the system's. Tests pass their own.
    std::function<TimePoint()> clock;
};

struct ALLUVIUM_EXPORT ItemSummary {
    std::size_t index = 0;  // in the playlist
    std::string title;
    std::string media_url;
    std::string mime_type;
    TimePoint start;
    TimePoint end;
};

// A home router's answer to a port-forwarding request (TunerOptions::port_mapping).
struct ALLUVIUM_EXPORT PortMapping {
    std::string method;               // "UPnP" or "NAT-PMP"
    std::string protocol;             // "TCP", or "UDP" (uTP and the DHT); "" if not said
    std::uint16_t external_port = 0;  // the router forwards this port here; 0: it does not
    std::string error;                // why not
};

struct ALLUVIUM_EXPORT TunerStatus {
    bool tuned = false;
    std::string station;       // title
    std::string playlist;      // file or URL
    std::string stream_url;    // http://127.0.0.1:8000/stream
    std::string content_type;  // of the stream, once known
    AirState state = AirState::empty;
    std::vector<ItemSummary> previous;  // the airings before `now`, oldest first (up to 5)
    std::optional<ItemSummary> now;
    Milliseconds offset{0};  // into `now`
    std::vector<ItemSummary> next;
    Milliseconds buffer{0};  // how far the stream is produced ahead of the schedule
    std::uint64_t stalls = 0;
    Milliseconds stalled{0};
    std::uint64_t bytes_from_peers = 0;
    std::uint64_t bytes_from_gateway = 0;
    std::uint64_t bytes_from_origin = 0;
    std::uint64_t bytes_uploaded = 0;
    int peers = 0;                    // other listeners connected (each counted once)
    bool gateway_connected = false;   // to a gateway's seed
    std::uint64_t hash_failures = 0;  // pieces refused for a wrong hash (and fetched again)
    std::string swarm_error;          // the last cache disk or torrent error, e.g. a full disk
    std::int64_t download_rate = 0;   // bytes/s
    std::int64_t upload_rate = 0;
    bool port_mapping = false;               // forwarding asked of the home router
    bool port_mapping_unanswered = false;    // ... and no router answered in 15 s
    std::vector<PortMapping> port_mappings;  // the router's answers so far
    std::size_t listeners = 0;               // players on the local stream
    std::uint64_t listeners_dropped = 0;
    Milliseconds clock_offset{0};  // added to the local clock
    Milliseconds live_delay{0};    // how far behind the clock a live station plays (0: not live)
    std::string playlist_error;    // the last re-read's problem, if any
    std::string warning;
};

enum class TunerEventKind {
    tuned,           // the stream is up
    now_playing,     // an item started (or silence: `item` empty)
    schedule,        // the playlist changed
    stall,           // the stream fell behind the schedule
    recovered,       // ... and caught up
    playlist_error,  // a re-read failed; the old schedule stays
    swarm,           // periodic figures (every few seconds)
    port_mapping,    // the home router answered (or did not): port_forwarding() says how
};

struct ALLUVIUM_EXPORT TunerEvent {
    TunerEventKind kind = TunerEventKind::tuned;
    TimePoint at;
    std::optional<std::size_t> item;  // now_playing
    std::string title;
    std::string message;
};

[[nodiscard]] ALLUVIUM_EXPORT const char* to_string(TunerEventKind kind);

// The port forwarding in a few words, for people: "port 6881 forwarded by UPnP", "asking
// the router", "no router answered", "not forwarded (NAT-PMP: ...)", "off".
[[nodiscard]] ALLUVIUM_EXPORT std::string port_forwarding(const TunerStatus& status);

class ALLUVIUM_EXPORT Tuner {
  public:
    explicit Tuner(TunerOptions options = {});
    ~Tuner();  // stop()s
    Tuner(const Tuner&) = delete;
    Tuner& operator=(const Tuner&) = delete;

    // Reads the playlist (a file or an http(s) URL; blocks up to 30 s, or until stop()),
    // starts the local stream and returns its URL. On failure returns "" and sets `ec` and
    // `detail`. Tuning again switches station. After stop(), fails with
    // std::errc::operation_canceled.
    [[nodiscard]] std::string tune(const std::string& playlist, std::error_code& ec,
                                   std::string* detail = nullptr);
    // Stops the stream, the swarm and every thread, and makes a tune() in progress give
    // up. Blocks (a few seconds at most: the swarm saves what it has). Idempotent.
    void stop();

    // A copy of the current figures; an empty status before the first tune() and after
    // stop(). Does not block on the network; may wait briefly while tune() or stop() swaps
    // the running parts.
    [[nodiscard]] TunerStatus status() const;
    [[nodiscard]] std::string stream_url() const;  // "" while not tuned

    // Replaces the notify callback; once this returns, the previous one is not called again.
    void set_notify(std::function<void()> notify);
    [[nodiscard]] std::vector<TunerEvent> take_events();

    struct Impl;

  private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace alluvium
