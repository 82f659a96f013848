// The state behind one swarm Item (private to the swarm engine).
#pragma once

#include "engine.hpp"
#include "range_set.hpp"

#include <atomic>
#include <condition_variable>
#include <libtorrent/torrent_handle.hpp>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace alluvium::detail {

namespace lt = libtorrent;

// Stable file-name key of a media URL (SHA-1, hex).
std::string url_key(const std::string& url);

struct Item::State {
    using Steady = std::chrono::steady_clock;

    State(const ItemRequest& request, const SwarmOptions& options);
    ~State();
    State(const State&) = delete;
    State& operator=(const State&) = delete;

    void start();     // starts the lookup and rescue threads (again after park())
    void park();      // stops them; the torrent keeps seeding
    void shutdown();  // park() and close the files; idempotent

    // Engine thread, twice a second.
    void update_sources();
    void apply_deadlines(bool force);
    // Whether this item plays within the deadline window and some of its next seconds are
    // not here yet: a tune-in, or a swarm falling behind. Items that play later wait.
    [[nodiscard]] bool short_of_next_seconds();
    // Whether this item plays within the deadline window and is not all here yet, from the
    // reader's position to its end (or is still waiting for a gateway's first answer):
    // items that play later are not looked up meanwhile (defer_lookup).
    [[nodiscard]] bool on_air_unfinished();

    // With `mutex` held. How far playback would have read by `at` at `rate` from the last
    // need(): the horizon of what is needed by then (the reader itself is at need_offset).
    [[nodiscard]] std::uint64_t playback_position(Steady::time_point at) const;
    [[nodiscard]] std::uint64_t available_end(std::uint64_t offset) const;
    [[nodiscard]] std::uint64_t known_size() const;
    // With `mutex` held: piece `p` is due in `ms`; release the sentinel (see below).
    void make_urgent(int p, int ms);
    void release_sentinel();
    [[nodiscard]] bool all_pieces() const;
    // With `mutex` held: whether pieces [from, to) are all in `have`.
    [[nodiscard]] bool all_here(std::size_t from, std::size_t to) const;
    // With `mutex` held: whether a piece from the reader's through its next 4 s is missing.
    [[nodiscard]] bool next_seconds_missing() const;
    // With `mutex` held: how long until the reader's next byte plays (< 0: it is late).
    [[nodiscard]] Milliseconds lead(Steady::time_point now) const;
    // With `mutex` held: pieces `readable` says are on disk join `have` (and leave
    // `unflushed`); the item is complete once every piece is readable.
    template <typename Bitfield>
    void add_readable(const Bitfield& readable) {
        for (int i = 0; i < readable.size() && static_cast<std::size_t>(i) < have.size(); ++i) {
            if (readable.get_bit(lt::piece_index_t{i})) {
                have[static_cast<std::size_t>(i)] = true;
                unflushed.erase(i);
            }
        }
        if (all_pieces())
            state = ItemState::complete;
    }

    const std::string url;
    const std::string playlist;
    const std::optional<std::uint64_t> size_hint;
    const Milliseconds duration_hint;
    const SwarmOptions options;

    // Set by the engine before start().
    std::function<void()> on_data;
    std::function<void(std::uint64_t)> on_origin_bytes;
    std::function<void(const SwarmMetadata&)> join_swarm;
    // Set by the engine: some item on air is short of its next seconds, so an item that
    // plays beyond the deadline window comes at a pace (see apply_deadlines).
    std::shared_ptr<const std::atomic<bool>> on_air_short;
    // Set by the engine: some item on air is unfinished (see on_air_unfinished).
    std::shared_ptr<const std::atomic<bool>> on_air_busy;

    mutable std::mutex mutex;
    std::condition_variable cv;
    ItemState state = ItemState::waiting;
    std::string error;

