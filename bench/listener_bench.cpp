// Listeners on one station: where the bytes come from, how fast playback starts, stalls.
//
// A station of --items MP3 items (128 kbit/s, --item-seconds each, looping) is published on
// nginx throttled to 4x the media bit rate; the gateway is primed ahead (as a broadcaster
// does); --listeners alluvium-tune processes tune in, each with a reader on its /stream.
// After --minutes, prints and writes to --out: per item origin bytes / size (nginx) and
// gateway seed upload / size, bytes among listeners, time from tune to the first audio byte
// on /stream, first byte and burst for a player joining a running /stream, stalls.
#include <alluvium/fetch.hpp>

#include "figures.hpp"
#include "gateway_process.hpp"
#include "nginx_origin.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

namespace {

using namespace alluvium;
using namespace alluvium::test;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

double ms_since(Clock::time_point t0, Clock::time_point t) {
    return std::chrono::duration<double, std::milli>(t - t0).count();
}

double median(const std::vector<double>& v) {
    return bench::percentile(v, 0.5);
}

struct Reader {
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> audio_bytes{0};
    double first_audio_ms = -1;     // since `since`
    double longest_silence_ms = 0;  // longest gap between arrivals after the burst
    bool ended_early = false;
};

// Reads /stream like a player: headers, then audio; records when audio starts and gaps.
void read_stream(int port, Clock::time_point since, Reader& r, Clock::time_point until) {
    int fd = -1;
    while (fd < 0 && Clock::now() < until && !r.stop) {
        fd = connect_loopback(port);
        if (fd < 0)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (fd < 0)
        return;
    const std::string req = "GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\nIcy-MetaData: 1\r\n\r\n";
    send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    std::string head;
    bool in_body = false;
    char buf[65536];
    Clock::time_point last = Clock::now();
    while (!r.stop && Clock::now() < until) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 200) <= 0)
            continue;
        const ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
            r.ended_early = true;
            break;
        }
        const auto now = Clock::now();
        std::size_t body_from = 0;
        if (!in_body) {
            head.append(buf, static_cast<std::size_t>(n));
            const auto end = head.find("\r\n\r\n");
            if (end == std::string::npos)
                continue;
            in_body = true;
            body_from = static_cast<std::size_t>(n) - (head.size() - end - 4);
            if (head.size() - end - 4 == 0)
                continue;
        }
        if (r.first_audio_ms < 0) {
            r.first_audio_ms = ms_since(since, now);
        } else {
            r.longest_silence_ms = std::max(r.longest_silence_ms, ms_since(last, now));
        }
        last = now;
        r.audio_bytes += static_cast<std::uint64_t>(n) - body_from;
    }
    close(fd);
}

// A player joining a running /stream: time to the first audio byte, bytes in 500 ms.
std::pair<double, std::size_t> probe_join(int port) {
    const auto t0 = Clock::now();
    const int fd = connect_loopback(port);
    if (fd < 0)
        return {-1, 0};
    const std::string req = "GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\nIcy-MetaData: 1\r\n\r\n";
    send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    std::string data;
    double first = -1;
    char buf[65536];
    while (ms_since(t0, Clock::now()) < 500) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0)
            continue;
        const ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        data.append(buf, static_cast<std::size_t>(n));
        const auto end = data.find("\r\n\r\n");
        if (first < 0 && end != std::string::npos && data.size() > end + 4)
            first = ms_since(t0, Clock::now());
    }
    close(fd);
    const auto end = data.find("\r\n\r\n");
    return {first, end == std::string::npos ? 0 : data.size() - end - 4};
}

