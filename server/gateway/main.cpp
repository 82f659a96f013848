// alluvium-gateway: the service (default) and `prime`, which asks a running gateway to
// fetch a playlist's items ahead of their time and shows the progress.
#include <alluvium/cli_support.hpp>
#include <alluvium/fetch.hpp>
#include <alluvium/log.hpp>
#include <alluvium/url.hpp>
#include <alluvium/version.hpp>

#include "config.hpp"
#include "gateway.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

namespace {

using namespace alluvium;
using namespace alluvium::gateway;

int serve(GatewayConfig config) {
    // Signals are taken by sigwait below; block them before any thread starts.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::string error;
    auto gateway = Gateway::start(std::move(config), error);
    if (!gateway) {
        spdlog::error("{}", error);
        return 1;
    }
    int received = 0;
    sigwait(&signals, &received);
    spdlog::info("stopping ({})", received == SIGINT ? "SIGINT" : "SIGTERM");
    gateway->stop();
    return 0;
}

nlohmann::json get_json(const std::string& url, std::string_view method, long& status) {
    HttpRequest r;
    r.url = url;
    r.method = std::string(method);
    r.total_timeout = std::chrono::seconds(40);
    std::error_code ec;
    std::string detail;
    const HttpResponse response = http_request(r, ec, &detail);
    if (ec) {
        throw std::runtime_error(url + ": " + detail);
    }
    status = response.status;
    return nlohmann::json::parse(response.body, nullptr, false);
}

std::string trim_slash(std::string base) {
    while (!base.empty() && base.back() == '/') {
        base.pop_back();
    }
    return base;
}

int status(const std::string& gateway_url) {
    long code = 0;
    const auto s = get_json(trim_slash(gateway_url) + "/v1/status", "GET", code);
    if (code != 200 || !s.is_object()) {
        std::fprintf(stderr, "status: HTTP %ld from %s\n", code, gateway_url.c_str());
        return 1;
    }
    const auto& t = s["totals"];
    std::printf("gateway %s, up %llds, tracker %s\n", s.value("version", std::string("?")).c_str(),
                static_cast<long long>(s.value("uptime_s", 0ll)),
                s.value("tracker", std::string("?")).c_str());
    std::printf(
        "%llu items (%llu of %llu cache bytes), %llu peers, %llu bytes served, %llu bytes from "
        "origins\n",
        t.value("items", 0ull), t.value("cache_bytes", 0ull), t.value("cache_limit", 0ull),
        t.value("peers", 0ull), t.value("bytes_served", 0ull), t.value("origin_bytes", 0ull));
    for (const auto& item : s["items"]) {
        std::printf("  %s %10llu B  %llu seeds %llu leechers  %s\n",
                    item.value("info_hash", std::string()).c_str(), item.value("size", 0ull),
                    item.value("seeds", 0ull), item.value("leechers", 0ull),
                    item.value("url", std::string()).c_str());
    }
    for (const auto& job : s["jobs"]) {
        std::printf("  %-8s %s (%llu of %llu bytes)\n", job.value("state", std::string()).c_str(),
                    job.value("url", std::string()).c_str(), job.value("received", 0ull),
                    job.value("total", 0ull));
    }
    return 0;
}

int prime(const std::string& gateway_url, const std::string& playlist, unsigned timeout_s) {
    const std::string base = trim_slash(gateway_url);
    long status = 0;
    const auto started =
        get_json(base + "/v1/prime?playlist=" + percent_encode(playlist), "POST", status);
    if (status != 202 || !started.is_object() || !started.contains("items")) {
        std::fprintf(stderr, "prime: the gateway refused: HTTP %ld %s\n", status,
                     started.is_object() ? started.value("error", std::string()).c_str() : "");
        return 1;
    }
    std::map<std::string, std::string> state;  // url -> "ready" / "failed: ..." / pending
    for (const auto& url : started["items"]) {
        state[url.get<std::string>()] = "pending";
    }
    std::fprintf(stderr, "prime: %zu items in %s\n", state.size(), playlist.c_str());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    std::size_t done = 0;
    while (done < state.size() && std::chrono::steady_clock::now() < deadline) {
        done = 0;
        for (auto& [url, s] : state) {
            if (s == "ready" || s.rfind("failed", 0) == 0) {
                ++done;
                continue;
            }
            const auto answer =
                get_json(base + "/v1/swarm?wait=1000&url=" + percent_encode(url), "GET", status);
            if (status == 200) {
                s = "ready";
                ++done;
                std::fprintf(stderr, "  ready    %s (%s bytes)\n", url.c_str(),
                             std::to_string(answer.value("size", 0ull)).c_str());
            } else if (status == 202) {
                const auto received = answer.value("received", 0ull);
                const auto total = answer.value("total", 0ull);
                std::fprintf(
                    stderr, "  %-8s %s %llu%%\n", answer.value("state", std::string("?")).c_str(),
                    url.c_str(),
                    total > 0 ? static_cast<unsigned long long>(received * 100 / total) : 0ull);
            } else {
                s = "failed: " +
                    (answer.is_object() ? answer.value("error", std::string("?")) : "?");
                ++done;
                std::fprintf(stderr, "  failed   %s: %s\n", url.c_str(), s.c_str() + 8);
            }
        }
    }
    std::size_t ready = 0;
    for (const auto& [url, s] : state) {
        ready += s == "ready" ? 1u : 0u;
    }
    std::printf("primed %zu of %zu items\n", ready, state.size());
    return ready == state.size() ? 0 : 1;
}

// What is read as text and checked once the command line is parsed (sizes as 512M, 10G),
// and the flags that turn a default off.
struct ServeArguments {
    std::string cache_size = "10G";
    std::string max_item_size = "2G";
    std::string origin_rate = "0";
    std::string upload_limit = "0";
    std::string data_dir;
    std::string log_level = "info";
    bool no_listener_playlists = false;
    bool no_builtin_tracker = false;
    bool no_nat_check = false;
};

void add_serve_options(CLI::App& app, GatewayConfig& config, ServeArguments& a) {
    app.add_option("--listen", config.listen, "HTTP address (API and tracker)")
        ->capture_default_str();
    app.add_option("--public-url", config.public_url,
                   "URL listeners use to reach this gateway (default http://LISTEN)");
    app.add_option("--data-dir", a.data_dir,
                   "Cache database and media (default ~/.local/state/alluvium-gateway)");
    app.add_option("--cache-size", a.cache_size, "Media kept on disk, e.g. 10G")
        ->capture_default_str();
    app.add_option("--max-item-size", a.max_item_size, "Larger media are refused")
        ->capture_default_str();
    app.add_option("--allow-origin", config.allow_origins,
                   "Fetch any URL under this origin (repeatable)");
    app.add_option("--playlist", config.playlists,
                   "A playlist whose items may be fetched (repeatable)");
    app.add_flag("--allow-private-addresses", config.allow_private_addresses,
                 "Let listener-named playlists point at private and loopback addresses");
    app.add_flag("--no-listener-playlists", a.no_listener_playlists,
                 "Do not read playlists that listeners name");
    app.add_flag("--remote-admin", config.remote_admin, "Accept /v1/prime from any address");
    app.add_option("--bt-listen", config.bt_listen, "BitTorrent listen interfaces")
        ->capture_default_str();
    app.add_option("--seed-address", config.seed_address,
                   "IP address listeners reach the seed at (default: the --bt-listen address)");
    app.add_option("--tracker", config.trackers,
                   "Another tracker for listeners, e.g. opentracker's http://host:6969/announce "
                   "(repeatable)")
        ->allow_extra_args(false);
    app.add_flag("--no-builtin-tracker", a.no_builtin_tracker,
                 "Leave the built-in tracker out of metainfo (needs --tracker)");
    app.add_flag("--no-nat-check", a.no_nat_check,
                 "Let the built-in tracker hand out listeners it could not connect to");
    app.add_option("--tracker-whitelist", config.tracker_whitelist,
                   "Keep this file listing every info-hash served (opentracker -w; reload it "
                   "with SIGHUP)");
    app.add_flag("--dht", config.dht,
                 "Join the Mainline DHT and let listeners join it through the seed");
    app.add_option("--dht-bootstrap", config.dht_bootstrap,
                   "DHT nodes to join through, host:port,... (none: the first node of a private "
                   "DHT)")
        ->capture_default_str();
    app.add_option("--announce-interval", config.announce_interval, "Seconds between announces")
        ->capture_default_str();
    app.add_option("--revalidate-after", config.revalidate_after,
                   "Seconds before asking the origin again, when its Cache-Control or Expires "
                   "says nothing")
        ->capture_default_str();
    app.add_option("--fetch-jobs", config.fetch_jobs, "Origin fetches at once")
        ->capture_default_str();
    app.add_option("--work-threads", config.work_threads,
                   "Threads for lookups that read playlists, /v1/media reads and status pages")
        ->capture_default_str();
    app.add_option("--origin-rate-limit", a.origin_rate,
                   "Bytes/s from one origin, all its fetches together (0: none)")
        ->capture_default_str();
    app.add_option("--upload-limit", a.upload_limit,
                   "Upload bytes/s to listeners, the seed and /v1/media ranges together (0: none)")
        ->capture_default_str();
    app.add_option("--log-level", a.log_level, "trace, debug, info, warn, error, off")
        ->capture_default_str();
}

// The sizes and the flags into the configuration; false (said on stderr) when a size is not
// one.
bool read_arguments(const ServeArguments& a, GatewayConfig& config) {
    for (auto [text, target, name] :
         {std::tuple{&a.cache_size, &config.cache_size, "--cache-size"},
          std::tuple{&a.max_item_size, &config.max_item_size, "--max-item-size"},
          std::tuple{&a.origin_rate, &config.origin_rate_limit, "--origin-rate-limit"},
          std::tuple{&a.upload_limit, &config.upload_limit, "--upload-limit"}}) {
        const auto bytes = alluvium::cli::parse_size(*text);
        if (!bytes) {
            std::fprintf(stderr, "alluvium-gateway: %s '%s' is not a size (like 512M or 10G)\n",
                         name, text->c_str());
            return false;
        }
        *target = *bytes;
    }
    config.data_dir = a.data_dir;
    config.listener_playlists = !a.no_listener_playlists;
    config.builtin_tracker = !a.no_builtin_tracker;
    config.nat_check = !a.no_nat_check;
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"alluvium-gateway: swarm metadata, tracker and seed for Alluvium stations"};
    app.set_version_flag("--version", std::string("alluvium-gateway ") + version_string());
    app.set_config("--config", "",
                   "Configuration file (TOML: key = value, names as the long options)");
    GatewayConfig config;
    ServeArguments sizes;
    add_serve_options(app, config, sizes);

