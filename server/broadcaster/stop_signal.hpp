// A stop request that a signal handler may raise and any thread may sleep on: a wait for a
// deadline (the pause before retrying a source, pacing a file to real time) ends at once
// when the broadcaster is told to stop, without waking up to check.
#pragma once

#include <atomic>
#include <chrono>

namespace alluvium::broadcaster {

class StopSignal {
  public:
    StopSignal();  // throws std::system_error when no eventfd can be made
    ~StopSignal();
    StopSignal(const StopSignal&) = delete;
    StopSignal& operator=(const StopSignal&) = delete;

    // Async-signal-safe, callable from any thread; idempotent.
    void request() noexcept;
    [[nodiscard]] bool requested() const noexcept { return requested_.load(); }

    // Blocks until `deadline` or a stop request, whichever comes first. Thread-safe.
    // Returns false when stopped.
    bool sleep_until(std::chrono::steady_clock::time_point deadline) const;

  private:
    int fd_ = -1;  // eventfd, readable once stop is requested
    std::atomic<bool> requested_{false};
};

}  // namespace alluvium::broadcaster
