// The built-in tracker's NAT check, as the original BitTorrent tracker did it: a TCP connection
// to the address and port a listener announced tells whether other listeners can reach it.
// A listener behind a router that forwards nothing cannot be; listing it only fills others'
// connection slots with attempts that time out (docs/SCALING.md).
//
// Threads: check() may be called from any thread; the connection and its deadline run on
// the gateway's event loop, and `done` is called there. stop() runs on the loop: it
// cancels what is in flight, and their `done` is never called.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>

namespace boost::asio {
class io_context;
}

namespace alluvium::gateway {

class NatCheck {
  public:
    using Done = std::function<void(bool reachable)>;

    // `timeout`: how long a connection may take before the listener counts as unreachable;
    // `max_in_flight`: checks at once (more are refused: whoever asked may ask again later).
    NatCheck(boost::asio::io_context& loop, std::chrono::milliseconds timeout,
             std::size_t max_in_flight);
    ~NatCheck();
    NatCheck(const NatCheck&) = delete;
    NatCheck& operator=(const NatCheck&) = delete;

    // Connects to ip:port (IPv4 or IPv6 text), closes at once, and calls `done` on the loop.
    // False, and `done` never called, when the address is not an IP address, max_in_flight
    // checks are running, or stop() was called. Any thread.
    bool check(const std::string& ip, std::uint16_t port, Done done);

    // On the loop: cancels the checks in flight (their `done` is not called), refuses new
    // ones. The loop then has nothing of ours left to run.
    void stop();

  private:
    struct Attempt;
    void finish(const std::shared_ptr<Attempt>& attempt, bool reachable);  // on the loop

    boost::asio::io_context& loop_;
    const std::chrono::milliseconds timeout_;
    const std::size_t max_in_flight_;
    std::atomic<std::size_t> in_flight_{0};
    std::atomic<bool> stopped_{false};
    std::set<std::shared_ptr<Attempt>> attempts_;  // on the loop only
};

}  // namespace alluvium::gateway