    std::string gateway_url = "http://127.0.0.1:8767";
    std::string playlist;
    unsigned timeout_s = 3600;
    auto* prime_cmd =
        app.add_subcommand("prime", "Fetch and hash every item of a playlist ahead of its time");
    prime_cmd->add_option("playlist", playlist, "Playlist URL")->required();
    prime_cmd->add_option("-g,--gateway", gateway_url, "The running gateway")
        ->capture_default_str();
    prime_cmd->add_option("--timeout", timeout_s, "Give up after this many seconds")
        ->capture_default_str();

    auto* status_cmd =
        app.add_subcommand("status", "Show what a running gateway caches and serves");
    status_cmd->add_option("-g,--gateway", gateway_url, "The running gateway")
        ->capture_default_str();

    alluvium::cli::add_standard_flags(app, "alluvium-gateway");
    CLI11_PARSE(app, argc, argv);

    const auto level = parse_log_level(sizes.log_level);
    if (!level) {
        std::fprintf(stderr, "alluvium-gateway: unknown log level '%s'\n", sizes.log_level.c_str());
        return 2;
    }
    spdlog::set_default_logger(spdlog::stderr_color_mt("gateway"));
    set_log_level(*level);
    spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
    try {
        if (*prime_cmd) {
            return prime(gateway_url, playlist, timeout_s);
        }
        if (*status_cmd) {
            return status(gateway_url);
        }
        if (!read_arguments(sizes, config))
            return 2;
        alluvium::cli::raise_open_file_limit();  // a listener per socket
        return serve(std::move(config));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "alluvium-gateway: %s\n", e.what());
        return 1;
    }
}