json get_json(const std::string& url) {
    HttpRequest r;
    r.url = url;
    r.total_timeout = std::chrono::seconds(10);
    std::error_code ec;
    const HttpResponse res = http_request(r, ec);
    return ec ? json() : json::parse(res.body, nullptr, false);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Listeners on one station: byte sources, start-up, stalls"};
    unsigned listeners = 16;
    unsigned items = 5;
    unsigned item_seconds = 60;
    double minutes = 5;
    std::string out = "bench-results/listener.txt";
    app.add_option("--listeners", listeners)->capture_default_str();
    app.add_option("--items", items)->capture_default_str();
    app.add_option("--item-seconds", item_seconds)->capture_default_str();
    app.add_option("--minutes", minutes)->capture_default_str();
    app.add_option("--out", out)->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    TempDir dir;
    const auto www = dir.path() / "www";
    std::filesystem::create_directories(www);
    std::fprintf(stderr, "bench: making %u items of %u s\n", items, item_seconds);
    for (unsigned i = 0; i < items; ++i) {
        const std::string name = "item" + std::to_string(i) + ".mp3";
        const RunResult r = run({"ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                                 "sine=frequency=" + std::to_string(300 + 110 * i) +
                                     ":duration=" + std::to_string(item_seconds),
                                 "-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k", "-metadata",
                                 "title=Item " + std::to_string(i), (www / name).string()},
                                std::chrono::minutes(5));
        if (r.exit_code != 0) {
            std::fprintf(stderr, "ffmpeg failed: %s\n", r.err.c_str());
            return 2;
        }
    }
    // 4x the media bit rate: 128 kbit/s x 4 = 64 KiB/s.
    NginxOrigin origin(www, "64k");
    const std::string playlist_url = origin.url("station.rss");
    const auto generate = [&](const std::string& start) {
        std::vector<std::string> args = {ALLUVIUM_BROADCASTER,
                                         "generate",
                                         "-q",
                                         "--loop",
                                         "--title",
                                         "Bench Radio",
                                         "--base-url",
                                         origin.url(""),
                                         "--start",
                                         start,
                                         "-o",
                                         (www / "station.rss").string()};
        for (unsigned i = 0; i < items; ++i)
            args.push_back((www / ("item" + std::to_string(i) + ".mp3")).string());
        return run(args).exit_code == 0;
    };
    if (!generate("now"))
        return 2;
    GatewayProcess gateway(ALLUVIUM_GATEWAY, dir.path() / "gateway",
                           {"--playlist", playlist_url, "--fetch-jobs", "4"});
    std::fprintf(stderr, "bench: priming the gateway (origin at 64 KiB/s)\n");
    const RunResult primed =
        run({ALLUVIUM_GATEWAY, "prime", playlist_url, "--gateway", gateway.base()},
            std::chrono::minutes(10));
    if (primed.exit_code != 0) {
        std::fprintf(stderr, "prime failed: %s\n", primed.err.c_str());
        return 2;
    }
    // The station began 20 s ago: listeners join mid-item.
    const auto start = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()) -
                       std::chrono::seconds(20);
    if (!generate(format_w3cdtf(std::chrono::time_point_cast<Milliseconds>(start))))
        return 2;

    std::fprintf(stderr, "bench: %u listeners for %.1f minutes\n", listeners, minutes);
    std::vector<std::unique_ptr<Background>> tunes;
    std::vector<int> ports;
    std::vector<std::unique_ptr<Reader>> readers;
    std::vector<std::thread> threads;
    const auto until = Clock::now() + std::chrono::milliseconds(static_cast<long>(minutes * 60000));
    for (unsigned i = 0; i < listeners; ++i) {
        const int port = free_port();
        ports.push_back(port);
        readers.push_back(std::make_unique<Reader>());
        const auto t0 = Clock::now();
        tunes.push_back(std::make_unique<Background>(
            std::vector<std::string>{ALLUVIUM_TUNE, playlist_url, "--gateway", gateway.base(),
                                     "--port", std::to_string(port), "--bt-listen", "127.0.0.1:0",
                                     "--cache-dir",
                                     (dir.path() / ("tune" + std::to_string(i))).string(),
                                     "--log-level", "info", "--dht-bootstrap", "none"},
            (dir.path() / ("tune" + std::to_string(i) + ".log")).string()));
        threads.emplace_back([&, i, port, t0] { read_stream(port, t0, *readers[i], until); });
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    // Players joining the running streams.
    std::this_thread::sleep_for(std::chrono::seconds(15));
    std::vector<double> join_ms;
    std::vector<double> burst;
    for (int k = 0; k < 32; ++k) {
        const auto [first, bytes] = probe_join(ports[static_cast<std::size_t>(k) % ports.size()]);
        join_ms.push_back(first);
        burst.push_back(static_cast<double>(bytes));
    }
    while (Clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::seconds(10));
        const json g = gateway.status();
        std::fprintf(stderr, "bench: %.0f s left; gateway served %llu bytes\n",
                     std::chrono::duration<double>(until - Clock::now()).count(),
                     g.is_object() ? static_cast<unsigned long long>(
                                         g["totals"]["bytes_served"].get<std::uint64_t>())
                                   : 0ull);
    }
    std::uint64_t peers = 0, from_gateway = 0, from_origin = 0, uploaded = 0, stalls = 0,
                  stalled_ms = 0;
    for (unsigned i = 0; i < listeners; ++i) {
        const json s = get_json("http://127.0.0.1:" + std::to_string(ports[i]) + "/status");
        if (!s.is_object())
            continue;
        peers += s["bytes"]["peers"].get<std::uint64_t>();
        from_gateway += s["bytes"]["gateway"].get<std::uint64_t>();
        from_origin += s["bytes"]["origin"].get<std::uint64_t>();
        uploaded += s["bytes"]["uploaded"].get<std::uint64_t>();
        stalls += s["stalls"].get<std::uint64_t>();
        stalled_ms += s["stalled_ms"].get<std::uint64_t>();
    }
    const json g = gateway.status();
    for (auto& r : readers)
        r->stop = true;
    for (auto& t : threads)
        t.join();

    std::ostringstream report;
    report << "listener benchmark\nlisteners: " << listeners
           << " (one alluvium-tune process each)\n"
           << "station: " << items << " MP3 items of " << item_seconds
           << " s at 128 kbit/s, looping\n"
           << "origin: nginx, 64 KiB/s per connection (4x the bit rate); gateway primed ahead\n"
           << "run: " << minutes << " minutes\n\nper item:\n";
    double worst_origin = 0;
    double worst_gateway = 0;
    for (const auto& item : g["items"]) {
        const std::string url = item["url"].get<std::string>();
        const std::string path = url.substr(url.find('/', 8));
        const double size = static_cast<double>(item["size"].get<std::uint64_t>());
        const double o = static_cast<double>(origin.bytes(path)) / size;
        // The seed's upload and the ranges listeners fetched from the gateway's copy.
        const double up = static_cast<double>(item["uploaded"].get<std::int64_t>() +
                                              item.value("rescued", std::int64_t{0})) /
                          size;
        worst_origin = std::max(worst_origin, o);
        worst_gateway = std::max(worst_gateway, up);
        report << "  " << path << ": origin bytes / size " << o << ", gateway upload / size " << up
               << "\n";
    }
    std::vector<double> first_audio;
    double longest_gap = 0;
    unsigned ended = 0;
    for (const auto& r : readers) {
        if (r->first_audio_ms >= 0)
            first_audio.push_back(r->first_audio_ms);
        longest_gap = std::max(longest_gap, r->longest_silence_ms);
        ended += r->ended_early ? 1u : 0u;
    }
    report << "\nworst origin bytes / size: " << worst_origin << " (bound 1.05)\n"
           << "worst gateway upload / size: " << worst_gateway << " (bound 2.0)\n"
           << "bytes among listeners (received from peers): " << peers << "\n"
           << "bytes from the gateway seed (all listeners): " << from_gateway << "\n"
           << "bytes from the origin by listeners (rescue): " << from_origin << "\n"
           << "bytes uploaded by listeners: " << uploaded << "\n"
           << "tune -> first audio byte on /stream, median / max ms: " << median(first_audio)
           << " / "
           << (first_audio.empty() ? -1 : *std::max_element(first_audio.begin(), first_audio.end()))
           << " (bound 1000 median)\n"
           << "player joining a running /stream: first audio byte median ms " << median(join_ms)
           << " (bound 150), burst median bytes " << median(burst) << " (bound 65536)\n"
           << "stalls (all listeners): " << stalls << ", stalled ms " << stalled_ms
           << " (bound 0)\n"
           << "longest gap between arrivals at a reader (ms): " << longest_gap << "\n"
           << "streams that ended early: " << ended << "\n";
    bench::publish_report(report.str(), out);
    bench::plot_svg(bench::beside(out, ""),
                    {"Listeners: time to the first audio byte", "time (ms)", "share of listeners",
                     true, "steps"},
                    {{"a listener's start to its first byte on /stream", bench::cdf(first_audio)},
                     {"a player joining a running /stream", bench::cdf(join_ms)}});
    return 0;
}
