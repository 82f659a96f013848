// Private to alluvium-gateway: the service's state, shared by gateway.cpp (lookups, fetch
// jobs, cache) and routes.cpp (HTTP routing and rendering).
//
// Threads (docs/ARCHITECTURE.md): the fetch jobs, the listeners waiting for them, what failed,
// the origins' back-off and pacers and the bytes served as ranges belong to the gateway's
// event loop (`loop`, one thread): they are touched only by work posted to it, so they need
// no lock. HTTP handlers answer at once what needs no state (the tracker), and post the
// rest: to the loop, or to `work` when it blocks (a playlist read, a cache read, libtorrent's
// figures), whose results go to the loop in turn. Fetches run on `fetches` and post their end
// to the loop. A listener that waits for a fetch holds a timer on the loop for its deadline.
#pragma once

#include <alluvium/http_server.hpp>

#include "gateway.hpp"
#include "nat_check.hpp"
#include "origin_fetch.hpp"
#include "policy.hpp"
#include "seeder.hpp"
#include "store.hpp"
#include "tracker.hpp"

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <thread>

namespace alluvium::gateway {

enum class AnswerKind { json, torrent };

struct Job {
    std::string url;
    Decision decision;
    std::shared_ptr<RatePacer> pacer;  // the origin's, when --origin-rate-limit is set
    std::string etag;                  // validators when revalidating
    std::string last_modified;
    std::atomic<std::uint64_t> received{0};
    std::atomic<std::uint64_t> total{0};
    std::atomic<bool> hashing{false};
};

struct Waiter {
    std::string url;
    AnswerKind kind;
    HttpResponder responder;
    std::unique_ptr<boost::asio::steady_timer> deadline;
};

struct Failure {
    int status;
    std::string message;
    std::chrono::steady_clock::time_point until;  // answered from memory until then
};

struct Gateway::Impl {
    explicit Impl(GatewayConfig c);

    GatewayConfig config;
    std::unique_ptr<Store> store;
    Policy policy;
    Tracker tracker;
    std::unique_ptr<Seeder> seeder;
    std::unique_ptr<HttpServer> server;
    boost::asio::thread_pool work;
    std::unique_ptr<boost::asio::thread_pool> fetches;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    std::atomic<bool> stopping{false};
    std::atomic<std::uint64_t> origin_bytes{0};
    std::atomic<std::uint64_t> fetches_done{0};

    boost::asio::io_context loop;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> loop_guard{
        loop.get_executor()};
    std::thread loop_thread;
    // The built-in tracker's NAT check (on the loop); null when off.
    std::unique_ptr<NatCheck> nat_check;
    // The loop's (touched only on its thread).
    std::map<std::string, std::shared_ptr<Job>> jobs;
    std::map<std::uint64_t, Waiter> waiters;
    std::uint64_t next_waiter = 0;
    std::map<std::string, Failure> failures;
    // Origins that answered 429/503: asked nothing until then (Retry-After).
    std::map<std::string, std::chrono::steady_clock::time_point> origin_backoff;
    // One shared rate per origin when --origin-rate-limit is set.
    std::map<std::string, std::shared_ptr<RatePacer>> origin_pacers;
    // Bytes of each item (by raw info-hash) served over HTTP to listeners the swarm left
    // short (GET /v1/media): part of what the gateway uploads, beside its seed.
    std::map<std::string, std::uint64_t> rescued;

    // Bytes each item's fetches read from its origin, by media URL (the dashboard's origin
    // copies).
    std::map<std::string, std::uint64_t> origin_by_url;
    // The dashboard's (dashboard.cpp): a sample of the figures each second (the last ten
    // minutes) and the open event streams.
    struct Sample {
        std::int64_t t = 0;  // Unix time, ms
        std::size_t listeners = 0;
        std::uint64_t served = 0;     // to listeners: seed and ranges
        std::uint64_t rescued = 0;    // of which ranges over HTTP
        std::uint64_t origin = 0;     // from origins
        std::int64_t seed_limit = 0;  // bytes/s the seed may send now; 0: no limit
    };
    std::unique_ptr<boost::asio::steady_timer> sample_timer;
    std::deque<Sample> samples;
    std::vector<std::weak_ptr<EventStream>> pages;

    // When each playlist was last read (lookups on `work` ask): gateway.cpp only.
    std::mutex playlist_reads_mutex;
    std::map<std::string, std::chrono::steady_clock::time_point> playlist_reads;

    // Runs `fn` on the loop and returns its result; for the `work` threads, never the loop.
    template <typename Fn>
    auto on_loop(Fn fn) -> decltype(fn());

    // gateway.cpp
    void start_nat_check();  // before the HTTP server starts
    void resume_cache();
    void lookup(const HttpServerRequest& request, HttpResponder responder, AnswerKind kind);
    void prime(const HttpServerRequest& request, HttpResponder responder);
    std::shared_ptr<Job> ensure_job(const std::string& url, const Decision& decision,
                                    const std::optional<StoredItem>& cached);
    void run_job(const std::shared_ptr<Job>& job);
    void adopt(const std::string& url, const OriginResult& result);
    void evict_to_fit(std::uint64_t incoming, const std::string& keep_url);
    std::optional<std::pair<std::string, std::uint16_t>> seed_endpoint() const;
    void drop_content(const StoredItem& item);
    // Rewrites config.tracker_whitelist (if set) from the store, atomically.
    void write_tracker_whitelist();
    std::mutex whitelist_mutex;  // gateway.cpp only
    std::optional<std::string> read_playlist(const std::string& url, bool trusted);
    Decision allow_media(const std::string& url, const std::optional<std::string>& playlist);
    // On the loop.
    void answer(const std::string& url, AnswerKind kind, HttpResponder responder, bool fetching,
                long wait_ms);
    void wait_for_job(const std::string& url, AnswerKind kind, HttpResponder responder,
                      long wait_ms);
    void job_done(const std::shared_ptr<Job>& job, const OriginResult& result);
    void answer_waiters(const std::string& url);

    // routes.cpp
    void handle(HttpServerRequest&& request, HttpResponder responder);
    HttpServerResponse answer_for(const std::string& url, AnswerKind kind);  // on the loop
    HttpServerResponse media_range(const HttpServerRequest& request);
    HttpServerResponse status_json();

    // dashboard.cpp
    // The dashboard's files; false when `path` is none of them.
    bool serve_dashboard_file(const std::string& path, HttpResponder& responder);
    void serve_events(HttpResponder responder);
    void arm_samples();                           // on the loop
    void take_sample(const std::string& status);  // on the loop
    void close_pages();                           // on the loop
};

template <typename Fn>
auto Gateway::Impl::on_loop(Fn fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto result = task.get_future();
    boost::asio::post(loop, [&task] { task(); });
    return result.get();
}

[[nodiscard]] std::int64_t unix_now();
// Where the gateway keeps the items it fetched (each at cache_dir / content_sha256).
[[nodiscard]] std::filesystem::path cache_dir(const GatewayConfig& c);
[[nodiscard]] HttpServerResponse json_response(int status, const std::string& body);
[[nodiscard]] HttpServerResponse error_response(int status, const std::string& url,
                                                const std::string& state,
                                                const std::string& message);

}  // namespace alluvium::gateway
