// Seeds every cached item into its swarm with libtorrent (settings from docs/SWARM.md).
// libtorrent stays behind this pimpl. Thread-safe.
#pragma once

#include <alluvium/metainfo.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

namespace alluvium::gateway {

struct SeederOptions {
    std::string listen_interfaces = "127.0.0.1:6881";  // libtorrent's syntax
    std::int64_t upload_rate_limit = 0;                // bytes/s for the whole gateway, 0: none
    // How often the seed re-announces: must be shorter than the tracker's peer expiry.
    int announce_interval_seconds = 30;
    // "spread": hand each piece out about once and let listeners trade (spread_policy.hpp);
    // "plain": serve every request.
    bool spread = true;
    // Join the Mainline DHT from these nodes ("host:port,..."; empty: none).
    bool dht = false;
    std::string dht_bootstrap;
};

struct SeedStats {
    std::int64_t uploaded = 0;  // payload bytes sent since the item was added
    int peers = 0;
};

class Seeder {
  public:
    explicit Seeder(const SeederOptions& options);
    ~Seeder();
    Seeder(const Seeder&) = delete;
    Seeder& operator=(const Seeder&) = delete;

    // Starts seeding the file at `cache_dir / meta.content_sha256`. Idempotent.
    void seed(const Metainfo& meta, const std::vector<std::string>& trackers,
              const std::filesystem::path& cache_dir);
    void remove(const std::string& info_hash);

    // Bytes the gateway just sent listeners outside the swarm (ranges of its copy, a
    // rescue): with an upload limit the seed leaves room for them over the next second,
    // so that the two together keep to the limit and the uplink keeps room for answers.
    void sent_beside(std::uint64_t bytes);

    // What the seed may send now (bytes/s; 0: no limit): the upload limit less what went
    // beside it in the last second.
    [[nodiscard]] std::int64_t upload_limit_now();

    [[nodiscard]] std::map<std::string, SeedStats> stats();  // by raw info-hash
    [[nodiscard]] std::uint16_t listen_port() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace alluvium::gateway
