// The local stream server under load: many players on one listener's /stream.
//
// A station of MP3 tone items (128 kbit/s) on nginx, the gateway primed, one alluvium-tune.
// --players readers connect to its /stream at once and read like players; --slow readers
// read 2 KB/s through a 4 KB receive buffer; --status-clients loop on GET /status. After
// --seconds, prints and writes to --out: connect -> first byte p50/p99, each player's
// delivered rate against the stream's, the longest gap between reads (p50/p99 over players),
// slow readers dropped, /status requests per second and latency p50/p99, and the listener
// process's peak memory and CPU time.
#include <alluvium/cli_support.hpp>
#include <alluvium/fetch.hpp>

#include "figures.hpp"
#include "process.hpp"
#include "station.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <sstream>
#include <thread>

namespace {

using namespace alluvium;
using namespace alluvium::test;
using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

struct Player {
    int fd = -1;
    Clock::time_point connected{};
    Clock::time_point first_byte{};
    Clock::time_point last_read{};
    bool got_bytes = false;
    bool closed = false;
    std::uint64_t bytes = 0;
    double longest_gap_ms = 0;  // after the first second (the burst)
};

const std::string stream_request = "GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
// As Winamp, VLC and mpv ask: ICY titles every 16000 bytes in the stream.
const std::string icy_request =
    "GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\nIcy-MetaData: 1\r\n\r\n";

// Connects `n` players, the first `icy` of them asking for ICY metadata, then reads all of
// them with one poll() loop until `until`.
std::vector<Player> run_players(int port, unsigned n, unsigned icy, Clock::time_point until) {
    std::vector<Player> players(n);
    for (std::size_t i = 0; i < players.size(); ++i) {
        Player& p = players[i];
        p.fd = connect_loopback(port);
        p.connected = Clock::now();
        const std::string& request = i < icy ? icy_request : stream_request;
        if (p.fd >= 0)
            send(p.fd, request.data(), request.size(), MSG_NOSIGNAL);
        else
            p.closed = true;
    }
    std::vector<pollfd> fds(n);
    char buf[65536];
    while (Clock::now() < until) {
        for (std::size_t i = 0; i < n; ++i)
            fds[i] = {players[i].closed ? -1 : players[i].fd, POLLIN, 0};
        if (poll(fds.data(), fds.size(), 100) <= 0)
            continue;
        const auto now = Clock::now();
        for (std::size_t i = 0; i < n; ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            Player& p = players[i];
            const ssize_t got = recv(p.fd, buf, sizeof buf, MSG_DONTWAIT);
            if (got <= 0) {
                p.closed = true;
                continue;
            }
            if (!p.got_bytes) {
                p.got_bytes = true;
                p.first_byte = now;
            } else if (ms_between(p.first_byte, now) > 1000) {
                p.longest_gap_ms = std::max(p.longest_gap_ms, ms_between(p.last_read, now));
            }
            p.last_read = now;
            p.bytes += static_cast<std::uint64_t>(got);
        }
    }
    for (Player& p : players) {
        if (p.fd >= 0)
            close(p.fd);
    }
    return players;
}

// A player that reads 2 KB/s through a small buffer: the server must drop it.
void run_slow(int port, Clock::time_point until) {
    const int fd = connect_loopback(port, 4096);
    if (fd < 0)
        return;
    send(fd, stream_request.data(), stream_request.size(), MSG_NOSIGNAL);
    char buf[200];
    while (Clock::now() < until) {
        if (recv(fd, buf, sizeof buf, MSG_DONTWAIT) == 0)
            break;  // dropped
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    close(fd);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"The local stream server with many players, slow readers and status requests"};
    unsigned players = 200;
    unsigned slow = 20;
    unsigned status_clients = 4;
    double icy_share = 0.5;
    double seconds = 30;
    std::string out = "bench-results/stream_load.txt";
    app.add_option("--players", players)->capture_default_str();
    app.add_option("--slow", slow)->capture_default_str();
    app.add_option("--status-clients", status_clients)->capture_default_str();
    app.add_option("--icy-share", icy_share, "Share of players asking for ICY metadata")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 1.0));
    app.add_option("--seconds", seconds)->capture_default_str();
    app.add_option("--out", out)->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    alluvium::cli::raise_open_file_limit();  // a socket per player
    const auto icy = static_cast<unsigned>(icy_share * players + 0.5);

    const Binaries bin{ALLUVIUM_BROADCASTER, ALLUVIUM_GATEWAY, ALLUVIUM_TUNE};
    const std::vector<ToneItem> items = {
        {"a.mp3", 400, 20}, {"b.mp3", 700, 20}, {"c.mp3", 1100, 20}};
    std::fprintf(stderr, "bench: making %zu items\n", items.size());
    auto station =
        primed_station(bin, items, {"-c:a", "libmp3lame", "-b:a", "128k"}, Milliseconds{2000});
    auto tune = station->tune();
    if (tune->status().is_null()) {
        std::fprintf(stderr, "bench: the listener does not answer\n");
        return 1;
    }
    std::fprintf(stderr, "bench: %u players, %u slow readers, %u status clients for %.0f s\n",
                 players, slow, status_clients, seconds);
    const double cpu_before = bench::cpu_seconds(tune->pid());
    const auto start = Clock::now();
    const auto until =
        start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));

    std::vector<std::thread> threads;
    for (unsigned i = 0; i < slow; ++i)
        threads.emplace_back([&] { run_slow(tune->port(), until); });
    std::vector<std::vector<double>> latencies(status_clients);
    std::atomic<unsigned> status_failures{0};
    for (unsigned i = 0; i < status_clients; ++i) {
        threads.emplace_back([&, i] {
            HttpRequest r;
            r.url = tune->base() + "/status";
            while (Clock::now() < until) {
                const auto t0 = Clock::now();
                std::error_code ec;
                const HttpResponse res = http_request(r, ec);
                if (ec || res.status != 200)
                    ++status_failures;
                else
                    latencies[i].push_back(ms_between(t0, Clock::now()));
            }
        });
    }
    const std::vector<Player> result = run_players(tune->port(), players, icy, until);
    for (auto& t : threads)
        t.join();
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    const auto st = tune->status();

    std::vector<double> first_ms, gap_ms, rate;
    unsigned failed = 0;
    for (const Player& p : result) {
        if (!p.got_bytes || p.closed) {
            ++failed;
            continue;
        }
        first_ms.push_back(ms_between(p.connected, p.first_byte));
        gap_ms.push_back(p.longest_gap_ms);
        // Delivered after the burst, against 128 kbit/s.
        rate.push_back(static_cast<double>(p.bytes) / elapsed / 16000.0);
    }
    std::vector<double> all_latency;
    for (const auto& l : latencies)
        all_latency.insert(all_latency.end(), l.begin(), l.end());

    std::ostringstream report;
    const double cpu = bench::cpu_seconds(tune->pid()) - cpu_before;
    report << "# stream server load: " << players << " players (" << icy << " with ICY metadata), "
           << slow << " slow readers (2 KB/s), " << status_clients << " /status clients, "
           << seconds << " s, 128 kbit/s MP3\n"
           << "players served to the end: " << (players - failed) << " of " << players << "\n"
           << "connect -> first byte ms p50 / p99: " << bench::percentile(first_ms, 0.5) << " / "
           << bench::percentile(first_ms, 0.99) << "\n"
           << "delivered / stream rate p50 / min: " << bench::percentile(rate, 0.5) << " / "
           << bench::percentile(rate, 0.0) << " (the burst makes it above 1)\n"
           << "longest gap between reads ms p50 / p99: " << bench::percentile(gap_ms, 0.5) << " / "
           << bench::percentile(gap_ms, 0.99) << "\n"
           << "slow readers dropped: " << st.value("listeners_dropped", -1) << " of " << slow
           << "\n"
           << "stalls (listener): " << st.value("stalls", -1) << "\n"
           << "/status requests per s: " << static_cast<double>(all_latency.size()) / elapsed
           << ", latency ms p50 / p99: " << bench::percentile(all_latency, 0.5) << " / "
           << bench::percentile(all_latency, 0.99) << ", failures: " << status_failures << "\n"
           << "listener peak RSS KiB: " << bench::peak_rss_kib(tune->pid()) << "\n"
           << "listener CPU s during the run: " << cpu << " in " << elapsed << " s ("
           << 100.0 * cpu / elapsed << " % of one core)\n";
    bench::publish_report(report.str(), out);
    bench::plot_svg(bench::beside(out, ""),
                    {"The local stream under " + std::to_string(players) + " players", "time (ms)",
                     "share of players / requests", true, "steps"},
                    {{"connect to first byte on /stream", bench::cdf(first_ms)},
                     {"longest gap between reads", bench::cdf(gap_ms)},
                     {"/status answered", bench::cdf(all_latency)}});
    return failed == 0 ? 0 : 1;
}
