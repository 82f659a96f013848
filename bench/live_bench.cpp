// A live station: where each segment's bytes come from, how far behind capture listeners
// play, stalls.
//
// A --minutes tone source (MP3, 128 kbit/s) is cut by `alluvium-broadcaster live` paced in
// real time into --segment-seconds segments, published on nginx and told to the gateway;
// --listeners alluvium-tune processes play the live playlist, each with a reader on its
// /stream. Prints and writes to --out: per segment origin bytes / size (nginx) and gateway
// seed upload / size; capture -> play latency per listener (the schedule point /stream plays
// against the clock) and how far ahead of that the stream's bytes leave; stalls.
#include "figures.hpp"
#include "gateway_process.hpp"
#include "nginx_origin.hpp"
#include "process.hpp"
#include "station.hpp"
#include "temp_dir.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

namespace {

using namespace alluvium;
using namespace alluvium::test;
using json = nlohmann::json;

struct Counts {
    std::uint64_t stalls = 0;
    std::uint64_t stalled_ms = 0;
    std::uint64_t peers = 0;
    std::uint64_t gateway = 0;
    std::uint64_t origin = 0;
};

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"A live station: segment byte sources, latency behind capture, stalls"};
    unsigned listeners = 8;
    double minutes = 5;
    unsigned segment_seconds = 6;
    std::string out = "bench-results/live.txt";
    app.add_option("--listeners", listeners)->capture_default_str();
    app.add_option("--minutes", minutes)->capture_default_str();
    app.add_option("--segment-seconds", segment_seconds)->capture_default_str();
    app.add_option("--out", out)->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    TempDir dir;
    const auto www = dir.path() / "www";
    std::filesystem::create_directories(www / "live");
    const auto source = dir.path() / "source.mp3";
    const int seconds_total = static_cast<int>(minutes * 60) + 30;
    std::fprintf(stderr, "bench: making a %d s source\n", seconds_total);
    const RunResult made = run({"ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
                                "sine=frequency=440:duration=" + std::to_string(seconds_total),
                                "-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k", source.string()},
                               std::chrono::minutes(5));
    if (made.exit_code != 0) {
        std::fprintf(stderr, "ffmpeg failed: %s\n", made.err.c_str());
        return 2;
    }
    NginxOrigin origin(www);
    GatewayProcess gateway(ALLUVIUM_GATEWAY, dir.path() / "gateway",
                           {"--allow-origin", origin.origin(), "--log-level", "info"});
    Background broadcaster({ALLUVIUM_BROADCASTER, "live", source.string(), "-o",
                            (www / "live").string(), "-b", origin.url("live/"), "--segment-seconds",
                            std::to_string(segment_seconds), "--gateway", gateway.base(), "-q"},
                           (dir.path() / "broadcaster.log").string());
    const std::string playlist = origin.url("live/live.rss");
    // Listeners tune once the delay's worth of segments is out (3 segments).
    std::this_thread::sleep_for(std::chrono::seconds(3 * segment_seconds + 2));

    std::fprintf(stderr, "bench: %u listeners for %.1f minutes\n", listeners, minutes);
    std::vector<std::unique_ptr<TuneProcess>> tunes;
    for (unsigned i = 0; i < listeners; ++i) {
        tunes.push_back(std::make_unique<TuneProcess>(
            Binaries{ALLUVIUM_BROADCASTER, ALLUVIUM_GATEWAY, ALLUVIUM_TUNE}, playlist,
            dir.path() / ("tune" + std::to_string(i)),
            std::vector<std::string>{"--gateway", gateway.base()}));
    }
    std::atomic<bool> stop{false};
    std::vector<std::thread> readers;
    for (const auto& t : tunes) {
        readers.emplace_back([port = t->port(), &stop] {
            const int fd = connect_loopback(port);
            const std::string req = "GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
            send(fd, req.data(), req.size(), MSG_NOSIGNAL);
            char buf[65536];
            while (!stop && recv(fd, buf, sizeof buf, 0) > 0) {
            }
            close(fd);
        });
    }
    std::vector<double> latency_ms;
    std::vector<double> ahead_ms;
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::milliseconds(static_cast<long>(minutes * 60000));
    while (std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::seconds(5));
        for (const auto& t : tunes) {
            const json st = t->status();
            if (!st.is_object() || st["playing"].is_null())
                continue;
            const auto start = parse_w3cdtf(st["playing"]["start"].get<std::string>());
            if (!start)
                continue;
            const TimePoint captured =
                *start + Milliseconds{st["playing"]["offset_ms"].get<std::int64_t>()};
            latency_ms.push_back(static_cast<double>((now_ms() - captured).count()));
            ahead_ms.push_back(st["buffer_ms"].get<double>());
        }
        std::fprintf(
            stderr, "bench: %.0f s left\n",
            std::chrono::duration<double>(until - std::chrono::steady_clock::now()).count());
    }
    Counts c;
    for (const auto& t : tunes) {
        const json st = t->status();
        if (!st.is_object())
            continue;
        c.stalls += st["stalls"].get<std::uint64_t>();
        c.stalled_ms += st["stalled_ms"].get<std::uint64_t>();
        c.peers += st["bytes"]["peers"].get<std::uint64_t>();
        c.gateway += st["bytes"]["gateway"].get<std::uint64_t>();
        c.origin += st["bytes"]["origin"].get<std::uint64_t>();
    }
    const json g = gateway.status();
    stop = true;
    tunes.clear();  // ends the readers' connections
    for (auto& r : readers)
        r.join();

    std::ostringstream report;
    report << "# live station: " << listeners << " listeners, " << segment_seconds
           << " s MP3 segments (128 kbit/s), " << minutes << " minutes\n";
    std::vector<double> origin_ratio;
    std::vector<double> gateway_ratio;
    std::string above;  // segments over the origin bound
    for (const auto& item : g["items"]) {
        const std::string url = item["url"].get<std::string>();
        const std::string path = url.substr(url.find('/', 8));
        const double size = static_cast<double>(item["size"].get<std::uint64_t>());
        origin_ratio.push_back(static_cast<double>(origin.bytes(path)) / size);
        // The seed's upload and the ranges listeners fetched from the gateway's copy.
        gateway_ratio.push_back(static_cast<double>(item["uploaded"].get<std::int64_t>() +
                                                    item.value("rescued", std::int64_t{0})) /
                                size);
        if (origin_ratio.back() > 1.05)
            above += " " + path.substr(path.rfind('/') + 1);
    }
    report << "segments: " << origin_ratio.size() << "\n"
           << "origin bytes / segment size, median / worst: "
           << bench::percentile(origin_ratio, 0.5) << " / " << bench::percentile(origin_ratio, 1.0)
           << " (bound 1.05)" << (above.empty() ? "" : "; over it:" + above) << "\n"
           << "gateway seed upload / segment size, median / worst: "
           << bench::percentile(gateway_ratio, 0.5) << " / "
           << bench::percentile(gateway_ratio, 1.0) << " (bound 2.5)\n"
           << "capture -> played on /stream, ms median / max: "
           << bench::percentile(latency_ms, 0.5) << " / " << bench::percentile(latency_ms, 1.0)
           << " (bound " << (3 * segment_seconds + 2) * 1000 << ")\n"
           << "the stream's bytes leave ahead of that, ms median: "
           << bench::percentile(ahead_ms, 0.5) << "\n"
           << "stalls (all listeners): " << c.stalls << ", stalled ms " << c.stalled_ms
           << " (bound 0)\n"
           << "bytes from peers / gateway / origin (all listeners): " << c.peers << " / "
           << c.gateway << " / " << c.origin << "\n";
    bench::publish_report(report.str(), out);
    bench::Series origin_line{"origin bytes / segment size", {}};
    bench::Series gateway_line{"gateway upload / segment size", {}};
    for (std::size_t i = 0; i < origin_ratio.size(); ++i) {
        origin_line.points.emplace_back(static_cast<double>(i + 1), origin_ratio[i]);
        gateway_line.points.emplace_back(static_cast<double>(i + 1), gateway_ratio[i]);
    }
    bench::plot_svg(
        bench::beside(out, ""),
        {"A live station: copies per segment (" + std::to_string(listeners) + " listeners)",
         "segment (the gateway's order)", "copies", false, "linespoints"},
        {origin_line, gateway_line});
    return 0;
}
