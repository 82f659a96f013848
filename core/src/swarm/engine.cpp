// The swarm engine: one libtorrent session, the items it fetches, their byte sources. Its
// state lives on the core's event loop; libtorrent's alerts are posted there as they come.
#include "engine.hpp"

#include <alluvium/file.hpp>
#include <alluvium/swarm_settings.hpp>
#include <alluvium/text.hpp>

#include "../common/log.hpp"
#include "cache.hpp"
#include "item_state.hpp"

#include <algorithm>
#include <future>
#include <libtorrent/alert_types.hpp>
#include <libtorrent/extensions/smart_ban.hpp>
#include <libtorrent/read_resume_data.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/session_stats.hpp>
#include <libtorrent/torrent_status.hpp>
#include <libtorrent/write_resume_data.hpp>
#include <map>
#include <set>
#include <tuple>

namespace alluvium::detail {

namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

namespace {

// While items download, deadlines move with playback and figures change: this often.
constexpr auto tick_interval = std::chrono::milliseconds(500);
// What came since the last save is saved, and the cache trimmed, this often.
constexpr auto save_interval = std::chrono::seconds(30);

lt::settings_pack listener_settings(const SwarmOptions& o) {
    lt::settings_pack s;
    apply_swarm_settings(s, o.listen_interfaces);
    s.set_str(lt::settings_pack::user_agent, "Alluvium");
    set_peer_id_prefix(s, false);
    // Peers' connections and what they do only in a trace log: nothing here acts on them.
    const bool peers = log().should_log(spdlog::level::trace);
    s.set_int(lt::settings_pack::alert_mask,
              lt::alert_category::error | lt::alert_category::status | lt::alert_category::storage |
                  lt::alert_category::piece_progress |
                  (peers ? lt::alert_category::connect | lt::alert_category::peer
                         : lt::alert_category_t{}) |
                  (o.port_mapping ? lt::alert_category::port_mapping : lt::alert_category_t{}));
    // Port forwarding on the home router: a listener behind NAT that its router forwards
    // can be reached by others behind NAT (two unreachable listeners never trade).
    // libtorrent never maps a loopback or local-network listen address.
    s.set_bool(lt::settings_pack::enable_upnp, o.port_mapping);
    s.set_bool(lt::settings_pack::enable_natpmp, o.port_mapping);
    // A station's audience changes by the minute; so do its announces.
    s.set_int(lt::settings_pack::min_announce_interval, 30);
    // Streaming: a request that takes seconds is a stall; ask someone else.
    s.set_int(lt::settings_pack::piece_timeout, 5);
    s.set_int(lt::settings_pack::request_timeout, 5);
    s.set_int(lt::settings_pack::upload_rate_limit, static_cast<int>(o.upload_rate_limit));
    // Upload to four peers at a time, not to all that ask: in a cold start an uplink split
    // ten ways passed the pieces everyone wanted on too slowly, and the listeners read them
    // from the origin (docs/ARCHITECTURE.md, "The swarm policy").
    s.set_int(lt::settings_pack::unchoke_slots_limit, 4);
    // A station is a few hundred kB/s at most: two disk threads, not libtorrent's ten (each
    // of which wakes once a second when idle).
    s.set_int(lt::settings_pack::aio_threads, 2);
    s.set_int(lt::settings_pack::hashing_threads, 1);
    if (o.dht && !o.dht_bootstrap.empty())
        apply_dht_settings(s, o.dht_bootstrap);
    return s;
}

// "ip:port" or "[ip6]:port" -> endpoint; nullopt when malformed.
std::optional<lt::tcp::endpoint> endpoint_of(const std::string& text) {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos)
        return std::nullopt;
    std::string host = text.substr(0, colon);
    if (host.size() > 2 && host.front() == '[')
        host = host.substr(1, host.size() - 2);
    lt::error_code ec;
    const auto address = lt::make_address(host, ec);
    if (ec)
        return std::nullopt;
    try {
        const int port = std::stoi(text.substr(colon + 1));
        if (port <= 0 || port > 65535)
            return std::nullopt;
        return lt::tcp::endpoint(address, static_cast<std::uint16_t>(port));
    } catch (...) {
        return std::nullopt;
    }
}

}  // namespace

