// The Tuner: playlist (loaded and re-read), clock, swarm engine, producer and the local
// stream server, tied together.
#include <alluvium/fetch.hpp>
#include <alluvium/playlist.hpp>
#include <alluvium/text.hpp>
#include <alluvium/tuner.hpp>
#include <alluvium/version.hpp>

#include "../common/log.hpp"
#include "tuner_impl.hpp"

#include <cstdlib>
#include <future>

namespace alluvium {

using namespace detail;
using Steady = std::chrono::steady_clock;

namespace {

constexpr std::size_t max_events = 1000;
constexpr auto default_reread = std::chrono::minutes(10);
// The swarm's figures go out as an event this often.
constexpr auto figures_interval = std::chrono::seconds(5);
// A status older than this is refreshed when read.
constexpr auto status_freshness = std::chrono::seconds(1);

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
        case TunerEventKind::port_mapping:
            return "port_mapping";
    }
    return "unknown";
}

std::string port_forwarding(const TunerStatus& s) {
    if (!s.port_mapping)
        return "off";
    const PortMapping* forwarded = nullptr;
    std::string refused;
    for (const PortMapping& m : s.port_mappings) {
        if (m.external_port != 0 && (forwarded == nullptr || m.protocol == "TCP"))
            forwarded = &m;
        const std::string why = m.method + ": " + m.error;
        if (m.external_port == 0 && refused.find(why) == std::string::npos)
            refused += (refused.empty() ? "" : "; ") + why;
    }
    if (forwarded != nullptr)
        return "port " + std::to_string(forwarded->external_port) + " forwarded by " +
               forwarded->method;
    if (!refused.empty())
        return "not forwarded (" + refused + ")";
    return s.port_mapping_unanswered ? "no router answered" : "asking the router";
}

Tuner::Impl::Impl(TunerOptions o) : options(std::move(o)) {
    if (options.cache_dir.empty())
        options.cache_dir = default_cache_dir();
    base_clock = options.clock ? options.clock : [] { return now_utc(); };
}

