// One byte rate shared by every fetch from one origin (--origin-rate-limit): a token bucket
// holding at most one second of bytes. Fetch threads call take() as bytes arrive and sleep
// off what they overdraw, so the origin's TCP windows close and it sends no faster, however
// many of its items are fetched at once. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace alluvium::gateway {

class RatePacer {
  public:
    explicit RatePacer(std::uint64_t bytes_per_second);

    // Counts `n` bytes and blocks until the rate allows them; false when `cancel` was set
    // first (checked every 100 ms).
    bool take(std::size_t n, const std::atomic<bool>* cancel = nullptr);

    [[nodiscard]] std::uint64_t rate() const noexcept { return rate_; }

  private:
    using Clock = std::chrono::steady_clock;
    const std::uint64_t rate_;
    std::mutex mutex_;
    double tokens_;  // bytes that may pass now; negative: the debt the takers sleep off
    Clock::time_point last_ = Clock::now();
};

}  // namespace alluvium::gateway
