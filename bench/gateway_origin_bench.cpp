// How much the origin serves when several listeners fetch one item through the gateway.
//
// An nginx origin throttled to --origin-rate serves one --size-mib file; the gateway
// fetches it once, hashes and seeds it; --clients libtorrent clients ask the gateway for
// the metadata (waiting while it fetches) and download from its seed and from each other.
// Printed and written to --out: origin bytes / item size (nginx's count and the gateway's),
// gateway upload / item size, bytes the clients exchanged, times, gateway memory.
#include <alluvium/gateway_client.hpp>

#include "figures.hpp"
#include "gateway_process.hpp"
#include "nginx_origin.hpp"
#include "swarm_client.hpp"
#include "temp_dir.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

namespace {

using namespace alluvium;
using namespace alluvium::test;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0, Clock::time_point t) {
    return std::chrono::duration<double>(t - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Origin load of one item fetched by several listeners through the gateway"};
    unsigned clients = 8;
    unsigned size_mib = 64;
    std::string rate = "4m";
    std::string out = "bench-results/gateway_origin.txt";
    unsigned timeout_s = 600;
    app.add_option("--clients", clients)->capture_default_str();
    app.add_option("--size-mib", size_mib)->capture_default_str();
    app.add_option("--origin-rate", rate, "nginx limit_rate")->capture_default_str();
    app.add_option("--out", out)->capture_default_str();
    app.add_option("--timeout", timeout_s)->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    TempDir dir;
    std::filesystem::create_directories(dir.path() / "www");
    const std::uint64_t size = std::uint64_t{size_mib} << 20;
    {
        std::mt19937_64 rng(1);
        std::ofstream file(dir.path() / "www/item.mp3", std::ios::binary);
        std::vector<std::uint64_t> block(1 << 16);
        for (std::uint64_t written = 0; written < size; written += block.size() * 8) {
            for (auto& w : block)
                w = rng();
            file.write(reinterpret_cast<const char*>(block.data()),
                       static_cast<std::streamsize>(block.size() * 8));
        }
    }
    NginxOrigin origin(dir.path() / "www", rate);
    GatewayProcess gateway(ALLUVIUM_GATEWAY, dir.path() / "gateway",
                           {"--allow-origin", origin.origin()});
    const std::string url = origin.url("item.mp3");
    std::fprintf(stderr, "bench: %u clients, %u MiB item, origin limited to %s/s\n", clients,
                 size_mib, rate.c_str());

    const auto t0 = Clock::now();
    std::vector<std::unique_ptr<SwarmClient>> swarm;
    std::vector<double> metadata_s(clients, -1);
    std::vector<double> complete_s(clients, -1);
    std::vector<std::thread> threads;
    for (unsigned i = 0; i < clients; ++i) {
        swarm.push_back(std::make_unique<SwarmClient>(dir.path() / ("client" + std::to_string(i))));
    }
    for (unsigned i = 0; i < clients; ++i) {
        threads.emplace_back([&, i] {
            const GatewayClient client(gateway.base());
            const auto deadline = t0 + std::chrono::seconds(timeout_s);
            GatewayAnswer a;
            do {
                a = client.lookup(url, {}, Milliseconds{2000});
            } while (a.state == GatewayState::pending && Clock::now() < deadline);
            if (a.state != GatewayState::ready || !swarm[i]->add(a.metadata->torrent)) {
                std::fprintf(stderr, "bench: client %u got no metadata: %s\n", i,
                             a.message.c_str());
                return;
            }
            metadata_s[i] = seconds_since(t0, Clock::now());
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (swarm[i]->wait_complete(left)) {
                complete_s[i] = seconds_since(t0, Clock::now());
            }
        });
    }
    // Progress while it runs.
    std::atomic<bool> done{false};
    std::thread progress([&] {
        while (!done) {
            std::this_thread::sleep_for(std::chrono::seconds(5));
            double sum = 0;
            for (auto& c : swarm)
                sum += c->stats().progress;
            std::fprintf(stderr, "bench: %5.1f s, clients at %.0f%% on average\n",
                         seconds_since(t0, Clock::now()), 100.0 * sum / clients);
        }
    });
    for (auto& t : threads)
        t.join();
    done = true;
    progress.join();

    const auto status = gateway.status();
    std::int64_t client_down = 0;
    std::int64_t client_up = 0;
    unsigned finished = 0;
    for (unsigned i = 0; i < clients; ++i) {
        const auto s = swarm[i]->stats();
        client_down += s.downloaded;
        client_up += s.uploaded;
        finished += complete_s[i] >= 0 ? 1u : 0u;
    }
    const double origin_nginx =
        static_cast<double>(origin.bytes("/item.mp3")) / static_cast<double>(size);
    const double origin_gateway =
        static_cast<double>(status["totals"]["origin_bytes"].get<std::uint64_t>()) /
        static_cast<double>(size);
    const double gateway_up =
        static_cast<double>(status["totals"]["bytes_served"].get<std::uint64_t>()) /
        static_cast<double>(size);
    auto sorted = complete_s;
    std::sort(sorted.begin(), sorted.end());
    std::ostringstream report;
    report << "gateway_origin benchmark\n"
           << "clients: " << clients << "\nitem_bytes: " << size << "\norigin_rate: " << rate
           << "/s\n"
           << "clients_complete: " << finished << " of " << clients << "\n"
           << "origin_bytes_over_item_size (nginx body bytes sent): " << origin_nginx << "\n"
           << "origin_bytes_over_item_size (gateway received): " << origin_gateway << "\n"
           << "origin_fetch_requests: " << origin.count("GET", "/item.mp3", 200) << "\n"
           << "gateway_upload_over_item_size: " << gateway_up << "\n"
           << "peer_exchange_bytes (client uploads): " << client_up << "\n"
           << "client_download_bytes (all clients): " << client_down << "\n"
           << "metadata_ready_s first / last client: "
           << *std::min_element(metadata_s.begin(), metadata_s.end()) << " / "
           << *std::max_element(metadata_s.begin(), metadata_s.end()) << "\n"
           << "complete_s median / max: " << sorted[sorted.size() / 2] << " / " << sorted.back()
           << "\n"
           << "gateway_peak_rss_kib: " << bench::peak_rss_kib(gateway.pid()) << "\n"
           << "acceptance (origin/size <= 1.05 and all complete): "
           << ((origin_nginx <= 1.05 && finished == clients) ? "met" : "NOT met") << "\n";
    bench::publish_report(report.str(), out);
    std::vector<double> metadata_done;
    std::vector<double> complete_done;
    for (unsigned i = 0; i < clients; ++i) {
        if (metadata_s[i] >= 0)
            metadata_done.push_back(metadata_s[i]);
        if (complete_s[i] >= 0)
            complete_done.push_back(complete_s[i]);
    }
    bench::plot_svg(bench::beside(out, ""),
                    {"One item to " + std::to_string(clients) + " clients through the gateway",
                     "time since the first lookup (s)", "share of clients", false, "steps"},
                    {{"metadata ready", bench::cdf(metadata_done)},
                     {"item complete", bench::cdf(complete_done)}});
    return finished == clients ? 0 : 1;
}
