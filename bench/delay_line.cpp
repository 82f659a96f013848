// alluvium-bench-delayline: latency, jitter and loss for the simulated audience
// (bench/audience.sh), on a kernel without netem.
//
// Each listener's namespace sends what leaves and what arrives on its link through two
// netfilter queues (iptables NFQUEUE: queue 0 on OUTPUT, queue 1 on INPUT). This program
// holds each packet's verdict: it accepts the packet half the link's round trip later
// (give or take the jitter), or drops it with the link's loss probability. Verdicts leave
// each queue in order, so TCP sees delay and loss but no reordering. Only packet metadata
// crosses into this process (NFQNL_COPY_META), never payload.
//
// Commands, one per line on standard input; each is answered by one line on standard output:
//   add NAMESPACE RTT_MS JITTER LOSS   -> "ready NAMESPACE" (or "error NAMESPACE: why")
//        JITTER and LOSS are fractions: 0.1 is +-10 % of the delay, 0.01 is 1 % per direction
//   del NAMESPACE                      -> "gone NAMESPACE" (what it holds is accepted first)
//   stats                              -> "stats NAMESPACE packets=N dropped=N overflows=N", ".", ...
// End of input accepts every held packet and exits. NAMESPACE is a name under /run/netns.
#include <arpa/inet.h>
#include <fcntl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Held {
    std::uint32_t id;
    Clock::time_point due;
};

struct Direction {
    nfq_q_handle* queue = nullptr;
    std::deque<Held> held;  // in arrival order; `due` never decreases
    Clock::time_point last_due{};
};

struct Link {
    std::string name;
    nfq_handle* handle = nullptr;
    int fd = -1;
    double one_way_ms = 0;  // half the round trip, per direction
    double jitter = 0;
    double loss = 0;
    Direction dir[2];  // 0: leaving the namespace, 1: arriving
    std::uint64_t packets = 0;
    std::uint64_t dropped = 0;
    std::uint64_t overflows = 0;  // netlink messages the kernel could not deliver (queue full)
};

std::mt19937_64 rng{0x616c6c75};  // fixed: runs draw the same losses for the same traffic

struct Callback {
    Link* link;
    int direction;
};

int on_packet(nfq_q_handle* queue, nfgenmsg*, nfq_data* data, void* opaque) {
    auto* cb = static_cast<Callback*>(opaque);
    Link& link = *cb->link;
    Direction& d = link.dir[cb->direction];
    const nfqnl_msg_packet_hdr* header = nfq_get_msg_packet_hdr(data);
    if (header == nullptr)
        return 0;
    const std::uint32_t id = ntohl(header->packet_id);
    ++link.packets;
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    if (link.loss > 0 && unit(rng) < link.loss) {
        ++link.dropped;
        return nfq_set_verdict(queue, id, NF_DROP, 0, nullptr);
    }
    const double ms = link.one_way_ms * (1.0 + link.jitter * (2.0 * unit(rng) - 1.0));
    const auto due = std::max(Clock::now() + std::chrono::microseconds(static_cast<long>(ms * 1000)),
                              d.last_due);
    d.last_due = due;
    d.held.push_back({id, due});
    return 0;
}

class DelayLine {
  public:
    DelayLine() : epoll_(epoll_create1(EPOLL_CLOEXEC)) {
        own_ns_ = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        epoll_event e{};
        e.events = EPOLLIN;
        e.data.ptr = nullptr;  // standard input
        epoll_ctl(epoll_, EPOLL_CTL_ADD, STDIN_FILENO, &e);
    }

    int run() {
        std::string pending_input;
        char buf[4096];
        for (;;) {
            // To the microsecond: a link of 20 ms cannot be a millisecond late each way.
            const auto wait = next_wait();
            timespec timeout{};
            if (wait)
                timeout = {static_cast<time_t>(wait->count() / 1000000),
                           static_cast<long>(wait->count() % 1000000) * 1000};
            epoll_event events[64];
            const int n = epoll_pwait2(epoll_, events, 64, wait ? &timeout : nullptr, nullptr);
            if (n < 0 && errno != EINTR)
                return 1;
            for (int i = 0; i < n; ++i) {
                if (events[i].data.ptr == nullptr) {
                    const ssize_t got = read(STDIN_FILENO, buf, sizeof buf);
                    if (got <= 0) {
                        release_all();
                        return 0;
                    }
                    pending_input.append(buf, static_cast<std::size_t>(got));
                    std::size_t nl;
                    while ((nl = pending_input.find('\n')) != std::string::npos) {
                        command(pending_input.substr(0, nl));
                        pending_input.erase(0, nl + 1);
                    }
                } else {
                    receive(*static_cast<Link*>(events[i].data.ptr));
                }
            }
            release_due(Clock::now());
        }
    }

  private:
    void command(const std::string& line) {
        std::istringstream in(line);
        std::string verb, name;
        in >> verb >> name;
        if (verb == "add") {
            double rtt = 0, jitter = 0, loss = 0;
            in >> rtt >> jitter >> loss;
            std::cout << add(name, rtt, jitter, loss) << std::endl;
        } else if (verb == "del") {
            remove(name);
            std::cout << "gone " << name << std::endl;
        } else if (verb == "stats") {
            for (const auto& [key, link] : links_) {
                std::cout << "stats " << key << " packets=" << link->packets
                          << " dropped=" << link->dropped << " overflows=" << link->overflows
                          << "\n";
            }
            std::cout << "." << std::endl;
        } else if (!verb.empty()) {
            std::cout << "error " << verb << ": unknown command" << std::endl;
        }
    }

