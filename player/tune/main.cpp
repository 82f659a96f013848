// alluvium-tune: the headless listener. Tunes to a station, serves it as a local
// Icecast-compatible stream, and reports what plays and where its bytes come from.
#include <alluvium/cli_support.hpp>
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

namespace {

using namespace alluvium;

std::string json_escape(const std::string& s) {
    std::string out;
    for (const char c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += c;
                }
        }
    }
    return out;
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
    char buf[512];
    const std::string now =
        s.now ? s.now->title : (s.state == AirState::gap ? "(silence)" : "(off air)");
    const std::string length = s.now ? format_duration(s.now->end - s.now->start) : "";
    const std::string stalls = s.stalls > 0 ? " | " + std::to_string(s.stalls) + " stalls" : "";
    std::snprintf(buf, sizeof buf,
                  "%s %s/%s | buffer %.1f s | %d peers | %.0f%% from peers (peers %s, gateway %s, "
                  "origin %s) | "
                  "%zu players%s",
                  now.c_str(), format_duration(s.offset).c_str(), length.c_str(),
                  static_cast<double>(s.buffer.count()) / 1000.0, s.peers, peer_share(s),
                  kib(s.bytes_from_peers).c_str(), kib(s.bytes_from_gateway).c_str(),
                  kib(s.bytes_from_origin).c_str(), s.listeners, stalls.c_str());
    return buf;
}

std::string status_json(const TunerStatus& s) {
    char buf[1024];
    std::snprintf(
        buf, sizeof buf,
        "{\"event\":\"status\",\"now\":%s,\"offset_ms\":%lld,\"buffer_ms\":%lld,\"stalls\":%llu,"
        "\"peers\":%d,\"bytes\":{\"peers\":%llu,\"gateway\":%llu,\"origin\":%llu,\"uploaded\":%llu}"
        ","
        "\"listeners\":%zu}",
        s.now ? ("\"" + json_escape(s.now->title) + "\"").c_str() : "null",
        static_cast<long long>(s.offset.count()), static_cast<long long>(s.buffer.count()),
        static_cast<unsigned long long>(s.stalls), s.peers,
        static_cast<unsigned long long>(s.bytes_from_peers),
        static_cast<unsigned long long>(s.bytes_from_gateway),
        static_cast<unsigned long long>(s.bytes_from_origin),
        static_cast<unsigned long long>(s.bytes_uploaded), s.listeners);
    return buf;
}

