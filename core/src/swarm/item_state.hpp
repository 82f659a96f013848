// The state behind one swarm Item (private to the swarm engine, core/src/swarm/).
//
// Threads: an item lives on the core's event loop (core/src/common/event_loop.hpp). Its
// lookups, deadlines, rescues and figures run there, and so do the engine's calls into it
// (the methods marked "loop"). Readers (the producer, the local server's /items/<n>) call the
// methods marked "any thread": they take the item's mutex, which no other file sees. Blocking
// work (a gateway lookup, a byte range over HTTP) runs on the loop's blocking threads and
// reports back to the loop.
#pragma once

#include <alluvium/fetch.hpp>

#include "../common/event_loop.hpp"
#include "engine.hpp"
#include "range_set.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <libtorrent/torrent_handle.hpp>
#include <map>
#include <mutex>
#include <set>

namespace alluvium::detail {

namespace lt = libtorrent;

// What `rate` bytes a second come to over `d` (none for a negative span).
inline std::uint64_t bytes_for(std::uint64_t rate, Milliseconds d) {
    return rate * static_cast<std::uint64_t>(std::max<std::int64_t>(d.count(), 0)) / 1000;
}

// How long a freshly joined swarm gets to deliver before the rescue path reads what is due
// (the gateway's copy; the origin only when the gateway cannot answer).
constexpr auto swarm_grace = std::chrono::seconds(2);

// A listener's random token for the origin share's draws (origin_share.cpp).
std::uint64_t random_share_token();

// What an item asks of its engine (implemented by SwarmEngine::Impl). Called on the loop.
class ItemHost {
  public:
    virtual ~ItemHost() = default;
    // Metadata for the item came (from a gateway): join its swarm.
    virtual void join(const std::shared_ptr<Item::State>& item, const SwarmMetadata& meta) = 0;
    // New bytes of the item are readable (any thread).
    virtual void data_arrived() = 0;
    // Some item on air is unfinished (later items wait their turn) / short of its next
    // seconds (later items come at a pace).
    [[nodiscard]] virtual bool on_air_busy() const = 0;
    [[nodiscard]] virtual bool on_air_short() const = 0;
};

// The swarm's figures of one item, as last read from libtorrent (loop).
struct ItemFigures {
    ByteSources sources;
    int connections = 0;
    std::size_t listeners = 0;      // other listeners connected (by peer id)
    std::size_t dht_listeners = 0;  // of those, found through the DHT
    bool gateway_connected = false;
    std::uint64_t hash_failures = 0;
    std::int64_t download_rate = 0;
    std::int64_t upload_rate = 0;
    std::chrono::steady_clock::time_point refreshed{};  // peers last asked of libtorrent
};

class Item::State : public std::enable_shared_from_this<Item::State> {
  public:
    using Steady = std::chrono::steady_clock;

    State(const ItemRequest& request, const SwarmOptions& options, EventLoop& loop,
          std::weak_ptr<ItemHost> host);
    ~State();
    State(const State&) = delete;
    State& operator=(const State&) = delete;

    // ---- lifetime (loop) -------------------------------------------------------------
    void start();     // the first handle came: look it up, watch its deadlines
    void park();      // the last handle went: no lookups or rescues; the torrent keeps seeding
    void shutdown();  // park() and close the files; idempotent
    // Handles counting (any thread): the first starts the item, the last parks it.
    void handle_added();
    void handle_dropped();
    [[nodiscard]] bool in_use() const { return handles_ > 0 || opening_ > 0; }
    void opening(int delta) { opening_ += delta; }
    [[nodiscard]] Steady::time_point idle_since() const;

    // ---- the swarm (loop) --------------------------------------------------------------
    // Joined (the engine added the torrent): `have` holds what libtorrent already has.
    void joined(const lt::torrent_handle& handle, const std::string& info_hash,
                const lt::torrent_info& info, const lt::typed_bitfield<lt::piece_index_t>& have,
                const SwarmMetadata& meta, int sentinel, const std::filesystem::path& file);
    // The piece priorities and sentinel for joining now (what playback already needs).
    void initial_priorities(int pieces, std::uint64_t piece_size,
                            const lt::typed_bitfield<lt::piece_index_t>& have,
                            std::vector<lt::download_priority_t>& priorities, int& sentinel) const;
    void left();  // the engine removed the torrent
    [[nodiscard]] const lt::torrent_handle& handle() const { return handle_; }
    [[nodiscard]] bool joined_swarm() const { return handle_.is_valid(); }
    void piece_finished(int piece);  // hashed; readable once on disk (settle)
    void settle();                   // pieces on disk join `have`
    void all_checked();              // a cached file was hashed: what it holds is readable
    void hash_failed();

    // The engine's tick, twice a second while items download: figures and deadlines.
    // update_figures() asks libtorrent (peers, status); status_update() takes what a
    // state_update_alert brought.
    void update_figures();
    void status_update(const lt::torrent_status& st);
    void apply_deadlines(bool force);
    [[nodiscard]] bool short_of_next_seconds() const;
    [[nodiscard]] bool on_air_unfinished() const;
    // Some item on air changed its state: a deferred lookup may go on.
    void on_air_changed();
    [[nodiscard]] ItemFigures figures() const;
    // Joined, and a piece playback may still want is not here (from the first piece wanted).
    [[nodiscard]] bool downloading() const;

