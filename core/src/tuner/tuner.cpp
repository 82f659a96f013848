// The Tuner: playlist (loaded and re-read), clock, swarm engine, producer and the local
// stream server, tied together.
#include <alluvium/fetch.hpp>
#include <alluvium/playlist.hpp>
#include <alluvium/text.hpp>
#include <alluvium/tuner.hpp>
#include <alluvium/version.hpp>

#include "../common/log.hpp"
#include "../stream/listeners.hpp"
#include "../stream/producer.hpp"

#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

namespace alluvium {

using namespace detail;
using nlohmann::json;
using Steady = std::chrono::steady_clock;

namespace {

constexpr std::size_t max_events = 1000;
constexpr auto default_reread = std::chrono::minutes(10);

std::filesystem::path default_cache_dir() {
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
        return std::filesystem::path(xdg) / "alluvium";
    }
    if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
        return std::filesystem::path(home) / ".cache/alluvium";
    }
    return "alluvium-cache";
}

ItemSummary summary(const Playlist& p, const Slot& slot) {
    const alluvium::Item& item = p.items[slot.item];
    return {slot.item, item.display_title(), item.media_url, item.mime_type, slot.start, slot.end};
}

}  // namespace

const char* to_string(TunerEventKind kind) {
    switch (kind) {
        case TunerEventKind::tuned:
            return "tuned";
        case TunerEventKind::now_playing:
            return "now_playing";
        case TunerEventKind::schedule:
            return "schedule";
        case TunerEventKind::stall:
            return "stall";
        case TunerEventKind::recovered:
            return "recovered";
        case TunerEventKind::playlist_error:
            return "playlist_error";
        case TunerEventKind::swarm:
            return "swarm";
    }
    return "unknown";
}

struct Tuner::Impl {
    explicit Impl(TunerOptions o) : options(std::move(o)) {
        if (options.cache_dir.empty())
            options.cache_dir = default_cache_dir();
        base_clock = options.clock ? options.clock : [] { return now_utc(); };
    }

    TunerOptions options;
    std::function<TimePoint()> base_clock;
    std::atomic<std::int64_t> offset_ms{0};
    // A live station plays this far behind the (corrected) clock; decided when tuning.
    std::atomic<std::int64_t> live_delay_ms{0};

    // The running parts. The first tune() makes them and stop() takes them apart, each
    // holding `control` throughout, so the two never interleave. The Tuner's own threads and
    // the server's handlers use the parts without a lock: they start after the parts exist
    // and stop before they go. The public readers never touch the parts: they read the
    // published status (below).
    std::mutex control;
    std::unique_ptr<SwarmEngine> engine;
    std::unique_ptr<Broadcast> broadcast;
    std::unique_ptr<Producer> producer;
    std::unique_ptr<HttpServer> server;
    std::string stream_url;
    // Set by stop(): a playlist read in progress (tune() or a re-read) gives up at once.
    std::atomic<bool> cancel{false};

    // The status as last published (by the monitor thread, and by tune()): status() copies
    // it and never waits for the swarm. Null before the first tune() and after stop().
    mutable std::mutex published_mutex;
    std::shared_ptr<const TunerStatus> published;

    // Builds the status from the running parts (a Tuner thread, or tune() with `control`).
    [[nodiscard]] TunerStatus snapshot() const;
    void publish(std::shared_ptr<const TunerStatus> status) {
        std::lock_guard lock(published_mutex);
        published = std::move(status);
    }

    mutable std::mutex mutex;  // playlist source, validators, events, item streams, flags
    std::condition_variable cv;
    bool stopping = false;
    bool tuned = false;
    std::string source;  // file or URL
    std::string etag;
    std::string last_modified;
    std::string playlist_error;
    std::deque<TunerEvent> events;
    std::mutex notify_mutex;
    std::function<void()> notify;  // under notify_mutex
    std::vector<std::weak_ptr<HttpStream>> item_streams;
    std::thread refresher;
    std::thread monitor;

    // The clock, corrected by the playlist server's Date.
    [[nodiscard]] TimePoint clock() const { return base_clock() + Milliseconds{offset_ms.load()}; }
    // The station time being played: the corrected clock, less a live station's delay.
    [[nodiscard]] TimePoint now() const { return clock() - Milliseconds{live_delay_ms.load()}; }