std::optional<std::uint64_t> parse_size(const std::string& text) {
    try {
        std::size_t used = 0;
        const double v = std::stod(text, &used);
        const std::string unit = text.substr(used);
        const double scale = unit.empty()                 ? 1
                             : unit == "K" || unit == "k" ? 1024.0
                             : unit == "M" || unit == "m" ? 1048576.0
                             : unit == "G" || unit == "g" ? 1073741824.0
                                                          : -1;
        if (scale < 0 || v < 0)
            return std::nullopt;
        return static_cast<std::uint64_t>(v * scale);
    } catch (...) {
        return std::nullopt;
    }
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "alluvium-tune: listen to an Alluvium station through a local Icecast-compatible stream"};
    app.set_version_flag("--version", std::string("alluvium-tune ") + version_string());
    TunerOptions options;
    std::string playlist;
    std::vector<std::string> gateways;
    std::string cache_dir;
    std::string cache_size = "2G";
    std::string upload_limit = "0";
    std::string log_level = "warn";
    bool json = false;
    bool no_clock = false;
    unsigned lead_ms = 4000;
    app.add_option("playlist", playlist, "Station playlist: an http(s) URL or a file")->required();
    app.add_option("-g,--gateway", gateways,
                   "Gateway URL (repeatable, tried in order; default http://127.0.0.1:8767)");
    app.add_option("-p,--port", options.stream_port, "Local stream port (0: any free port)")
        ->capture_default_str();
    app.add_option("--bind", options.stream_address, "Local stream address")->capture_default_str();
    app.add_option("--cache-dir", cache_dir, "Media cache (default ~/.cache/alluvium)");
    app.add_option("--cache-size", cache_size, "Media kept on disk, e.g. 2G")
        ->capture_default_str();
    app.add_flag("!--no-dht", options.dht,
                 "Stay out of the DHT even when a gateway offers it (peers from trackers only)");
    app.add_option("--dht-bootstrap", options.dht_bootstrap,
                   "DHT nodes to join through, host:port,... (besides gateways' seeds)");
    app.add_option("--bt-listen", options.bt_listen, "BitTorrent listen interfaces")
        ->capture_default_str();
    app.add_option("--upload-limit", upload_limit,
                   "Upload to peers, bytes/s, e.g. 100k (0: none); a little under your uplink")
        ->capture_default_str();
    app.add_option("--lead", lead_ms, "Milliseconds the stream is produced ahead of the schedule")
        ->capture_default_str();
    app.add_option("--live-delay", options.live_delay_segments,
                   "Segments a live station plays behind its newest one (0: at the edge)")
        ->capture_default_str()
        ->check(CLI::Range(0u, 100u));
    app.add_flag("--no-clock-correction", no_clock,
                 "Trust the local clock over the playlist server's Date");
    app.add_flag("--json", json, "Events and status as JSON lines on standard output");
    app.add_option("--log-level", log_level, "trace, debug, info, warn, error, off")
        ->capture_default_str();
    alluvium::cli::add_standard_flags(app, "alluvium-tune");
    CLI11_PARSE(app, argc, argv);

    const auto level = parse_log_level(log_level);
    const auto size = parse_size(cache_size);
    const auto upload = parse_size(upload_limit);
    if (!level || !size || !upload) {
        std::fprintf(stderr, "alluvium-tune: %s\n",
                     !level  ? "unknown log level"
                     : !size ? "cache size must be like 2G"
                             : "upload limit must be bytes/s like 100k");
        return 2;
    }
    spdlog::set_default_logger(spdlog::stderr_color_mt("tune"));
    set_log_level(*level);
    spdlog::set_pattern("%H:%M:%S.%e %^%l%$ %v");
    if (!gateways.empty())
        options.gateways = gateways;
    if (!cache_dir.empty())
        options.cache_dir = cache_dir;
    options.cache_size = *size;
    options.upload_limit = *upload;
    options.correct_clock = !no_clock;
    options.lead = std::chrono::milliseconds(lead_ms);

    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    Tuner tuner(options);
    std::error_code ec;
    std::string detail;
    const std::string url = tuner.tune(playlist, ec, &detail);
    if (url.empty()) {
        std::fprintf(stderr, "alluvium-tune: %s\n", detail.c_str());
        return 1;
    }
    if (json) {
        std::printf("{\"event\":\"stream\",\"url\":\"%s\"}\n", json_escape(url).c_str());
    } else {
        std::printf("stream: %s\n", url.c_str());
    }
    std::fflush(stdout);
    const bool tty = isatty(STDOUT_FILENO) != 0 && !json;
    int tick = 0;
    while (true) {
        timespec one_second{1, 0};
        const int sig = sigtimedwait(&signals, nullptr, &one_second);
        if (sig == SIGINT || sig == SIGTERM)
            break;
        ++tick;
        for (const TunerEvent& e : tuner.take_events()) {
            if (json) {
                std::printf(
                    "{\"event\":\"%s\",\"at\":\"%s\",\"item\":%s,\"title\":\"%s\",\"message\":\"%"
                    "s\"}\n",
                    to_string(e.kind), format_w3cdtf(e.at).c_str(),
                    e.item ? std::to_string(*e.item).c_str() : "null", json_escape(e.title).c_str(),
                    json_escape(e.message).c_str());
            } else if (e.kind == TunerEventKind::now_playing || e.kind == TunerEventKind::stall ||
                       e.kind == TunerEventKind::playlist_error) {
                std::printf("%s%s: %s%s\n", tty ? "\r\033[K" : "", to_string(e.kind),
                            e.title.empty() ? e.message.c_str() : e.title.c_str(), "");
            }
        }
        const TunerStatus s = tuner.status();
        if (json && tick % 5 == 0) {
            std::printf("%s\n", status_json(s).c_str());
        } else if (tty) {
            std::printf("\r\033[K%s", status_line(s).c_str());
        } else if (!json && tick % 10 == 0) {
            std::printf("%s\n", status_line(s).c_str());
        }
        std::fflush(stdout);
    }
    if (tty)
        std::printf("\n");
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
