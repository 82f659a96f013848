#include "stop_signal.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace alluvium::broadcaster {

StopSignal::StopSignal() : fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (fd_ < 0)
        throw std::system_error(errno, std::generic_category(), "eventfd");
}

StopSignal::~StopSignal() {
    ::close(fd_);
}

void StopSignal::request() noexcept {
    requested_ = true;
    const std::uint64_t one = 1;
    // Only fails when the counter would overflow: it is readable already.
    [[maybe_unused]] const auto n = ::write(fd_, &one, sizeof one);
}

bool StopSignal::sleep_until(std::chrono::steady_clock::time_point deadline) const {
    using namespace std::chrono;
    while (!requested()) {
        const auto left = deadline - steady_clock::now();
        if (left <= nanoseconds{0})
            return true;
        const auto s = duration_cast<seconds>(left);
        const timespec timeout{static_cast<time_t>(s.count()),
                               static_cast<long>(duration_cast<nanoseconds>(left - s).count())};
        pollfd p{fd_, POLLIN, 0};
        // EINTR: a signal arrived, perhaps the one that asked to stop; look again.
        if (::ppoll(&p, 1, &timeout, nullptr) < 0 && errno != EINTR)
            throw std::system_error(errno, std::generic_category(), "ppoll");
    }
    return false;
}

}  // namespace alluvium::broadcaster
