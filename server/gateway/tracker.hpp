// The gateway's BitTorrent HTTP tracker (BEP 3, compact peers BEP 23/BEP 7). It only tracks
// torrents the gateway made, so it is not an open tracker. Thread-safe.
#pragma once

#include <alluvium/http_server.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <variant>

namespace alluvium::gateway {

struct Announce {
    std::string info_hash;  // 20 raw bytes
    std::string peer_id;    // 20 raw bytes
    std::string ip;         // as the connection came from; "ip=" in the query is ignored
    std::uint16_t port = 0;
    std::uint64_t uploaded = 0;
    std::uint64_t downloaded = 0;
    std::uint64_t left = 0;
    enum class Event { none, started, completed, stopped, paused } event = Event::none;
    bool compact = true;
    unsigned numwant = 50;
};

// Parses an announce request; on failure, the reason to send back.
[[nodiscard]] std::variant<Announce, std::string> parse_announce(const HttpServerRequest& request);

struct TrackerOptions {
    std::chrono::seconds interval{30};  // short: a station's audience changes by the minute
    std::chrono::seconds min_interval{10};
    unsigned max_numwant = 200;
};

struct SwarmCounts {
    std::size_t seeds = 0;
    std::size_t leechers = 0;
};

class Tracker {
  public:
    using Clock = std::chrono::steady_clock;
    explicit Tracker(TrackerOptions options = {});

    // Only registered torrents are tracked. `seed` ("ip", port) is the gateway's own seed:
    // listed from the start and never expired, so the first listener already finds it.
    void add_torrent(
        const std::string& info_hash,
        const std::optional<std::pair<std::string, std::uint16_t>>& seed = std::nullopt);
    void remove_torrent(const std::string& info_hash);

    // The full HTTP answer to an announce request (bencoded body; 400 for bad requests).
    [[nodiscard]] HttpServerResponse handle(const HttpServerRequest& request);
    // The bencoded answer to a parsed announce, or a failure message.
    [[nodiscard]] std::variant<std::string, std::string> announce(const Announce& a,
                                                                  Clock::time_point now);

    [[nodiscard]] SwarmCounts counts(const std::string& info_hash);
    // Listeners in any swarm, each counted once (a listener announces in several, on one
    // port), the gateway's own seed not counted.
    [[nodiscard]] std::size_t listeners();
    // "ip:port" of up to `limit` peers of a torrent (for the swarm metadata answer).
    [[nodiscard]] std::vector<std::string> peers(const std::string& info_hash, std::size_t limit);
    // Any thread (the status page reads it while announces come in).
    [[nodiscard]] std::uint64_t announces() const noexcept { return announces_.load(); }
    [[nodiscard]] const TrackerOptions& options() const noexcept { return options_; }

  private:
    struct Peer {
        std::string ip;
        std::uint16_t port = 0;
        std::string peer_id;
        bool seed = false;
        Clock::time_point seen;
        bool pinned = false;
    };
    using Swarm = std::map<std::string, Peer>;  // by "ip|port"

    void expire(Swarm& swarm, Clock::time_point now) const;

    TrackerOptions options_;
    std::mutex mutex_;
    std::map<std::string, Swarm> swarms_;  // by info-hash; present = registered
    std::mt19937 random_{std::random_device{}()};
    std::atomic<std::uint64_t> announces_{0};
};

}  // namespace alluvium::gateway
