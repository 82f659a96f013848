// The swarm engine (private to the core): fetches media items for playback from the
// swarm (libtorrent behind this header), with the origin as a rescue for bytes no peer has
// in time. One engine per Tuner.
//
// Threads: the engine keeps its state on the core's event loop (common/event_loop.hpp):
// libtorrent's alerts are posted there as they come, each item's lookups, deadlines and
// rescues run there, and blocking requests run on the loop's blocking threads. open() and
// the Item calls are thread-safe and return quickly; nothing here blocks on the network.
#pragma once

#include <alluvium/gateway_client.hpp>
#include <alluvium/media.hpp>
#include <alluvium/playlist.hpp>
#include <alluvium/time.hpp>

#include "../common/event_loop.hpp"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace alluvium::detail {

struct SwarmOptions {
    std::filesystem::path cache_dir;        // media files, metadata and resume data
    std::uint64_t cache_size = 2ull << 30;  // bytes of media kept on disk
    std::vector<std::string> gateways;      // gateway base URLs, tried in order
    std::string listen_interfaces = "0.0.0.0:6881";
    std::int64_t upload_rate_limit = 0;  // bytes/s, 0: none
    // Ask the origin for bytes that playback needs within this time and no peer has.
    Milliseconds rescue_margin{3000};
    // Deadlines are set for this much playback ahead of the read position.
    Milliseconds deadline_window{10000};
    // A later item is looked up, and its swarm joined, this long before it plays even while
    // the item on air is still coming (before that, it waits for the item on air).
    Milliseconds swarm_lead{45000};
    // Connections per item. An item has few pieces (a minute of audio: about 60), so a
    // listener soon has every one requested, and libtorrent's end game then asks each idle
    // peer for a block already on its way: with 50 peers most bytes came twice. With 5, two
    // listeners on a loaded machine sometimes never traded (a rescued piece not passed on,
    // a stall when the origin went away): 5 and 6 failures in 40 runs, none in 80 with 10.
    int peers_per_item = 10;
    // Join the Mainline DHT when a gateway offers its seed as a node (and from
    // `dht_bootstrap`, "host:port,...", if given): peers found without any tracker.
    bool dht = true;
    std::string dht_bootstrap;
    // Ask the home router to forward the listen port (UPnP and NAT-PMP, libtorrent's).
    bool port_mapping = false;
};

// One answer of a home router to a port-forwarding request (SwarmOptions::port_mapping).
struct PortMap {
    std::string method;               // "UPnP" or "NAT-PMP" (NAT-PMP or its successor, PCP)
    std::string protocol;             // "TCP", "UDP", "" while unknown
    std::uint16_t external_port = 0;  // forwarded to this listener; 0: not
    std::string error;                // why not
};

enum class ItemState {
    waiting,   // asking the gateway; bytes come from the origin meanwhile
    swarming,  // joined the swarm
    complete,  // every piece is here and verified
    failed,    // neither the gateway nor the origin can provide it
};

struct ByteSources {
    std::uint64_t peers = 0;      // payload from other listeners
    std::uint64_t gateway = 0;    // payload from the gateway's seed
    std::uint64_t origin = 0;     // bytes fetched from the media URL itself (rescue)
    std::uint64_t uploaded = 0;   // payload sent to other listeners
    std::uint64_t redundant = 0;  // payload received that was already had (libtorrent's count)
};

struct ItemRequest {
    std::string media_url;
    std::string playlist_url;           // for the gateway's allow-list; may be empty
    std::optional<std::uint64_t> size;  // from the playlist's enclosure, if any
    Milliseconds duration{0};           // from the playlist
    // The swarm metadata the playlist publishes: a gateway's answer or a .torrent with
    // another info-hash is refused, and without a gateway the item joins from it.
    std::optional<TorrentLink> torrent;
};

class Item;

class SwarmEngine {
  public:
    // The engine's work runs on `loop`, which must outlive it.
    SwarmEngine(SwarmOptions options, EventLoop& loop);
    // Stops every item, saves resume data (a few seconds at most). Not on the loop thread.
    ~SwarmEngine();
    SwarmEngine(const SwarmEngine&) = delete;
    SwarmEngine& operator=(const SwarmEngine&) = delete;

    // Starts getting an item (idempotent per media URL). The handle stays valid while held.
    [[nodiscard]] std::shared_ptr<Item> open(const ItemRequest& request);

    // Called (on the loop or a blocking thread) whenever new bytes of any item became
    // readable. Must not block or call back into the engine. Once this returns, the previous
    // callback is not running and is not called again: what it uses may go.
    void set_data_callback(std::function<void()> wake);

    struct Stats {
        ByteSources bytes;     // over every item since start
        int peers = 0;         // other listeners connected now, in the largest of the items' swarms
        int connections = 0;   // over every item, the gateway's seed included
        int dht_peers = 0;     // other listeners found through the DHT, in the largest swarm
        bool dht = false;      // the DHT is running
        bool gateway = false;  // connected to a gateway's seed
        std::uint64_t hash_failures = 0;  // pieces refused for a wrong hash (re-fetched)
        std::string error;                // the last disk or torrent error, if any
        std::int64_t download_rate = 0;   // payload bytes/s
        std::int64_t upload_rate = 0;
        std::uint16_t listen_port = 0;
        // Port forwarding asked of the home router: its answers so far, and whether the
        // time for a first answer has passed without one (libtorrent says nothing when
        // no router speaks UPnP or NAT-PMP).
        bool port_mapping = false;
        bool port_mapping_unanswered = false;
        std::vector<PortMap> port_maps;
        // Per item open or seeded, by media URL: where its bytes came from.
        std::vector<std::pair<std::string, ByteSources>> items;
    };
    // The figures now. On the loop thread only: it asks libtorrent.
    [[nodiscard]] Stats stats() const;

    struct Impl;

  private:
    std::shared_ptr<Impl> impl_;
};

// One media item: what the stream reads. Thread-safe.
class Item {
  public:
    // Copies up to `max` verified bytes at `offset` into `out`; returns how many (0: none
    // here yet). Never blocks on the network.
    std::size_t read(std::uint64_t offset, char* out, std::size_t max);

    // Playback will read from `offset` on, at `bytes_per_second`, starting in `starts_in`
    // (0: now). Sets piece deadlines and lets the rescue path fetch what would be late.
    void need(std::uint64_t offset, std::uint64_t bytes_per_second,
              Milliseconds starts_in = Milliseconds{0});

    // Bytes [0, end) are needed now as well (Ogg's header pages before a mid-item start).
    void need_header(std::uint64_t end);

    [[nodiscard]] ItemState state() const;
    [[nodiscard]] std::uint64_t size() const;  // 0 while unknown
    [[nodiscard]] std::optional<MediaLayout> layout() const;
    [[nodiscard]] ByteSources sources() const;
    [[nodiscard]] std::string error() const;
    [[nodiscard]] const std::string& media_url() const;

    class State;
    explicit Item(std::shared_ptr<State> state);
    ~Item();
    Item(const Item&) = delete;
    Item& operator=(const Item&) = delete;

  private:
    std::shared_ptr<State> state_;
};

}  // namespace alluvium::detail