struct SwarmEngine::Impl : ItemHost, std::enable_shared_from_this<SwarmEngine::Impl> {
    Impl(SwarmOptions o, EventLoop& l)
        : options(std::move(o)),
          loop(l),
          cache{options.cache_dir / "media", options.cache_dir / "items"},
          tick_timer(l.context()),
          save_timer(l.context()) {}

    SwarmOptions options;
    EventLoop& loop;
    Cache cache;
    std::unique_ptr<lt::session> session;

    // Loop only.
    std::map<std::string, std::shared_ptr<Item::State>> items;      // by media URL
    std::map<lt::sha1_hash, std::shared_ptr<Item::State>> by_hash;  // joined items
    std::set<std::string> dht_nodes;  // bootstrap nodes gateways offered
    std::string last_error;           // the last disk or torrent error
    std::uint16_t listen_port = 0;    // from listen_succeeded_alert
    // The home router's answers, by method, mapping and local address (portmap alerts).
    std::map<std::tuple<bool, int, std::string>, PortMap> port_maps;
    Steady::time_point started = Steady::now();
    bool dht_on = false;  // DHT settings applied
    boost::asio::steady_timer tick_timer;
    bool ticking = false;
    bool fetching = true;  // libtorrent ticks fast (swarm_settings.hpp) until all is here
    boost::asio::steady_timer save_timer;
    bool stopping = false;
    bool stats_logged = false;  // the shutdown figures (session_stats_alert)

    // Any thread.
    std::mutex open_mutex;  // `opened`: open() runs on its caller's thread
    std::map<std::string, std::shared_ptr<Item::State>> opened;
    std::mutex wake_mutex;  // held while `wake` runs, so that replacing it waits for a call
    std::function<void()> wake;
    std::atomic<bool> air_short{true};  // a start is a tune-in, until the first tick looks
    std::atomic<bool> air_busy{true};

    // ItemHost.
    void join(const std::shared_ptr<Item::State>& item, const SwarmMetadata& meta) override {
        cache.remember(item->url, meta);
        join_swarm(item, meta, false);
    }
    void data_arrived() override {
        std::lock_guard lock(wake_mutex);
        if (wake)
            wake();
    }
    [[nodiscard]] bool on_air_busy() const override { return air_busy.load(); }
    [[nodiscard]] bool on_air_short() const override { return air_short.load(); }

    void start();
    void adopt(const std::shared_ptr<Item::State>& item);
    void join_swarm(const std::shared_ptr<Item::State>& item, const SwarmMetadata& meta,
                    bool from_cache);
    void add_dht_node(const std::string& node);
    void drain_alerts();
    void handle_alert(const lt::alert* a);
    // The entry of one router answer, by method, mapping and local address.
    PortMap& port_map(lt::portmap_transport transport, int mapping, const lt::address& local);
    [[nodiscard]] std::shared_ptr<Item::State> item_of(const lt::torrent_handle& h) const;
    void tick();
    void arm_tick();
    void set_fetching(bool on);
    void arm_save();
    void retire_idle();
    bool leave_swarm(const std::string& url);
    void enforce_cache_size();
    void shutdown();
    void save_all_resume_data();
};

// ---- joining ---------------------------------------------------------------------------------