    void push(TunerEvent e) {
        {
            std::lock_guard lock(mutex);
            e.at = now();
            events.push_back(std::move(e));
            while (events.size() > max_events)
                events.pop_front();
        }
        // Held while the callback runs, so that set_notify() waits for a call in progress.
        std::lock_guard lock(notify_mutex);
        if (notify)
            notify();
    }

    // Reads the playlist; nullopt when unchanged (304) or on error (`error` set).
    std::optional<Program> load(std::string& error, bool conditional);
    void refresh_loop();
    void monitor_loop();
    // Makes the engine, broadcast, producer and server and starts the threads (with
    // `control` held). False, with `detail`, when the stream cannot listen.
    bool start_parts(std::error_code& ec, std::string* detail);
    void start_server(std::error_code& ec);
    void handle(HttpServerRequest&& request, HttpResponder responder);
    // The CORS headers for a request from a page at `origin` (the Origin header): only the
    // origin the user allowed (TunerOptions::allow_origin) may read the answers.
    [[nodiscard]] HttpHeaders cors(const HttpServerRequest& request) const;
    std::string status_json() const;
    void on_data();
};

std::optional<Program> Tuner::Impl::load(std::string& error, bool conditional) {
    std::string src;
    std::string known_etag;
    std::string known_modified;
    {
        std::lock_guard lock(mutex);
        src = source;
        known_etag = conditional ? etag : "";
        known_modified = conditional ? last_modified : "";
    }
    const ReadOptions limits;
    std::string body;
    if (is_url(src)) {
        HttpRequest request;
        request.url = src;
        request.max_body_bytes = limits.max_bytes;
        request.if_none_match = known_etag;
        request.if_modified_since = known_modified;
        request.total_timeout = std::chrono::seconds(30);
        request.cancel = &cancel;
        std::error_code ec;
        std::string detail;
        const TimePoint asked = base_clock();
        const HttpResponse response = http_request(request, ec, &detail);
        const TimePoint answered = base_clock();
        if (ec) {
            error = src + ": " + detail;
            return std::nullopt;
        }
        if (options.correct_clock) {
            // The station's web server knows the time; a listener's clock may not.
            if (const auto date = parse_http_date(response.header("Date"))) {
                const TimePoint local = asked + (answered - asked) / 2;
                const auto offset = std::chrono::duration_cast<Milliseconds>(*date - local);
                // Date has whole seconds: only a larger difference is a wrong clock.
                const auto applied = std::chrono::abs(offset) > std::chrono::milliseconds(1500)
                                         ? offset
                                         : Milliseconds{0};
                if (applied.count() != offset_ms.load()) {
                    if (applied.count() != 0) {
                        log().info("clock: {} off the station's server; corrected",
                                   format_duration(applied));
                    }
                    offset_ms = applied.count();
                }
            }
        }
        if (response.status == 304) {
            return std::nullopt;
        }
        if (response.status != 200) {
            error = src + ": HTTP " + std::to_string(response.status);
            return std::nullopt;
        }
        std::lock_guard lock(mutex);
        etag = response.etag;
        last_modified = response.last_modified;
        body = response.body;
    } else {
        std::error_code ec;
        std::string detail;
        const Document doc = load_document(src, limits.max_bytes, ec, &detail);
        if (ec) {
            error = src + ": " + detail;
            return std::nullopt;
        }
        body = doc.body;
    }
    ReadResult read = read_playlist(body, src, limits);
    if (!read.ok()) {
        error = read.diagnostics.empty() ? src + ": invalid playlist"
                                         : read.diagnostics.front().to_string();
        return std::nullopt;
    }
    Diagnostics d;
    auto schedule = Schedule::build(*read.playlist, &d);
    if (!schedule) {
        error = d.empty() ? src + ": cannot schedule" : d.front().to_string();
        return std::nullopt;
    }
    Program program{std::move(*read.playlist),
                    std::move(*schedule),
                    is_url(src) ? src : std::string(),
                    std::nullopt,
                    std::nullopt,
                    false};
    program.video = has_video(program.playlist);
    // Live: playing `live_delay_segments` behind, a segment is known (re-read every segment)
    // and fetched about two segments before it is due; the stream's lead must fit in what
    // is left.
    program.live_segment = live_segment_length(program.playlist, program.schedule, clock());
    if (program.live_segment) {
        const auto spare =
            *program.live_segment * (static_cast<int>(options.live_delay_segments) - 2) -
            std::chrono::seconds(1);
        program.max_lead = std::max<Milliseconds>(spare, Milliseconds{500});
    }
    return program;
}

