#include "rate_pacer.hpp"

#include <algorithm>
#include <thread>

namespace alluvium::gateway {

RatePacer::RatePacer(std::uint64_t bytes_per_second)
    : rate_(std::max<std::uint64_t>(bytes_per_second, 1)), tokens_(static_cast<double>(rate_)) {}

bool RatePacer::take(std::size_t n, const std::atomic<bool>* cancel) {
    Clock::time_point until;
    {
        std::lock_guard lock(mutex_);
        const auto now = Clock::now();
        const double rate = static_cast<double>(rate_);
        tokens_ =
            std::min(rate, tokens_ + rate * std::chrono::duration<double>(now - last_).count());
        last_ = now;
        tokens_ -= static_cast<double>(n);
        if (tokens_ >= 0)
            return true;
        // Every taker waits until the shared debt is paid, so together they keep to the rate.
        until = now + std::chrono::duration_cast<Clock::duration>(
                          std::chrono::duration<double>(-tokens_ / rate));
    }
    while (Clock::now() < until) {
        if (cancel != nullptr && *cancel)
            return false;
        std::this_thread::sleep_for(
            std::min<Clock::duration>(until - Clock::now(), std::chrono::milliseconds(100)));
    }
    return true;
}

}  // namespace alluvium::gateway