void SwarmEngine::Impl::join_swarm(const std::shared_ptr<Item::State>& item,
                                   const SwarmMetadata& meta, bool from_cache) {
    if (stopping || item->joined_swarm())
        return;
    lt::error_code ec;
    auto info = std::make_shared<lt::torrent_info>(meta.torrent, ec, lt::from_span);
    if (ec || info->num_files() != 1 ||
        static_cast<std::uint64_t>(info->total_size()) != meta.size) {
        log().warn("{}: the gateway's metainfo is unusable ({})", item->url,
                   ec ? ec.message() : "size or file count");
        return;
    }
    lt::add_torrent_params p;
    const fs::path resume = cache.path(item->url, ".resume");
    if (from_cache && fs::exists(resume)) {
        p = lt::read_resume_data(slurp(resume), ec);
        if (ec) {
            p = lt::add_torrent_params{};
        } else if (p.have_pieces.count() < info->num_pieces()) {
            // Saved mid-download: the file may hold more than it says (a listener killed
            // after its last save) or a piece cut short. libtorrent hashes the file instead.
            p.have_pieces.clear();
            p.verified_pieces.clear();
            p.unfinished_pieces.clear();
        }
    }
    p.ti = info;
    p.save_path = cache.media.string();
    p.flags &= ~lt::torrent_flags::auto_managed;
    p.flags &= ~lt::torrent_flags::paused;
    p.flags &= ~lt::torrent_flags::seed_mode;
    int sentinel = -1;
    item->initial_priorities(info->num_pieces(), static_cast<std::uint64_t>(info->piece_length()),
                             p.have_pieces, p.piece_priorities, sentinel);
    if (meta.dht && !meta.seed.empty() && options.dht)
        add_dht_node(meta.seed);
    // The gateway said where its seed is, and which peers its tracker knows: connect at
    // once, before any announce.
    if (const auto seed = endpoint_of(meta.seed))
        p.peers.push_back(*seed);
    for (const std::string& peer : meta.peers) {
        if (const auto e = endpoint_of(peer))
            p.peers.push_back(*e);
    }
    std::error_code fs_ec;
    fs::create_directories(cache.media, fs_ec);
    p.max_connections = options.peers_per_item;
    lt::torrent_handle handle = session->add_torrent(std::move(p), ec);
    if (ec) {
        log().warn("{}: cannot join the swarm: {}", item->url, ec.message());
        return;
    }
    lt::torrent_status st;
    try {
        st = handle.status(lt::torrent_handle::query_pieces);
    } catch (const lt::system_error&) {
    }
    by_hash[info->info_hashes().v1] = item;
    item->joined(handle, meta.info_hash, *info, st.pieces, meta, sentinel,
                 cache.media / info->files().file_path(lt::file_index_t{0}));
    log().info("{}: joined the swarm ({} pieces of {} KiB{})", item->url, info->num_pieces(),
               info->piece_length() / 1024, from_cache ? ", from the cache" : "");
    arm_tick();
}

void SwarmEngine::Impl::add_dht_node(const std::string& node) {
    if (!options.dht || !dht_nodes.insert(node).second)
        return;
    std::string nodes = options.dht_bootstrap;
    for (const std::string& n : dht_nodes)
        nodes += (nodes.empty() ? "" : ",") + n;
    log().info("dht: bootstrapping from {}", nodes);
    dht_on = true;
    lt::settings_pack s;
    apply_dht_settings(s, nodes);
    session->apply_settings(std::move(s));
}

void SwarmEngine::Impl::adopt(const std::shared_ptr<Item::State>& item) {
    if (stopping)
        return;
    if (items.emplace(item->url, item).second) {
        if (auto cached = cache.recall(item->url, item->size_hint_or_zero() > 0
                                                      ? std::optional(item->size_hint_or_zero())
                                                      : std::nullopt))
            join_swarm(item, *cached, true);
    }
    arm_tick();
}

// ---- alerts ----------------------------------------------------------------------------------

std::shared_ptr<Item::State> SwarmEngine::Impl::item_of(const lt::torrent_handle& h) const {
    const auto found = by_hash.find(h.info_hashes().v1);
    return found == by_hash.end() ? nullptr : found->second;
}

void SwarmEngine::Impl::drain_alerts() {
    std::vector<lt::alert*> alerts;
    session->pop_alerts(&alerts);
    for (const lt::alert* a : alerts)
        handle_alert(a);
}

PortMap& SwarmEngine::Impl::port_map(lt::portmap_transport transport, int mapping,
                                     const lt::address& local) {
    const bool upnp = transport == lt::portmap_transport::upnp;
    PortMap& m = port_maps[{upnp, mapping, local.to_string()}];
    m.method = upnp ? "UPnP" : "NAT-PMP";
    return m;
}

