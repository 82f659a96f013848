// The swarm engine: one libtorrent session, the items it fetches, their byte sources.
#include "engine.hpp"

#include <alluvium/fetch.hpp>
#include <alluvium/swarm_settings.hpp>
#include <alluvium/text.hpp>

#include "../common/log.hpp"
#include "item_state.hpp"

#include <fcntl.h>
#include <openssl/sha.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <libtorrent/alert_types.hpp>
#include <libtorrent/extensions/smart_ban.hpp>
#include <libtorrent/peer_info.hpp>
#include <libtorrent/read_resume_data.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/session_stats.hpp>
#include <libtorrent/torrent_status.hpp>
#include <libtorrent/write_resume_data.hpp>
#include <map>
#include <set>
#include <sstream>

namespace alluvium::detail {

namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

std::string url_key(const std::string& url) {
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(url.data()), url.size(), digest);
    return to_hex(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

namespace {

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

void write_atomically(const fs::path& p, const std::string& bytes) {
    const fs::path tmp = p.string() + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        if (!out) {
            return;
        }
    }
    std::error_code ec;
    fs::rename(tmp, p, ec);
}

// Whether libtorrent has the piece written to its file (a removed torrent has nothing).
bool on_disk(const lt::torrent_handle& h, lt::piece_index_t piece) {
    try {
        return h.is_valid() && h.have_piece(piece);
    } catch (const lt::system_error&) {
        return false;
    }
}

lt::settings_pack listener_settings(const SwarmOptions& o) {
    lt::settings_pack s;
    apply_swarm_settings(s, o.listen_interfaces);
    s.set_str(lt::settings_pack::user_agent, "Alluvium");
    set_peer_id_prefix(s, false);
    s.set_int(lt::settings_pack::alert_mask,
              lt::alert_category::error | lt::alert_category::status | lt::alert_category::storage |
                  lt::alert_category::piece_progress | lt::alert_category::block_progress);
    // A station's audience changes by the minute; so do its announces.
    s.set_int(lt::settings_pack::min_announce_interval, 30);
    // Streaming: a request that takes seconds is a stall; ask someone else.
    s.set_int(lt::settings_pack::piece_timeout, 5);
    s.set_int(lt::settings_pack::request_timeout, 5);
    s.set_int(lt::settings_pack::upload_rate_limit, static_cast<int>(o.upload_rate_limit));
    s.set_int(lt::settings_pack::download_rate_limit, static_cast<int>(o.download_rate_limit));
    if (o.dht && !o.dht_bootstrap.empty())
        apply_dht_settings(s, o.dht_bootstrap);
    return s;
}

}  // namespace

struct SwarmEngine::Impl : std::enable_shared_from_this<SwarmEngine::Impl> {
    explicit Impl(SwarmOptions o) : options(std::move(o)) {}

    SwarmOptions options;
    std::unique_ptr<lt::session> session;
    std::thread thread;
    std::atomic<bool> stopping{false};

    mutable std::mutex mutex;                                       // items, by_hash
    std::map<std::string, std::shared_ptr<Item::State>> items;      // by media URL
    std::map<lt::sha1_hash, std::shared_ptr<Item::State>> by_hash;  // joined items
    // Held while `wake` runs, so that replacing it waits for a call in progress.
    std::mutex wake_mutex;
    std::function<void()> wake;       // under `wake_mutex`
    std::string last_error;           // the last disk or torrent error (under `mutex`)
    std::set<std::string> dht_nodes;  // bootstrap nodes gateways offered (under `mutex`)
    std::atomic<std::uint64_t> origin_total{0};
    bool stats_logged = false;  // the shutdown figures (session_stats_alert)
    // Some item on air is short of its next seconds (every item's on_air_short). A start
    // is a tune-in: true until the first tick has looked.
    const std::shared_ptr<std::atomic<bool>> on_air_short =
        std::make_shared<std::atomic<bool>>(true);
    // Some item on air is not all here yet, or waits for its first answer (every item's
    // on_air_busy): later items are not looked up meanwhile. True until the first tick.
    const std::shared_ptr<std::atomic<bool>> on_air_busy =
        std::make_shared<std::atomic<bool>>(true);

    fs::path media_dir() const { return options.cache_dir / "media"; }
    fs::path meta_dir() const { return options.cache_dir / "items"; }

    void notify() {
        std::lock_guard lock(wake_mutex);
        if (wake)
            wake();
    }

