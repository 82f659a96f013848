// A plain BitTorrent client (libtorrent) for tests and benchmarks: joins one torrent with
// the metadata the gateway gives, on 127.0.0.1, and downloads it.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace alluvium::test {

struct SwarmClientStats {
    double progress = 0;  // 0..1
    bool complete = false;
    std::int64_t downloaded = 0;  // payload bytes received
    std::int64_t uploaded = 0;    // payload bytes sent to other clients
    int peers = 0;
};

class SwarmClient {
  public:
    explicit SwarmClient(const std::filesystem::path& save_dir);
    ~SwarmClient();
    SwarmClient(const SwarmClient&) = delete;
    SwarmClient& operator=(const SwarmClient&) = delete;

    // Adds the torrent (bencoded, from the gateway). False if libtorrent refuses it.
    // `download_limit`: bytes/s, -1 for none (a client slow to take what it asked for).
    bool add(const std::string& torrent, std::string* error = nullptr, int download_limit = -1);
    // Seeds `content` as the torrent's file without checking it against the hashes: with
    // wrong content, a peer that sends corrupt pieces.
    bool seed_unchecked(const std::string& torrent, const std::string& content);
    [[nodiscard]] SwarmClientStats stats() const;
    // The peer ids of the peers connected now.
    [[nodiscard]] std::vector<std::string> peer_ids() const;
    bool wait_complete(std::chrono::milliseconds timeout);
    // Bytes/s this client sends its peers from now on (-1: no limit).
    void set_upload_limit(int bytes_per_second);
    [[nodiscard]] std::filesystem::path file() const;  // the downloaded file
    [[nodiscard]] std::uint16_t port() const;
    // Makes this client the first node of a private Mainline DHT on 127.0.0.1, a stand-in
    // for the public DHT's routers; returns "127.0.0.1:port" for others to bootstrap from.
    std::string start_dht();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The info-hash (40 hex digits) libtorrent's own torrent creator gives a file, with the
// given piece size, as the only file of a torrent: an independent check of the gateway.
[[nodiscard]] std::string libtorrent_info_hash(const std::filesystem::path& file, int piece_size);

}  // namespace alluvium::test