void SwarmEngine::Impl::handle_alert(const lt::alert* a) {
    if (const auto* pf = lt::alert_cast<lt::piece_finished_alert>(a)) {
        // Hashed is not yet written: the piece waits until libtorrent has it on disk.
        if (auto item = item_of(pf->handle))
            item->piece_finished(static_cast<int>(pf->piece_index));
    } else if (const auto* tf = lt::alert_cast<lt::torrent_finished_alert>(a)) {
        // Every wanted piece is here (a held-back one may still be missing).
        if (item_of(tf->handle))
            tf->handle.save_resume_data();
    } else if (const auto* tc = lt::alert_cast<lt::torrent_checked_alert>(a)) {
        // A cached file was hashed (see join_swarm()): what it holds is readable now.
        if (auto item = item_of(tc->handle))
            item->all_checked();
    } else if (const auto* rd = lt::alert_cast<lt::save_resume_data_alert>(a)) {
        if (auto item = item_of(rd->handle)) {
            const std::vector<char> buf = lt::write_resume_data_buf(rd->params);
            replace_file(cache.path(item->url, ".resume"), std::string(buf.begin(), buf.end()));
        }
    } else if (const auto* hf = lt::alert_cast<lt::hash_failed_alert>(a)) {
        // A peer sent bytes that do not match the piece's hash: dropped, fetched again.
        log().info("swarm: {}", hf->message());
        if (auto item = item_of(hf->handle))
            item->hash_failed();
    } else if (lt::alert_cast<lt::torrent_error_alert>(a) != nullptr ||
               lt::alert_cast<lt::file_error_alert>(a) != nullptr) {
        // A full or failing cache disk: libtorrent pauses the item. Said in the status.
        log().warn("swarm: {}", a->message());
        last_error = "cache " + options.cache_dir.string() + ": " + a->message();
    } else if (const auto* su = lt::alert_cast<lt::state_update_alert>(a)) {
        for (const lt::torrent_status& st : su->status) {
            if (auto item = item_of(st.handle))
                item->status_update(st);
        }
    } else if (const auto* ls = lt::alert_cast<lt::listen_succeeded_alert>(a)) {
        if (ls->socket_type == lt::socket_type_t::tcp)
            listen_port = static_cast<std::uint16_t>(ls->port);
    } else if (const auto* pm = lt::alert_cast<lt::portmap_alert>(a)) {
        log().info("swarm: {}", pm->message());
        PortMap& m = port_map(pm->map_transport, static_cast<int>(pm->mapping), pm->local_address);
        m.protocol = pm->map_protocol == lt::portmap_protocol::udp ? "UDP" : "TCP";
        m.external_port = static_cast<std::uint16_t>(pm->external_port);
        m.error.clear();
    } else if (const auto* pe = lt::alert_cast<lt::portmap_error_alert>(a)) {
        log().info("swarm: {}", pe->message());
        PortMap& m = port_map(pe->map_transport, static_cast<int>(pe->mapping), pe->local_address);
        m.external_port = 0;
        m.error = pe->error.message();
    } else if (const auto* ss = lt::alert_cast<lt::session_stats_alert>(a)) {
        // Why bytes came twice, by libtorrent's own causes (asked for at shutdown).
        const auto counters = ss->counters();
        const auto metric = [&](const char* name) {
            const int i = lt::find_metric_idx(name);
            return i < 0 ? std::int64_t{0} : counters[static_cast<std::size_t>(i)];
        };
        log().info(
            "swarm: bytes received twice: {} timed out, {} cancelled, {} end game, {} unknown, "
            "{} from seeds, {} closing",
            metric("ses.waste_piece_timed_out"), metric("ses.waste_piece_cancelled"),
            metric("ses.waste_piece_end_game"), metric("ses.waste_piece_unknown"),
            metric("ses.waste_piece_seed"), metric("ses.waste_piece_closing"));
        stats_logged = true;
    } else if (lt::alert_cast<lt::listen_failed_alert>(a) != nullptr) {
        log().warn("swarm: {}", a->message());
    } else if (log().should_log(spdlog::level::trace)) {
        log().trace("swarm: {}", a->message());  // formatted only when it is wanted
    }
}

