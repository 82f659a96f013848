// The Tuner's insides (private to core/src/tuner/): the running parts, the published status,
// the events, and the work the Tuner does on the core's event loop.
#pragma once

#include <alluvium/fetch.hpp>
#include <alluvium/http_server.hpp>
#include <alluvium/tuner.hpp>

#include "../common/event_loop.hpp"
#include "../stream/producer.hpp"

#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <mutex>

namespace alluvium {

struct Tuner::Impl {
    explicit Impl(TunerOptions o);

    TunerOptions options;
    std::function<TimePoint()> base_clock;
    std::atomic<std::int64_t> offset_ms{0};
    // A live station plays this far behind the (corrected) clock; decided when tuning.
    std::atomic<std::int64_t> live_delay_ms{0};

    // The running parts. The first tune() makes them and stop() takes them apart, each
    // holding `control` throughout, so the two never interleave. The loop's work and the
    // server's handlers use the parts without a lock: they start after the parts exist and
    // stop before they go. The public readers never touch the parts: they read the published
    // status (below).
    std::mutex control;
    std::unique_ptr<detail::EventLoop> loop;
    std::unique_ptr<detail::SwarmEngine> engine;
    std::unique_ptr<detail::Broadcast> broadcast;
    std::unique_ptr<detail::Producer> producer;
    std::unique_ptr<HttpServer> server;
    std::string stream_url;
    // Set by stop(): a playlist read in progress (tune() or a re-read) gives up at once.
    std::atomic<bool> cancel{false};

    // The status as last published (on the loop, and by tune()): status() copies it and
    // never waits for the swarm. Null before the first tune() and after stop().
    mutable std::mutex published_mutex;
    std::shared_ptr<const TunerStatus> published;
    std::chrono::steady_clock::time_point published_at{};
    mutable std::atomic<bool> refresh_asked{false};  // a fresher status is on its way

    mutable std::mutex mutex;  // playlist source, validators, events, item streams, flags
    bool stopping = false;
    bool tuned = false;
    std::string source;  // file or URL
    std::string etag;
    std::string last_modified;
    std::string playlist_error;
    std::deque<TunerEvent> events;
    std::mutex notify_mutex;
    std::function<void()> notify;  // under notify_mutex
    std::vector<std::weak_ptr<HttpStream>> item_streams;

    // One point of the page's chart (page.cpp).
    struct PageSample {
        std::chrono::time_point<std::chrono::system_clock, Milliseconds> t;  // station time
        // Bytes so far, by where they came from, and uploaded (the page charts their rates).
        std::uint64_t from_peers = 0;
        std::uint64_t from_gateway = 0;
        std::uint64_t from_origin = 0;
        std::uint64_t uploaded = 0;
    };

    // On the loop only: the playlist's re-reads, the swarm figures' event, the page's
    // samples and open event streams, and what the last events said of the air (so that
    // each change is told once).
    struct Watch {
        explicit Watch(boost::asio::io_context& io) : refresh(io), figures(io), sample(io) {}
        boost::asio::steady_timer refresh;
        boost::asio::steady_timer figures;
        boost::asio::steady_timer sample;
        bool sampling = false;           // the sample timer runs (while pages are open)
        std::deque<PageSample> samples;  // the last ten minutes, oldest first
        std::vector<std::weak_ptr<EventStream>> pages;  // open /events streams
        std::chrono::steady_clock::time_point last_read{};
        bool reading = false;
        bool have_item = false;
        std::size_t last_index = 0;
        TimePoint last_start{};
        bool last_gap = false;
        bool stalled = false;
        std::string forwarding;  // port_forwarding() when last told
    };
    std::unique_ptr<Watch> watch;

    // The clock, corrected by the playlist server's Date.
    [[nodiscard]] TimePoint clock() const { return base_clock() + Milliseconds{offset_ms.load()}; }
    // The station time being played: the corrected clock, less a live station's delay.
    [[nodiscard]] TimePoint now() const { return clock() - Milliseconds{live_delay_ms.load()}; }

    void push(TunerEvent e);
    // Reads the playlist (blocks); nullopt when unchanged (304) or on error (`error` set).
    std::optional<detail::Program> load(std::string& error, bool conditional);
    std::optional<std::string> fetch_playlist(const std::string& src, std::size_t max_bytes,
                                              bool conditional, std::string& error);
    static std::optional<std::string> read_playlist_file(const std::string& src,
                                                         std::size_t max_bytes, std::string& error);
    void correct_clock(const HttpResponse& response, TimePoint local);
    // Makes the loop, engine, broadcast, producer and server (with `control` held). False,
    // with `detail`, when the stream cannot listen.
    bool start_parts(std::error_code& ec, std::string* detail);
    void start_server(std::error_code& ec);

    // The loop's work.
    void arm_refresh();
    void refresh();
    void arm_figures();
    void air_changed();
    // Builds the status from the running parts and publishes it (on the loop).
    void publish_now();
    [[nodiscard]] TunerStatus snapshot() const;
    // What played before `here`: the last five airings that ended in the last six hours,
    // oldest first.
    [[nodiscard]] static std::vector<Slot> previous_airings(const detail::Program& program,
                                                            TimePoint here);
    void publish(std::shared_ptr<const TunerStatus> status);
    // Runs `fn` on the loop and waits for it (from any other thread).
    void on_loop(const std::function<void()>& fn);

    // The local server (routes.cpp).
    void handle(HttpServerRequest&& request, HttpResponder responder);
    void serve_stream(const HttpServerRequest& request, HttpResponder responder, bool head);
    void serve_item(const HttpServerRequest& request, HttpResponder responder);
    void serve_status(const HttpServerRequest& request, HttpResponder responder);
    // The page and its files (page.cpp); false when `path` is none of them.
    bool serve_page_file(const std::string& path, HttpResponder& responder);
    void serve_events(const HttpServerRequest& request, HttpResponder responder);
    void arm_samples();
    void take_sample();  // from the published status (on the loop)
    // Sends the status to every open page (on the loop).
    void tell_pages();
    // The CORS headers for a request from a page at `origin` (the Origin header): only the
    // origin the user allowed (TunerOptions::allow_origin) may read the answers.
    [[nodiscard]] HttpHeaders cors(const HttpServerRequest& request) const;
    [[nodiscard]] std::string status_json() const;  // on the loop
    void on_data();
};

}  // namespace alluvium
