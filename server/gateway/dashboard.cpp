// The gateway's dashboard: the page (web/gateway/, built in) and its event stream
// (/v1/events: Server-Sent Events). Each second while a dashboard is open (every 5 s while
// none is), the loop's timer has the status built on a work thread (it asks the store, the
// tracker and the seed), then, back on the loop, keeps a sample of its totals for the
// charts and sends the status to every open dashboard. A dashboard that connects gets the
// last ten minutes of samples first.
#include "dashboard.hpp"

#include <alluvium/text.hpp>
#include <alluvium/version.hpp>

#include "gateway_impl.hpp"

#include <nlohmann/json.hpp>

namespace alluvium::gateway {

namespace net = boost::asio;
using nlohmann::json;

namespace {

// The charts' sample period while a dashboard is open (a real deadline: one point a
// second), the period with none open (the history a dashboard opened later shows), and how
// many samples are kept.
constexpr auto sample_interval = std::chrono::seconds(1);
constexpr auto idle_interval = std::chrono::seconds(5);
constexpr std::size_t max_samples = 600;

json sample_json(const Gateway::Impl::Sample& s) {
    return {{"t", s.t},           {"listeners", s.listeners},
            {"served", s.served}, {"rescued", s.rescued},
            {"origin", s.origin}, {"seed_limit", s.seed_limit}};
}

}  // namespace

bool Gateway::Impl::serve_dashboard_file(const std::string& path, HttpResponder& responder) {
    auto page = embedded_page(dashboard_files(), path, [] {
        return PageFills{{"@VERSION@", html_escape(version_string())}};
    });
    if (!page)
        return false;
    responder.respond(std::move(*page));
    return true;
}

void Gateway::Impl::serve_events(HttpResponder responder) {
    auto stream = std::make_shared<EventStream>();
    // Registered on the loop, where the samples are: the history first, then each status.
    net::post(loop, [this, stream] {
        json history = json::array();
        for (const Sample& s : samples)
            history.push_back(sample_json(s));
        stream->send("history", history.dump());
        const bool first = pages.empty();
        pages.push_back(stream);
        if (first)
            arm_samples();  // a sample a second from now on
    });
    responder.stream(std::move(stream));
}

void Gateway::Impl::arm_samples() {
    // Arming again replaces the wait under way (its handler sees operation_aborted).
    sample_timer->expires_after(pages.empty() ? idle_interval : sample_interval);
    sample_timer->async_wait([this](boost::system::error_code ec) {
        if (ec || stopping)
            return;
        // status_json() waits for the loop: it is built on a work thread.
        net::post(work, [this] {
            std::string status = status_json().body;
            net::post(loop, [this, status = std::move(status)] {
                take_sample(status);
                if (!stopping)
                    arm_samples();
            });
        });
    });
}

void Gateway::Impl::take_sample(const std::string& status) {
    const json j = json::parse(status, nullptr, false);
    if (j.is_discarded())
        return;
    const json& t = j.at("totals");
    Sample s;
    s.t = std::chrono::duration_cast<std::chrono::milliseconds>(
              std::chrono::system_clock::now().time_since_epoch())
              .count();
    s.listeners = t.value("listeners", std::size_t{0});
    s.served = t.value("bytes_served", std::uint64_t{0});
    s.rescued = t.value("bytes_rescued", std::uint64_t{0});
    s.origin = t.value("origin_bytes", std::uint64_t{0});
    s.seed_limit = t.value("seed_upload_limit", std::int64_t{0});
    samples.push_back(s);
    while (samples.size() > max_samples)
        samples.pop_front();
    // The page derives its chart's point from the status, as from the history's samples.
    std::string event = status;
    while (!event.empty() && event.back() == '\n')
        event.pop_back();
    EventStream::send_to_open(pages, "status", event);
}

void Gateway::Impl::close_pages() {
    if (sample_timer)
        sample_timer->cancel();
    for (const auto& p : pages) {
        if (const auto page = p.lock())
            page->close();
    }
    pages.clear();
}

}  // namespace alluvium::gateway
