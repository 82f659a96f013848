// The gateway's work: deciding what may be fetched, fetching each URL once (single
// flight), caching with LRU eviction, seeding, and answering waiting listeners.
#include <alluvium/fetch.hpp>
#include <alluvium/file.hpp>
#include <alluvium/playlist.hpp>
#include <alluvium/url.hpp>

#include "gateway_impl.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace alluvium::gateway {

namespace net = boost::asio;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr auto playlist_reread_gap = std::chrono::seconds(5);
constexpr auto failure_memory = std::chrono::seconds(15);
constexpr std::size_t max_url_length = 2048;

bool is_loopback(const std::string& ip) {
    return classify_address(ip) == AddressClass::loopback;
}

// The lifetime an origin answer gave, as the store keeps it.
std::optional<std::int64_t> fresh_seconds(const OriginResult& result) {
    return result.fresh_for ? std::optional<std::int64_t>(result.fresh_for->count()) : std::nullopt;
}

}  // namespace

std::filesystem::path cache_dir(const GatewayConfig& c) {
    return c.data_dir / "cache";
}

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

Gateway::Impl::Impl(GatewayConfig c)
    : config(std::move(c)),
      policy(PolicyOptions{config.allow_origins, config.allow_private_addresses,
                           config.listener_playlists}),
      tracker(TrackerOptions{std::chrono::seconds(config.announce_interval),
                             std::chrono::seconds(std::max(5u, config.announce_interval / 3)),
                             200}),
      work(config.work_threads),
      fetches(std::make_unique<net::thread_pool>(config.fetch_jobs)) {}

std::unique_ptr<Gateway> Gateway::start(GatewayConfig config, std::string& error) {
    if (auto problem = config.finish()) {
        error = *problem;
        return nullptr;
    }
    std::error_code ec;
    std::filesystem::create_directories(cache_dir(config), ec);
    std::filesystem::create_directories(config.data_dir / "tmp", ec);
    if (ec) {
        error = "cannot create " + config.data_dir.string() + ": " + ec.message();
        return nullptr;
    }
    auto impl = std::make_unique<Impl>(std::move(config));
    impl->store = Store::open(impl->config.data_dir / "gateway.sqlite3", error);
    if (!impl->store) {
        error = "cannot open the cache database: " + error;
        return nullptr;
    }
    SeederOptions seeding;
    seeding.listen_interfaces = impl->config.bt_listen;
    seeding.upload_rate_limit = static_cast<std::int64_t>(impl->config.upload_limit);
    seeding.announce_interval_seconds = static_cast<int>(impl->config.announce_interval);
    seeding.spread = impl->config.seed_policy == "spread";
    seeding.dht = impl->config.dht;
    seeding.dht_bootstrap = impl->config.dht_bootstrap;
    impl->seeder = std::make_unique<Seeder>(seeding);
    Impl* raw = impl.get();
    impl->start_nat_check();
    impl->resume_cache();

    const auto colon = impl->config.listen.rfind(':');
    HttpServerOptions http;
    http.bind_address = impl->config.listen.substr(0, colon);
    if (http.bind_address.size() > 2 && http.bind_address.front() == '[') {
        http.bind_address = http.bind_address.substr(1, http.bind_address.size() - 2);
    }
    try {
        http.port = static_cast<std::uint16_t>(std::stoi(impl->config.listen.substr(colon + 1)));
    } catch (...) {
        error = "listen address '" + impl->config.listen + "' is not host:port";
        return nullptr;
    }
    http.threads = impl->config.http_threads;
    http.server_name = "alluvium-gateway";
    impl->server = HttpServer::start(
        http,
        [raw](HttpServerRequest&& req, HttpResponder res) {
            raw->handle(std::move(req), std::move(res));
        },
        ec);
    if (!impl->server) {
        error = "cannot listen on " + impl->config.listen + ": " + ec.message();
        return nullptr;
    }
    impl->sample_timer = std::make_unique<net::steady_timer>(impl->loop);
    net::post(impl->loop, [raw] { raw->arm_samples(); });
    impl->loop_thread = std::thread([raw] { raw->loop.run(); });
    // Playlists the operator named, and those learnt before a restart, are read again in
    // the background so that their items are allowed.
    for (const std::string& p : impl->config.playlists) {
        net::post(impl->work, [raw, p] {
            if (auto problem = raw->read_playlist(p, true)) {
                spdlog::warn("playlist {}: {}", p, *problem);
            }
        });
    }
    for (const auto& [p, trusted] : impl->store->playlists()) {
        net::post(impl->work,
                  [raw, p = p, trusted = trusted] { (void)raw->read_playlist(p, trusted); });
    }
    spdlog::info("gateway listening on {} (public URL {}), BitTorrent on port {}, data in {}",
                 impl->server->address(), impl->config.public_url, impl->seeder->listen_port(),
                 impl->config.data_dir.string());
    return std::unique_ptr<Gateway>(new Gateway(std::move(impl)));
}

