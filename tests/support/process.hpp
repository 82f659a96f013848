// Running programs from tests: every wait is bounded, every child is killed on teardown.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace alluvium::test {

struct RunResult {
    int exit_code = -1;  // -1: killed by a signal or timed out
    bool timed_out = false;
    std::string out;
    std::string err;
};

// Runs argv[0] (looked up in PATH) to completion, feeding `input` to its standard input.
// The child is killed when `timeout` passes.
RunResult run(const std::vector<std::string>& argv,
              std::chrono::milliseconds timeout = std::chrono::seconds(60),
              const std::string& input = {}, const std::map<std::string, std::string>& env = {});

// Whether a program is on PATH.
bool have_program(const std::string& name);

// A long-running child (a web server, a gateway). Its output goes to `log_path`.
// The destructor sends SIGTERM, waits up to 5 s, then SIGKILLs.
class Background {
  public:
    Background(const std::vector<std::string>& argv, const std::string& log_path);
    ~Background();
    Background(const Background&) = delete;
    Background& operator=(const Background&) = delete;

    [[nodiscard]] pid_t pid() const { return pid_; }
    [[nodiscard]] bool running();
    // Waits until `ready` returns true, the child exits, or `timeout` passes.
    bool wait_until(const std::function<bool()>& ready, std::chrono::milliseconds timeout);
    [[nodiscard]] std::string log() const;
    // SIGTERM, then SIGKILL after 5 s. Returns how the child ended: its exit code, 128 +
    // the signal that ended it, or -1 when it was killed after the 5 s or had already gone.
    int stop();

  private:
    pid_t pid_ = -1;
    std::string log_path_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (a ListeningPort's, closed at once).
int free_port();

// A TCP port on 127.0.0.1 that accepts connections while this lives: the kernel completes
// them, nothing reads or answers.
class ListeningPort {
  public:
    ListeningPort();  // throws std::runtime_error when it cannot listen
    ~ListeningPort();
    ListeningPort(const ListeningPort&) = delete;
    ListeningPort& operator=(const ListeningPort&) = delete;
    [[nodiscard]] int port() const { return port_; }

  private:
    int fd_ = -1;
    int port_ = 0;
};

// Whether something accepts TCP connections on 127.0.0.1:port.
bool port_open(int port);

// A TCP connection to 127.0.0.1:port (a socket the caller closes), or -1.
// `receive_buffer` > 0 sets SO_RCVBUF before connecting (a slow player's small buffer).
int connect_loopback(int port, int receive_buffer = 0);

// Random bytes, the same for the same seed.
std::string random_bytes(std::size_t n, unsigned seed);

// Polls `condition` every 20 ms until it holds or `timeout` passes.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

}  // namespace alluvium::test
