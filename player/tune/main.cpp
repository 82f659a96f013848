// alluvium-tune: the headless listener. Tunes to a station, serves it as a local
// Icecast-compatible stream, and reports what plays and where its bytes come from.
#include <alluvium/cli_support.hpp>
#include <alluvium/dht.hpp>
#include <alluvium/log.hpp>
#include <alluvium/tuner.hpp>
#include <alluvium/version.hpp>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

namespace {

using namespace alluvium;
using nlohmann::json;

// Remote text (titles) as it may reach a terminal: control characters, escape sequences
// among them, become '?'.
std::string printable(std::string text) {
    for (char& c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f)
            c = '?';
    }
    return text;
}

double peer_share(const TunerStatus& s) {
    const double total =
        static_cast<double>(s.bytes_from_peers + s.bytes_from_gateway + s.bytes_from_origin);
    return total > 0 ? 100.0 * static_cast<double>(s.bytes_from_peers) / total : 0.0;
}

std::string kib(std::uint64_t bytes) {
    return std::to_string((bytes + 512) / 1024) + " KiB";
}

std::string status_line(const TunerStatus& s) {
    const std::string now =
        s.now ? s.now->title : (s.state == AirState::gap ? "(silence)" : "(off air)");
    const std::string length = s.now ? format_duration(s.now->end - s.now->start) : "";
    const std::string stalls = s.stalls > 0 ? fmt::format(" | {} stalls", s.stalls) : "";
    return fmt::format(
        "{} {}/{} | buffer {:.1f} s | {} peers | {:.0f}% from peers (peers {}, gateway {}, "
        "origin {}) | {} players{}",
        now, format_duration(s.offset), length, static_cast<double>(s.buffer.count()) / 1000.0,
        s.peers, peer_share(s), kib(s.bytes_from_peers), kib(s.bytes_from_gateway),
        kib(s.bytes_from_origin), s.listeners, stalls);
}

json status_json(const TunerStatus& s) {
    return {{"event", "status"},
            {"now", s.now ? json(s.now->title) : json(nullptr)},
            {"offset_ms", s.offset.count()},
            {"buffer_ms", s.buffer.count()},
            {"stalls", s.stalls},
            {"peers", s.peers},
            {"port_forwarding", port_forwarding(s)},
            {"bytes",
             {{"peers", s.bytes_from_peers},
              {"gateway", s.bytes_from_gateway},
              {"origin", s.bytes_from_origin},
              {"uploaded", s.bytes_uploaded}}},
            {"listeners", s.listeners}};
}

json event_json(const TunerEvent& e) {
    return {{"event", to_string(e.kind)},
            {"at", format_w3cdtf(e.at)},
            {"item", e.item ? json(*e.item) : json(nullptr)},
            {"title", e.title},
            {"message", e.message}};
}