// ---- the tick --------------------------------------------------------------------------------

void SwarmEngine::Impl::set_fetching(bool on) {
    // libtorrent decides on requests and connections once a tick: every 100 ms while items
    // come (a tune-in's first request waited up to a tick), its default 500 ms once all is
    // here, so that an idle listener sleeps.
    if (on == fetching || !session)
        return;
    fetching = on;
    lt::settings_pack s;
    s.set_int(lt::settings_pack::tick_interval, on ? 100 : 500);
    session->apply_settings(std::move(s));
}

void SwarmEngine::Impl::arm_tick() {
    if (ticking || stopping)
        return;
    set_fetching(true);
    ticking = true;
    tick_timer.expires_after(tick_interval);
    tick_timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
        if (auto self = weak.lock(); self && !ec) {
            self->ticking = false;
            self->tick();
        }
    });
}

void SwarmEngine::Impl::tick() {
    // Deadlines move with playback, and later items wait for the item on air: both are
    // looked at while any item is not all here.
    bool shortfall = false;
    bool busy = false;
    bool downloading = false;
    for (const auto& [hash, item] : by_hash) {
        item->settle();
        shortfall = item->short_of_next_seconds() || shortfall;
        downloading = downloading || item->downloading();
    }
    for (const auto& [url, item] : items) {
        busy = busy || item->on_air_unfinished();
        downloading = downloading || (item->in_use() && !item->joined_swarm());
    }
    const bool was_short = air_short.exchange(shortfall);
    if ((air_busy.exchange(busy) && !busy) || (was_short && !shortfall)) {
        for (const auto& [url, item] : items)
            item->on_air_changed();
    }
    for (const auto& [hash, item] : by_hash) {
        if (item->downloading())
            item->update_figures();  // whose bytes they were, while they come
        item->apply_deadlines(false);
    }
    retire_idle();
    if (downloading)
        arm_tick();
    else
        set_fetching(false);
}

void SwarmEngine::Impl::arm_save() {
    save_timer.expires_after(save_interval);
    save_timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
        auto self = weak.lock();
        if (!self || ec || self->stopping)
            return;
        self->enforce_cache_size();
        // What came since the last save; answered by alerts.
        for (const auto& [hash, item] : self->by_hash) {
            if (item->handle().is_valid())
                item->handle().save_resume_data(lt::torrent_handle::only_if_modified);
        }
        self->arm_save();
    });
}

void SwarmEngine::Impl::retire_idle() {
    // Items nobody plays go on seeding, until more than `max_idle` do: a live station adds
    // one every few seconds, and every swarm costs connections (libtorrent's limit is per
    // session). The longest idle then leave the swarm; their files stay in the cache and,
    // opened again, they join from it.
    constexpr std::size_t max_idle = 12;
    std::vector<std::pair<Steady::time_point, std::string>> idle;
    for (const auto& [url, item] : items) {
        if (!item->in_use())
            idle.emplace_back(item->idle_since(), url);
    }
    if (idle.size() <= max_idle)
        return;
    std::sort(idle.begin(), idle.end());
    idle.resize(idle.size() - max_idle);
    for (const auto& [since, url] : idle) {
        if (leave_swarm(url))
            log().debug("{}: left the swarm (idle)", url);
    }
}

bool SwarmEngine::Impl::leave_swarm(const std::string& url) {
    const auto found = items.find(url);
    if (found == items.end() || found->second->in_use())
        return false;  // played, or being opened
    auto item = found->second;
    {
        std::lock_guard lock(open_mutex);
        const auto o = opened.find(url);
        if (o == opened.end() || o->second->in_use())
            return false;
        opened.erase(o);
    }
    const lt::torrent_handle h = item->handle();
    if (h.is_valid()) {
        by_hash.erase(h.info_hashes().v1);
        session->remove_torrent(h);
    }
    item->left();
    item->shutdown();
    items.erase(found);
    return true;
}

