// The gateway's tracker under announce load.
//
// One MP3 item on nginx, the gateway primed. Then two phases with distinct simulated peers
// (each announce a fresh connection, as BitTorrent clients make them):
//   paced:    --per-minute announces spread evenly over --seconds (10,000/min by default);
//   capacity: --clients threads announcing back to back for --burst-seconds.
// Prints and writes to --out, per phase: announces answered per second, latency p50/p99/max,
// failures; the peers the tracker then lists; the gateway's peak memory and CPU time.
#include <alluvium/fetch.hpp>
#include <alluvium/gateway_client.hpp>
#include <alluvium/url.hpp>

#include "figures.hpp"
#include "station.hpp"

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <sstream>
#include <thread>

namespace {

using namespace alluvium;
using namespace alluvium::test;
using Clock = std::chrono::steady_clock;

struct Phase {
    std::vector<double> latency_ms;
    unsigned failures = 0;
    double seconds = 0;
};

std::string raw_hash(const std::string& hex) {
    std::string raw;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        raw += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    return raw;
}

// Announce number `n`: a peer of its own (id and port), half of them seeds.
std::string announce_url(const std::string& base, const std::string& hash, std::uint64_t n) {
    char id[21];
    std::snprintf(id, sizeof id, "-AB0001-%012llu", static_cast<unsigned long long>(n));
    return base + "/announce?info_hash=" + percent_encode(hash) +
           "&peer_id=" + percent_encode(std::string(id, 20)) +
           "&port=" + std::to_string(10000 + n % 50000) +
           "&uploaded=0&downloaded=0&left=" + (n % 2 == 0 ? "0" : "100000") +
           "&compact=1&numwant=50&event=started";
}

// `clients` threads take announce numbers from `next`; each waits for its slot in `pace`
// (none: back to back) until `until`.
Phase run_phase(const std::string& base, const std::string& hash, unsigned clients,
                Clock::duration pace, Clock::time_point until, std::atomic<std::uint64_t>& next) {
    Phase phase;
    std::mutex m;
    const auto start = Clock::now();
    std::vector<std::thread> threads;
    for (unsigned c = 0; c < clients; ++c) {
        threads.emplace_back([&] {
            std::vector<double> mine;
            unsigned failed = 0;
            const std::uint64_t first = next.load();
            while (true) {
                const std::uint64_t n = next++;
                const auto slot = start + pace * static_cast<std::int64_t>(n - first);
                if (slot >= until || Clock::now() >= until)
                    break;
                std::this_thread::sleep_until(slot);
                HttpRequest r;
                r.url = announce_url(base, hash, n);
                std::error_code ec;
                const auto t0 = Clock::now();
                const HttpResponse res = http_request(r, ec);
                if (ec || res.status != 200 || res.body.find("failure") != std::string::npos)
                    ++failed;
                else
                    mine.push_back(
                        std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
            }
            std::lock_guard lock(m);
            phase.latency_ms.insert(phase.latency_ms.end(), mine.begin(), mine.end());
            phase.failures += failed;
        });
    }
    for (auto& t : threads)
        t.join();
    phase.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return phase;
}

void describe(std::ostringstream& report, const char* name, const Phase& p) {
    report << name << ": " << p.latency_ms.size() << " answered in " << p.seconds << " s ("
           << static_cast<double>(p.latency_ms.size()) / p.seconds * 60 << " per minute, "
           << static_cast<double>(p.latency_ms.size()) / p.seconds
           << " per s), latency ms p50 / p99 / max: " << bench::percentile(p.latency_ms, 0.5)
           << " / " << bench::percentile(p.latency_ms, 0.99) << " / "
           << bench::percentile(p.latency_ms, 1.0) << ", failures: " << p.failures << "\n";
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"The gateway's tracker under a steady and a maximal announce load"};
    unsigned per_minute = 10000;
    double seconds = 60;
    unsigned clients = 8;
    double burst_seconds = 10;
    std::string out = "bench-results/gateway_announce.txt";
    app.add_option("--per-minute", per_minute)->capture_default_str();
    app.add_option("--seconds", seconds, "length of the paced phase")->capture_default_str();
    app.add_option("--clients", clients)->capture_default_str();
    app.add_option("--burst-seconds", burst_seconds)->capture_default_str();
    app.add_option("--out", out)->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    const Binaries bin{ALLUVIUM_BROADCASTER, ALLUVIUM_GATEWAY, ALLUVIUM_TUNE};
    auto station = primed_station(bin, {{"a.mp3", 440, 10}}, {"-c:a", "libmp3lame", "-b:a", "128k"},
                                  Milliseconds{0}, {"--log-level", "info"});  // as deployed
    const GatewayAnswer meta = GatewayClient(station->gateway().base())
                                   .lookup(station->origin().url("a.mp3"), {}, Milliseconds{10000});
    if (meta.state != GatewayState::ready) {
        std::fprintf(stderr, "bench: no metadata: %s\n", meta.message.c_str());
        return 1;
    }
    const std::string hash = raw_hash(meta.metadata->info_hash);
    const std::string base = station->gateway().base();
    const pid_t gateway = station->gateway().pid();
    std::atomic<std::uint64_t> next{0};

    std::fprintf(stderr, "bench: %u announces per minute for %.0f s\n", per_minute, seconds);
    const double cpu0 = bench::cpu_seconds(gateway);
    const auto pace = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(60.0 / per_minute));
    const Phase paced = run_phase(base, hash, clients, pace,
                                  Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                     std::chrono::duration<double>(seconds)),
                                  next);
    const double cpu1 = bench::cpu_seconds(gateway);
    std::fprintf(stderr, "bench: %u clients back to back for %.0f s\n", clients, burst_seconds);
    const Phase burst = run_phase(base, hash, clients, Clock::duration::zero(),
                                  Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                     std::chrono::duration<double>(burst_seconds)),
                                  next);
    const double cpu2 = bench::cpu_seconds(gateway);

    // What a newcomer is told now: the tracker keeps every peer that announced.
    HttpRequest r;
    r.url = announce_url(base, hash, next++);
    std::error_code ec;
    const HttpResponse last = http_request(r, ec);

    std::ostringstream report;
    report << "# gateway tracker load: one swarm, fresh peers, one connection per announce\n";
    describe(report, "paced", paced);
    report << "  target " << per_minute << " per minute; gateway CPU s: " << cpu1 - cpu0 << "\n";
    describe(report, "capacity", burst);
    report << "  " << clients << " clients back to back; gateway CPU s: " << cpu2 - cpu1 << "\n"
           << "answer to a newcomer: HTTP " << last.status << ", " << last.body.size() << " bytes\n"
           << "gateway peak RSS KiB: " << bench::peak_rss_kib(gateway) << "\n";
    bench::publish_report(report.str(), out);
    bench::plot_svg(
        bench::beside(out, ""),
        {"The gateway's tracker: announce latency", "latency (ms)",
         "share of announces answered within", true, "steps"},
        {{"paced, " + std::to_string(per_minute) + " a minute", bench::cdf(paced.latency_ms)},
         {"capacity, " + std::to_string(clients) + " clients back to back",
          bench::cdf(burst.latency_ms)}});
    const bool met = paced.failures == 0 && static_cast<double>(paced.latency_ms.size()) >=
                                                0.95 * per_minute * seconds / 60;
    return met ? 0 : 1;
}
