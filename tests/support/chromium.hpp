// Headless Chromium driven through its DevTools protocol, for tests of the web pages the
// programs serve. Chromium runs with a profile of its own, resolves no host name but
// 127.0.0.1 and localhost, and has its background services (updates, safe browsing,
// metrics) switched off, so that it contacts no address but the pages the test opens. Every
// call has a bound; the destructor ends the browser.
#pragma once

#include "process.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace alluvium::test {

class Chromium {
  public:
    // Starts the browser with one blank page. Throws std::runtime_error, with the browser's
    // log, when it does not start within 30 s.
    explicit Chromium(const std::filesystem::path& profile_dir);
    ~Chromium();
    Chromium(const Chromium&) = delete;
    Chromium& operator=(const Chromium&) = delete;

    // Opens `url` in the page and waits until it has loaded (its load event).
    void open(const std::string& url, std::chrono::milliseconds timeout = std::chrono::seconds(20));
    // The value of a JavaScript expression in the page (a promise is awaited), as if the
    // user had just clicked (so media may play). Throws on an exception in the page.
    nlohmann::json evaluate(const std::string& expression,
                            std::chrono::milliseconds timeout = std::chrono::seconds(10));
    // Every URL the page asked for since the browser started (documents, scripts, styles,
    // images, media, event streams), in order.
    [[nodiscard]] std::vector<std::string> requested_urls();
    // Messages the page's console printed and exceptions it threw.
    [[nodiscard]] std::vector<std::string> console();
    // A PNG of the page as it looks now.
    void screenshot(const std::filesystem::path& png);
    [[nodiscard]] std::string log() const { return process_ ? process_->log() : std::string(); }

    struct Connection;

  private:
    // Sends a command to the page and waits for its answer (events meanwhile are kept).
    // `browser`: to the browser itself rather than the page.
    nlohmann::json call(const std::string& method, nlohmann::json params,
                        std::chrono::milliseconds timeout, bool browser = false);
    void handle(const std::string& message);  // an answer or an event
    // Handles what arrives until `done` holds or `timeout` passes; false on timeout.
    bool pump(const std::function<bool()>& done, std::chrono::milliseconds timeout);

    std::unique_ptr<Background> process_;
    std::unique_ptr<Connection> connection_;
    std::string session_;
    int next_id_ = 1;
    std::map<int, nlohmann::json> answers_;
    std::vector<std::string> urls_;
    std::vector<std::string> console_;
    int loads_ = 0;
};

}  // namespace alluvium::test
