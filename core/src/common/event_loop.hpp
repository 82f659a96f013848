// The core's event loop (private to the core): one Asio io_context run by one thread, where
// the swarm engine, its items and the Tuner keep their state, and a small pool of threads for
// the calls that block (libcurl requests, file probes), whose results come back to the loop.
//
// Threads: `post()`, `defer()` and `EventLoop::blocking()` may be called from any thread.
// Work posted to the loop runs on the loop thread, one piece at a time, in order; a timer's
// handler too. Nothing posted after `stop()` runs; `stop()` joins both threads and must not
// be called from them.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace alluvium::detail {

class EventLoop {
  public:
    // `name` names the loop's thread ("alluvium-loop"); `blocking_threads` run blocking calls.
    explicit EventLoop(std::string name, unsigned blocking_threads = 2);
    ~EventLoop();  // stop()s
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    [[nodiscard]] boost::asio::io_context& context() { return context_; }
    [[nodiscard]] bool on_loop_thread() const;

    // Runs `fn` on the loop thread, after what was posted before it.
    void post(std::function<void()> fn);

    // Runs `work` on a blocking thread, then `done` on the loop thread. Work still queued at
    // stop() is dropped (and so is its `done`); work running then finishes first.
    void blocking(std::function<void()> work, std::function<void()> done = {});

    // Stops both threads. Blocks until the work in progress returns.
    void stop();

  private:
    void run_blocking();

    boost::asio::io_context context_;
    std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>
        guard_;
    std::thread thread_;
    std::thread::id loop_id_;

    std::mutex mutex_;  // the blocking queue
    std::condition_variable cv_;
    std::deque<std::pair<std::function<void()>, std::function<void()>>> queue_;
    bool stopping_ = false;
    std::vector<std::thread> workers_;
};

// Names the calling thread (as `top` and `/proc/<pid>/task/*/comm` show it; 15 characters).
void name_this_thread(const std::string& name);

// Names the calling thread for as long as it lives, then gives the old name back. A thread
// takes its maker's name: libtorrent's threads are made under one of these, so that `top`
// (and bench/idle_bench.cpp) tells them from the core's.
class ThreadNameScope {
  public:
    explicit ThreadNameScope(const std::string& name);
    ~ThreadNameScope();
    ThreadNameScope(const ThreadNameScope&) = delete;
    ThreadNameScope& operator=(const ThreadNameScope&) = delete;

  private:
    char previous_[16] = {};
};

}  // namespace alluvium::detail
