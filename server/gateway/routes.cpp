// HTTP routing of the gateway and how its answers look (JSON for programs, HTML for people).
#include <alluvium/text.hpp>
#include <alluvium/time.hpp>
#include <alluvium/version.hpp>

#include "gateway_impl.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

namespace alluvium::gateway {

namespace net = boost::asio;
using nlohmann::json;

namespace {

std::string w3c(std::int64_t unix_seconds) {
    return format_w3cdtf(TimePoint{std::chrono::seconds(unix_seconds)});
}

bool method_is(const HttpServerRequest& r, std::initializer_list<const char*> methods) {
    for (const char* m : methods) {
        if (r.method == m) {
            return true;
        }
    }
    return false;
}

// The NAT check's figures for /status: null when it is off.
json nat_check_figures(bool on, Tracker& tracker) {
    if (!on)
        return nullptr;
    const ReachCounts counts = tracker.reach_counts();
    return json{{"reachable", counts.reachable}, {"unreachable", counts.unreachable}};
}

}  // namespace

HttpServerResponse json_response(int status, const std::string& body) {
    HttpServerResponse r;
    r.status = status;
    r.headers.emplace_back("Content-Type", "application/json");
    r.headers.emplace_back("Cache-Control", "no-store");
    r.headers.emplace_back("Access-Control-Allow-Origin", "*");
    r.body = body + "\n";
    return r;
}

HttpServerResponse error_response(int status, const std::string& url, const std::string& state,
                                  const std::string& message) {
    return json_response(status, json{{"url", url}, {"state", state}, {"error", message}}.dump());
}

void Gateway::Impl::handle(HttpServerRequest&& request, HttpResponder responder) {
    const std::string& path = request.path;
    if (path == "/announce") {
        if (!config.builtin_tracker) {
            const std::string other = config.main_tracker();
            return responder.respond(HttpServerResponse::text(
                404, "the built-in tracker is off: use " +
                         (other.empty() ? std::string("the DHT") : other) + "\n"));
        }
        if (!method_is(request, {"GET"})) {
            return responder.respond(HttpServerResponse::text(405, "announce with GET\n"));
        }
        HttpServerResponse answer = tracker.handle(request);
        if (answer.status != 200) {
            spdlog::warn("tracker: refused announce from {}: HTTP {} {}", request.remote_address,
                         answer.status, answer.body);
        }
        return responder.respond(std::move(answer));
    }
    const auto later = [this](auto task) { net::post(work, std::move(task)); };
    if (path == "/v1/swarm" || path == "/v1/torrent") {
        if (!method_is(request, {"GET", "HEAD"})) {
            return responder.respond(error_response(405, "", "invalid", "use GET"));
        }
        const AnswerKind kind = path == "/v1/swarm" ? AnswerKind::json : AnswerKind::torrent;
        return later([this, req = std::move(request), res = std::move(responder), kind]() mutable {
            lookup(req, std::move(res), kind);
        });
    }
    if (path == "/v1/prime") {
        if (!method_is(request, {"POST"})) {
            return responder.respond(error_response(405, "", "invalid", "use POST"));
        }
        return later([this, req = std::move(request), res = std::move(responder)]() mutable {
            prime(req, std::move(res));
        });
    }
    if (path == "/v1/media") {
        if (!method_is(request, {"GET"})) {
            return responder.respond(error_response(405, "", "invalid", "use GET"));
        }
        return later([this, req = std::move(request), res = std::move(responder)]() mutable {
            res.respond(media_range(req));
        });
    }
    if (path == "/v1/status" && method_is(request, {"GET", "HEAD"})) {
        return later([this, res = std::move(responder)]() mutable { res.respond(status_json()); });
    }
    if (path == "/v1/events" && method_is(request, {"GET"}))
        return serve_events(std::move(responder));
    if (method_is(request, {"GET", "HEAD"}) && serve_dashboard_file(path, responder))
        return;
    responder.respond(error_response(404, "", "invalid", "no such endpoint: " + path));
}

HttpServerResponse Gateway::Impl::answer_for(const std::string& url, AnswerKind kind) {
    if (const auto item = store->find(url)) {
        const std::string torrent = item->meta.torrent(config.announce_urls());
        if (kind == AnswerKind::torrent) {
            HttpServerResponse r;
            r.headers.emplace_back("Content-Type", "application/x-bittorrent");
            r.headers.emplace_back(
                "Content-Disposition",
                "attachment; filename=\"" + item->meta.content_sha256 + ".torrent\"");
            r.body = torrent;
            return r;
        }
        json answer{{"url", url},
                    {"state", "ready"},
                    {"info_hash", item->meta.info_hash_hex()},
                    {"size", item->meta.size},
                    {"piece_size", item->meta.piece_size},
                    {"content_sha256", item->meta.content_sha256},
                    {"tracker", config.main_tracker()},
                    {"peers", config.builtin_tracker ? tracker.peers(item->meta.info_hash, 50)
                                                     : std::vector<std::string>{}},
                    {"etag", item->etag},
                    {"validated_at", w3c(item->validated_at)},
                    {"torrent", base64_encode(torrent)}};
        if (const auto seed = seed_endpoint()) {
            answer["seed"] = seed->first + ":" + std::to_string(seed->second);
            answer["dht"] = config.dht;  // the seed is a DHT node
        }
        if (!item->layout.empty()) {
            answer["media"] = json::parse(item->layout, nullptr, false);
        }
        return json_response(200, answer.dump());
    }
    if (const auto job = jobs.find(url); job != jobs.end()) {
        HttpServerResponse r =
            json_response(202, json{{"url", url},
                                    {"state", job->second->hashing ? "hashing" : "fetching"},
                                    {"received", job->second->received.load()},
                                    {"total", job->second->total.load()},
                                    {"retry_after_ms", 1000}}
                                   .dump());
        r.headers.emplace_back("Retry-After", "1");
        return r;
    }
    if (const auto failed = failures.find(url); failed != failures.end()) {
        return error_response(failed->second.status, url, "failed", failed->second.message);
    }
    return error_response(503, url, "unknown", "not cached; ask again");
}

// The rescue path of a listener the swarm left short (docs/ARCHITECTURE.md: a client reads the
// origin only when the gateway is unreachable): a byte range of an item the gateway holds,
// from its cached copy. At most `max_media_range` bytes an answer: the swarm carries the
// media, this only fills what it did not bring in time.
HttpServerResponse Gateway::Impl::media_range(const HttpServerRequest& request) {
    constexpr std::uint64_t max_media_range = 1024 * 1024;
    const auto url = request.param("url");
    if (!url || url->empty()) {
        return error_response(400, "", "invalid", "the url parameter is missing");
    }
    const auto item = store->find(*url);
    if (!item) {
        return error_response(404, *url, "unknown", "not cached here: ask /v1/swarm first");
    }
    // A listener names the swarm it is in: after the origin's file changed, this copy is
    // another version, whose bytes its hashes would not match.
    if (const auto version = request.param("info_hash");
        version && *version != item->meta.info_hash_hex()) {
        return error_response(
            409, *url, "changed",
            "this gateway holds another version (info-hash " + item->meta.info_hash_hex() + ")");
    }
    const std::uint64_t size = item->meta.size;
    const ByteRange range = parse_byte_range(request.header("Range"), size);
    if (!range.partial) {
        return error_response(
            400, *url, "invalid",
            "a Range header is needed (bytes=FROM-TO or bytes=FROM-, one range; at most " +
                std::to_string(max_media_range) + " bytes are sent): the swarm carries the media");
    }
    if (!range.satisfiable) {
        HttpServerResponse r =
            error_response(416, *url, "invalid", "the item has " + std::to_string(size) + " bytes");
        r.headers.emplace_back("Content-Range", "bytes */" + std::to_string(size));
        return r;
    }
    const std::uint64_t from = range.first;
    const std::uint64_t to = std::min(range.last, from + max_media_range - 1);
    std::string bytes(static_cast<std::size_t>(to - from + 1), '\0');
    std::ifstream file(cache_dir(config) / item->meta.content_sha256, std::ios::binary);
    file.seekg(static_cast<std::streamoff>(from));
    if (!file.read(bytes.data(), static_cast<std::streamsize>(bytes.size()))) {
        spdlog::warn("{}: the cached copy cannot be read", *url);
        return error_response(503, *url, "failed", "the cached copy cannot be read");
    }
    net::post(loop, [this, hash = item->meta.info_hash, n = bytes.size()] { rescued[hash] += n; });
    seeder->sent_beside(bytes.size());
    HttpServerResponse r;
    r.status = 206;
    r.headers.emplace_back("Content-Type", "application/octet-stream");
    r.headers.emplace_back("Content-Range", "bytes " + std::to_string(from) + "-" +
                                                std::to_string(to) + "/" + std::to_string(size));
    r.headers.emplace_back("Cache-Control", "no-store");
    r.body = std::move(bytes);
    return r;
}

HttpServerResponse Gateway::Impl::status_json() {
    const auto seeds = seeder->stats();
    json items = json::array();
    std::uint64_t served = 0;
    std::uint64_t rescued_total = 0;
    // What the loop holds, as it is now; the rest (the store, libtorrent) is asked here.
    const auto [rescued_now, from_origin, pending] = on_loop([this] {
        json fetching = json::array();
        for (const auto& [url, job] : jobs) {
            fetching.push_back(json{{"url", url},
                                    {"state", job->hashing ? "hashing" : "fetching"},
                                    {"received", job->received.load()},
                                    {"total", job->total.load()}});
        }
        return std::tuple{rescued, origin_by_url, fetching};
    });
    std::uint64_t cache_bytes = 0;
    std::size_t peers = 0;
    for (const StoredItem& item : store->by_last_access()) {
        const auto counts = tracker.counts(item.meta.info_hash);
        const auto seed = seeds.find(item.meta.info_hash);
        const std::int64_t uploaded = seed != seeds.end() ? seed->second.uploaded : 0;
        served += static_cast<std::uint64_t>(uploaded);
        const auto r = rescued_now.find(item.meta.info_hash);
        const std::uint64_t rescued_bytes = r != rescued_now.end() ? r->second : 0;
        served += rescued_bytes;
        rescued_total += rescued_bytes;
        cache_bytes += item.meta.size;
        peers += counts.seeds + counts.leechers;
        items.push_back(
            json{{"url", item.url},
                 {"info_hash", item.meta.info_hash_hex()},
                 {"size", item.meta.size},
                 {"piece_size", item.meta.piece_size},
                 {"seeds", counts.seeds},
                 {"leechers", counts.leechers},
                 {"uploaded", uploaded},
                 {"rescued", rescued_bytes},
                 {"origin_bytes",
                  from_origin.contains(item.url) ? from_origin.at(item.url) : std::uint64_t{0}},
                 {"last_access", w3c(item.last_access)}});
    }
    const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::steady_clock::now() - started);
    return json_response(200,
                         json{{"version", version_string()},
                              {"now", format_w3cdtf(now_utc())},
                              {"uptime_s", uptime.count()},
                              {"tracker", config.main_tracker()},
                              {"dht", config.dht},
                              {"bt_port", seeder->listen_port()},
                              {"items", items},
                              {"jobs", pending},
                              {"totals",
                               {{"items", items.size()},
                                {"peers", peers},
                                {"listeners", tracker.listeners()},
                                {"bytes_served", served},
                                {"bytes_rescued", rescued_total},
                                {"seed_upload_limit", seeder->upload_limit_now()},
                                {"origin_bytes", origin_bytes.load()},
                                {"fetches", fetches_done.load()},
                                {"announces", tracker.announces()},
                                {"nat_check", nat_check_figures(nat_check != nullptr, tracker)},
                                {"cache_bytes", cache_bytes},
                                {"cache_limit", config.cache_size}}}}
                             .dump());
}

}  // namespace alluvium::gateway
