// One media item: gateway lookups, the rescue path (the gateway's copy, else the origin),
// reads, deadlines, figures.
#include <alluvium/fetch.hpp>
#include <alluvium/swarm_settings.hpp>
#include <alluvium/url.hpp>

#include "../common/log.hpp"
#include "item_state.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <libtorrent/peer_info.hpp>
#include <libtorrent/torrent_status.hpp>
#include <string_view>

namespace alluvium::detail {

namespace fs = std::filesystem;

namespace {

// How long a freshly joined swarm gets to deliver before the rescue path is taken (the
// gateway's copy; the origin only when the gateway cannot answer).
constexpr auto swarm_grace = std::chrono::seconds(2);
// Without metadata, the origin is read this far ahead of playback.
constexpr auto origin_lead = std::chrono::seconds(15);
// How long the gateway's first answer is awaited before the origin gives what is due.
constexpr auto lookup_grace = std::chrono::seconds(1);

std::uint64_t bytes_for(std::uint64_t rate, Milliseconds d) {
    return rate * static_cast<std::uint64_t>(std::max<std::int64_t>(d.count(), 0)) / 1000;
}

// "bytes 100-199/5000" -> 5000
std::uint64_t total_from_content_range(const std::string& header) {
    const auto slash = header.rfind('/');
    if (slash == std::string::npos)
        return 0;
    try {
        return std::stoull(header.substr(slash + 1));
    } catch (...) {
        return 0;
    }
}

}  // namespace

Item::State::State(const ItemRequest& request, const SwarmOptions& o)
    : url(request.media_url),
      playlist(request.playlist_url),
      size_hint(request.size),
      duration_hint(request.duration),
      options(o) {}

Item::State::~State() {
    shutdown();
}

void Item::State::start() {
    std::lock_guard threads(threads_mutex);
    if (closed || lookup_thread.joinable()) {
        return;
    }
    if (!started) {
        std::error_code ec;
        fs::create_directories(options.cache_dir / "rescue", ec);
        rescue_path = options.cache_dir / "rescue" / (url_key(url) + ".part");
        fs::remove(rescue_path, ec);  // unverified bytes are not reused across runs
        std::lock_guard lock(mutex);
        rescue_fd = ::open(rescue_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        started = true;
    }
    stopping = false;
    {
        std::lock_guard lock(mutex);
        looking_since = Steady::now();
    }
    lookup_thread = std::thread([this] { lookup_loop(); });
    rescue_thread = std::thread([this] { rescue_loop(); });
}

void Item::State::park() {
    std::lock_guard threads(threads_mutex);
    stopping = true;
    cv.notify_all();
    if (lookup_thread.joinable())
        lookup_thread.join();
    if (rescue_thread.joinable())
        rescue_thread.join();
}

void Item::State::shutdown() {
    park();
    std::lock_guard threads(threads_mutex);
    if (closed) {
        return;
    }
    closed = true;
    std::lock_guard lock(mutex);
    if (fd >= 0)
        ::close(fd);
    if (rescue_fd >= 0)
        ::close(rescue_fd);
    fd = rescue_fd = -1;
    std::error_code ec;
    if (started)
        fs::remove(rescue_path, ec);
}

std::uint64_t Item::State::known_size() const {
    if (size > 0)
        return size;
    if (size_hint)
        return *size_hint;
    return origin_size;
}

std::uint64_t Item::State::playback_position(Steady::time_point at) const {
    const auto elapsed = std::chrono::duration_cast<Milliseconds>(at - need_time) - starts_in;
    return need_offset + bytes_for(rate, elapsed);
}

std::uint64_t Item::State::available_end(std::uint64_t offset) const {
    std::uint64_t end = offset;
    if (piece_size > 0 && !have.empty()) {
        auto p = static_cast<std::size_t>(offset / piece_size);
        while (p < have.size() && have[p])
            ++p;
        end = std::max(end, std::min<std::uint64_t>(p * piece_size, size));
    }
    return std::max(end, rescued.end_of(offset));
}

void Item::State::lookup_loop() {
    std::size_t g = 0;
    std::size_t failures_in_row = 0;
    defer_lookup();
    while (!stopping) {
        {
            std::lock_guard lock(mutex);
            if (handle.is_valid())
                return;  // joined from the cache
        }
        if (options.gateways.empty()) {
            std::unique_lock lock(mutex);
            origin_allowed = true;
            cv.wait_for(lock, std::chrono::seconds(30), [this] { return stopping.load(); });
            continue;
        }
        const std::string& base = options.gateways[g % options.gateways.size()];
        const GatewayAnswer answer =
            GatewayClient(base).lookup(url, playlist, Milliseconds{2000}, &stopping);
        if (stopping)
            return;
        if (answer.state == GatewayState::ready) {
            if (join_swarm)
                join_swarm(*answer.metadata);
            std::lock_guard lock(mutex);
            if (handle.is_valid()) {
                rescue_gateway = base;
                return;
            }
            error = "the gateway's metadata could not be used";
        }
        {
            // Not hashed yet, or no answer: the origin is read until the swarm can be joined.
            std::lock_guard lock(mutex);
            origin_allowed = true;
        }
        cv.notify_all();
        if (answer.state == GatewayState::pending) {
            failures_in_row = 0;
            continue;  // the gateway already held the answer up to two seconds
        }
        ++failures_in_row;
        if (failures_in_row <= options.gateways.size()) {
            log().warn("{}: gateway {}: {}; {}", url, base, answer.message,
                       options.gateways.size() > 1 ? "trying the next gateway"
                                                   : "playing from the origin");
        }
        ++g;  // fail over to the next gateway
        const auto pause = failures_in_row % options.gateways.size() == 0 ? std::chrono::seconds(5)
                                                                          : std::chrono::seconds(0);
        std::unique_lock lock(mutex);
        cv.wait_for(lock, pause, [this] { return stopping.load(); });
    }
}

void Item::State::defer_lookup() {
    std::unique_lock lock(mutex);
    // need() follows the open() that started this thread.
    cv.wait_for(lock, std::chrono::milliseconds(200), [this] { return stopping || need_set; });
    // An item that plays beyond the deadline window is not looked up until the item on air
    // is all here: at a cold start the gateway's answers for every listener's later items,
    // and the first copies of those items, filled its uplink while listeners were still
    // tuning in, and their answers for the item on air came 1.5 to 3 s late.
    const auto later = [this] {
        return need_set && on_air_busy && on_air_busy->load() &&
               lead(Steady::now()) > options.deadline_window;
    };
    while (!stopping && !handle.is_valid() && later())
        cv.wait_for(lock, std::chrono::milliseconds(100), [this] { return stopping.load(); });
    looking_since = Steady::now();
}

bool Item::State::fetch_rescue(std::uint64_t from, std::uint64_t to) {
    // Once the gateway has hashed the item it holds a copy: what the swarm did not bring in
    // time comes from there, and the origin is read only when the gateway cannot answer
    // (docs/ARCHITECTURE.md: the origin is the rescue path of an unreachable gateway).
    // Not while the gateway's first answer is on its way: at a cold start those answers came
    // late because the gateway's uplink was full, and ranges asked of it meanwhile filled
    // it further (1.37 copies of the first item, median join 2.48 s; docs/SCALING.md).
    std::string gateway;
    std::string version;  // the gateway serves only the copy the swarm's hashes describe
    {
        std::lock_guard lock(mutex);
        if (handle.is_valid() && Steady::now() >= gateway_rescue_paused_until) {
            gateway = !rescue_gateway.empty()     ? rescue_gateway
                      : !options.gateways.empty() ? options.gateways.front()
                                                  : std::string();
            version = info_hash;
        }
    }
    if (!gateway.empty()) {
        const std::string at =
            gateway + "/v1/media?url=" + percent_encode(url) + "&info_hash=" + version;
        if (fetch_range(at, gateway, from, to))
            return true;
        std::lock_guard lock(mutex);
        gateway_rescue_paused_until = Steady::now() + std::chrono::seconds(30);
    }
    return fetch_range(url, {}, from, to);
}

bool Item::State::fetch_range(const std::string& from_url, const std::string& gateway,
                              std::uint64_t from, std::uint64_t to) {
    const bool origin = gateway.empty();
    const std::string source = origin ? std::string("origin") : "gateway " + gateway;
    std::uint64_t at = from;
    std::uint64_t skip = 0;  // a server that ignores Range sends from byte 0
    HttpRequest request;
    request.url = from_url;
    request.range_from = from;
    request.range_to = to > from ? to - 1 : 0;  // only what is missing
    request.max_body_bytes = std::uint64_t{1} << 40;
    // A gateway that does not answer at once is passed over: the origin is still there.
    request.connect_timeout = origin ? Milliseconds{5000} : Milliseconds{1000};
    request.total_timeout = origin ? std::chrono::seconds(60) : std::chrono::seconds(5);
    request.stall_timeout = origin ? std::chrono::seconds(10) : std::chrono::seconds(2);
    request.cancel = &stopping;
    request.on_head = [&](const HttpResponse& head) {
        const std::uint64_t total = total_from_content_range(head.header("Content-Range"));
        std::lock_guard lock(mutex);
        if (total > 0 && origin)
            origin_size = total;
        if (head.status == 200) {
            skip = from;
            if (origin && origin_size == 0) {
                try {
                    origin_size = std::stoull(head.header("Content-Length"));
                } catch (...) {
                }
            }
        }
    };
    request.on_body = [&](std::string_view chunk) {
        if (skip > 0) {
            const auto n = std::min<std::uint64_t>(skip, chunk.size());
            chunk.remove_prefix(static_cast<std::size_t>(n));
            skip -= n;
        }
        if (chunk.empty())
            return true;
        const auto wrote = ::pwrite(rescue_fd, chunk.data(), chunk.size(), static_cast<off_t>(at));
        if (wrote != static_cast<ssize_t>(chunk.size()))
            return false;
        {
            std::lock_guard lock(mutex);
            rescued.add(at, at + chunk.size());
            (origin ? sources.origin : sources.gateway) += chunk.size();
        }
        at += chunk.size();
        if (origin && on_origin_bytes)
            on_origin_bytes(chunk.size());
        if (on_data)
            on_data();
        return at < to;  // enough: stop the transfer
    };
    std::error_code ec;
    std::string detail;
    const HttpResponse response = http_request(request, ec, &detail);
    if (at > from)
        return true;  // got something (a stop by us is not a failure)
    if (ec) {
        log().warn("{}: {}: {}", url, source, detail);
    } else if (response.status != 206 && response.status != 200) {
        log().warn("{}: {} answered HTTP {}", url, source, response.status);
        if (origin &&
            (response.status == 404 || response.status == 410 || response.status == 416)) {
            std::lock_guard lock(mutex);
            if (!handle.is_valid()) {
                state = ItemState::failed;
                error = "the origin answered HTTP " + std::to_string(response.status);
            }
        }
    }
    return false;
}

namespace {

// What libtorrent is doing about `piece` (for the debug log of a rescue): blocks asked for
// and here, and how many connected peers have it.
std::string piece_report(const lt::torrent_handle& h, int piece) {
    const lt::piece_index_t index{piece};
    std::string state = "not asked for";
    std::vector<lt::partial_piece_info> queue;
    h.get_download_queue(queue);
    std::vector<lt::peer_info> peers;
    h.get_peer_info(peers);
    for (const auto& q : queue) {
        if (q.piece_index != index)
            continue;
        state = fmt::format("{} of {} blocks asked for, {} here", q.requested, q.blocks_in_piece,
                            q.finished + q.writing);
        for (int b = 0; b < q.blocks_in_piece; ++b) {
            if (q.blocks[b].state != lt::block_info::requested)
                continue;
            const auto from = q.blocks[b].peer();
            for (const auto& p : peers) {
                if (p.ip == from)
                    state += fmt::format(" (from {}{}: {} B/s, {} blocks queued)",
                                         p.ip.address().to_string(),
                                         std::string_view(p.pid.data(), p.pid.size())
                                                 .starts_with(gateway_peer_id_prefix)
                                             ? ", the gateway"
                                             : "",
                                         p.payload_down_speed, p.download_queue_length);
            }
        }
    }
    if (h.have_piece(index))
        state = "hashed, not yet on disk";
    const auto holders = std::count_if(peers.begin(), peers.end(), [&](const lt::peer_info& p) {
        return p.pieces.size() > piece && p.pieces.get_bit(index);
    });
    return fmt::format(" (piece {}: {}; {} of {} peers have it)", piece, state, holders,
                       peers.size());
}

}  // namespace

void Item::State::rescue_loop() {
    bool offered_earlier = false;  // what the origin gave before the swarm was joined
    while (!stopping) {
        std::unique_lock lock(mutex);
        cv.wait_for(lock, std::chrono::milliseconds(100), [this] { return stopping.load(); });
        if (stopping || !need_set || state == ItemState::failed || state == ItemState::complete) {
            continue;
        }
        const auto now = Steady::now();
        const bool swarm = handle.is_valid();
        // While the gateway's first answer is on its way, only what plays within the margin
        // comes from the origin, and only after a second: a tune-in does not wait long, and
        // an audience tuning in at once does not each read the item from the origin.
        const bool asking = !swarm && !origin_allowed;
        if (asking && now - looking_since < lookup_grace) {
            continue;
        }
        const bool near_only = swarm || asking;
        if (swarm && !offered_earlier) {
            offered_earlier = true;
            const std::uint64_t held = rescued.total() > 0 ? size : 0;
            lock.unlock();
            offer_rescued(0, held);
            continue;
        }
        // From the byte the reader needs next, up to what it will need within the margin.
        const std::uint64_t pos = need_offset;
        std::uint64_t horizon =
            playback_position(now + (near_only ? options.rescue_margin : origin_lead));
        const std::uint64_t total = known_size();
        if (total > 0)
            horizon = std::min(horizon, total);
        if (swarm && now - swarming_since < swarm_grace) {
            continue;  // the swarm has only just been joined: let it deliver
        }
        // Header bytes first, then the first byte playback needs soon that neither peers
        // nor the origin gave yet.
        if (header_need > 0 && available_end(0) < header_need) {
            const std::uint64_t from = available_end(0);
            lock.unlock();
            if (!fetch_rescue(from, header_need)) {
                lock.lock();
                cv.wait_for(lock, std::chrono::seconds(1), [this] { return stopping.load(); });
            }
            continue;
        }
        std::uint64_t gap = pos;
        while (gap < horizon) {
            const std::uint64_t end = available_end(gap);
            if (end == gap)
                break;
            gap = end;
        }
        if (gap >= horizon) {
            continue;
        }
        // Without a swarm, read a generous run; with one, only until the swarm has bytes.
        std::uint64_t until = near_only
                                  ? horizon
                                  : gap + std::max<std::uint64_t>(
                                              64 * 1024, bytes_for(rate, std::chrono::seconds(10)));
        if (swarm && piece_size > 0) {
            auto p = static_cast<std::size_t>(gap / piece_size);
            while (p < have.size() && !have[p] && p * piece_size < horizon)
                ++p;
            until = std::min(until, std::max<std::uint64_t>(gap + 1, p * piece_size));
        }
        if (total > 0)
            until = std::min(until, total);
        std::string why;  // for the debug log: when the bytes play, what the swarm was doing
        lt::torrent_handle h;
        int piece = -1;
        if (log().should_log(spdlog::level::debug)) {
            h = handle;
            piece = piece_size > 0 ? static_cast<int>(gap / piece_size) : -1;
            why =
                fmt::format("which play in {} ms",
                            lead(now).count() + static_cast<long long>((gap - pos) * 1000 / rate));
            if (swarm)
                why += fmt::format(
                    ", {} ms in the swarm",
                    std::chrono::duration_cast<Milliseconds>(now - swarming_since).count());
        }
        lock.unlock();
        if (!why.empty()) {
            log().debug("{}: rescue: bytes {}-{}, {}{}", url, gap, until, why,
                        swarm && piece >= 0 ? piece_report(h, piece) : std::string());
        }
        if (!fetch_rescue(gap, until)) {
            lock.lock();
            cv.wait_for(lock, std::chrono::seconds(1), [this] { return stopping.load(); });
        } else if (swarm) {
            offer_rescued(gap, until);
        }
    }
}

void Item::State::offer_rescued(std::uint64_t from, std::uint64_t to) {
    std::vector<int> whole;
    lt::torrent_handle h;
    {
        std::lock_guard lock(mutex);
        if (!handle.is_valid() || piece_size == 0 || rescue_fd < 0)
            return;
        h = handle;
        for (auto p = from / piece_size; p * piece_size < to && p < have.size(); ++p) {
            const std::uint64_t start = p * piece_size;
            const std::uint64_t end = std::min(start + piece_size, size);
            const auto piece = static_cast<int>(p);
            if (have[p] || piece == sentinel || offered.count(piece) > 0 ||
                rescued.end_of(start) < end)
                continue;
            offered.insert(piece);
            whole.push_back(piece);
        }
    }
    for (const int piece : whole) {
        const std::uint64_t start = static_cast<std::uint64_t>(piece) * piece_size;
        std::vector<char> bytes(static_cast<std::size_t>(std::min(piece_size, size - start)));
        if (::pread(rescue_fd, bytes.data(), bytes.size(), static_cast<off_t>(start)) !=
            static_cast<ssize_t>(bytes.size()))
            continue;
        try {
            h.add_piece(lt::piece_index_t{piece}, std::move(bytes));
        } catch (const lt::system_error& e) {
            log().debug("{}: {}", url, e.what());
        }
    }
}

void Item::State::update_sources() {
    lt::torrent_handle h;
    std::string seed;
    {
        std::lock_guard lock(mutex);
        h = handle;
        seed = seed_endpoint;
    }
    if (!h.is_valid())
        return;
    std::vector<lt::peer_info> peers;
    h.get_peer_info(peers);
    const lt::torrent_status st = h.status({});
    std::lock_guard lock(mutex);
    std::map<std::string, std::int64_t> seen;
    listeners.clear();
    dht_listeners = 0;
    gateway_connected = false;
    for (const lt::peer_info& p : peers) {
        std::string endpoint = p.ip.address().to_string() + ":" + std::to_string(p.ip.port());
        const std::string key = endpoint + "/" + std::string(p.pid.data(), p.pid.size());
        const std::int64_t before = peer_totals.count(key) > 0 ? peer_totals[key] : 0;
        const std::int64_t delta = std::max<std::int64_t>(0, p.total_download - before);
        // A gateway's seed, whoever connected (then its endpoint is not the one it gave).
        const bool gateway =
            endpoint == seed ||
            std::string_view(p.pid.data(), p.pid.size()).starts_with(gateway_peer_id_prefix);
        (gateway ? sources.gateway : sources.peers) += static_cast<std::uint64_t>(delta);
        seen[key] = p.total_download;
        if (gateway)
            gateway_connected = true;
        else if (listeners.insert(std::string(p.pid.data(), p.pid.size())).second &&
                 (p.source & lt::peer_info::dht))
            ++dht_listeners;
    }
    peer_totals = std::move(seen);
    sources.uploaded =
        static_cast<std::uint64_t>(std::max<std::int64_t>(0, st.total_payload_upload));
    sources.redundant =
        static_cast<std::uint64_t>(std::max<std::int64_t>(0, st.total_redundant_bytes));
    num_peers = st.num_peers;
    download_rate = st.download_payload_rate;
    upload_rate = st.upload_payload_rate;
}

bool Item::State::all_pieces() const {
    return !have.empty() && all_here(0, have.size());
}

void Item::State::release_sentinel() {
    if (sentinel < 0 || !handle.is_valid())
        return;
    const lt::piece_index_t held{sentinel};
    sentinel = -1;
    try {
        // Two round trips through libtorrent's thread: the second is queued after every
        // cancel_non_critical() our deadlines posted, so when it returns they have run and
        // the torrent may become a seed.
        (void)handle.piece_priority(held);
        (void)handle.piece_priority(held);
        handle.piece_priority(held, lt::top_priority);
    } catch (const lt::system_error& e) {
        log().debug("{}: {}", url, e.what());
    }
}

void Item::State::make_urgent(int p, int ms) {
    if (sentinel >= 0) {
        handle.set_piece_deadline(lt::piece_index_t{p}, ms);
    } else if (urgent.insert(p).second) {
        handle.piece_priority(lt::piece_index_t{p}, lt::top_priority);
    }
}

bool Item::State::next_seconds_missing() const {
    if (have.empty() || piece_size == 0 || rate == 0)
        return false;
    const std::uint64_t pos = need_offset;
    const auto first = static_cast<std::size_t>(pos / piece_size);
    const auto near = std::min<std::uint64_t>(
        have.size() - 1,
        (pos + std::max(bytes_for(rate, std::chrono::seconds(4)), piece_size)) / piece_size);
    return first <= near && !all_here(first, near + 1);
}

bool Item::State::all_here(std::size_t from, std::size_t to) const {
    return std::all_of(have.begin() + static_cast<std::ptrdiff_t>(from),
                       have.begin() + static_cast<std::ptrdiff_t>(to), [](bool h) { return h; });
}

Milliseconds Item::State::lead(Steady::time_point now) const {
    return std::chrono::duration_cast<Milliseconds>(need_time + starts_in - now);
}

bool Item::State::short_of_next_seconds() {
    std::lock_guard lock(mutex);
    // Before the swarm is joined `have` is empty, and a complete item misses nothing: both
    // are false through next_seconds_missing().
    return need_set && lead(Steady::now()) <= options.deadline_window && next_seconds_missing();
}

bool Item::State::on_air_unfinished() {
    if (handles == 0)
        return false;  // nobody plays it
    std::lock_guard lock(mutex);
    if (!need_set || lead(Steady::now()) > options.deadline_window)
        return false;
    if (!handle.is_valid())
        return !origin_allowed;  // a tune-in waiting for the gateway
    if (piece_size == 0)
        return false;
    const auto first = static_cast<std::size_t>(need_offset / piece_size);
    return first < have.size() && !all_here(first, have.size());
}

void Item::State::apply_deadlines(bool force) {
    std::lock_guard lock(mutex);
    if (!handle.is_valid())
        return;
    if (sentinel >= 0) {
        // Near the end the sentinel goes; the last few pieces come by priority.
        int others = 0;
        for (auto p = static_cast<std::size_t>(std::max(lowest_wanted_piece, 0));
             p < have.size() && others <= 2; ++p) {
            if (!have[p] && static_cast<int>(p) != sentinel &&
                unflushed.count(static_cast<int>(p)) == 0)
                ++others;
        }
        if (others <= 2)
            release_sentinel();
    }
    if (!need_set || piece_size == 0 || rate == 0)
        return;
    if (!force && !deadlines_dirty && state == ItemState::complete)
        return;
    deadlines_dirty = false;
    const auto now = Steady::now();
    const std::uint64_t pos = need_offset;  // the reader's next byte
    const auto first = static_cast<int>(pos / piece_size);
    // Pieces before the scheduled start were not wanted; playback may go back (a player
    // reading the item from its start), so want them again.
    if (first < lowest_wanted_piece) {
        for (int p = first; p < lowest_wanted_piece; ++p) {
            handle.piece_priority(lt::piece_index_t{p}, lt::default_priority);
        }
        lowest_wanted_piece = first;
    }
    const std::uint64_t window = std::max(bytes_for(rate, options.deadline_window), piece_size * 4);
    const auto last =
        static_cast<int>(std::min<std::uint64_t>(size - 1, pos + window) / piece_size);
    const auto lead = this->lead(now);
    // While an item on air is short of its next seconds, an item that starts beyond the
    // deadline window comes at a pace (half as fast again as it plays), not at once: at a
    // cold start a whole audience fetching its next items flat out filled every uplink, and
    // the item on air came late. Not otherwise: an audience paced in step asked the gateway
    // for each piece at the same moment, and it sent each item 2 to 3 times.
    const bool yield = on_air_short && on_air_short->load();
    const int pace = yield && lead > options.deadline_window
                         ? static_cast<int>(std::min<std::uint64_t>(rate * 3 / 2, INT32_MAX))
                         : 0;
    if (pace != download_pace) {
        download_pace = pace;
        handle.set_download_limit(pace > 0 ? pace : -1);
    }
    if (sentinel >= 0 && sentinel <= last)
        release_sentinel();  // playback is about to need it
    if (pace == 0 && !warmed && !have.empty()) {
        // A tune-in: until the next seconds are here, nothing beyond the deadline window is
        // asked for, so that peers' and the gateway's uplinks carry only what plays next.
        const bool missing = next_seconds_missing();
        if (missing != focused) {
            std::vector<std::pair<lt::piece_index_t, lt::download_priority_t>> change;
            for (auto p = static_cast<std::size_t>(last) + 1; p < have.size(); ++p) {
                if (!have[p] && static_cast<int>(p) != sentinel)
                    change.emplace_back(lt::piece_index_t{static_cast<int>(p)},
                                        missing ? lt::dont_download : lt::default_priority);
            }
            handle.prioritize_pieces(change);
            focused = missing;
            warmed = !missing;
        }
    }
    for (int p = first; p <= last && static_cast<std::size_t>(p) < have.size(); ++p) {
        if (have[static_cast<std::size_t>(p)])
            continue;
        const std::uint64_t piece_start = static_cast<std::uint64_t>(p) * piece_size;
        const auto until = piece_start > pos ? (piece_start - pos) * 1000 / rate : 0;
        // `lead` is negative when the reader is late: its pieces are due sooner.
        const auto ms = static_cast<int>(
            std::max<std::int64_t>(0, static_cast<std::int64_t>(until) + lead.count()));
        make_urgent(p, ms);
    }
}

// ---- Item ------------------------------------------------------------------------------

Item::Item(std::shared_ptr<State> state) : state_(std::move(state)) {
    if (state_->handles++ == 0) {
        state_->start();
    }
}

Item::~Item() {
    if (--state_->handles == 0) {
        state_->park();  // nobody plays it: no more lookups or origin reads
        std::lock_guard lock(state_->mutex);
        state_->idle_since = State::Steady::now();
    }
}

std::size_t Item::read(std::uint64_t offset, char* out, std::size_t max) {
    int source_fd = -1;
    std::size_t n = 0;
    {
        std::lock_guard lock(state_->mutex);
        State& s = *state_;
        if (s.piece_size > 0 && !s.have.empty()) {
            auto p = static_cast<std::size_t>(offset / s.piece_size);
            if (p < s.have.size() && s.have[p]) {
                while (p < s.have.size() && s.have[p] && p * s.piece_size < offset + max)
                    ++p;
                n = static_cast<std::size_t>(
                    std::min<std::uint64_t>({max, std::min(p * s.piece_size, s.size) - offset}));
                if (s.fd < 0)
                    s.fd = ::open(s.file.c_str(), O_RDONLY | O_CLOEXEC);
                source_fd = s.fd;
            }
        }
        if (source_fd < 0) {
            const std::uint64_t end = s.rescued.end_of(offset);
            if (end > offset && s.rescue_fd >= 0) {
                n = static_cast<std::size_t>(std::min<std::uint64_t>(max, end - offset));
                source_fd = s.rescue_fd;
            }
        }
    }
    if (source_fd < 0 || n == 0)
        return 0;
    const ssize_t got = ::pread(source_fd, out, n, static_cast<off_t>(offset));
    return got > 0 ? static_cast<std::size_t>(got) : 0;
}

void Item::need(std::uint64_t offset, std::uint64_t bytes_per_second, Milliseconds starts_in) {
    {
        std::lock_guard lock(state_->mutex);
        State& s = *state_;
        if (!s.need_set) {
            s.lowest_wanted_piece = s.piece_size > 0 ? static_cast<int>(offset / s.piece_size) : 0;
        }
        s.need_set = true;
        s.need_offset = offset;
        s.rate = std::max<std::uint64_t>(bytes_per_second, 1000);
        s.need_time = State::Steady::now();
        s.starts_in = starts_in;
        s.deadlines_dirty = true;
    }
    state_->apply_deadlines(true);
    state_->cv.notify_all();
}

void Item::need_header(std::uint64_t end) {
    {
        std::lock_guard lock(state_->mutex);
        State& s = *state_;
        if (end <= s.header_need)
            return;
        s.header_need = end;
        if (s.handle.is_valid() && s.piece_size > 0) {
            if (s.sentinel >= 0 && static_cast<std::uint64_t>(s.sentinel) * s.piece_size < end)
                s.release_sentinel();
            for (std::uint64_t p = 0; p * s.piece_size < end && p < s.have.size(); ++p) {
                if (s.have[p])
                    continue;
                s.handle.piece_priority(lt::piece_index_t{static_cast<int>(p)}, lt::top_priority);
                s.make_urgent(static_cast<int>(p), 0);
            }
        }
    }
    state_->cv.notify_all();
}

ItemState Item::state() const {
    std::lock_guard lock(state_->mutex);
    return state_->state;
}

std::uint64_t Item::size() const {
    std::lock_guard lock(state_->mutex);
    return state_->known_size();
}

std::optional<MediaLayout> Item::layout() const {
    std::lock_guard lock(state_->mutex);
    return state_->layout;
}

ByteSources Item::sources() const {
    std::lock_guard lock(state_->mutex);
    return state_->sources;
}

std::string Item::error() const {
    std::lock_guard lock(state_->mutex);
    return state_->error;
}

const std::string& Item::media_url() const {
    return state_->url;
}

}  // namespace alluvium::detail