Gateway::Gateway(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Gateway::~Gateway() {
    stop();
}

std::uint16_t Gateway::port() const {
    return impl_->server->port();
}
std::uint16_t Gateway::bt_port() const {
    return impl_->seeder->listen_port();
}

void Gateway::stop() {
    if (impl_->stopping.exchange(true)) {
        return;
    }
    // Background work first (fetches notice `stopping` within a second; what they end
    // posts to the loop), then the loop, then the seed, whose "stopped" announces the tracker
    // still answers, then the HTTP server.
    impl_->work.join();
    impl_->fetches->join();
    net::post(impl_->loop, [impl = impl_.get()] {
        impl->waiters.clear();  // their connections close unanswered
        impl->close_pages();
        if (impl->nat_check)
            impl->nat_check->stop();
        impl->loop_guard.reset();
    });
    impl_->loop_thread.join();
    impl_->seeder.reset();
    impl_->server->stop();
    spdlog::info("gateway stopped");
}

void Gateway::Impl::start_nat_check() {
    if (!config.builtin_tracker || !config.nat_check)
        return;
    // 5 s: a SYN lost once on a slow home link is resent within it.
    nat_check = std::make_unique<NatCheck>(loop, std::chrono::seconds(5), 256);
    tracker.set_nat_check([this](const std::string& ip, std::uint16_t port) {
        (void)nat_check->check(ip, port, [this, ip, port](bool yes) {
            tracker.reachable(ip, port, yes, Tracker::Clock::now());
            spdlog::debug("tracker: {}:{} is {}", ip, port, yes ? "reachable" : "unreachable");
        });
    });
}

void Gateway::Impl::resume_cache() {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(config.data_dir / "tmp", ec)) {
        std::filesystem::remove(entry.path(), ec);  // downloads cut short by a stop or crash
    }
    std::size_t resumed = 0;
    for (const StoredItem& item : store->by_last_access()) {
        const auto file = cache_dir(config) / item.meta.content_sha256;
        if (std::filesystem::file_size(file, ec) != item.meta.size || ec) {
            spdlog::warn("cache: {} is missing or truncated; forgetting {}", file.string(),
                         item.url);
            store->remove(item.url);
            continue;
        }
        tracker.add_torrent(item.meta.info_hash, seed_endpoint());
        seeder->seed(item.meta, config.announce_urls(), cache_dir(config));
        ++resumed;
    }
    evict_to_fit(0, {});
    write_tracker_whitelist();
    if (resumed > 0) {
        spdlog::info("cache: seeding {} items from {}", resumed, cache_dir(config).string());
    }
}

std::optional<std::string> Gateway::Impl::read_playlist(const std::string& url, bool trusted) {
    {
        std::lock_guard lock(playlist_reads_mutex);
        auto& last = playlist_reads[url];
        const auto now = SteadyClock::now();
        if (last != SteadyClock::time_point{} && now - last < playlist_reread_gap &&
            policy.knows_playlist(url)) {
            return std::nullopt;  // read a moment ago
        }
        last = now;
    }
    const Decision decision = policy.check_playlist(url, trusted);
    if (!decision.allowed) {
        return decision.reason;
    }
    HttpRequest request;
    request.url = url;
    request.max_body_bytes = ReadOptions{}.max_bytes;
    request.total_timeout = std::chrono::seconds(15);
    request.allow_address = [decision](const std::string& ip) {
        return Policy::address_ok(decision, ip);
    };
    std::error_code ec;
    std::string detail;
    const HttpResponse response = http_request(request, ec, &detail);
    if (ec) {
        return "cannot read the playlist: " + detail;
    }
    if (response.status != 200) {
        return "the playlist's server answered HTTP " + std::to_string(response.status);
    }
    const ReadResult read = alluvium::read_playlist(response.body, url);
    if (!read.ok()) {
        return "invalid playlist: " +
               (read.diagnostics.empty() ? std::string("?") : read.diagnostics.front().to_string());
    }
    std::vector<std::string> items;
    for (const Item& item : read.playlist->items) {
        items.push_back(item.media_url);
    }
    policy.learn_playlist(url, items, trusted);
    store->add_playlist(url, trusted, unix_now());
    spdlog::debug("playlist {}: {} items{}", url, items.size(), trusted ? " (trusted)" : "");
    return std::nullopt;
}