void SwarmEngine::Impl::enforce_cache_size() {
    struct Entry {
        fs::file_time_type used;
        std::string key;
        std::uint64_t bytes;
        fs::path media;
    };
    std::vector<Entry> entries;
    std::uint64_t total = 0;
    std::error_code ec;
    std::map<std::string, std::string> url_by_key;
    for (const auto& [url, item] : items)
        url_by_key[url_key(url)] = url;
    for (const auto& e : fs::directory_iterator(cache.items, ec)) {
        if (e.path().extension() != ".torrent")
            continue;
        lt::error_code lec;
        const lt::torrent_info info(slurp(e.path()), lec, lt::from_span);
        if (lec)
            continue;
        const fs::path media = cache.media / info.files().file_path(lt::file_index_t{0});
        const std::uint64_t bytes = fs::exists(media, ec) ? fs::file_size(media, ec) : 0;
        total += bytes;
        entries.push_back(
            {fs::last_write_time(e.path(), ec), e.path().stem().string(), bytes, media});
    }
    if (total <= options.cache_size)
        return;
    std::sort(entries.begin(), entries.end(),
              [](const Entry& a, const Entry& b) { return a.used < b.used; });
    for (const Entry& e : entries) {
        if (total <= options.cache_size)
            break;
        // Stop seeding it before its file goes; an item in use stays (playing or about to).
        if (const auto found = url_by_key.find(e.key);
            found != url_by_key.end() && !leave_swarm(found->second))
            continue;
        for (const char* ext : {".torrent", ".item", ".layout", ".resume"})
            fs::remove(cache.items / (e.key + ext), ec);
        fs::remove(e.media, ec);
        total -= std::min(total, e.bytes);
        log().info("cache: evicted {} ({} bytes)", e.media.filename().string(), e.bytes);
    }
}

// ---- start and stop --------------------------------------------------------------------------

void SwarmEngine::Impl::start() {
    std::error_code ec;
    fs::create_directories(cache.media, ec);
    fs::create_directories(cache.items, ec);
    lt::session_params params(listener_settings(options));
    {
        const ThreadNameScope name("libtorrent");  // its threads take this name
        session = std::make_unique<lt::session>(std::move(params));
    }
    dht_on = options.dht && !options.dht_bootstrap.empty();
    if (options.upload_rate_limit > 0)
        rate_limit_every_peer(*session);
    // Finds the peer that sent a corrupt piece and bans it (BEP-less, libtorrent's own).
    session->add_extension(&lt::create_smart_ban_plugin);
    // Called on libtorrent's thread when alerts wait: a wake-up for the loop, nothing more.
    session->set_alert_notify([weak = std::weak_ptr<Impl>(shared_from_this()), &l = loop] {
        l.post([weak] {
            if (auto self = weak.lock(); self && !self->stopping)
                self->drain_alerts();
        });
    });
    loop.post([weak = std::weak_ptr<Impl>(shared_from_this())] {
        if (auto self = weak.lock())
            self->arm_save();
    });
}

void SwarmEngine::Impl::shutdown() {
    stopping = true;
    tick_timer.cancel();
    save_timer.cancel();
    for (const auto& [url, item] : items)
        item->shutdown();
}

void SwarmEngine::Impl::save_all_resume_data() {
    // After shutdown(), on the thread taking the engine apart: the loop no longer drains
    // alerts, so this waits for the answers itself (a few seconds at most).
    std::vector<lt::torrent_handle> handles;
    for (const auto& [hash, item] : by_hash) {
        if (item->handle().is_valid())
            handles.push_back(item->handle());
    }
    for (auto& h : handles)
        h.save_resume_data(lt::torrent_handle::only_if_modified);
    const bool figures = log().should_log(spdlog::level::info);
    if (figures)
        session->post_session_stats();
    const auto deadline = Steady::now() + std::chrono::seconds(3);
    std::size_t answered = 0;
    while ((answered < handles.size() || (figures && !stats_logged)) && Steady::now() < deadline) {
        session->wait_for_alert(std::chrono::duration_cast<lt::time_duration>(
            std::max(deadline - Steady::now(), Steady::duration{0})));
        std::vector<lt::alert*> alerts;
        session->pop_alerts(&alerts);
        for (const lt::alert* a : alerts) {
            if (lt::alert_cast<lt::save_resume_data_alert>(a) != nullptr ||
                lt::alert_cast<lt::save_resume_data_failed_alert>(a) != nullptr)
                ++answered;
            handle_alert(a);
        }
    }
}