    // ---- what the stream reads (any thread) -------------------------------------------
    std::size_t read(std::uint64_t offset, char* out, std::size_t max);
    void need(std::uint64_t offset, std::uint64_t bytes_per_second, Milliseconds starts_in);
    void need_header(std::uint64_t end);
    [[nodiscard]] ItemState state() const;
    [[nodiscard]] std::uint64_t size() const;
    [[nodiscard]] std::optional<MediaLayout> layout() const;
    [[nodiscard]] ByteSources sources() const;
    [[nodiscard]] std::string error() const;
    [[nodiscard]] std::uint64_t size_hint_or_zero() const { return size_hint_.value_or(0); }

    const std::string url;
    const std::string playlist;

  private:
    // What playback needs (written by need(), read on the loop; under mutex_).
    struct Need {
        bool set = false;
        std::uint64_t offset = 0;
        std::uint64_t rate = 0;  // bytes per second
        Steady::time_point at{};
        Milliseconds starts_in{0};
        std::uint64_t header = 0;  // bytes [0, header) wanted now
    };
    // What is readable, and from where (under mutex_).
    struct Pieces {
        ItemState state = ItemState::waiting;
        std::string error;
        std::vector<bool> have;  // verified pieces, on disk in `file`
        std::uint64_t piece_size = 0;
        std::uint64_t size = 0;
        std::filesystem::path file;
        int fd = -1;
        std::optional<MediaLayout> layout;
        RangeSet rescued;  // bytes from the rescue path (the origin's as they came; the
                           // gateway's checked piece by piece once `hashes` are known)
        // Of every piece, once joined (shared with the rescues that check a gateway's bytes).
        std::shared_ptr<const std::vector<lt::sha1_hash>> hashes;
        int rescue_fd = -1;
        std::uint64_t origin_size = 0;  // from the origin's Content-Range
        ItemFigures figures;
    };
    // The swarm's side (loop only).
    struct Swarm {
        std::string info_hash;  // 40 hex digits
        std::string seed_endpoint;
        // Hashed while some blocks were still being written: libtorrent hashes from its
        // store buffer, so a read of the file could still see holes. Readable once on disk.
        std::set<int> unflushed;
        // libtorrent 2.0.8 crashes when the cancel_non_critical() that set_piece_deadline()
        // posts runs after the torrent became a seed (its piece picker is gone; fixed in
        // 2.0.10). So while deadlines are in use one wanted piece, the sentinel, is held back
        // and the torrent cannot become a seed. Near the end, or when playback reaches it,
        // it is released once every posted cancel has run; urgency is then set by priority.
        int sentinel = -1;
        std::set<int> urgent;
        int lowest_wanted_piece = -1;  // -1: not known yet
        bool deadlines_dirty = false;
        int download_pace = 0;  // bytes/s, 0: none
        bool focused = false;   // pieces beyond the deadline window held back (a tune-in)
        bool warmed = false;    // the first seconds came: no more holding back
        Steady::time_point since{};
        // Listeners known, itself included (origin_share.cpp); 0 until a tracker has
        // answered or a peer is known.
        std::int64_t audience = 0;
        std::map<std::string, std::int64_t> peer_totals;  // connection -> payload so far
        bool settle_armed = false;
        boost::asio::steady_timer settle_timer;
        explicit Swarm(boost::asio::io_context& io) : settle_timer(io) {}
    };
    // Lookups and the rescue path (loop only).
    struct Fetching {
        std::size_t gateway = 0;  // the next to ask (failover)
        std::size_t failures_in_row = 0;
        bool looking = false;        // a lookup is on a blocking thread
        bool from_playlist = false;  // the playlist's .torrent was fetched (or is on its way)
        bool deferred = false;       // waiting for the item on air (lookup_wait)
        Steady::time_point looking_since{};
        // Without a swarm the origin is read ahead only once a gateway said the item is not
        // hashed yet, or none answered: not while the first answer is on its way.
        bool origin_allowed = false;
        bool rescuing = false;             // a range is on a blocking thread
        bool offered_earlier = false;      // what the origin gave before the swarm was joined
        std::string rescue_gateway;        // the gateway whose metadata joined the swarm
        std::set<std::string> distrusted;  // gateways that lied about this item (not asked)
        Steady::time_point gateway_paused_until{};
        std::set<int> offered;  // whole pieces handed to libtorrent (add_piece)
        std::set<int> shared;   // pieces whose origin-share time came (origin_share.cpp)
        boost::asio::steady_timer lookup_timer;
        boost::asio::steady_timer rescue_timer;
        explicit Fetching(boost::asio::io_context& io) : lookup_timer(io), rescue_timer(io) {}
    };