// One JSON line; invalid UTF-8 in remote text is replaced, never a reason to stop.
void print_json(const json& j) {
    std::printf("%s\n", j.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
}

// The options as typed; checked and moved into TunerOptions once parsed.
struct Arguments {
    TunerOptions options;
    std::string playlist;
    std::vector<std::string> gateways;
    std::string cache_dir;
    std::string cache_size = "2G";
    std::string upload_limit = "0";
    std::string log_level = "warn";
    bool json_lines = false;
    bool no_clock = false;
    bool no_gateway = false;
    std::string dht_bootstrap = public_dht_routers;
    unsigned lead_ms = 4000;
    bool no_port_mapping = false;
};

void add_options(CLI::App& app, Arguments& a) {
    TunerOptions& options = a.options;
    app.add_option("playlist", a.playlist, "Station playlist: an http(s) URL or a file")
        ->required();
    app.add_option("-g,--gateway", a.gateways,
                   "Gateway URL (repeatable, tried in order; default http://127.0.0.1:8767)")
        ->allow_extra_args(false);  // one URL per --gateway: never the playlist after it
    app.add_flag("--no-gateway", a.no_gateway,
                 "Ask no gateway: the playlist's swarm metadata, else the origin")
        ->excludes("--gateway");
    app.add_option("-p,--port", options.stream_port, "Local stream port (0: any free port)")
        ->capture_default_str();
    app.add_option("--bind", options.stream_address, "Local stream address")->capture_default_str();
    app.add_option("--allow-origin", options.allow_origin,
                   "A web origin (https://host) whose pages may read /status and the stream "
                   "from scripts (default: none)");
    app.add_option("--cache-dir", a.cache_dir, "Media cache (default ~/.cache/alluvium)");
    app.add_option("--cache-size", a.cache_size, "Media kept on disk, e.g. 2G")
        ->capture_default_str();
    app.add_flag("!--no-dht", options.dht,
                 "Stay out of the DHT even when a gateway offers it (peers from trackers only)");
    app.add_option("--dht-bootstrap", a.dht_bootstrap,
                   "DHT nodes to join through, host:port,... (besides gateways' seeds); "
                   "none: only gateways' seeds")
        ->capture_default_str();
    app.add_option("--bt-listen", options.bt_listen, "BitTorrent listen interfaces")
        ->capture_default_str();
    app.add_flag("--no-port-mapping", a.no_port_mapping,
                 "Do not ask the home router to forward the BitTorrent port (UPnP, NAT-PMP)");
    app.add_option("--upload-limit", a.upload_limit,
                   "Upload to peers, bytes/s, e.g. 100k (0: none); a little under your uplink")
        ->capture_default_str();
    app.add_option("--lead", a.lead_ms, "Milliseconds the stream is produced ahead of the schedule")
        ->capture_default_str();
    app.add_option("--live-delay", options.live_delay_segments,
                   "Segments a live station plays behind its newest one (0: at the edge)")
        ->capture_default_str()
        ->check(CLI::Range(0u, 100u));
    app.add_flag("--no-clock-correction", a.no_clock,
                 "Trust the local clock over the playlist server's Date");
    app.add_flag("--json", a.json_lines, "Events and status as JSON lines on standard output");
    app.add_option("--log-level", a.log_level, "trace, debug, info, warn, error, off")
        ->capture_default_str();
}

// Checks what was typed and completes the options; false (said on stderr) when wrong.
bool apply(Arguments& a) {
    const auto level = parse_log_level(a.log_level);
    const auto size = alluvium::cli::parse_size(a.cache_size);
    const auto upload = alluvium::cli::parse_size(a.upload_limit);
    if (!level || !size || !upload) {
        std::fprintf(stderr, "alluvium-tune: %s\n",
                     !level  ? "unknown log level"
                     : !size ? "cache size must be like 2G"
                             : "upload limit must be bytes/s like 100k");
        return false;
    }
    spdlog::set_default_logger(spdlog::stderr_color_mt("tune"));
    set_log_level(*level);
    spdlog::set_pattern("%H:%M:%S.%e %^%l%$ %v");
    TunerOptions& options = a.options;
    if (a.no_gateway)
        options.gateways.clear();
    else if (!a.gateways.empty())
        options.gateways = a.gateways;
    options.dht_bootstrap = dht_bootstrap_nodes(a.dht_bootstrap);
    if (!a.cache_dir.empty())
        options.cache_dir = a.cache_dir;
    options.cache_size = *size;
    options.upload_limit = *upload;
    options.correct_clock = !a.no_clock;
    options.port_mapping = !a.no_port_mapping;
    options.lead = std::chrono::milliseconds(a.lead_ms);
    return true;
}

void print_events(Tuner& tuner, bool json_lines, bool tty) {
    for (const TunerEvent& e : tuner.take_events()) {
        if (json_lines) {
            print_json(event_json(e));
        } else if (e.kind == TunerEventKind::now_playing || e.kind == TunerEventKind::stall ||
                   e.kind == TunerEventKind::playlist_error ||
                   e.kind == TunerEventKind::port_mapping) {
            std::printf("%s%s: %s\n", tty ? "\r\033[K" : "", to_string(e.kind),
                        printable(e.title.empty() ? e.message : e.title).c_str());
        }
    }
}

// Until SIGINT or SIGTERM (blocked in `signals`): events as they come (the Tuner's notify
// raises SIGUSR1 at this thread), the status at the pace a reader wants it: each second on
// a terminal, each 5 s as JSON, each 10 s in a log.
void report(Tuner& tuner, const sigset_t& signals, bool json_lines) {
    using Clock = std::chrono::steady_clock;
    const bool tty = isatty(STDOUT_FILENO) != 0 && !json_lines;
    const auto every = std::chrono::seconds(tty ? 1 : json_lines ? 5 : 10);
    auto next_status = Clock::now() + every;
    while (true) {
        const auto left = std::max(Clock::duration{0}, next_status - Clock::now());
        const auto s = std::chrono::duration_cast<std::chrono::seconds>(left);
        const timespec timeout{static_cast<time_t>(s.count()),
                               static_cast<long>((left - s) / std::chrono::nanoseconds(1))};
        const int sig = sigtimedwait(&signals, nullptr, &timeout);
        if (sig == SIGINT || sig == SIGTERM)
            break;
        print_events(tuner, json_lines, tty);
        if (Clock::now() >= next_status) {
            next_status += every;
            const TunerStatus st = tuner.status();
            if (json_lines)
                print_json(status_json(st));
            else
                std::printf(tty ? "\r\033[K%s" : "%s\n", printable(status_line(st)).c_str());
        }
        std::fflush(stdout);
    }
    if (tty)
        std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "alluvium-tune: listen to an Alluvium station through a local Icecast-compatible stream"};
    app.set_version_flag("--version", std::string("alluvium-tune ") + version_string());
    Arguments a;
    add_options(app, a);
    alluvium::cli::add_standard_flags(app, "alluvium-tune");
    CLI11_PARSE(app, argc, argv);
    if (!apply(a))
        return 2;
    alluvium::cli::raise_open_file_limit();  // a player per socket

    // Blocked in every thread (the Tuner's inherit the mask); this one takes them.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    Tuner tuner(a.options);
    const pthread_t reporter = pthread_self();
    tuner.set_notify([reporter] { pthread_kill(reporter, SIGUSR1); });
    std::error_code ec;
    std::string detail;
    const std::string url = tuner.tune(a.playlist, ec, &detail);
    if (url.empty()) {
        std::fprintf(stderr, "alluvium-tune: %s\n", detail.c_str());
        return 1;
    }
    if (a.json_lines) {
        print_json({{"event", "stream"}, {"url", url}});
    } else {
        std::printf("stream: %s\n", url.c_str());
    }
    std::fflush(stdout);
    report(tuner, signals, a.json_lines);
    tuner.set_notify({});
    const TunerStatus s = tuner.status();
    tuner.stop();
    std::fprintf(stderr,
                 "alluvium-tune: stopped; %llu bytes from peers, %llu from the gateway, %llu from "
                 "the origin\n",
                 static_cast<unsigned long long>(s.bytes_from_peers),
                 static_cast<unsigned long long>(s.bytes_from_gateway),
                 static_cast<unsigned long long>(s.bytes_from_origin));
    return 0;
}