// ---- public surface --------------------------------------------------------------------------

SwarmEngine::SwarmEngine(SwarmOptions options, EventLoop& loop)
    : impl_(std::make_shared<Impl>(std::move(options), loop)) {
    impl_->start();
}

SwarmEngine::~SwarmEngine() {
    // Items and timers stop on the loop; what the loop still holds for the engine is
    // dropped there. Then the session's last alerts are read here.
    std::promise<void> stopped;
    impl_->loop.post([impl = impl_, &stopped] {
        impl->shutdown();
        impl->session->set_alert_notify([] {});
        stopped.set_value();
    });
    stopped.get_future().wait();
    impl_->save_all_resume_data();
    impl_->session.reset();
}

void SwarmEngine::set_data_callback(std::function<void()> wake) {
    std::lock_guard lock(impl_->wake_mutex);
    impl_->wake = std::move(wake);
}

std::shared_ptr<Item> SwarmEngine::open(const ItemRequest& request) {
    std::shared_ptr<Item::State> state;
    bool created = false;
    {
        std::lock_guard lock(impl_->open_mutex);
        auto& slot = impl_->opened[request.media_url];
        if (!slot) {
            slot = std::make_shared<Item::State>(request, impl_->options, impl_->loop,
                                                 std::weak_ptr<ItemHost>(impl_));
            created = true;
        }
        state = slot;
        state->opening(1);  // not retired while it is being opened (see retire_idle)
    }
    if (created) {
        impl_->loop.post([impl = std::weak_ptr<Impl>(impl_), state] {
            if (auto self = impl.lock())
                self->adopt(state);
        });
    }
    auto item = std::make_shared<Item>(state);  // the first handle starts the item
    state->opening(-1);
    return item;
}

SwarmEngine::Stats SwarmEngine::stats() const {
    Stats s;
    Impl& d = *impl_;
    s.error = d.last_error;
    // Byte counts and rates arrive with the next state_update_alert (no waiting here);
    // whose bytes they were is known from the tick while items download, and refreshed here
    // at most every few seconds for items that seed.
    d.session->post_torrent_updates();
    const auto now = Steady::now();
    for (const auto& [url, item] : d.items) {
        ItemFigures f = item->figures();
        if (f.connections > 0 && now - f.refreshed > std::chrono::seconds(5)) {
            item->update_figures();
            f = item->figures();
        }
        // libtorrent gives each torrent its own peer id, so a listener in several items'
        // swarms cannot be recognised across them: the largest swarm counts.
        s.peers = std::max(s.peers, static_cast<int>(f.listeners));
        s.dht_peers = std::max(s.dht_peers, static_cast<int>(f.dht_listeners));
        s.gateway = s.gateway || f.gateway_connected;
        s.hash_failures += f.hash_failures;
        s.bytes.peers += f.sources.peers;
        s.bytes.gateway += f.sources.gateway;
        s.bytes.origin += f.sources.origin;
        s.bytes.uploaded += f.sources.uploaded;
        s.bytes.redundant += f.sources.redundant;
        s.connections += f.connections;
        s.download_rate += f.download_rate;
        s.upload_rate += f.upload_rate;
        s.items.emplace_back(url, f.sources);
    }
    s.listen_port = d.listen_port;
    s.dht = d.dht_on;
    s.port_mapping = d.options.port_mapping;
    for (const auto& [key, m] : d.port_maps)
        s.port_maps.push_back(m);
    // libtorrent tells nothing when no router answers: after 15 s, "no router answered"
    // (the test's router answered within the first status line, 5 s).
    s.port_mapping_unanswered =
        s.port_mapping && s.port_maps.empty() && now - d.started > std::chrono::seconds(15);
    return s;
}

}  // namespace alluvium::detail