void Tuner::Impl::push(TunerEvent e) {
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

void Tuner::Impl::publish(std::shared_ptr<const TunerStatus> status) {
    std::lock_guard lock(published_mutex);
    published = std::move(status);
    published_at = Steady::now();
}

void Tuner::Impl::publish_now() {
    refresh_asked = false;
    publish(std::make_shared<const TunerStatus>(snapshot()));
}

void Tuner::Impl::on_loop(const std::function<void()>& fn) {
    std::promise<void> done;
    loop->post([&] {
        fn();
        done.set_value();
    });
    done.get_future().wait();
}

std::optional<Program> Tuner::Impl::load(std::string& error, bool conditional) {
    std::string src;
    {
        std::lock_guard lock(mutex);
        src = source;
    }
    const ReadOptions limits;
    auto body = is_url(src) ? fetch_playlist(src, limits.max_bytes, conditional, error)
                            : read_playlist_file(src, limits.max_bytes, error);
    if (!body)
        return std::nullopt;
    ReadResult read = read_playlist(*body, src, limits);
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

std::optional<std::string> Tuner::Impl::read_playlist_file(const std::string& src,
                                                           std::size_t max_bytes,
                                                           std::string& error) {
    std::error_code ec;
    std::string detail;
    Document doc = load_document(src, max_bytes, ec, &detail);
    if (ec) {
        error = src + ": " + detail;
        return std::nullopt;
    }
    return std::move(doc.body);
}

// Unchanged since the last read (304), or an error: no body; `error` tells which.
std::optional<std::string> Tuner::Impl::fetch_playlist(const std::string& src,
                                                       std::size_t max_bytes, bool conditional,
                                                       std::string& error) {
    HttpRequest request;
    request.url = src;
    request.max_body_bytes = max_bytes;
    if (conditional) {
        std::lock_guard lock(mutex);
        request.if_none_match = etag;
        request.if_modified_since = last_modified;
    }
    request.total_timeout = std::chrono::seconds(30);
    request.cancel = &cancel;
    std::error_code ec;
    std::string detail;
    const TimePoint asked = base_clock();
    HttpResponse response = http_request(request, ec, &detail);
    const TimePoint answered = base_clock();
    if (ec) {
        error = src + ": " + detail;
        return std::nullopt;
    }
    if (options.correct_clock)
        correct_clock(response, asked + (answered - asked) / 2);
    if (response.status == 304)
        return std::nullopt;
    if (response.status != 200) {
        error = src + ": HTTP " + std::to_string(response.status);
        return std::nullopt;
    }
    std::lock_guard lock(mutex);
    etag = response.etag;
    last_modified = response.last_modified;
    return std::move(response.body);
}

// The station's web server knows the time; a listener's clock may not.
void Tuner::Impl::correct_clock(const HttpResponse& response, TimePoint local) {
    const auto date = parse_http_date(response.header("Date"));
    if (!date)
        return;
    const auto offset = std::chrono::duration_cast<Milliseconds>(*date - local);
    // Date has whole seconds: only a larger difference is a wrong clock.
    const auto applied =
        std::chrono::abs(offset) > std::chrono::milliseconds(1500) ? offset : Milliseconds{0};
    if (applied.count() != offset_ms.load()) {
        if (applied.count() != 0) {
            log().info("clock: {} off the station's server; corrected", format_duration(applied));
        }
        offset_ms = applied.count();
    }
}

// ---- the loop's work -----------------------------------------------------------------------

void Tuner::Impl::arm_refresh() {
    // The interval comes from the playlist as last read (sy:updatePeriod/Frequency).
    Milliseconds interval = default_reread;
    if (const auto current = producer->program(); current && current->playlist.update) {
        interval = current->playlist.update->interval();
        // A live station asks for a re-read every segment; reading twice as often (a
        // conditional request: 304 when nothing came) learns of each segment half a segment
        // sooner on average, which is margin for fetching it.
        if (current->live_segment)
            interval /= 2;
        interval = std::max<Milliseconds>(interval, std::chrono::seconds(2));
    }
    watch->refresh.expires_at(watch->last_read + interval);
    watch->refresh.async_wait([this](boost::system::error_code ec) {
        if (!ec)
            refresh();
    });
}

void Tuner::Impl::refresh() {
    if (watch->reading)
        return;
    watch->reading = true;
    watch->last_read = Steady::now();
    auto result = std::make_shared<std::pair<std::optional<Program>, std::string>>();
    loop->blocking(
        [this, result] { result->first = load(result->second, true); },
        [this, result] {
            watch->reading = false;
            if (cancel)
                return;
            auto& [program, error] = *result;
            if (program) {
                const std::size_t n = program->playlist.items.size();
                producer->set_program(std::make_shared<const Program>(std::move(*program)));
                {
                    std::lock_guard lock(mutex);
                    playlist_error.clear();
                }
                publish_now();
                push(
                    {TunerEventKind::schedule, {}, std::nullopt, "", std::to_string(n) + " items"});
            } else if (!error.empty()) {
                log().warn("playlist: {}; the schedule stays as it was", error);
                {
                    std::lock_guard lock(mutex);
                    playlist_error = error;
                }
                publish_now();
                push({TunerEventKind::playlist_error, {}, std::nullopt, "", error});
            }
            arm_refresh();
        });
}

void Tuner::Impl::arm_figures() {
    watch->figures.expires_after(figures_interval);
    watch->figures.async_wait([this](boost::system::error_code ec) {
        if (ec)
            return;
        publish_now();
        if (!watch->sampling)
            take_sample();  // the web page's history while no page is open (page.cpp)
        std::shared_ptr<const TunerStatus> status;
        {
            std::lock_guard lock(published_mutex);
            status = published;
        }
        if (status) {
            push({TunerEventKind::swarm,
                  {},
                  std::nullopt,
                  "",
                  std::to_string(status->peers) + " peers, " +
                      std::to_string(status->bytes_from_peers) + " B from peers, " +
                      std::to_string(status->bytes_from_gateway) + " B from the gateway, " +
                      std::to_string(status->bytes_from_origin) + " B from the origin"});
            // The router's answer (or the end of the wait for one) comes seconds after the
            // start: told then, and when it changes.
            std::string forwarding = port_forwarding(*status);
            const bool answered = status->port_mapping_unanswered || !status->port_mappings.empty();
            if (answered && forwarding != watch->forwarding) {
                watch->forwarding = forwarding;
                push({TunerEventKind::port_mapping, {}, std::nullopt, "", std::move(forwarding)});
            }
        }
        arm_figures();
    });
}

void Tuner::Impl::air_changed() {
    // The status readers see is published before the events that tell of it.
    publish_now();
    const ProducerStatus st = producer->status();
    Watch& w = *watch;
    if (st.air.current) {
        if (!w.have_item || w.last_index != st.air.current->item ||
            w.last_start != st.air.current->start) {
            w.have_item = true;
            w.last_index = st.air.current->item;
            w.last_start = st.air.current->start;
            w.last_gap = false;
            push({TunerEventKind::now_playing, {}, st.air.current->item, st.title, ""});
            tell_pages();
        }
    } else if (!w.last_gap) {
        w.last_gap = true;
        w.have_item = false;
        push({TunerEventKind::now_playing,
              {},
              std::nullopt,
              "",
              st.air.state == AirState::gap ? "gap" : "off air"});
        tell_pages();
    }
    if (st.stalled_now != w.stalled) {
        w.stalled = st.stalled_now;
        push({w.stalled ? TunerEventKind::stall : TunerEventKind::recovered,
              {},
              std::nullopt,
              "",
              "buffer " + format_duration(st.buffer)});
    }
}

// ---- starting and stopping -------------------------------------------------------------------

bool Tuner::Impl::start_parts(std::error_code& ec, std::string* detail) {
    loop = std::make_unique<EventLoop>("alluvium-loop", 2);
    SwarmOptions so;
    so.cache_dir = options.cache_dir;
    so.cache_size = options.cache_size;
    so.gateways = options.gateways;
    so.listen_interfaces = options.bt_listen;
    so.dht = options.dht;
    so.dht_bootstrap = options.dht_bootstrap;
    so.port_mapping = options.port_mapping;
    so.upload_rate_limit =
        static_cast<std::int64_t>(std::min<std::uint64_t>(options.upload_limit, INT32_MAX));
    engine = std::make_unique<SwarmEngine>(so, *loop);
    broadcast = std::make_unique<Broadcast>(std::chrono::seconds(60), options.max_listener_lag);
    ProducerOptions po;
    po.lead = options.lead;
    producer = std::make_unique<Producer>(
        *engine, *broadcast, [this] { return now(); }, po);
    watch = std::make_unique<Watch>(loop->context());
    // What is on air changed: told on the loop (the producer's thread must not wait).
    producer->set_change_callback([this] { loop->post([this] { air_changed(); }); });
    engine->set_data_callback([this] { on_data(); });
    start_server(ec);
    if (!server) {
        if (detail != nullptr) {
            *detail = "cannot listen on " + options.stream_address + ":" +
                      std::to_string(options.stream_port) + ": " + ec.message();
        }
        return false;
    }
    loop->post([this] {
        watch->last_read = Steady::now();
        arm_refresh();
        arm_figures();
    });
    return true;
}

Tuner::Tuner(TunerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Tuner::~Tuner() {
    stop();
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
    d.on_loop([&d] {
        d.watch->last_read = Steady::now();
        d.arm_refresh();  // the new playlist's interval
        d.publish_now();
    });
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
    std::lock_guard control(d.control);
    if (d.server)
        d.server->stop();
    // The engine calls on_data(), which wakes the producer: no more of that first.
    if (d.engine)
        d.engine->set_data_callback(nullptr);
    if (d.producer)
        d.producer->set_change_callback(nullptr);
    if (d.loop) {
        d.on_loop([&d] {
            d.watch->refresh.cancel();
            d.watch->figures.cancel();
            d.watch->sample.cancel();
            for (const auto& p : d.watch->pages) {
                if (const auto page = p.lock())
                    page->close();
            }
        });
    }
    d.publish(nullptr);  // readers see a stopped Tuner from now on
    // The producer reads from the engine and the broadcast: it goes first. The engine stops
    // its items on the loop, which then stops.
    d.producer.reset();
    d.engine.reset();
    d.broadcast.reset();
    if (d.loop)
        d.loop->stop();
    d.watch.reset();
    d.loop.reset();
    d.server.reset();
}

std::string Tuner::stream_url() const {
    std::lock_guard lock(impl_->published_mutex);
    return impl_->published ? impl_->published->stream_url : std::string();
}

TunerStatus Tuner::status() const {
    Impl& d = *impl_;
    std::lock_guard lock(d.published_mutex);
    if (!d.published)
        return TunerStatus{};
    // A status read after it aged is refreshed on the loop (the next read sees it): the
    // swarm is asked only while someone looks.
    if (Steady::now() - d.published_at > status_freshness && !d.refresh_asked.exchange(true))
        d.loop->post([&d] { d.publish_now(); });
    return *d.published;
}

std::vector<Slot> Tuner::Impl::previous_airings(const Program& program, TimePoint here) {
    // The window grows only until it holds five, so this stays cheap once a second.
    std::vector<Slot> before;
    for (Milliseconds window = std::chrono::minutes(10);; window *= 2) {
        window = std::min<Milliseconds>(window, std::chrono::hours(6));
        before = program.schedule.between(here - window, here, 10000);
        std::erase_if(before, [&](const Slot& slot) { return slot.end > here; });
        if (before.size() >= 5 || window >= std::chrono::hours(6))
            break;
    }
    if (before.size() > 5)
        before.erase(before.begin(), before.end() - 5);
    return before;
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
        for (const Slot& slot : previous_airings(*program, d.now()))
            t.previous.push_back(summary(program->playlist, slot));
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
    t.port_mapping = s.port_mapping;
    t.port_mapping_unanswered = s.port_mapping_unanswered;
    for (const PortMap& m : s.port_maps)
        t.port_mappings.push_back({m.method, m.protocol, m.external_port, m.error});
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
