#include "nginx_origin.hpp"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace alluvium::test {

NginxOrigin::NginxOrigin(const std::filesystem::path& root, const std::string& rate,
                         const std::string& extra_config) {
    char pattern[] = "/tmp/alluvium-origin-XXXXXX";
    if (mkdtemp(pattern) == nullptr) {
        throw std::runtime_error("mkdtemp failed");
    }
    dir_ = pattern;
    port_ = free_port();
    const std::string d = dir_.string();
    std::ofstream conf(dir_ / "nginx.conf");
    conf << "pid " << d << "/nginx.pid;\nerror_log " << d << "/error.log;\n"
         << (geteuid() == 0 ? "user root;\n" : "") << "worker_processes 1;\nevents {}\nhttp {\n"
         << "  include /etc/nginx/mime.types;\n"
         << "  log_format counted '$request_method $uri $status $body_bytes_sent';\n"
         << "  access_log " << d << "/access.log counted;\n"
         << "  client_body_temp_path " << d << ";\n"
         << "  sendfile off;\n"  // so that limit_rate paces evenly
         << "  server {\n    listen 127.0.0.1:" << port_ << ";\n    root " << root.string() << ";\n"
         << (rate.empty() ? "" : "    limit_rate " + rate + ";\n") << extra_config << "  }\n}\n";
    conf.close();
    process_ = std::make_unique<Background>(
        std::vector<std::string>{"nginx", "-p", d, "-c", d + "/nginx.conf", "-g", "daemon off;"},
        d + "/nginx.log");
    if (!process_->wait_until([this] { return port_open(port_); }, std::chrono::seconds(20))) {
        throw std::runtime_error("nginx did not start: " + process_->log());
    }
}

NginxOrigin::~NginxOrigin() {
    process_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

std::string NginxOrigin::origin() const {
    return "http://127.0.0.1:" + std::to_string(port_);
}

std::string NginxOrigin::url(const std::string& path) const {
    return origin() + "/" + path;
}

std::vector<OriginRequest> NginxOrigin::requests() const {
    std::vector<OriginRequest> out;
    std::ifstream log(dir_ / "access.log");
    std::string line;
    while (std::getline(log, line)) {
        std::istringstream fields(line);
        OriginRequest r;
        fields >> r.method >> r.path >> r.status >> r.bytes;
        if (!r.method.empty()) {
            out.push_back(r);
        }
    }
    return out;
}

std::size_t NginxOrigin::count(const std::string& method, const std::string& path,
                               int status) const {
    std::size_t n = 0;
    for (const auto& r : requests()) {
        n += (r.method == method && r.path == path && r.status == status) ? 1 : 0;
    }
    return n;
}

std::uint64_t NginxOrigin::bytes(const std::string& path) const {
    std::uint64_t n = 0;
    for (const auto& r : requests()) {
        n += r.path == path ? r.bytes : 0;
    }
    return n;
}

}  // namespace alluvium::test