Decision Gateway::Impl::allow_media(const std::string& url,
                                    const std::optional<std::string>& playlist) {
    Decision decision = policy.check_media(url);
    if (decision.allowed) {
        return decision;
    }
    if (playlist) {
        if (auto problem = read_playlist(*playlist, false)) {
            return {false, false, "playlist " + *playlist + ": " + *problem};
        }
        decision = policy.check_media(url);
        if (!decision.allowed) {
            decision.reason = "the URL is not an item of " + *playlist;
        }
        return decision;
    }
    // The URL may be in a configured playlist not read yet (just after start), or new in a
    // playlist the gateway knows (a live playlist grows). Reads are rate-limited per playlist.
    for (const std::string& configured : config.playlists) {
        (void)read_playlist(configured, true);
    }
    for (const auto& [known, trusted] : store->playlists()) {
        (void)read_playlist(known, trusted);
    }
    return policy.check_media(url);
}

void Gateway::Impl::lookup(const HttpServerRequest& request, HttpResponder responder,
                           AnswerKind kind) {
    const auto url = request.param("url");
    const auto playlist = request.param("playlist");
    if (!url || url->empty()) {
        return responder.respond(error_response(400, "", "invalid", "missing the url parameter"));
    }
    if (url->size() > max_url_length || (playlist && playlist->size() > max_url_length)) {
        spdlog::warn("refused {} from {}: URL longer than {} bytes", request.path,
                     request.remote_address, max_url_length);
        return responder.respond(error_response(414, url->substr(0, 100) + "...", "refused",
                                                "URLs are limited to 2048 bytes"));
    }
    long wait_ms = 0;
    try {
        wait_ms = std::clamp(std::stol(request.param("wait").value_or("0")), 0L, 30000L);
    } catch (...) {
        return responder.respond(error_response(400, *url, "invalid", "wait must be milliseconds"));
    }
    const auto cached = store->find(*url);
    const Decision decision = allow_media(*url, playlist);
    if (!cached && !decision.allowed) {
        spdlog::warn("refused {} for {}: {}", *url, request.remote_address, decision.reason);
        return responder.respond(error_response(403, *url, "refused", decision.reason));
    }
    bool fetching = false;
    if (cached) {
        store->touch(*url, unix_now());
        // Fresh for as long as the origin said (Cache-Control, Expires), else for
        // --revalidate-after; a caller that waits gets the revalidated answer.
        const std::int64_t lifetime = cached->fresh_for >= 0
                                          ? cached->fresh_for
                                          : static_cast<std::int64_t>(config.revalidate_after);
        fetching = unix_now() - cached->validated_at >= lifetime && decision.allowed;
    }
    net::post(loop, [this, url = *url, kind, res = std::move(responder), fetching, wait_ms,
                     decision, cached]() mutable {
        if (!cached) {
            const auto failed = failures.find(url);
            if (failed != failures.end() && SteadyClock::now() < failed->second.until &&
                jobs.count(url) == 0) {
                return res.respond(
                    error_response(failed->second.status, url, "failed", failed->second.message));
            }
            fetching = true;
        }
        if (fetching)
            ensure_job(url, decision, cached);
        answer(url, kind, std::move(res), fetching, wait_ms);
    });
}

// On the loop: the answer now, or once the fetch ends or the wait runs out.
void Gateway::Impl::answer(const std::string& url, AnswerKind kind, HttpResponder responder,
                           bool fetching, long wait_ms) {
    if (fetching && wait_ms > 0 && jobs.count(url) > 0)
        return wait_for_job(url, kind, std::move(responder), wait_ms);
    responder.respond(answer_for(url, kind));
}

void Gateway::Impl::wait_for_job(const std::string& url, AnswerKind kind, HttpResponder responder,
                                 long wait_ms) {
    const std::uint64_t id = next_waiter++;
    auto timer = std::make_unique<net::steady_timer>(loop, std::chrono::milliseconds(wait_ms));
    timer->async_wait([this, id](boost::system::error_code ec) {
        if (ec)
            return;  // answered (cancelled) or stopping
        const auto w = waiters.find(id);
        if (w == waiters.end())
            return;
        Waiter waiter = std::move(w->second);
        waiters.erase(w);
        waiter.responder.respond(answer_for(waiter.url, waiter.kind));
    });
    waiters.emplace(id, Waiter{url, kind, std::move(responder), std::move(timer)});
}

