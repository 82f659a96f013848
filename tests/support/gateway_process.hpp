// A real alluvium-gateway process for integration tests and benchmarks, on 127.0.0.1.
#pragma once

#include "process.hpp"

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace alluvium::test {

struct GatewayReply {
    long status = 0;
    nlohmann::json body;
};

class GatewayProcess {
  public:
    // Starts `binary` with a data folder, free ports and `extra` arguments; throws when it
    // does not come up within 20 s.
    GatewayProcess(const std::string& binary, const std::filesystem::path& data_dir,
                   const std::vector<std::string>& extra = {});
    ~GatewayProcess();

    [[nodiscard]] std::string base() const;  // "http://127.0.0.1:PORT"
    [[nodiscard]] int port() const { return port_; }
    [[nodiscard]] int bt_port() const { return bt_port_; }
    [[nodiscard]] std::string log() const { return process_->log(); }
    [[nodiscard]] pid_t pid() const { return process_->pid(); }
    int stop() { return process_->stop(); }
    // Stops it (SIGTERM) and starts it again on the same ports and data (a second log).
    void restart();

    // GET /v1/swarm?url=...[&playlist=...]&wait=...
    [[nodiscard]] GatewayReply swarm(const std::string& media_url, int wait_ms = 0,
                                     const std::string& playlist = {}) const;
    // Asks until the answer is final (not 202) or `timeout` passes.
    [[nodiscard]] GatewayReply swarm_ready(
        const std::string& media_url,
        std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;
    [[nodiscard]] nlohmann::json status() const;
    // Raw GET of a path on the gateway.
    [[nodiscard]] GatewayReply get(const std::string& path_and_query) const;

  private:
    void start();
    bool start_once();  // false: it did not bind its ports
    std::vector<std::string> argv_;
    std::filesystem::path data_dir_;
    int starts_ = 0;
    int port_ = 0;
    int bt_port_ = 0;
    std::unique_ptr<Background> process_;
};

}  // namespace alluvium::test
