// Port forwarding on the home router: alluvium-tune asks the router (libtorrent's NAT-PMP /
// PCP and UPnP) and says what it answered. The listener sits in a network namespace of its
// own behind a "router" namespace, where this test answers PCP as a home router would
// (RFC 6887, the MAP opcode). Nothing leaves the two namespaces the test makes; they need
// root (CAP_SYS_ADMIN), and the tests say so and skip without it.
#include "process.hpp"
#include "station.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <mutex>
#include <thread>

namespace alluvium::test {
namespace {

using namespace std::chrono;

const Binaries binaries{ALLUVIUM_BROADCASTER, ALLUVIUM_GATEWAY, ALLUVIUM_TUNE};

constexpr const char* router_address = "192.168.77.1";
constexpr const char* home_address = "192.168.77.2";
constexpr int bt_port = 6881;       // the listener's own namespace: no other program uses it
constexpr int port_offset = 10000;  // the fake router forwards external port + this

// Two namespaces joined by a veth pair: the home (the listener, its default route through
// the router) and the router. Removed, with their links, by the destructor.
class HomeNetwork {
  public:
    HomeNetwork() {
        const std::string tag = std::to_string(getpid());
        home_ = "alvt-pm-home-" + tag;
        router_ = "alvt-pm-router-" + tag;
        if (geteuid() != 0)
            return;
        ok_ = sh({"ip", "netns", "add", router_}) && sh({"ip", "netns", "add", home_}) &&
              sh({"ip", "link", "add", "lan0", "netns", router_, "type", "veth", "peer", "name",
                  "eth0", "netns", home_}) &&
              sh({"ip", "-n", router_, "addr", "add", std::string(router_address) + "/24", "dev",
                  "lan0"}) &&
              sh({"ip", "-n", router_, "link", "set", "lan0", "up"}) &&
              sh({"ip", "-n", home_, "addr", "add", std::string(home_address) + "/24", "dev",
                  "eth0"}) &&
              sh({"ip", "-n", home_, "link", "set", "eth0", "up"}) &&
              sh({"ip", "-n", home_, "link", "set", "lo", "up"}) &&
              sh({"ip", "-n", home_, "route", "add", "default", "via", router_address});
    }
    ~HomeNetwork() {
        run({"ip", "netns", "del", home_});
        run({"ip", "netns", "del", router_});
    }
    HomeNetwork(const HomeNetwork&) = delete;
    HomeNetwork& operator=(const HomeNetwork&) = delete;

    [[nodiscard]] bool ok() const { return ok_; }
    [[nodiscard]] const std::string& why() const { return why_; }
    [[nodiscard]] const std::string& home() const { return home_; }
    [[nodiscard]] const std::string& router() const { return router_; }

  private:
    bool sh(const std::vector<std::string>& argv) {
        const RunResult r = run(argv, seconds(10));
        if (r.exit_code != 0)
            why_ = argv[0] + " " + argv[1] + " " + argv[2] + ": " + r.err;
        return r.exit_code == 0;
    }
    std::string home_, router_, why_ = "not root: network namespaces need CAP_SYS_ADMIN";
    bool ok_ = false;
};

// What a home router with PCP answers (RFC 6887): every MAP request is granted at its
// internal port + port_offset, or refused with `refuse` (a PCP result code) when non-zero.
class FakePcpRouter {
  public:
    FakePcpRouter(const std::string& router_namespace, std::uint8_t refuse) : refuse_(refuse) {
        // The socket belongs to the namespace of the thread that makes it: a thread of its
        // own enters the router's namespace and makes it there.
        std::thread maker([&] {
            const int ns = open(("/run/netns/" + router_namespace).c_str(), O_RDONLY | O_CLOEXEC);
            if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) {
                error_ = std::string("entering ") + router_namespace + ": " + std::strerror(errno);
            } else {
                fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                sockaddr_in a{};
                a.sin_family = AF_INET;
                a.sin_port = htons(5351);
                inet_pton(AF_INET, router_address, &a.sin_addr);
                if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
                    error_ = std::string("bind 5351: ") + std::strerror(errno);
            }
            if (ns >= 0)
                close(ns);
        });
        maker.join();
        if (error_.empty())
            server_ = std::thread([this] { serve(); });
    }
    ~FakePcpRouter() {
        const std::uint64_t one = 1;
        (void)write(stop_, &one, sizeof one);  // wakes the server's poll
        if (server_.joinable())
            server_.join();
        if (fd_ >= 0)
            close(fd_);
        close(stop_);
    }
    FakePcpRouter(const FakePcpRouter&) = delete;
    FakePcpRouter& operator=(const FakePcpRouter&) = delete;