    // Lookups.
    void begin_lookup();
    void lookup_answered(const std::string& base, GatewayAnswer answer);
    // Why metadata cannot be used (its .torrent has another info-hash than it states, or
    // than the playlist publishes); empty when it can.
    [[nodiscard]] std::string refusal(const SwarmMetadata& meta) const;
    // Joins from the playlist's .torrent (no gateway, or none gave usable metadata).
    [[nodiscard]] bool can_join_from_playlist() const;
    void join_from_playlist();
    void joined_from_playlist(const std::optional<SwarmMetadata>& meta, std::string problem);
    // How long a lookup waits for the item on air (0: none): while that item is unfinished,
    // until this item plays within the swarm lead (the deadline window while the item on
    // air is still short of its next seconds).
    [[nodiscard]] Milliseconds lookup_wait() const;
    // The rescue path: when to look next, what to fetch, and fetching it.
    void schedule_rescue();
    // The next bytes the rescue path should fetch ([from, until)), or when to look again.
    struct RescueGap {
        std::uint64_t from = 0;
        std::uint64_t until = 0;
        std::optional<Steady::time_point> later;
        std::string why;  // for the debug log: when they play, how long in the swarm
        int piece = -1;
    };
    void rescue_at(Steady::time_point at);
    [[nodiscard]] RescueGap rescue_gap(Steady::time_point now, bool swarm,
                                       bool near_only) const;  // mutex_ held
    void rescue_check();
    void rescue_range(std::uint64_t from, std::uint64_t to, bool swarm);
    void rescue_done(bool got, std::uint64_t from, std::uint64_t to, bool swarm);
    // The gateway whose copy a rescue would read now; empty when none (loop).
    [[nodiscard]] std::string rescue_gateway_now() const;
    // The origin share (origin_share.cpp): with no gateway copy, the pieces whose drawn time
    // has come, and when the next one's comes (mutex_ held); share_origin() reads one of
    // them from the origin unless a peer has it (a rescue is then under way), else says when
    // to look again (loop).
    struct ShareTimes {
        std::vector<int> due;
        std::optional<Steady::time_point> next;
    };
    void note_audience(const lt::torrent_status& st);                    // loop
    [[nodiscard]] ShareTimes share_times(Steady::time_point now) const;  // mutex_ held
    std::optional<Steady::time_point> share_origin(Steady::time_point now);
    // On a blocking thread: bytes [from, to) from one source (`gateway` empty: the origin).
    // A gateway's bytes are checked piece by piece once the swarm is joined; `lied` is set
    // when one failed its hash.
    bool fetch_range(const std::string& from_url, const std::string& gateway, std::uint64_t from,
                     std::uint64_t to, const std::atomic<bool>& cancel, bool* lied = nullptr);
    // The origin's size, from a range's answer (Content-Range, or a whole answer's length).
    void note_origin_size(const HttpResponse& head);
    // Says why a range brought nothing (a transport error, else the HTTP status); an origin
    // that lost the item fails it when there is no swarm to fall back on.
    void range_failed(long status, const std::string& transport_error, const std::string& source,
                      bool origin);
    // Writes rescued bytes at `at` and makes them readable (any thread).
    bool store_rescued(std::uint64_t at, std::string_view bytes, bool origin);
    void offer_rescued(std::uint64_t from, std::uint64_t to);
    // With mutex_ held.
    [[nodiscard]] std::uint64_t known_size() const;
    [[nodiscard]] std::uint64_t playback_position(Steady::time_point at) const;
    [[nodiscard]] std::uint64_t available_end(std::uint64_t offset) const;
    [[nodiscard]] bool all_pieces() const;
    [[nodiscard]] bool all_here(std::size_t from, std::size_t to) const;
    [[nodiscard]] bool next_seconds_missing() const;
    [[nodiscard]] Milliseconds lead(Steady::time_point now) const;
    template <typename Bitfield>
    void add_readable(const Bitfield& readable);
    // Loop.
    void make_urgent(int piece, int ms);
    void release_sentinel();
    [[nodiscard]] bool few_left(const std::vector<bool>& have) const;
    int set_pace(Milliseconds lead, std::uint64_t rate);
    void focus(const std::vector<bool>& have, int last, bool missing);
    void wake_stream();

    const std::optional<std::uint64_t> size_hint_;
    const Milliseconds duration_hint_;
    const std::optional<TorrentLink> torrent_;  // the playlist's swarm metadata
    const SwarmOptions options_;
    EventLoop& loop_;
    const std::weak_ptr<ItemHost> host_;  // gone once the engine is
    const std::uint64_t share_token_ = random_share_token();

    mutable std::mutex mutex_;  // need_, pieces_
    Need need_;
    Pieces pieces_;
    Steady::time_point idle_since_{};

    lt::torrent_handle handle_;  // loop
    Swarm swarm_;
    Fetching fetching_;

    std::atomic<int> handles_{0};  // Item objects alive
    std::atomic<int> opening_{0};  // SwarmEngine::open() calls under way
    // Set when parked or shut down: blocking work in progress gives up.
    std::shared_ptr<std::atomic<bool>> cancel_ = std::make_shared<std::atomic<bool>>(false);
    bool started_ = false;  // loop
    bool closed_ = false;   // loop
    std::filesystem::path rescue_path_;
};

}  // namespace alluvium::detail