    // The swarm, once joined.
    lt::torrent_handle handle;
    std::string info_hash;   // of the swarm joined: 40 hex digits
    std::vector<bool> have;  // verified pieces, written to `file`
    // Pieces that passed their hash check while some of their blocks were still being
    // written: libtorrent hashes from its store buffer, so a read of the file could still
    // see holes. They join `have` once libtorrent says the piece is on disk.
    std::set<int> unflushed;
    std::uint64_t piece_size = 0;
    std::uint64_t size = 0;
    std::filesystem::path file;
    int fd = -1;
    std::string seed_endpoint;
    std::optional<MediaLayout> layout;
    bool deadlines_dirty = false;
    int download_pace = 0;  // bytes/s, 0: none (set_download_limit)
    bool focused = false;   // pieces beyond the deadline window held back (a tune-in)
    bool warmed = false;    // the first seconds came: no more holding back
    int lowest_wanted_piece = 0;
    // libtorrent 2.0.8 crashes when the cancel_non_critical() that set_piece_deadline()
    // posts runs after the torrent became a seed (its piece picker is gone; fixed upstream
    // in 2.0.10). So while piece deadlines are in use one wanted piece, the sentinel, is
    // held back (dont_download) and the torrent cannot become a seed. Near the end, or when
    // playback reaches it, the sentinel is released once every posted cancel has run, and
    // from then on urgency is set by piece priority alone (`urgent`).
    int sentinel = -1;
    std::set<int> urgent;

    // Bytes from the origin (rescue), not verified by piece hashes: the origin is the source.
    RangeSet rescued;
    std::filesystem::path rescue_path;
    int rescue_fd = -1;
    std::uint64_t origin_size = 0;  // from Content-Range
    // Pieces the origin gave whole, handed to libtorrent: it checks them against their hash,
    // stops asking peers for them, and serves them to other listeners.
    std::set<int> offered;
    Steady::time_point swarming_since{};
    // Without a swarm the origin is read ahead only once a gateway said the item is not
    // hashed yet, or none answered: not while the first answer is on its way.
    bool origin_allowed = false;
    Steady::time_point looking_since{};  // when the lookups began
    // The gateway whose metadata joined the swarm: the rescue path asks it for the bytes
    // the swarm is late with; not again for a while once it could not answer.
    std::string rescue_gateway;
    Steady::time_point gateway_rescue_paused_until{};

    // What playback needs.
    bool need_set = false;
    std::uint64_t need_offset = 0;
    std::uint64_t rate = 0;  // bytes per second
    Steady::time_point need_time{};
    Milliseconds starts_in{0};
    std::uint64_t header_need = 0;  // bytes [0, header_need) wanted now

    // Figures.
    ByteSources sources;
    int num_peers = 0;                // connections
    std::set<std::string> listeners;  // peer ids of the other listeners connected
    std::size_t dht_listeners = 0;    // of those, found through the DHT
    bool gateway_connected = false;
    std::uint64_t hash_failures = 0;  // pieces that failed their hash check
    std::int64_t download_rate = 0;
    std::int64_t upload_rate = 0;
    std::map<std::string, std::int64_t> peer_totals;  // connection -> payload received so far

    std::atomic<bool> stopping{false};
    std::atomic<int> handles{0};      // Item objects alive; 0 parks the threads
    std::atomic<int> opening{0};      // SwarmEngine::open() calls under way
    Steady::time_point idle_since{};  // when the last Item went (under `mutex`)
    bool started = false;
    bool closed = false;
    std::mutex threads_mutex;  // start/park/shutdown
    std::thread lookup_thread;
    std::thread rescue_thread;

  private:
    void lookup_loop();
    void defer_lookup();  // lookup_loop's first step
    void rescue_loop();
    // Bytes [from, to) for the rescue path: from the gateway's copy once the swarm is
    // joined, else (or when it cannot answer) from the origin.
    bool fetch_rescue(std::uint64_t from, std::uint64_t to);
    // Bytes from one source (`gateway` empty: the origin itself); false when none came.
    bool fetch_range(const std::string& from_url, const std::string& gateway, std::uint64_t from,
                     std::uint64_t to);
    void offer_rescued(std::uint64_t from, std::uint64_t to);
};

}  // namespace alluvium::detail
