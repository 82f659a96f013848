#include "config.hpp"

#include <alluvium/url.hpp>

#include <cmath>
#include <cstdlib>

namespace alluvium::gateway {

std::filesystem::path default_data_dir() {
    if (const char* state = std::getenv("XDG_STATE_HOME"); state != nullptr && *state != '\0') {
        return std::filesystem::path(state) / "alluvium-gateway";
    }
    if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
        return std::filesystem::path(home) / ".local/state/alluvium-gateway";
    }
    return "alluvium-gateway-data";
}

std::string GatewayConfig::seed_ip() const {
    if (!seed_address.empty()) {
        return seed_address;
    }
    // "127.0.0.1:6881" or "[::1]:6881"; a wildcard or a list names no single address.
    const std::string first = bt_listen.substr(0, bt_listen.find(','));
    std::string host = first.substr(0, first.rfind(':'));
    if (host.size() > 2 && host.front() == '[') {
        host = host.substr(1, host.size() - 2);
    }
    return host == "0.0.0.0" || host == "::" || host.empty() ? std::string() : host;
}

std::string GatewayConfig::announce_url() const {
    std::string base = public_url;
    while (!base.empty() && base.back() == '/') {
        base.pop_back();
    }
    return base + "/announce";
}

std::vector<std::string> GatewayConfig::announce_urls() const {
    std::vector<std::string> urls;
    if (builtin_tracker)
        urls.push_back(announce_url());
    urls.insert(urls.end(), trackers.begin(), trackers.end());
    return urls;
}

std::string GatewayConfig::main_tracker() const {
    const auto urls = announce_urls();
    return urls.empty() ? std::string() : urls.front();
}

std::optional<std::string> GatewayConfig::finish() {
    if (public_url.empty()) {
        public_url = "http://" + listen;
    }
    if (!parse_url(public_url)) {
        return "public URL '" + public_url + "' is not an http(s) URL";
    }
    if (data_dir.empty()) {
        data_dir = default_data_dir();
    }
    for (const std::string& origin : allow_origins) {
        if (!parse_url(origin)) {
            return "allowed origin '" + origin + "' is not an http(s) URL";
        }
    }
    for (const std::string& playlist : playlists) {
        if (!parse_url(playlist)) {
            return "playlist '" + playlist + "' is not an http(s) URL";
        }
    }
    if (cache_size == 0) {
        return std::string("the cache size must be more than 0");
    }
    if (max_item_size > cache_size) {
        max_item_size = cache_size;
    }
    if (work_threads == 0)
        work_threads = 1;
    if (fetch_jobs == 0) {
        fetch_jobs = 1;
    }
    if (seed_policy != "spread" && seed_policy != "plain") {
        return "seed policy '" + seed_policy + "' is not spread or plain";
    }
    if (announce_interval < 5) {
        return std::string("the announce interval must be at least 5 seconds");
    }
    for (const std::string& tracker : trackers) {
        if (!is_tracker_url(tracker)) {
            return "tracker '" + tracker + "' is not an http(s) or udp://host:port URL";
        }
    }
    if (!builtin_tracker && trackers.empty() && !dht) {
        return std::string("with the built-in tracker off, name a --tracker or use --dht");
    }
    dht_bootstrap = dht_bootstrap_nodes(dht_bootstrap);
    return std::nullopt;
}

}  // namespace alluvium::gateway