void Tuner::Impl::refresh_loop() {
    auto last_read = Steady::now();
    while (true) {
        // The interval comes from the playlist as last read (sy:updatePeriod/Frequency); it
        // is looked at every second, so a new playlist or station takes effect at once.
        {
            std::unique_lock lock(mutex);
            if (cv.wait_for(lock, std::chrono::seconds(1), [this] { return stopping; }))
                return;
        }
        Milliseconds interval = default_reread;
        if (const auto current = producer->program(); current && current->playlist.update) {
            interval = current->playlist.update->interval();
            // A live station asks for a re-read every segment; reading twice as often (a
            // conditional request: 304 when nothing came) learns of each segment half a
            // segment sooner on average, which is margin for fetching it.
            if (current->live_segment)
                interval /= 2;
            interval = std::max<Milliseconds>(interval, std::chrono::seconds(2));
        }
        if (Steady::now() - last_read < interval) {
            continue;
        }
        last_read = Steady::now();
        std::string error;
        auto program = load(error, true);
        if (program) {
            const std::size_t n = program->playlist.items.size();
            producer->set_program(std::make_shared<const Program>(std::move(*program)));
            {
                std::lock_guard lock(mutex);
                playlist_error.clear();
            }
            push({TunerEventKind::schedule, {}, std::nullopt, "", std::to_string(n) + " items"});
        } else if (!error.empty()) {
            log().warn("playlist: {}; the schedule stays as it was", error);
            {
                std::lock_guard lock(mutex);
                playlist_error = error;
            }
            push({TunerEventKind::playlist_error, {}, std::nullopt, "", error});
        }
    }
}

void Tuner::Impl::monitor_loop() {
    bool have_item = false;
    std::size_t last_index = 0;
    TimePoint last_start{};
    bool last_gap = false;
    bool stalled = false;
    auto last_swarm = Steady::now();
    while (true) {
        {
            std::unique_lock lock(mutex);
            if (cv.wait_for(lock, std::chrono::milliseconds(200), [this] { return stopping; }))
                return;
        }
        // The status readers see is published before the events that tell of it.
        const auto status = std::make_shared<const TunerStatus>(snapshot());
        publish(status);
        const ProducerStatus st = producer->status();
        if (st.air.current) {
            if (!have_item || last_index != st.air.current->item ||
                last_start != st.air.current->start) {
                have_item = true;
                last_index = st.air.current->item;
                last_start = st.air.current->start;
                last_gap = false;
                push({TunerEventKind::now_playing, {}, st.air.current->item, st.title, ""});
            }
        } else if (!last_gap) {
            last_gap = true;
            have_item = false;
            push({TunerEventKind::now_playing,
                  {},
                  std::nullopt,
                  "",
                  st.air.state == AirState::gap ? "gap" : "off air"});
        }
        if (st.stalled_now != stalled) {
            stalled = st.stalled_now;
            push({stalled ? TunerEventKind::stall : TunerEventKind::recovered,
                  {},
                  std::nullopt,
                  "",
                  "buffer " + format_duration(st.buffer)});
        }
        if (Steady::now() - last_swarm >= std::chrono::seconds(5)) {
            last_swarm = Steady::now();
            push({TunerEventKind::swarm,
                  {},
                  std::nullopt,
                  "",
                  std::to_string(status->peers) + " peers, " +
                      std::to_string(status->bytes_from_peers) + " B from peers, " +
                      std::to_string(status->bytes_from_gateway) + " B from the gateway, " +
                      std::to_string(status->bytes_from_origin) + " B from the origin"});
        }
    }
}

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

