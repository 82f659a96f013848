// The listener's web page at "/": the page itself (web/listener/ and web/common/, built
// in), and the event stream that feeds it (/events: Server-Sent Events). While a page is
// open, a sample of the swarm's figures is taken each second on the loop and its status
// goes to every open page, as does each change of what is on air. With none open, the
// figures' timer (every 5 s) takes the samples, so that a page opened later shows the last
// minutes at once and an idle listener does not wake each second for nobody.
#include <alluvium/text.hpp>
#include <alluvium/version.hpp>

#include "page_files.hpp"
#include "tuner_impl.hpp"

#include <nlohmann/json.hpp>

namespace alluvium {

using namespace detail;

namespace {

// The chart's sample period while a page is open (a real deadline: one point a second),
// and how many samples are kept (ten minutes of them).
constexpr auto sample_interval = std::chrono::seconds(1);
constexpr std::size_t max_samples = 600;

}  // namespace

bool Tuner::Impl::serve_page_file(const std::string& path, HttpResponder& responder) {
    // The first paint before the page's script runs; the script then sets text only.
    auto page = embedded_page(page_files(), path, [this] {
        const auto program = producer->program();
        return PageFills{{"@STATION@", html_escape(program ? program->playlist.title : "Alluvium")},
                         {"@NOW@", html_escape(producer->status().title)},
                         {"@VERSION@", html_escape(version_string())}};
    });
    if (!page)
        return false;
    responder.respond(std::move(*page));
    return true;
}

void Tuner::Impl::serve_events(const HttpServerRequest& request, HttpResponder responder) {
    auto stream = std::make_shared<EventStream>(cors(request));
    // Registered on the loop, where the samples are taken: the page gets the history and
    // the status now, then every status after them, none twice and none missed.
    loop->post([this, stream] {
        nlohmann::json history = nlohmann::json::array();
        for (const PageSample& s : watch->samples) {
            history.push_back({{"t", s.t.time_since_epoch().count()},
                               {"peers", s.from_peers},
                               {"gateway", s.from_gateway},
                               {"origin", s.from_origin},
                               {"uploaded", s.uploaded}});
        }
        stream->send("history", history.dump());
        stream->send("status", status_json());
        watch->pages.push_back(stream);
        if (!watch->sampling)
            arm_samples();
    });
    responder.stream(std::move(stream));
}

void Tuner::Impl::arm_samples() {
    watch->sampling = true;
    watch->sample.expires_after(sample_interval);
    watch->sample.async_wait([this](boost::system::error_code ec) {
        if (ec)
            return;
        publish_now();
        take_sample();
        tell_pages();
        if (watch->pages.empty())
            watch->sampling = false;  // the last page went: the figures' timer samples
        else
            arm_samples();
    });
}

void Tuner::Impl::take_sample() {
    std::shared_ptr<const TunerStatus> status;
    {
        std::lock_guard lock(published_mutex);
        status = published;
    }
    if (!status)
        return;
    auto& samples = watch->samples;
    samples.push_back({std::chrono::time_point_cast<Milliseconds>(now()), status->bytes_from_peers,
                       status->bytes_from_gateway, status->bytes_from_origin,
                       status->bytes_uploaded});
    while (samples.size() > max_samples)
        samples.pop_front();
}

void Tuner::Impl::tell_pages() {
    if (!watch->pages.empty())
        EventStream::send_to_open(watch->pages, "status", status_json());
}

}  // namespace alluvium