    std::string add(const std::string& name, double rtt, double jitter, double loss) {
        if (name.empty() || name.find('/') != std::string::npos || links_.count(name) > 0)
            return "error " + name + ": bad or duplicate name";
        const std::string path = "/run/netns/" + name;
        const int ns = open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (ns < 0)
            return "error " + name + ": " + path + ": " + std::strerror(errno);
        // The netlink socket belongs to the namespace it is made in.
        if (setns(ns, CLONE_NEWNET) != 0) {
            close(ns);
            return "error " + name + ": setns: " + std::strerror(errno);
        }
        close(ns);
        auto link = std::make_unique<Link>();
        link->name = name;
        link->one_way_ms = rtt / 2;
        link->jitter = jitter;
        link->loss = loss;
        std::string error = open_queues(*link);
        setns(own_ns_, CLONE_NEWNET);
        if (!error.empty()) {
            close_queues(*link);
            return "error " + name + ": " + error;
        }
        epoll_event e{};
        e.events = EPOLLIN;
        e.data.ptr = link.get();
        epoll_ctl(epoll_, EPOLL_CTL_ADD, link->fd, &e);
        links_[name] = std::move(link);
        return "ready " + name;
    }

    std::string open_queues(Link& link) {
        link.handle = nfq_open();
        if (link.handle == nullptr)
            return "nfq_open failed";
        nfq_bind_pf(link.handle, AF_INET);
        for (int d = 0; d < 2; ++d) {
            callbacks_.push_back(std::make_unique<Callback>(Callback{&link, d}));
            link.dir[d].queue = nfq_create_queue(link.handle, static_cast<std::uint16_t>(d),
                                                 &on_packet, callbacks_.back().get());
            if (link.dir[d].queue == nullptr)
                return "cannot bind queue " + std::to_string(d) + " (is another program on it?)";
            nfq_set_mode(link.dir[d].queue, NFQNL_COPY_META, 0);
            nfq_set_queue_maxlen(link.dir[d].queue, 8192);
        }
        link.fd = nfq_fd(link.handle);
        nfnl_rcvbufsiz(nfq_nfnlh(link.handle), 4 << 20);
        const int flags = fcntl(link.fd, F_GETFL);
        fcntl(link.fd, F_SETFL, flags | O_NONBLOCK);
        return {};
    }

    static void close_queues(Link& link) {
        for (auto& d : link.dir) {
            if (d.queue != nullptr)
                nfq_destroy_queue(d.queue);
            d.queue = nullptr;
        }
        if (link.handle != nullptr)
            nfq_close(link.handle);
        link.handle = nullptr;
    }

    void remove(const std::string& name) {
        const auto found = links_.find(name);
        if (found == links_.end())
            return;
        Link& link = *found->second;
        release(link, Clock::time_point::max());
        epoll_ctl(epoll_, EPOLL_CTL_DEL, link.fd, nullptr);
        close_queues(link);
        std::erase_if(callbacks_, [&](const auto& c) { return c->link == &link; });
        links_.erase(found);
    }

    void receive(Link& link) {
        alignas(8) char buf[65536];
        for (;;) {
            const ssize_t n = recv(link.fd, buf, sizeof buf, 0);
            if (n > 0) {
                nfq_handle_packet(link.handle, buf, static_cast<int>(n));
                continue;
            }
            if (n < 0 && errno == ENOBUFS) {
                ++link.overflows;  // the kernel dropped what did not fit
                continue;
            }
            return;  // EAGAIN
        }
    }

    static void release(Link& link, Clock::time_point now) {
        for (auto& d : link.dir) {
            while (!d.held.empty() && d.held.front().due <= now) {
                nfq_set_verdict(d.queue, d.held.front().id, NF_ACCEPT, 0, nullptr);
                d.held.pop_front();
            }
        }
    }

    void release_due(Clock::time_point now) {
        for (auto& [name, link] : links_)
            release(*link, now);
    }

    void release_all() {
        for (auto& [name, link] : links_)
            release(*link, Clock::time_point::max());
    }

    // Until the earliest held packet is due (nullopt: none held).
    std::optional<std::chrono::microseconds> next_wait() const {
        Clock::time_point first = Clock::time_point::max();
        for (const auto& [name, link] : links_) {
            for (const auto& d : link->dir) {
                if (!d.held.empty())
                    first = std::min(first, d.held.front().due);
            }
        }
        if (first == Clock::time_point::max())
            return std::nullopt;
        return std::max(std::chrono::microseconds(0),
                        std::chrono::duration_cast<std::chrono::microseconds>(first - Clock::now()));
    }

    int epoll_;
    int own_ns_;
    std::map<std::string, std::unique_ptr<Link>> links_;
    std::vector<std::unique_ptr<Callback>> callbacks_;
};

}  // namespace

int main(int argc, char** argv) {
    if (argc > 1) {
        std::fprintf(stderr,
                     "usage: %s < commands\n"
                     "  add NAMESPACE RTT_MS JITTER LOSS | del NAMESPACE | stats\n"
                     "Holds the verdicts of netfilter queues 0 (out) and 1 (in) of each "
                     "namespace (bench/audience.sh).\n",
                     argv[0]);
        return 2;
    }
    std::ios::sync_with_stdio(false);
    return DelayLine().run();
}