    void run();
    void handle_alert(const lt::alert* a);
    void tick();
    void settle_unflushed(const std::shared_ptr<Item::State>& item);
    void retire_idle();
    // Stops seeding an item nobody plays and forgets it (its files stay); false if in use.
    bool leave_swarm(const std::string& url);
    void save_all_resume_data();
    void enforce_cache_size();
    void join(const std::shared_ptr<Item::State>& item, const SwarmMetadata& meta, bool from_cache);
    // Joins the DHT through `node` ("ip:port") as well (idempotent).
    void add_dht_node(const std::string& node);
    void remember(const std::shared_ptr<Item::State>& item, const SwarmMetadata& meta);
    std::optional<SwarmMetadata> recall(const std::shared_ptr<Item::State>& item);
};

// ---- joining, caching ---------------------------------------------------------------

void SwarmEngine::Impl::remember(const std::shared_ptr<Item::State>& item,
                                 const SwarmMetadata& meta) {
    std::error_code ec;
    fs::create_directories(meta_dir(), ec);
    const std::string key = url_key(item->url);
    write_atomically(meta_dir() / (key + ".torrent"), meta.torrent);
    std::string record = "size " + std::to_string(meta.size) + "\nseed " + meta.seed + "\n";
    write_atomically(meta_dir() / (key + ".item"), record);
    if (meta.layout) {
        write_atomically(meta_dir() / (key + ".layout"), media_layout_to_json(*meta.layout));
    }
}

std::optional<SwarmMetadata> SwarmEngine::Impl::recall(const std::shared_ptr<Item::State>& item) {
    const std::string key = url_key(item->url);
    const fs::path torrent = meta_dir() / (key + ".torrent");
    std::error_code ec;
    if (!fs::exists(torrent, ec)) {
        return std::nullopt;
    }
    SwarmMetadata meta;
    meta.media_url = item->url;
    meta.torrent = slurp(torrent);
    std::istringstream record(slurp(meta_dir() / (key + ".item")));
    std::string word;
    while (record >> word) {
        if (word == "size")
            record >> meta.size;
        if (word == "seed")
            record >> meta.seed;
    }
    // A playlist that names another size means the origin file changed: ask again.
    if (meta.size == 0 || (item->size_hint && *item->size_hint != meta.size)) {
        return std::nullopt;
    }
    meta.layout = media_layout_from_json(slurp(meta_dir() / (key + ".layout")), meta.size);
    fs::last_write_time(torrent, fs::file_time_type::clock::now(), ec);  // recently used
    return meta;
}

void SwarmEngine::Impl::join(const std::shared_ptr<Item::State>& item, const SwarmMetadata& meta,
                             bool from_cache) {
    lt::error_code ec;
    auto info = std::make_shared<lt::torrent_info>(meta.torrent, ec, lt::from_span);
    if (ec || info->num_files() != 1 ||
        static_cast<std::uint64_t>(info->total_size()) != meta.size) {
        log().warn("{}: the gateway's metainfo is unusable ({})", item->url,
                   ec ? ec.message() : "size or file count");
        return;
    }
    lt::add_torrent_params p;
    const fs::path resume = meta_dir() / (url_key(item->url) + ".resume");
    if (from_cache && fs::exists(resume)) {
        const std::string bytes = slurp(resume);
        p = lt::read_resume_data(bytes, ec);
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
    p.save_path = media_dir().string();
    p.flags &= ~lt::torrent_flags::auto_managed;
    p.flags &= ~lt::torrent_flags::paused;
    p.flags &= ~lt::torrent_flags::seed_mode;
    const int pieces = info->num_pieces();
    int sentinel = -1;
    {
        std::lock_guard lock(item->mutex);
        p.piece_priorities.assign(static_cast<std::size_t>(pieces), lt::default_priority);
        int first = 0;
        if (item->need_set) {
            // Pieces before the scheduled offset play for nobody: every listener is at the
            // same point of the same schedule.
            first = static_cast<int>(std::min<std::uint64_t>(
                item->need_offset / static_cast<std::uint64_t>(info->piece_length()),
                static_cast<std::uint64_t>(pieces)));
            for (int i = 0; i < first; ++i) {
                p.piece_priorities[static_cast<std::size_t>(i)] = lt::dont_download;
            }
        }
        // The sentinel (see Item::State): the last wanted piece not yet here, held back
        // while piece deadlines are in use. Only worth it with a few more pieces to fetch.
        const auto had = [&](int i) {
            return p.have_pieces.size() > i && p.have_pieces.get_bit(lt::piece_index_t{i});
        };
        int missing = 0;
        for (int i = pieces - 1; i >= first; --i) {
            if (had(i))
                continue;
            if (sentinel < 0)
                sentinel = i;
            ++missing;
        }
        if (missing < 4)
            sentinel = -1;
        if (sentinel >= 0)
            p.piece_priorities[static_cast<std::size_t>(sentinel)] = lt::dont_download;
    }
    if (meta.dht && !meta.seed.empty() && options.dht) {
        add_dht_node(meta.seed);
    }
    if (!meta.seed.empty()) {
        // The gateway said where its seed is: connect at once, before any announce.
        const auto colon = meta.seed.rfind(':');
        lt::error_code aec;
        const auto address = lt::make_address(meta.seed.substr(0, colon), aec);
        if (!aec && colon != std::string::npos) {
            p.peers.emplace_back(
                address, static_cast<std::uint16_t>(std::stoi(meta.seed.substr(colon + 1))));
        }
    }
    for (const std::string& peer : meta.peers) {
        const auto colon = peer.rfind(':');
        lt::error_code aec;
        std::string host = peer.substr(0, colon);
        if (host.size() > 2 && host.front() == '[')
            host = host.substr(1, host.size() - 2);
        const auto address = lt::make_address(host, aec);
        if (!aec && colon != std::string::npos) {
            try {
                p.peers.emplace_back(address,
                                     static_cast<std::uint16_t>(std::stoi(peer.substr(colon + 1))));
            } catch (...) {
            }
        }
    }
    std::error_code fs_ec;
    fs::create_directories(media_dir(), fs_ec);
    p.max_connections = options.peers_per_item;
    lt::torrent_handle handle = session->add_torrent(std::move(p), ec);
    if (ec) {
        log().warn("{}: cannot join the swarm: {}", item->url, ec.message());
        return;
    }
    const lt::torrent_status st = handle.status(lt::torrent_handle::query_pieces);
    {
        std::lock_guard lock(item->mutex);
        item->handle = handle;
        item->info_hash = meta.info_hash;
        item->sentinel = sentinel;
        item->urgent.clear();
        item->piece_size = static_cast<std::uint64_t>(info->piece_length());
        item->size = meta.size;
        item->have.assign(static_cast<std::size_t>(info->num_pieces()), false);
        item->state = ItemState::swarming;
        item->add_readable(st.pieces);
        item->file = media_dir() / info->files().file_path(lt::file_index_t{0});
        item->seed_endpoint = meta.seed;
        item->swarming_since = Steady::now();
        if (meta.layout) {
            item->layout = meta.layout;
        }
        item->deadlines_dirty = true;
    }
    {
        std::lock_guard lock(mutex);
        by_hash[info->info_hashes().v1] = item;
    }
    // Deadlines now, before the first peer connects: libtorrent's picker would otherwise
    // start on random pieces and ask for the ones playback needs a second later.
    item->apply_deadlines(true);
    log().info("{}: joined the swarm ({} pieces of {} KiB{})", item->url, info->num_pieces(),
               info->piece_length() / 1024, from_cache ? ", from the cache" : "");
    item->cv.notify_all();
    notify();
}

// ---- the engine thread ------------------------------------------------------------------

void SwarmEngine::Impl::handle_alert(const lt::alert* a) {
    const auto item_of = [&](const lt::torrent_handle& h) -> std::shared_ptr<Item::State> {
        std::lock_guard lock(mutex);
        const auto found = by_hash.find(h.info_hashes().v1);
        return found == by_hash.end() ? nullptr : found->second;
    };
    if (const auto* pf = lt::alert_cast<lt::piece_finished_alert>(a)) {
        // Hashed is not yet written: the piece waits until libtorrent has it on disk.
        if (auto item = item_of(pf->handle)) {
            {
                std::lock_guard lock(item->mutex);
                const int p = static_cast<int>(pf->piece_index);
                if (p >= 0 && static_cast<std::size_t>(p) < item->have.size())
                    item->unflushed.insert(p);
                log().trace("{}: piece {} finished", item->url, p);
            }
            settle_unflushed(item);
        }
        notify();
    } else if (const auto* bf = lt::alert_cast<lt::block_finished_alert>(a)) {
        if (auto item = item_of(bf->handle)) {
            bool waiting = false;
            {
                std::lock_guard lock(item->mutex);
                waiting = item->unflushed.count(static_cast<int>(bf->piece_index)) > 0;
            }
            if (waiting)
                settle_unflushed(item);
        }
    } else if (const auto* tf = lt::alert_cast<lt::torrent_finished_alert>(a)) {
        // Every wanted piece is here (a held-back one may still be missing).
        if (item_of(tf->handle))
            tf->handle.save_resume_data();
    } else if (const auto* tc = lt::alert_cast<lt::torrent_checked_alert>(a)) {
        // A cached file was hashed (see join()): what it holds is readable now.
        if (auto item = item_of(tc->handle)) {
            lt::torrent_status st;
            try {
                st = tc->handle.status(lt::torrent_handle::query_pieces);
            } catch (const lt::system_error&) {
            }
            std::lock_guard lock(item->mutex);
            item->add_readable(st.pieces);
        }
        notify();
    } else if (const auto* rd = lt::alert_cast<lt::save_resume_data_alert>(a)) {
        if (auto item = item_of(rd->handle)) {
            const std::vector<char> buf = lt::write_resume_data_buf(rd->params);
            write_atomically(meta_dir() / (url_key(item->url) + ".resume"),
                             std::string(buf.begin(), buf.end()));
        }
    } else if (const auto* hf = lt::alert_cast<lt::hash_failed_alert>(a)) {
        // A peer sent bytes that do not match the piece's hash: dropped, fetched again.
        log().info("swarm: {}", hf->message());
        if (auto item = item_of(hf->handle)) {
            std::lock_guard lock(item->mutex);
            ++item->hash_failures;
        }
    } else if (lt::alert_cast<lt::torrent_error_alert>(a) != nullptr ||
               lt::alert_cast<lt::file_error_alert>(a) != nullptr) {
        // A full or failing cache disk: libtorrent pauses the item. Said in the status.
        log().warn("swarm: {}", a->message());
        std::lock_guard lock(mutex);
        last_error = "cache " + options.cache_dir.string() + ": " + a->message();
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

void SwarmEngine::Impl::tick() {
    std::vector<std::shared_ptr<Item::State>> joined;
    std::vector<std::shared_ptr<Item::State>> open;
    {
        std::lock_guard lock(mutex);
        for (const auto& [hash, item] : by_hash)
            joined.push_back(item);
        for (const auto& [url, item] : items)
            open.push_back(item);
    }
    bool shortfall = false;
    for (const auto& item : joined) {
        settle_unflushed(item);
        shortfall = item->short_of_next_seconds() || shortfall;
    }
    on_air_short->store(shortfall);
    bool busy = false;
    for (const auto& item : open)
        busy = busy || item->on_air_unfinished();
    on_air_busy->store(busy);
    for (const auto& item : joined) {
        item->update_sources();
        item->apply_deadlines(false);
    }
    retire_idle();
}

void SwarmEngine::Impl::retire_idle() {
    // Items nobody plays go on seeding, until more than `max_idle` do: a live station adds
    // one every few seconds, and every swarm costs connections (libtorrent's limit is per
    // session). The longest idle then leave the swarm; their files stay in the cache and,
    // opened again, they join from it.
    constexpr std::size_t max_idle = 12;
    std::vector<std::pair<Steady::time_point, std::string>> idle;
    {
        std::lock_guard lock(mutex);
        for (const auto& [url, item] : items) {
            if (item->handles > 0 || item->opening > 0)
                continue;
            std::lock_guard item_lock(item->mutex);
            idle.emplace_back(item->idle_since, url);
        }
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
    std::shared_ptr<Item::State> item;
    lt::torrent_handle h;
    {
        std::lock_guard lock(mutex);
        const auto found = items.find(url);
        if (found == items.end() || found->second->handles > 0 || found->second->opening > 0)
            return false;  // played, or being opened
        item = found->second;
        {
            std::lock_guard item_lock(item->mutex);
            h = item->handle;
            item->handle = lt::torrent_handle{};
            item->have.clear();
            item->unflushed.clear();
        }
        if (h.is_valid())
            by_hash.erase(h.info_hashes().v1);
        items.erase(found);
    }
    if (h.is_valid())
        session->remove_torrent(h);
    item->shutdown();
    return true;
}

void SwarmEngine::Impl::settle_unflushed(const std::shared_ptr<Item::State>& item) {
    lt::torrent_handle h;
    std::set<int> pending;
    {
        std::lock_guard lock(item->mutex);
        if (item->unflushed.empty())
            return;
        h = item->handle;
        pending = item->unflushed;
    }
    lt::typed_bitfield<lt::piece_index_t> written;
    for (const int p : pending) {
        if (on_disk(h, lt::piece_index_t{p})) {
            if (written.size() <= p)
                written.resize(p + 1, false);
            written.set_bit(lt::piece_index_t{p});
        }
    }
    if (written.none_set())
        return;
    {
        std::lock_guard lock(item->mutex);
        item->add_readable(written);
    }
    item->cv.notify_all();
    notify();
}

void SwarmEngine::Impl::run() {
    auto last_tick = Steady::now();
    auto last_cache = Steady::now();
    while (!stopping) {
        session->wait_for_alert(std::chrono::milliseconds(100));
        std::vector<lt::alert*> alerts;
        session->pop_alerts(&alerts);
        for (const lt::alert* a : alerts) {
            handle_alert(a);
        }
        const auto now = Steady::now();
        if (now - last_tick >= std::chrono::milliseconds(500)) {
            last_tick = now;
            tick();
        }
        if (now - last_cache >= std::chrono::seconds(30)) {
            last_cache = now;
            enforce_cache_size();
            // What came since the last save; answered by alerts handled above.
            for (const auto& h : session->get_torrents())
                h.save_resume_data(lt::torrent_handle::only_if_modified);
        }
    }
}

void SwarmEngine::Impl::save_all_resume_data() {
    std::vector<lt::torrent_handle> handles;
    {
        std::lock_guard lock(mutex);
        for (const auto& [hash, item] : by_hash) {
            std::lock_guard item_lock(item->mutex);
            if (item->handle.is_valid())
                handles.push_back(item->handle);
        }
    }
    for (auto& h : handles) {
        h.save_resume_data(lt::torrent_handle::only_if_modified);
    }
    const auto deadline = Steady::now() + std::chrono::seconds(3);
    std::size_t answered = 0;
    while (answered < handles.size() && Steady::now() < deadline) {
        session->wait_for_alert(std::chrono::milliseconds(100));
        std::vector<lt::alert*> alerts;
        session->pop_alerts(&alerts);
        for (const lt::alert* a : alerts) {
            if (lt::alert_cast<lt::save_resume_data_alert>(a) != nullptr ||
                lt::alert_cast<lt::save_resume_data_failed_alert>(a) != nullptr) {
                ++answered;
            }
            handle_alert(a);
        }
    }
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
    std::set<std::string> open_keys;
    std::map<std::string, std::shared_ptr<Item::State>> by_key;
    {
        std::lock_guard lock(mutex);
        for (const auto& [url, item] : items) {
            by_key[url_key(url)] = item;
            if (item->handles > 0)
                open_keys.insert(url_key(url));
        }
    }
    for (const auto& e : fs::directory_iterator(meta_dir(), ec)) {
        if (e.path().extension() != ".torrent")
            continue;
        lt::error_code lec;
        const lt::torrent_info info(slurp(e.path()), lec, lt::from_span);
        if (lec)
            continue;
        const fs::path media = media_dir() / info.files().file_path(lt::file_index_t{0});
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
        if (open_keys.count(e.key) > 0)
            continue;  // playing or about to
        // Stop seeding it before its file goes.
        if (const auto found = by_key.find(e.key);
            found != by_key.end() && !leave_swarm(found->second->url))
            continue;  // opened again meanwhile
        for (const char* ext : {".torrent", ".item", ".layout", ".resume"}) {
            fs::remove(meta_dir() / (e.key + ext), ec);
        }
        fs::remove(e.media, ec);
        total -= std::min(total, e.bytes);
        log().info("cache: evicted {} ({} bytes)", e.media.filename().string(), e.bytes);
    }
}

// ---- public surface ----------------------------------------------------------------------

SwarmEngine::SwarmEngine(SwarmOptions options) : impl_(std::make_shared<Impl>(std::move(options))) {
    std::error_code ec;
    fs::create_directories(impl_->media_dir(), ec);
    fs::create_directories(impl_->meta_dir(), ec);
    lt::session_params params(listener_settings(impl_->options));
    impl_->session = std::make_unique<lt::session>(std::move(params));
    if (impl_->options.upload_rate_limit > 0)
        rate_limit_every_peer(*impl_->session);
    // Finds the peer that sent a corrupt piece and bans it (BEP-less, libtorrent's own).
    impl_->session->add_extension(&lt::create_smart_ban_plugin);
    impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
}

SwarmEngine::~SwarmEngine() {
    std::vector<std::shared_ptr<Item::State>> all;
    {
        std::lock_guard lock(impl_->mutex);
        for (const auto& [url, item] : impl_->items)
            all.push_back(item);
    }
    for (const auto& item : all) {
        item->shutdown();
    }
    impl_->stopping = true;
    impl_->thread.join();
    const bool figures = log().should_log(spdlog::level::info);
    if (figures)
        impl_->session->post_session_stats();
    impl_->save_all_resume_data();
    const auto deadline = Steady::now() + std::chrono::seconds(1);
    while (figures && !impl_->stats_logged && Steady::now() < deadline) {
        impl_->session->wait_for_alert(std::chrono::milliseconds(100));
        std::vector<lt::alert*> alerts;
        impl_->session->pop_alerts(&alerts);
        for (const lt::alert* a : alerts)
            impl_->handle_alert(a);
    }
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
        std::lock_guard lock(impl_->mutex);
        auto& slot = impl_->items[request.media_url];
        if (!slot) {
            slot = std::make_shared<Item::State>(request, impl_->options);
            created = true;
        }
        state = slot;
        ++state->opening;  // not retired while it is being opened (see retire_idle)
    }
    struct Opened {
        Item::State& s;
        ~Opened() { --s.opening; }
    } opened{*state};
    if (created) {
        std::weak_ptr<Impl> weak = impl_;
        state->on_data = [weak] {
            if (auto e = weak.lock())
                e->notify();
        };
        state->on_air_short = impl_->on_air_short;
        state->on_air_busy = impl_->on_air_busy;
        state->on_origin_bytes = [weak](std::uint64_t n) {
            if (auto e = weak.lock())
                e->origin_total += n;
        };
        state->join_swarm =
            [weak, state_weak = std::weak_ptr<Item::State>(state)](const SwarmMetadata& meta) {
                auto e = weak.lock();
                auto s = state_weak.lock();
                if (e && s) {
                    e->remember(s, meta);
                    e->join(s, meta, false);
                }
            };
        if (auto cached = impl_->recall(state)) {
            impl_->join(state, *cached, true);
        }
    }
    return std::make_shared<Item>(state);  // the first handle starts the item's threads
}

SwarmEngine::Stats SwarmEngine::stats() const {
    Stats s;
    std::vector<std::shared_ptr<Item::State>> all;
    {
        std::lock_guard lock(impl_->mutex);
        for (const auto& [url, item] : impl_->items)
            all.push_back(item);
        s.error = impl_->last_error;
    }
    for (const auto& item : all) {
        std::lock_guard lock(item->mutex);
        // libtorrent gives each torrent its own peer id, so a listener in several items'
        // swarms cannot be recognised across them: the largest swarm counts.
        s.peers = std::max(s.peers, static_cast<int>(item->listeners.size()));
        s.dht_peers = std::max(s.dht_peers, static_cast<int>(item->dht_listeners));
        s.gateway = s.gateway || item->gateway_connected;
        s.hash_failures += item->hash_failures;
        s.bytes.peers += item->sources.peers;
        s.bytes.gateway += item->sources.gateway;
        s.bytes.origin += item->sources.origin;
        s.bytes.uploaded += item->sources.uploaded;
        s.bytes.redundant += item->sources.redundant;
        s.items.emplace_back(item->url, item->sources);
        s.connections += item->num_peers;
        s.download_rate += item->download_rate;
        s.upload_rate += item->upload_rate;
    }
    s.listen_port = impl_->session->listen_port();
    s.dht = impl_->session->is_dht_running();
    return s;
}

void SwarmEngine::Impl::add_dht_node(const std::string& node) {
    std::string nodes;
    {
        std::lock_guard lock(mutex);
        if (!options.dht || !dht_nodes.insert(node).second)
            return;
        nodes = options.dht_bootstrap;
        for (const std::string& n : dht_nodes)
            nodes += (nodes.empty() ? "" : ",") + n;
    }
    log().info("dht: bootstrapping from {}", nodes);
    lt::settings_pack s;
    apply_dht_settings(s, nodes);
    session->apply_settings(std::move(s));
}

}  // namespace alluvium::detail