void Gateway::Impl::prime(const HttpServerRequest& request, HttpResponder responder) {
    if (!config.remote_admin && !is_loopback(request.remote_address)) {
        spdlog::warn("refused prime from {}: not loopback", request.remote_address);
        return responder.respond(
            error_response(403, "", "refused", "prime is for the operator (loopback)"));
    }
    std::vector<std::string> urls;
    const auto playlist = request.param("playlist");
    if (playlist) {
        if (auto problem = read_playlist(*playlist, true)) {
            return responder.respond(error_response(502, *playlist, "failed", *problem));
        }
        urls = policy.items_of(*playlist);
    } else if (const auto url = request.param("url")) {
        urls.push_back(*url);
    } else {
        return responder.respond(error_response(400, "", "invalid", "give playlist= or url="));
    }
    std::size_t to_fetch = 0;
    for (const std::string& url : urls) {
        const Decision decision = allow_media(url, std::nullopt);
        const auto cached = store->find(url);
        if (decision.allowed && !cached) {
            net::post(loop, [this, url, decision] { ensure_job(url, decision, std::nullopt); });
            ++to_fetch;
        }
    }
    spdlog::info("prime: {} items, {} to fetch", urls.size(), to_fetch);
    responder.respond(
        json_response(202, nlohmann::json{{"items", urls}, {"fetching", to_fetch}}.dump()));
}

std::shared_ptr<Job> Gateway::Impl::ensure_job(const std::string& url, const Decision& decision,
                                               const std::optional<StoredItem>& cached) {
    std::shared_ptr<Job> job;
    {
        if (const auto found = jobs.find(url); found != jobs.end()) {
            return found->second;
        }
        // An origin that asked us to wait is not asked again before its time.
        const auto parsed = parse_url(url);
        const auto now = SteadyClock::now();
        if (const auto busy = parsed ? origin_backoff.find(parsed->origin()) : origin_backoff.end();
            busy != origin_backoff.end() && now < busy->second) {
            const auto left = std::chrono::ceil<std::chrono::seconds>(busy->second - now);
            failures[url] = Failure{503,
                                    "the origin asked to wait (Retry-After); " +
                                        std::to_string(left.count()) + " s left",
                                    busy->second};
            return nullptr;
        }
        job = std::make_shared<Job>();
        job->url = url;
        job->decision = decision;
        if (cached) {
            job->etag = cached->etag;
            job->last_modified = cached->last_modified;
        }
        if (parsed && config.origin_rate_limit > 0) {
            auto& pacer = origin_pacers[parsed->origin()];
            if (!pacer)
                pacer = std::make_shared<RatePacer>(config.origin_rate_limit);
            job->pacer = pacer;
        }
        jobs.emplace(url, job);
        failures.erase(url);
    }
    net::post(*fetches, [this, job] { run_job(job); });
    return job;
}

void Gateway::Impl::run_job(const std::shared_ptr<Job>& job) {
    const auto began = SteadyClock::now();
    spdlog::info("{} {}",
                 job->etag.empty() && job->last_modified.empty() ? "fetching" : "revalidating",
                 job->url);
    OriginFetch fetch;
    fetch.url = job->url;
    fetch.etag = job->etag;
    fetch.last_modified = job->last_modified;
    fetch.max_size = config.max_item_size;
    fetch.pacer = job->pacer;
    fetch.allow_address = [decision = job->decision, url = job->url](const std::string& ip) {
        if (Policy::address_ok(decision, ip)) {
            return true;
        }
        spdlog::warn("refused to connect to {} ({}) for {}", ip,
                     address_class_name(classify_address(ip)), url);
        return false;
    };
    fetch.tmp_dir = config.data_dir / "tmp";
    fetch.cache_dir = cache_dir(config);
    fetch.received = &job->received;
    fetch.total = &job->total;
    fetch.hashing = &job->hashing;
    fetch.cancel = &stopping;
    OriginResult result;
    try {
        result = fetch_from_origin(fetch);
        origin_bytes += result.origin_bytes;
        const double seconds = std::chrono::duration<double>(SteadyClock::now() - began).count();
        switch (result.kind) {
            case OriginResult::Kind::fetched:
                adopt(job->url, result);
                ++fetches_done;
                spdlog::info("ready {}: {} bytes, {} KiB pieces, info-hash {} ({:.1f} s)", job->url,
                             result.meta.size, result.meta.piece_size / 1024,
                             result.meta.info_hash_hex(), seconds);
                break;
            case OriginResult::Kind::not_modified:
                store->mark_validated(job->url, unix_now(), fresh_seconds(result));
                spdlog::debug("unchanged {}", job->url);
                break;
            case OriginResult::Kind::failed:
                spdlog::warn("cannot fetch {}: {}", job->url, result.message);
                break;
        }
    } catch (const std::exception& e) {
        result.kind = OriginResult::Kind::failed;
        result.status = 500;
        result.message = e.what();
        spdlog::error("fetch of {} failed: {}", job->url, e.what());
    }
    net::post(loop, [this, job, result] { job_done(job, result); });
}

