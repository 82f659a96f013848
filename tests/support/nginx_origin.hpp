// A static origin server for tests and benchmarks: nginx on 127.0.0.1, serving a folder,
// optionally throttled, counting every request and body byte through its access log.
#pragma once

#include "process.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace alluvium::test {

struct OriginRequest {
    std::string method;
    std::string path;
    int status = 0;
    std::uint64_t bytes = 0;  // body bytes sent
};

class NginxOrigin {
  public:
    // Serves `root`. `rate` is nginx's limit_rate ("4m" = 4 MiB/s per connection; "" none).
    // The server is ready when the constructor returns (it throws otherwise).
    explicit NginxOrigin(const std::filesystem::path& root, const std::string& rate = "",
                         const std::string& extra_config = "");
    ~NginxOrigin();

    [[nodiscard]] std::string url(const std::string& path) const;  // path without leading '/'
    [[nodiscard]] std::string origin() const;                      // "http://127.0.0.1:PORT"
    [[nodiscard]] int port() const { return port_; }
    // Requests completed so far (nginx logs a request when it ends).
    [[nodiscard]] std::vector<OriginRequest> requests() const;
    [[nodiscard]] std::size_t count(const std::string& method, const std::string& path,
                                    int status) const;
    [[nodiscard]] std::uint64_t bytes(
        const std::string& path) const;  // body bytes of every request

  private:
    std::filesystem::path dir_;
    int port_ = 0;
    std::unique_ptr<Background> process_;
};

}  // namespace alluvium::test
