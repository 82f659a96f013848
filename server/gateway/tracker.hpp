// The gateway's BitTorrent HTTP tracker (BEP 3, compact peers BEP 23/BEP 7). It only tracks
// torrents the gateway made, so it is not an open tracker. Thread-safe.
//
// With a NAT check (set_nat_check), a listener found unreachable at the address and port it
// announced is not handed to others: it still gets its peers, and connects out to them.
// Listeners not yet checked are listed.
#pragma once

#include <alluvium/http_server.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
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
    // How long a NAT check's verdict holds; a listener announcing after that is checked
    // again (its router may have opened a port).
    std::chrono::seconds recheck{600};
};

// The NAT check's figures: distinct listener addresses (ip, port) with a verdict.
struct ReachCounts {
    std::size_t reachable = 0;
    std::size_t unreachable = 0;
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

    // Who checks a listener's address: called, outside the tracker's lock, on the thread of
    // the announce that needs it (at most once per address and verdict period). The
    // checker answers with reachable(). Set before the first announce; unset: no check.
    using CheckFn = std::function<void(const std::string& ip, std::uint16_t port)>;
    void set_nat_check(CheckFn check);
    // A check's verdict. Any thread.
    void reachable(const std::string& ip, std::uint16_t port, bool yes, Clock::time_point now);
    [[nodiscard]] ReachCounts reach_counts();

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
    // Whether `key` ("ip|port") may be handed to others: not found unreachable.
    [[nodiscard]] bool listed(const std::string& key) const;
    // Under the lock: whether `key` needs a check now (and marks it as being checked).
    [[nodiscard]] bool needs_check(const std::string& key, Clock::time_point now);
    // Under the lock: drops verdicts on addresses not seen for twice the recheck time.
    void forget_verdicts(Clock::time_point now);

    // The announce's answer, under the lock; `check` says whether to check the announcer.
    [[nodiscard]] std::variant<std::string, std::string> answer(const Announce& a,
                                                                Clock::time_point now,
                                                                CheckFn& check);

    struct Verdict {
        std::optional<bool> reachable;  // none yet
        Clock::time_point since;        // of the verdict
        bool pending = false;           // a check was asked for at `asked`
        Clock::time_point asked;
    };

    TrackerOptions options_;
    std::mutex mutex_;
    std::map<std::string, Swarm> swarms_;  // by info-hash; present = registered
    std::mt19937 random_{std::random_device{}()};
    std::atomic<std::uint64_t> announces_{0};
    CheckFn check_;
    std::map<std::string, Verdict> reach_;  // by "ip|port", with a check
};

}  // namespace alluvium::gateway