    [[nodiscard]] const std::string& error() const { return error_; }
    // The MAP requests seen: "TCP 6881", "UDP 6881".
    [[nodiscard]] std::vector<std::string> requests() const {
        std::lock_guard lock(mutex_);
        return requests_;
    }

  private:
    void serve() {
        std::array<unsigned char, 1100> in{};
        for (;;) {
            pollfd p[2] = {{fd_, POLLIN, 0}, {stop_, POLLIN, 0}};
            if (poll(p, 2, -1) < 0 || (p[1].revents & POLLIN) != 0)
                return;  // told to stop
            if ((p[0].revents & POLLIN) == 0)
                continue;
            sockaddr_in from{};
            socklen_t len = sizeof from;
            const ssize_t n =
                recvfrom(fd_, in.data(), in.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
            // PCP version 2, a request (R bit clear), opcode MAP (1): a 24-byte header and a
            // 36-byte MAP body (nonce, protocol, internal port, suggested external port...).
            if (n < 60 || in[0] != 2 || in[1] != 1)
                continue;
            const int protocol = in[36];
            const int internal = (in[40] << 8) | in[41];
            {
                std::lock_guard lock(mutex_);
                requests_.push_back(std::string(protocol == 6 ? "TCP " : "UDP ") +
                                    std::to_string(internal));
            }
            std::array<unsigned char, 60> out{};
            out[0] = 2;
            out[1] = 0x81;  // a response to MAP
            out[3] = refuse_;
            std::memcpy(&out[4], &in[4], 4);     // the lifetime asked for
            out[11] = 1;                         // epoch: 1 s
            std::memcpy(&out[24], &in[24], 12);  // the request's nonce
            out[36] = static_cast<unsigned char>(protocol);
            out[40] = in[40];
            out[41] = in[41];
            const int external = refuse_ != 0 ? 0 : internal + port_offset;
            out[42] = static_cast<unsigned char>(external >> 8);
            out[43] = static_cast<unsigned char>(external & 0xff);
            out[54] = 0xff;  // the external address, IPv4-mapped: 198.18.77.1
            out[55] = 0xff;
            out[56] = 198;
            out[57] = 18;
            out[58] = 77;
            out[59] = 1;
            sendto(fd_, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
        }
    }

    std::uint8_t refuse_;
    int fd_ = -1;
    std::string error_;
    int stop_ = eventfd(0, EFD_CLOEXEC);
    std::thread server_;
    mutable std::mutex mutex_;
    std::vector<std::string> requests_;
};

// alluvium-tune in the home namespace, on a station whose origin is the router's address
// (nothing serves there: these tests are about the router, not the bytes). Its JSON lines
// (events, and the status every 5 s) go to its log.
std::unique_ptr<Background> tune_at_home(const HomeNetwork& net, TestStation& station,
                                         const std::string& name,
                                         const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {"ip",
                                     "netns",
                                     "exec",
                                     net.home(),
                                     binaries.tune,
                                     (station.dir().path() / "www/station.rss").string(),
                                     "--json",
                                     "--no-gateway",
                                     "--no-dht",
                                     "--port",
                                     "0",
                                     "--log-level",
                                     "error",
                                     "--cache-dir",
                                     station.dir() / "cache"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return std::make_unique<Background>(argv, station.dir() / (name + ".log"));
}

std::unique_ptr<TestStation> station_behind(const char* origin) {
    auto s = std::make_unique<TestStation>(binaries, std::vector<ToneItem>{{"a.mp3", 400, 8}},
                                           std::vector<std::string>{"-c:a", "libmp3lame"});
    s->write_swarm_playlist(now_ms(), {}, "http://" + std::string(origin) + ":8080/");
    return s;
}

bool said(const Background& tune, const std::string& text) {
    return tune.log().find(text) != std::string::npos;
}

const std::vector<std::string> listen_at_home = {
    "--bt-listen", std::string(home_address) + ":" + std::to_string(bt_port)};

// The two namespaces, a router that answers `refuse` (0: grants), and a station whose origin
// is the router's address. Skips where namespaces cannot be made.
class PortMapping : public ::testing::Test {
  protected:
    void start(std::uint8_t refuse) {
        if (!net_.ok())
            GTEST_SKIP() << "no network namespaces here: " << net_.why();
        router_ = std::make_unique<FakePcpRouter>(net_.router(), refuse);
        ASSERT_EQ(router_->error(), "");
        station_ = station_behind(router_address);
    }
    std::unique_ptr<Background> tune(const std::string& name,
                                     const std::vector<std::string>& extra) {
        return tune_at_home(net_, *station_, name, extra);
    }

    HomeNetwork net_;
    std::unique_ptr<FakePcpRouter> router_;
    std::unique_ptr<TestStation> station_;
};

TEST_F(PortMapping, TheRouterForwardsTheListenPortAndTheListenerSaysSo) {
    start(0);
    if (IsSkipped() || HasFatalFailure())
        return;
    auto listener = tune("tune", listen_at_home);
    const std::string forwarded =
        "port " + std::to_string(bt_port + port_offset) + " forwarded by NAT-PMP";
    ASSERT_TRUE(listener->wait_until([&] { return said(*listener, forwarded); }, seconds(30)))
        << listener->log();
    // Told once as an event, then in each status line.
    EXPECT_TRUE(said(*listener, R"("event":"port_mapping")")) << listener->log();
    ASSERT_TRUE(listener->wait_until(
        [&] { return said(*listener, R"("port_forwarding":")" + forwarded + "\""); }, seconds(15)))
        << listener->log();
    // The router was asked for the listen port, for TCP (peers) and UDP (uTP, the DHT).
    const auto asked = router_->requests();
    EXPECT_NE(std::find(asked.begin(), asked.end(), "TCP " + std::to_string(bt_port)), asked.end());
    EXPECT_NE(std::find(asked.begin(), asked.end(), "UDP " + std::to_string(bt_port)), asked.end());
}

TEST_F(PortMapping, ARefusalIsSaidWithTheRoutersReason) {
    start(2);  // NOT_AUTHORIZED
    if (IsSkipped() || HasFatalFailure())
        return;
    auto listener = tune("tune", listen_at_home);
    ASSERT_TRUE(listener->wait_until(
        [&] { return said(*listener, R"("port_forwarding":"not forwarded (NAT-PMP: )"); },
        seconds(30)))
        << listener->log();
    EXPECT_FALSE(said(*listener, "forwarded by")) << listener->log();
}

TEST_F(PortMapping, NoRouterIsAskedWhenTurnedOffOrOnALoopbackAddress) {
    start(0);
    if (IsSkipped() || HasFatalFailure())
        return;
    // Both listeners run until each has printed a status line (5 s): by then one that asks
    // has asked (the first request leaves within a second of the start, as above).
    std::vector<std::string> off_args = listen_at_home;
    off_args.push_back("--no-port-mapping");
    auto off = tune("off", off_args);
    ASSERT_TRUE(off->wait_until([&] { return said(*off, R"("event":"status")"); }, seconds(30)))
        << off->log();
    EXPECT_TRUE(said(*off, R"("port_forwarding":"off")")) << off->log();
    off->stop();
    auto loopback = tune("loopback", {"--bt-listen", "127.0.0.1:0"});
    ASSERT_TRUE(
        loopback->wait_until([&] { return said(*loopback, R"("event":"status")"); }, seconds(30)))
        << loopback->log();
    EXPECT_EQ(router_->requests(), std::vector<std::string>{});
}

}  // namespace
}  // namespace alluvium::test