// On the loop: what failed is remembered (and an origin that asked to wait left alone),
// and the listeners waiting for it are answered.
void Gateway::Impl::job_done(const std::shared_ptr<Job>& job, const OriginResult& result) {
    origin_by_url[job->url] += result.origin_bytes;
    if (result.kind == OriginResult::Kind::failed) {
        const auto now = SteadyClock::now();
        const auto until =
            now + (result.retry_after.count() > 0
                       ? std::chrono::duration_cast<SteadyClock::duration>(result.retry_after)
                       : std::chrono::duration_cast<SteadyClock::duration>(failure_memory));
        failures[job->url] = Failure{result.status, result.message, until};
        if (const auto parsed = parse_url(job->url); parsed && result.retry_after.count() > 0) {
            origin_backoff[parsed->origin()] = until;
            spdlog::warn("origin {} is overloaded: nothing asked of it for {} s", parsed->origin(),
                         result.retry_after.count());
        }
    }
    jobs.erase(job->url);
    answer_waiters(job->url);
}

void Gateway::Impl::adopt(const std::string& url, const OriginResult& result) {
    const auto previous = store->find(url);
    const bool new_content = !store->content_in_use(result.meta.content_sha256);
    evict_to_fit(new_content ? result.meta.size : 0, url);
    const std::int64_t now = unix_now();
    store->put(StoredItem{url, result.meta, result.etag, result.last_modified, now, now, now,
                          result.layout, fresh_seconds(result).value_or(-1)});
    tracker.add_torrent(result.meta.info_hash, seed_endpoint());
    seeder->seed(result.meta, config.announce_urls(), cache_dir(config));
    if (previous && previous->meta.content_sha256 != result.meta.content_sha256 &&
        !store->content_in_use(previous->meta.content_sha256)) {
        spdlog::info("{} changed at the origin: new info-hash {}", url,
                     result.meta.info_hash_hex());
        drop_content(*previous);
    }
    write_tracker_whitelist();
}

void Gateway::Impl::write_tracker_whitelist() {
    if (config.tracker_whitelist.empty())
        return;
    std::string text;
    for (const StoredItem& item : store->by_last_access())
        text += item.meta.info_hash_hex() + "\n";
    std::lock_guard lock(whitelist_mutex);
    std::string error;
    if (!replace_file(config.tracker_whitelist, text, &error))
        spdlog::error("tracker whitelist: {}", error);
}

std::optional<std::pair<std::string, std::uint16_t>> Gateway::Impl::seed_endpoint() const {
    const std::string ip = config.seed_ip();
    if (ip.empty() || !seeder) {
        return std::nullopt;
    }
    return std::pair{ip, seeder->listen_port()};
}

void Gateway::Impl::evict_to_fit(std::uint64_t incoming, const std::string& keep_url) {
    const auto items = store->by_last_access();
    std::map<std::string, std::uint64_t> content;
    for (const StoredItem& item : items) {
        content[item.meta.content_sha256] = item.meta.size;
    }
    std::uint64_t used = 0;
    for (const auto& [sha, size] : content) {
        used += size;
    }
    for (const StoredItem& item : items) {
        if (used + incoming <= config.cache_size) {
            break;
        }
        if (item.url == keep_url) {
            continue;
        }
        store->remove(item.url);
        if (!store->content_in_use(item.meta.content_sha256)) {
            used -= item.meta.size;
            drop_content(item);
        }
        spdlog::info("evicted {} ({} bytes, last asked for {} s ago)", item.url, item.meta.size,
                     unix_now() - item.last_access);
    }
}

void Gateway::Impl::drop_content(const StoredItem& item) {
    seeder->remove(item.meta.info_hash);
    tracker.remove_torrent(item.meta.info_hash);
    std::error_code ec;
    std::filesystem::remove(cache_dir(config) / item.meta.content_sha256, ec);
}

void Gateway::Impl::answer_waiters(const std::string& url) {
    for (auto w = waiters.begin(); w != waiters.end();) {
        if (w->second.url != url) {
            ++w;
            continue;
        }
        Waiter waiter = std::move(w->second);
        w = waiters.erase(w);
        waiter.deadline->cancel();
        waiter.responder.respond(answer_for(waiter.url, waiter.kind));
    }
}

}  // namespace alluvium::gateway