std::string Tuner::Impl::status_json() const {
    const auto st = producer->status();
    const auto program = producer->program();
    const auto s = engine->stats();
    json j;
    j["version"] = version_string();
    j["stream"] = stream_url;
    j["content_type"] = st.format == StreamFormat::none ? "" : content_type_of(st.format);
    j["station"] = program ? program->playlist.title : "";
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
    json next = json::array();
    if (program) {
        for (const Slot& slot : st.air.next) {
            next.push_back({{"index", slot.item},
                            {"title", program->playlist.items[slot.item].display_title()},
                            {"start", format_w3cdtf(slot.start)}});
        }
    }
    j["next"] = next;
    j["buffer_ms"] = st.buffer.count();
    j["stalls"] = st.stalls;
    j["stalled_ms"] = st.stalled.count();
    j["listeners"] = broadcast->listeners();
    j["listeners_dropped"] = broadcast->dropped();
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
        path == "/stream.aac") {
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
    if (path.rfind("/items/", 0) == 0) {
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
    if (path == "/status") {
        HttpServerResponse r =
            HttpServerResponse::text(200, status_json() + "\n", "application/json");
        r.headers.emplace_back("Cache-Control", "no-store");
        for (auto& h : cors(request))
            r.headers.push_back(std::move(h));
        return responder.respond(std::move(r));
    }
    if (path == "/") {
        const auto st = producer->status();
        const auto program = producer->program();
        // Titles come from the playlist and the media: text, never markup.
        const std::string title = html_escape(program ? program->playlist.title : "");
        std::string page =
            "<!doctype html><meta charset=utf-8><title>Alluvium</title><h1>" + title +
            "</h1><p>Now: " + html_escape(st.title) +
            "</p><p><a href=\"/stream\">/stream</a> &middot; "
            "<a href=\"/status\">/status</a></p><audio controls src=\"/stream\"></audio>\n";
        HttpServerResponse r = HttpServerResponse::text(200, page, "text/html; charset=utf-8");
        r.headers.emplace_back("Content-Security-Policy",
                               "default-src 'self'; script-src 'none'; object-src 'none'");
        r.headers.emplace_back("X-Content-Type-Options", "nosniff");
        return responder.respond(std::move(r));
    }
    responder.respond(HttpServerResponse::text(404, "not found\n"));
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
    o.threads = 2;
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

Tuner::Tuner(TunerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Tuner::~Tuner() {
    stop();
}

bool Tuner::Impl::start_parts(std::error_code& ec, std::string* detail) {
    SwarmOptions so;
    so.cache_dir = options.cache_dir;
    so.cache_size = options.cache_size;
    so.gateways = options.gateways;
    so.listen_interfaces = options.bt_listen;
    so.dht = options.dht;
    so.dht_bootstrap = options.dht_bootstrap;
    so.upload_rate_limit =
        static_cast<std::int64_t>(std::min<std::uint64_t>(options.upload_limit, INT32_MAX));
    auto new_engine = std::make_unique<SwarmEngine>(so);
    auto new_broadcast =
        std::make_unique<Broadcast>(std::chrono::seconds(60), options.max_listener_lag);
    ProducerOptions po;
    po.lead = options.lead;
    auto new_producer = std::make_unique<Producer>(
        *new_engine, *new_broadcast, [this] { return now(); }, po);
    engine = std::move(new_engine);
    broadcast = std::move(new_broadcast);
    producer = std::move(new_producer);
    engine->set_data_callback([this] { on_data(); });
    start_server(ec);
    if (!server) {
        if (detail != nullptr) {
            *detail = "cannot listen on " + options.stream_address + ":" +
                      std::to_string(options.stream_port) + ": " + ec.message();
        }
        return false;
    }
    refresher = std::thread([this] { refresh_loop(); });
    monitor = std::thread([this] { monitor_loop(); });
    return true;
}

std::string Tuner::tune(const std::string& playlist, std::error_code& ec, std::string* detail) {
    Impl& d = *impl_;
    const auto stopped = [&] {
        ec = std::make_error_code(std::errc::operation_canceled);
        if (detail != nullptr)
            *detail = "the tuner was stopped";
        return std::string();
    };
    {
        std::lock_guard lock(d.mutex);
        if (d.stopping)
            return stopped();
        d.source = playlist;
        d.etag.clear();
        d.last_modified.clear();
    }
    std::string error;
    auto program = d.load(error, false);  // over the network: without `control`
    std::lock_guard control(d.control);
    if (d.cancel)
        return stopped();
    if (!program) {
        ec = make_error_code(errc::parse_error);
        if (detail != nullptr)
            *detail = error;
        return {};
    }
    if (!d.engine && !d.start_parts(ec, detail))
        return {};
    // A live station: the same delay behind its newest segment for every listener.
    const auto segment = program->live_segment;
    const auto delay = segment ? *segment * d.options.live_delay_segments : Milliseconds{0};
    d.live_delay_ms = delay.count();
    log().info("tuned to \"{}\" ({} items{}); stream at {}", program->playlist.title,
               program->playlist.items.size(),
               segment ? ", live, " + format_duration(delay) + " behind" : "", d.stream_url);
    d.producer->set_program(std::make_shared<const Program>(std::move(*program)));
    {
        std::lock_guard lock(d.mutex);
        d.tuned = true;
    }
    d.publish(std::make_shared<const TunerStatus>(d.snapshot()));
    d.push({TunerEventKind::tuned, {}, std::nullopt, "", d.stream_url});
    ec.clear();
    return d.stream_url;
}

void Tuner::stop() {
    Impl& d = *impl_;
    d.cancel = true;  // a tune() reading the playlist gives up now
    {
        std::lock_guard lock(d.mutex);
        d.stopping = true;
    }
    d.cv.notify_all();
    std::lock_guard control(d.control);
    if (d.refresher.joinable())
        d.refresher.join();
    if (d.monitor.joinable())
        d.monitor.join();
    if (d.server)
        d.server->stop();
    // The engine's thread calls on_data(), which wakes the producer: no more of that first.
    if (d.engine)
        d.engine->set_data_callback(nullptr);
    d.publish(nullptr);  // readers see a stopped Tuner from now on
    // The producer reads from the engine and the broadcast: it goes first.
    d.producer.reset();
    d.engine.reset();
    d.broadcast.reset();
    d.server.reset();
}

std::string Tuner::stream_url() const {
    std::lock_guard lock(impl_->published_mutex);
    return impl_->published ? impl_->published->stream_url : std::string();
}

TunerStatus Tuner::status() const {
    std::lock_guard lock(impl_->published_mutex);
    return impl_->published ? *impl_->published : TunerStatus{};
}

TunerStatus Tuner::Impl::snapshot() const {
    const Impl& d = *this;
    TunerStatus t;
    if (!d.producer)
        return t;
    const auto st = d.producer->status();
    const auto program = d.producer->program();
    const auto s = d.engine->stats();
    t.stream_url = d.stream_url;
    t.content_type = st.format == StreamFormat::none ? "" : content_type_of(st.format);
    t.state = st.air.state;
    if (program) {
        t.station = program->playlist.title;
        if (st.air.current)
            t.now = summary(program->playlist, *st.air.current);
        // What played before: the last five airings that ended in the last six hours. The
        // window grows only until it holds five, so this stays cheap twice a second.
        const TimePoint here = d.now();
        std::vector<Slot> before;
        for (Milliseconds window = std::chrono::minutes(10);; window *= 2) {
            window = std::min<Milliseconds>(window, std::chrono::hours(6));
            before = program->schedule.between(here - window, here, 10000);
            std::erase_if(before, [&](const Slot& slot) { return slot.end > here; });
            if (before.size() >= 5 || window >= std::chrono::hours(6))
                break;
        }
        const std::size_t from = before.size() > 5 ? before.size() - 5 : 0;
        for (std::size_t i = from; i < before.size(); ++i)
            t.previous.push_back(summary(program->playlist, before[i]));
        for (const Slot& slot : st.air.next)
            t.next.push_back(summary(program->playlist, slot));
    }
    t.offset = st.air.offset;
    t.buffer = st.buffer;
    t.stalls = st.stalls;
    t.stalled = st.stalled;
    t.bytes_from_peers = s.bytes.peers;
    t.bytes_from_gateway = s.bytes.gateway;
    t.bytes_from_origin = s.bytes.origin;
    t.bytes_uploaded = s.bytes.uploaded;
    t.peers = s.peers;
    t.gateway_connected = s.gateway;
    t.hash_failures = s.hash_failures;
    t.swarm_error = s.error;
    t.download_rate = s.download_rate;
    t.upload_rate = s.upload_rate;
    t.listeners = d.broadcast->listeners();
    t.listeners_dropped = d.broadcast->dropped();
    t.clock_offset = Milliseconds{d.offset_ms.load()};
    t.live_delay = Milliseconds{d.live_delay_ms.load()};
    t.warning = st.warning;
    std::lock_guard lock(d.mutex);
    t.tuned = d.tuned;
    t.playlist = d.source;
    t.playlist_error = d.playlist_error;
    return t;
}

void Tuner::set_notify(std::function<void()> notify) {
    std::lock_guard lock(impl_->notify_mutex);
    impl_->notify = std::move(notify);
}

std::vector<TunerEvent> Tuner::take_events() {
    std::lock_guard lock(impl_->mutex);
    std::vector<TunerEvent> out(std::make_move_iterator(impl_->events.begin()),
                                std::make_move_iterator(impl_->events.end()));
    impl_->events.clear();
    return out;
}

}  // namespace alluvium
