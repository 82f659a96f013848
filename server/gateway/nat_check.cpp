#include "nat_check.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

namespace alluvium::gateway {

namespace net = boost::asio;

struct NatCheck::Attempt {
    explicit Attempt(net::io_context& loop, Done d)
        : socket(loop), deadline(loop), done(std::move(d)) {}
    net::ip::tcp::socket socket;
    net::steady_timer deadline;
    Done done;
    bool finished = false;  // answered or cancelled: later handlers do nothing

    // Ends the attempt: its handlers, still to run, find it finished and do nothing.
    void cancel() {
        finished = true;
        deadline.cancel();
        boost::system::error_code ignored;
        socket.close(ignored);  // nothing is sent: the listener sees a connection close
    }
};

NatCheck::NatCheck(net::io_context& loop, std::chrono::milliseconds timeout,
                   std::size_t max_in_flight)
    : loop_(loop), timeout_(timeout), max_in_flight_(max_in_flight) {}

NatCheck::~NatCheck() = default;

bool NatCheck::check(const std::string& ip, std::uint16_t port, Done done) {
    boost::system::error_code ec;
    const auto address = net::ip::make_address(ip, ec);
    if (ec || port == 0 || stopped_.load())
        return false;
    if (in_flight_.fetch_add(1) >= max_in_flight_) {
        in_flight_.fetch_sub(1);
        return false;
    }
    net::post(loop_, [this, endpoint = net::ip::tcp::endpoint(address, port),
                      done = std::move(done)]() mutable {
        if (stopped_.load()) {
            in_flight_.fetch_sub(1);
            return;
        }
        auto attempt = std::make_shared<Attempt>(loop_, std::move(done));
        attempts_.insert(attempt);
        attempt->deadline.expires_after(timeout_);
        attempt->deadline.async_wait([this, attempt](const boost::system::error_code&) {
            if (!attempt->finished)
                finish(attempt, false);
        });
        attempt->socket.async_connect(endpoint,
                                      [this, attempt](const boost::system::error_code& error) {
                                          if (!attempt->finished)
                                              finish(attempt, !error);
                                      });
    });
    return true;
}

void NatCheck::finish(const std::shared_ptr<Attempt>& attempt, bool reachable) {
    attempt->cancel();
    attempts_.erase(attempt);
    in_flight_.fetch_sub(1);
    const Done done = std::move(attempt->done);
    done(reachable);
}

void NatCheck::stop() {
    stopped_.store(true);
    for (const auto& attempt : attempts_)
        attempt->cancel();
    attempts_.clear();
}

}  // namespace alluvium::gateway
