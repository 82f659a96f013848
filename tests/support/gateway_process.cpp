#include "gateway_process.hpp"

#include <alluvium/fetch.hpp>
#include <alluvium/url.hpp>

#include <algorithm>
#include <stdexcept>

namespace alluvium::test {

GatewayProcess::GatewayProcess(const std::string& binary, const std::filesystem::path& data_dir,
                               const std::vector<std::string>& extra) {
    port_ = free_port();
    bt_port_ = free_port();
    std::vector<std::string> argv = {binary,
                                     "--data-dir",
                                     data_dir.string(),
                                     "--listen",
                                     "127.0.0.1:" + std::to_string(port_),
                                     "--bt-listen",
                                     "127.0.0.1:" + std::to_string(bt_port_)};
    // Tests read the debug log; a benchmark may ask for less.
    if (std::find(extra.begin(), extra.end(), "--log-level") == extra.end())
        argv.insert(argv.end(), {"--log-level", "debug"});
    argv.insert(argv.end(), extra.begin(), extra.end());
    std::filesystem::create_directories(data_dir);
    argv_ = std::move(argv);
    data_dir_ = data_dir;
    start();
}

void GatewayProcess::start() {
    const std::string log = starts_++ == 0 ? "gateway.log" : "gateway-restarted.log";
    process_ = std::make_unique<Background>(argv_, (data_dir_ / log).string());
    if (!process_->wait_until([this] { return port_open(port_); }, std::chrono::seconds(20))) {
        throw std::runtime_error("alluvium-gateway did not start: " + process_->log());
    }
}

void GatewayProcess::restart() {
    process_.reset();  // SIGTERM, then waits
    start();
}

GatewayProcess::~GatewayProcess() = default;

std::string GatewayProcess::base() const {
    return "http://127.0.0.1:" + std::to_string(port_);
}

GatewayReply GatewayProcess::get(const std::string& path_and_query) const {
    HttpRequest request;
    request.url = base() + path_and_query;
    request.total_timeout = std::chrono::seconds(60);
    std::error_code ec;
    const HttpResponse response = http_request(request, ec);
    GatewayReply answer;
    if (ec) {
        return answer;
    }
    answer.status = response.status;
    answer.body = nlohmann::json::parse(response.body, nullptr, false);
    return answer;
}

GatewayReply GatewayProcess::swarm(const std::string& media_url, int wait_ms,
                                   const std::string& playlist) const {
    std::string q =
        "/v1/swarm?url=" + percent_encode(media_url) + "&wait=" + std::to_string(wait_ms);
    if (!playlist.empty()) {
        q += "&playlist=" + percent_encode(playlist);
    }
    return get(q);
}

GatewayReply GatewayProcess::swarm_ready(const std::string& media_url,
                                         std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    GatewayReply answer;
    do {
        answer = swarm(media_url, 2000);
    } while (answer.status == 202 && std::chrono::steady_clock::now() < deadline);
    return answer;
}

nlohmann::json GatewayProcess::status() const {
    return get("/v1/status").body;
}

}  // namespace alluvium::test
