// The Tuner's local server: the station's stream, each item, the status, and a page.
#include <alluvium/text.hpp>
#include <alluvium/version.hpp>

#include "../stream/listeners.hpp"
#include "tuner_impl.hpp"

#include <nlohmann/json.hpp>

namespace alluvium {

using namespace detail;
using nlohmann::json;

void Tuner::Impl::on_data() {
    if (producer)
        producer->wake();
    std::vector<std::shared_ptr<HttpStream>> wake;
    {
        std::lock_guard lock(mutex);
        for (auto it = item_streams.begin(); it != item_streams.end();) {
            if (auto s = it->lock()) {
                wake.push_back(std::move(s));
                ++it;
            } else {
                it = item_streams.erase(it);
            }
        }
    }
    for (auto& s : wake)
        s->resume();
}

namespace {

// The swarm's figures in /status: bytes by source (over all and per item), peers, the DHT,
// the BitTorrent port and the router's answers.
void add_swarm(json& j, const SwarmEngine::Stats& s) {
    j["bytes"] = {{"peers", s.bytes.peers},
                  {"gateway", s.bytes.gateway},
                  {"origin", s.bytes.origin},
                  {"uploaded", s.bytes.uploaded},
                  {"redundant", s.bytes.redundant}};
    json items = json::array();
    for (const auto& [url, b] : s.items) {
        items.push_back({{"url", url},
                         {"peers", b.peers},
                         {"gateway", b.gateway},
                         {"origin", b.origin},
                         {"uploaded", b.uploaded},
                         {"redundant", b.redundant}});
    }
    j["items"] = items;
    j["peers"] = s.peers;
    j["dht"] = {{"running", s.dht}, {"peers", s.dht_peers}};
    j["connections"] = s.connections;
    j["gateway_connected"] = s.gateway;
    j["hash_failures"] = s.hash_failures;
    j["swarm_error"] = s.error;
    j["download_rate"] = s.download_rate;
    j["upload_rate"] = s.upload_rate;
    j["bt_port"] = s.listen_port;
    json mappings = json::array();
    for (const auto& m : s.port_maps) {
        mappings.push_back({{"method", m.method},
                            {"protocol", m.protocol},
                            {"external_port", m.external_port},
                            {"error", m.error}});
    }
    j["port_mapping"] = {
        {"on", s.port_mapping}, {"unanswered", s.port_mapping_unanswered}, {"mappings", mappings}};
}

}  // namespace

std::string Tuner::Impl::status_json() const {
    const auto st = producer->status();
    const auto program = producer->program();
    const auto s = engine->stats();
    json j;
    j["version"] = version_string();
    j["stream"] = stream_url;
    j["content_type"] = st.format == StreamFormat::none ? "" : content_type_of(st.format);
    j["station"] = program ? program->playlist.title : "";
    j["description"] = program ? program->playlist.description : "";
    j["now"] = format_w3cdtf(now());
    j["clock_offset_ms"] = offset_ms.load();
    j["live_delay_ms"] = live_delay_ms.load();
    if (program && st.air.current) {
        const auto& slot = *st.air.current;
        const auto& item = program->playlist.items[slot.item];
        j["playing"] = {{"index", slot.item},
                        {"title", item.display_title()},
                        {"url", item.media_url},
                        {"mime_type", item.mime_type},
                        {"start", format_w3cdtf(slot.start)},
                        {"end", format_w3cdtf(slot.end)},
                        {"offset_ms", st.air.offset.count()},
                        {"length_ms", slot.length().count()},
                        {"item_url", "/items/" + std::to_string(slot.item)}};
    } else {
        j["playing"] = nullptr;
    }
    json previous = json::array();
    json next = json::array();
    if (program) {
        for (const Slot& slot : previous_airings(*program, now())) {
            previous.push_back({{"index", slot.item},
                                {"title", program->playlist.items[slot.item].display_title()},
                                {"start", format_w3cdtf(slot.start)},
                                {"end", format_w3cdtf(slot.end)}});
        }
        for (const Slot& slot : st.air.next) {
            next.push_back({{"index", slot.item},
                            {"title", program->playlist.items[slot.item].display_title()},
                            {"start", format_w3cdtf(slot.start)}});
        }
    }
    j["previous"] = previous;
    j["next"] = next;
    j["buffer_ms"] = st.buffer.count();
    j["stalls"] = st.stalls;
    j["stalled_ms"] = st.stalled.count();
    j["listeners"] = broadcast->listeners();
    j["listeners_dropped"] = broadcast->dropped();
    add_swarm(j, s);
    std::lock_guard lock(mutex);
    j["playlist"] = source;
    j["playlist_error"] = playlist_error;
    j["warning"] = st.warning;
    return j.dump();
}

void Tuner::Impl::handle(HttpServerRequest&& request, HttpResponder responder) {
    const std::string& path = request.path;
    const bool get = request.method == "GET";
    const bool head = request.method == "HEAD";
    if (!get && !head) {
        return responder.respond(HttpServerResponse::text(405, "GET only\n"));
    }
    // A page on another site whose name was made to point at 127.0.0.1 (DNS rebinding)
    // would be same-origin with this server: a stream bound to loopback answers only
    // requests addressed to a loopback name.
    if (names_loopback(options.stream_address) && !request.header("Host").empty() &&
        !names_loopback(request.header("Host"))) {
        return responder.respond(HttpServerResponse::text(421, "not addressed to this host\n"));
    }
    if (path == "/stream" || path == "/stream.mp3" || path == "/stream.ogg" ||
        path == "/stream.aac")
        return serve_stream(request, std::move(responder), head);
    if (path.rfind("/items/", 0) == 0)
        return serve_item(request, std::move(responder));
    if (path == "/status")
        return serve_status(request, std::move(responder));
    if (path == "/events")
        return serve_events(request, std::move(responder));
    if (serve_page_file(path, responder))
        return;
    responder.respond(HttpServerResponse::text(404, "not found\n"));
}

void Tuner::Impl::serve_stream(const HttpServerRequest& request, HttpResponder responder,
                               bool head) {
    const auto station = [this] {
        const auto p = producer->program();
        StationInfo info;
        if (p) {
            info.name = p->playlist.title;
            info.description = p->playlist.description;
            info.url = p->playlist.link;
        }
        return info;
    };
    const bool icy = request.header("Icy-MetaData") == "1";
    if (head) {
        // Headers only (Icecast answers HEAD with 400; players that probe get a useful answer).
        HttpServerResponse r;
        r.headers.emplace_back("Content-Type", content_type_of(broadcast->format()));
        r.headers.emplace_back("icy-name", station().name);
        return responder.respond(std::move(r));
    }
    auto s = std::make_shared<StationStream>(
        *broadcast, station, [this] { return now(); }, icy,
        request.remote_address + ":" + std::to_string(request.remote_port), cors(request));
    s->attach(s);
    HttpStreamOptions o;
    o.send_buffer_bytes = 32 * 1024;  // a stuck player cannot hide megabytes in the kernel
    return responder.stream(std::move(s), o);
}

void Tuner::Impl::serve_item(const HttpServerRequest& request, HttpResponder responder) {
    const std::string& path = request.path;
    const auto program = producer->program();
    std::size_t index = 0;
    try {
        std::size_t used = 0;
        index = std::stoul(path.substr(7), &used);
        if (used != path.size() - 7)
            throw std::invalid_argument("trailing");
    } catch (...) {
        return responder.respond(HttpServerResponse::text(404, "no such item\n"));
    }
    if (!program || index >= program->playlist.items.size()) {
        return responder.respond(HttpServerResponse::text(404, "no such item\n"));
    }
    auto item = producer->item(index);
    const auto layout = item->layout();
    const std::uint64_t rate = layout ? byte_rate(*layout) : 16000;
    auto s = std::make_shared<ItemStream>(item, program->playlist.items[index].mime_type,
                                          request.header("Range"), rate, cors(request));
    {
        std::lock_guard lock(mutex);
        item_streams.push_back(s);
    }
    return responder.stream(std::move(s));
}

void Tuner::Impl::serve_status(const HttpServerRequest& request, HttpResponder responder) {
    // Built on the loop, where the swarm's figures are; answered from there.
    auto answer = std::make_shared<HttpResponder>(std::move(responder));
    loop->post([this, answer, headers = cors(request)]() mutable {
        HttpServerResponse r =
            HttpServerResponse::text(200, status_json() + "\n", "application/json");
        r.headers.emplace_back("Cache-Control", "no-store");
        for (auto& h : headers)
            r.headers.push_back(std::move(h));
        answer->respond(std::move(r));
    });
}

HttpHeaders Tuner::Impl::cors(const HttpServerRequest& request) const {
    const std::string origin = request.header("Origin");
    if (options.allow_origin.empty() || origin != options.allow_origin)
        return {};
    return {{"Access-Control-Allow-Origin", origin}, {"Vary", "Origin"}};
}

void Tuner::Impl::start_server(std::error_code& ec) {
    HttpServerOptions o;
    o.bind_address = options.stream_address;
    o.port = options.stream_port;
    o.threads = 1;  // players are few and each is a queue: one thread serves them all
    o.server_name = std::string("Alluvium/") + version_string();
    o.max_connections = 1024;
    auto started = HttpServer::start(
        o,
        [this](HttpServerRequest&& r, HttpResponder res) { handle(std::move(r), std::move(res)); },
        ec);
    if (!started)
        return;
    const std::string host = options.stream_address.find(':') != std::string::npos
                                 ? "[" + options.stream_address + "]"
                                 : options.stream_address;
    stream_url = "http://" + (host == "0.0.0.0" ? std::string("127.0.0.1") : host) + ":" +
                 std::to_string(started->port()) + "/stream";
    server = std::move(started);
}

}  // namespace alluvium
