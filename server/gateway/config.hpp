// alluvium-gateway's configuration: embedded defaults, then the config file, then flags.
#pragma once

#include <alluvium/dht.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace alluvium::gateway {

struct GatewayConfig {
    std::string listen = "127.0.0.1:8767";     // HTTP API and tracker
    std::string public_url;                    // how listeners reach it; default http://<listen>
    std::filesystem::path data_dir;            // SQLite file and cache folder
    std::uint64_t cache_size = 10ull << 30;    // bytes of media kept on disk
    std::uint64_t max_item_size = 2ull << 30;  // larger media are refused
    std::vector<std::string> allow_origins;    // fetch anything under these origins
    std::vector<std::string> playlists;        // playlists the operator tells about (trusted)
    bool allow_private_addresses = false;
    bool listener_playlists = true;            // read playlists listeners name
    bool remote_admin = false;                 // accept /v1/prime from non-loopback
    std::string bt_listen = "127.0.0.1:6881";  // libtorrent listen_interfaces
    std::string seed_address;                  // the IP listeners reach the seed at;
                                               // default: bt_listen's, if it names one
    unsigned announce_interval = 30;           // seconds, told to listeners
    unsigned revalidate_after = 300;           // seconds before asking the origin again
    unsigned fetch_jobs = 2;                   // origin fetches at once
    std::uint64_t origin_rate_limit = 0;       // bytes/s per origin (all fetches), 0: none
    std::uint64_t upload_limit = 0;            // bytes/s to listeners (seed and /v1/media), 0: none
    std::string seed_policy = "spread";        // "spread" or "plain" (spread_policy.hpp)
    unsigned http_threads = 2;
    // Threads for the work that blocks beside the loop: lookups that read a playlist, the
    // cache reads of /v1/media, the status page.
    unsigned work_threads = 4;

    // The seed's address as the tracker lists it; empty when unknown (then the seed's own
    // announces put it in the tracker).
    [[nodiscard]] std::string seed_ip() const;
    // Trackers put in metainfo besides (or, with builtin_tracker off, instead of) the
    // built-in one: opentracker and the like, for audiences one gateway cannot track.
    std::vector<std::string> trackers;
    bool builtin_tracker = true;
    // The built-in tracker connects back to each listener's announced port and hands out
    // only those it reached (nat_check.hpp).
    bool nat_check = true;
    // opentracker as packaged in Debian only tracks listed info-hashes: the gateway keeps
    // this file (hex, one a line) listing every item it serves, for `opentracker -w`.
    std::filesystem::path tracker_whitelist;
    // The Mainline DHT: the seed joins it (from dht_bootstrap; "none": the first node of a
    // private DHT) and tells listeners to join it through the seed.
    bool dht = false;
    std::string dht_bootstrap = public_dht_routers;

    // The built-in tracker's announce URL.
    [[nodiscard]] std::string announce_url() const;
    // Every tracker listeners announce to, the built-in one first when it is on.
    [[nodiscard]] std::vector<std::string> announce_urls() const;
    // The first of those, as answers name it; empty with none (the DHT only).
    [[nodiscard]] std::string main_tracker() const;
    // Fills defaults that depend on other fields; returns an error message or nothing.
    [[nodiscard]] std::optional<std::string> finish();
};

// The default data folder: $XDG_STATE_HOME/alluvium-gateway, else
// ~/.local/state/alluvium-gateway, else ./alluvium-gateway-data.
[[nodiscard]] std::filesystem::path default_data_dir();

}  // namespace alluvium::gateway
