#include "gateway_process.hpp"

#include <alluvium/fetch.hpp>
#include <alluvium/url.hpp>

#include <algorithm>
#include <stdexcept>

namespace alluvium::test {

GatewayProcess::GatewayProcess(const std::string& binary, const std::filesystem::path& data_dir,
                               const std::vector<std::string>& extra)
    : data_dir_(data_dir) {
    std::filesystem::create_directories(data_dir);
    // A port found free may be taken by another test before the gateway binds it: then the
    // gateway exits and it starts again on other ports.
    for (int attempt = 0;; ++attempt) {
        port_ = free_port();
        bt_port_ = free_port();
        argv_ = {binary,
                 "--data-dir",
                 data_dir.string(),
                 "--listen",
                 "127.0.0.1:" + std::to_string(port_),
                 "--bt-listen",
                 "127.0.0.1:" + std::to_string(bt_port_)};
        // Tests read the debug log; a benchmark may ask for less.
        if (std::find(extra.begin(), extra.end(), "--log-level") == extra.end())
            argv_.insert(argv_.end(), {"--log-level", "debug"});
        argv_.insert(argv_.end(), extra.begin(), extra.end());
        if (start_once() || attempt == 2)
            break;
    }
    if (!process_->running())
        throw std::runtime_error("alluvium-gateway did not start: " + process_->log());
}

bool GatewayProcess::start_once() {
    const std::string log = starts_++ == 0 ? "gateway.log" : "gateway-restarted.log";
    process_ = std::make_unique<Background>(argv_, (data_dir_ / log).string());
    // Its own words, not just an open port: another process may hold that port.
    const std::string bound = "listening on 127.0.0.1:" + std::to_string(port_);
    const std::string seeding = "listening on [TCP] 127.0.0.1:" + std::to_string(bt_port_);
    return process_->wait_until(
        [&] {
            const std::string text = process_->log();
            return text.find(bound) != std::string::npos && text.find(seeding) != std::string::npos;
        },
        std::chrono::seconds(20));
}

void GatewayProcess::start() {
    if (!start_once())
        throw std::runtime_error("alluvium-gateway did not start: " + process_->log());
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
