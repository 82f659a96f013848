#include "chromium.hpp"

#include <alluvium/text.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace alluvium::test {

namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using boost::asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Chromium::Connection {
    boost::asio::io_context io;
    websocket::stream<tcp::socket> ws{io};
    beast::flat_buffer buffer;
    bool reading = false;  // a read is under way (it outlives a pump that timed out)
    bool got = false;      // ... and has finished
    beast::error_code read_error;
};

namespace {

// The browser's switches: nothing in the background, no name resolved but loopback's, and
// media that plays without a click.
std::vector<std::string> browser_argv(const std::filesystem::path& profile) {
    return {"chromium",
            "--headless",
            "--no-sandbox",  // tests run as root in CI
            "--disable-gpu",
            "--remote-debugging-port=0",
            "--user-data-dir=" + profile.string(),
            "--autoplay-policy=no-user-gesture-required",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-domain-reliability",
            "--disable-client-side-phishing-detection",
            "--no-pings",
            "--metrics-recording-only",
            "--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
            "--window-size=1000,1300",
            "about:blank"};
}

// What Chromium wrote to <profile>/DevToolsActivePort once it listens: its port and the
// browser's WebSocket path.
bool read_active_port(const std::filesystem::path& profile, std::string& port, std::string& path) {
    std::ifstream in(profile / "DevToolsActivePort");
    return static_cast<bool>(std::getline(in, port)) && static_cast<bool>(std::getline(in, path)) &&
           !port.empty() && path.starts_with("/devtools/");
}

}  // namespace

Chromium::Chromium(const std::filesystem::path& profile_dir)
    : connection_(std::make_unique<Connection>()) {
    std::filesystem::create_directories(profile_dir);
    std::filesystem::remove(profile_dir / "DevToolsActivePort");
    process_ = std::make_unique<Background>(browser_argv(profile_dir),
                                            (profile_dir / "chromium.log").string());
    std::string port;
    std::string path;
    if (!process_->wait_until([&] { return read_active_port(profile_dir, port, path); },
                              std::chrono::seconds(30)))
        throw std::runtime_error("chromium did not start; its log:\n" + process_->log());
    Connection& c = *connection_;
    tcp::resolver resolver(c.io);
    boost::asio::connect(c.ws.next_layer(), resolver.resolve("127.0.0.1", port));
    c.ws.handshake("127.0.0.1:" + port, path);
    c.ws.text(true);
    const auto target =
        call("Target.createTarget", {{"url", "about:blank"}}, std::chrono::seconds(10), true);
    const auto attached =
        call("Target.attachToTarget", {{"targetId", target.at("targetId")}, {"flatten", true}},
             std::chrono::seconds(10), true);
    session_ = attached.at("sessionId").get<std::string>();
    call("Page.enable", nlohmann::json::object(), std::chrono::seconds(10));
    call("Network.enable", nlohmann::json::object(), std::chrono::seconds(10));
    call("Runtime.enable", nlohmann::json::object(), std::chrono::seconds(10));
}

Chromium::~Chromium() {
    beast::error_code ec;
    connection_->ws.next_layer().close(ec);
    process_.reset();  // SIGTERM, then SIGKILL after 5 s
}

bool Chromium::pump(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    Connection& c = *connection_;
    const auto deadline = Clock::now() + timeout;
    while (!done()) {
        if (!c.reading) {
            c.reading = true;
            c.ws.async_read(c.buffer, [&c](beast::error_code ec, std::size_t) {
                c.reading = false;
                c.got = true;
                c.read_error = ec;
            });
        }
        if (c.io.stopped())
            c.io.restart();
        const auto left = deadline - Clock::now();
        if (left <= Clock::duration::zero())
            return false;
        c.io.run_one_for(left);
        if (!c.got)
            continue;
        c.got = false;
        if (c.read_error)
            throw std::runtime_error("chromium's DevTools connection: " + c.read_error.message());
        const std::string text = beast::buffers_to_string(c.buffer.data());
        c.buffer.consume(c.buffer.size());
        handle(text);
    }
    return true;
}

void Chromium::handle(const std::string& text) {
    const auto message = nlohmann::json::parse(text);
    if (message.contains("id")) {
        answers_[message.at("id").get<int>()] = message;
        return;
    }
    const std::string method = message.value("method", "");
    const auto& params = message.contains("params") ? message.at("params") : message;
    if (method == "Network.requestWillBeSent") {
        urls_.push_back(params.at("request").at("url").get<std::string>());
    } else if (method == "Page.loadEventFired") {
        ++loads_;
    } else if (method == "Runtime.consoleAPICalled") {
        std::string line = params.value("type", "log") + ":";
        for (const auto& arg : params.at("args"))
            line += " " + (arg.contains("value") ? arg.at("value").dump() : arg.dump());
        console_.push_back(line);
    } else if (method == "Runtime.exceptionThrown") {
        console_.push_back("exception: " + params.at("exceptionDetails").dump());
    }
}

nlohmann::json Chromium::call(const std::string& method, nlohmann::json params,
                              std::chrono::milliseconds timeout, bool browser) {
    const int id = next_id_++;
    nlohmann::json message = {{"id", id}, {"method", method}, {"params", std::move(params)}};
    if (!browser)
        message["sessionId"] = session_;
    connection_->ws.write(boost::asio::buffer(message.dump()));
    if (!pump([&] { return answers_.count(id) > 0; }, timeout))
        throw std::runtime_error("chromium did not answer " + method + " in time");
    const nlohmann::json answer = answers_.at(id);
    answers_.erase(id);
    if (answer.contains("error"))
        throw std::runtime_error("chromium: " + method + ": " + answer.at("error").dump());
    return answer.value("result", nlohmann::json::object());
}

void Chromium::open(const std::string& url, std::chrono::milliseconds timeout) {
    const int loads = loads_;
    call("Page.navigate", {{"url", url}}, timeout);
    if (!pump([&] { return loads_ > loads; }, timeout))
        throw std::runtime_error("chromium: " + url + " did not load in time");
}

nlohmann::json Chromium::evaluate(const std::string& expression,
                                  std::chrono::milliseconds timeout) {
    const auto r = call("Runtime.evaluate",
                        {{"expression", expression},
                         {"returnByValue", true},
                         {"awaitPromise", true},
                         {"userGesture", true}},
                        timeout);
    if (r.contains("exceptionDetails"))
        throw std::runtime_error("in the page: " + expression + ": " +
                                 r.at("exceptionDetails").dump());
    return r.at("result").value("value", nlohmann::json());
}

std::vector<std::string> Chromium::requested_urls() {
    // What has arrived already, without waiting: a call's answer comes after the events the
    // browser sent before it.
    call("Runtime.evaluate", {{"expression", "0"}}, std::chrono::seconds(10));
    return urls_;
}

std::vector<std::string> Chromium::console() {
    call("Runtime.evaluate", {{"expression", "0"}}, std::chrono::seconds(10));
    return console_;
}

void Chromium::screenshot(const std::filesystem::path& png) {
    const auto r = call("Page.captureScreenshot", {{"format", "png"}}, std::chrono::seconds(20));
    const auto bytes = base64_decode(r.at("data").get<std::string>());
    if (!bytes)
        throw std::runtime_error("chromium: the screenshot is not base64");
    std::ofstream(png, std::ios::binary) << *bytes;
}

}  // namespace alluvium::test
