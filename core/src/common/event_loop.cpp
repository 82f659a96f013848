#include "event_loop.hpp"

#include "log.hpp"

#include <pthread.h>

#include <boost/asio/post.hpp>

namespace alluvium::detail {

void name_this_thread(const std::string& name) {
    pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

ThreadNameScope::ThreadNameScope(const std::string& name) {
    pthread_getname_np(pthread_self(), previous_, sizeof previous_);
    name_this_thread(name);
}

ThreadNameScope::~ThreadNameScope() {
    pthread_setname_np(pthread_self(), previous_);
}

EventLoop::EventLoop(std::string name, unsigned blocking_threads)
    : guard_(std::make_unique<
             boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>(
          context_.get_executor())) {
    thread_ = std::thread([this, name] {
        name_this_thread(name);
        for (;;) {
            try {
                context_.run();
                return;
            } catch (const std::exception& e) {
                // A handler that throws must not take the loop with it.
                log().error("{}: {}", name, e.what());
            }
        }
    });
    loop_id_ = thread_.get_id();
    for (unsigned i = 0; i < blocking_threads; ++i) {
        workers_.emplace_back([this, name] {
            name_this_thread(name.substr(0, name.find('-') + 1) + "io");
            run_blocking();
        });
    }
}

EventLoop::~EventLoop() {
    stop();
}

bool EventLoop::on_loop_thread() const {
    return std::this_thread::get_id() == loop_id_;
}

void EventLoop::post(std::function<void()> fn) {
    boost::asio::post(context_, std::move(fn));
}

void EventLoop::blocking(std::function<void()> work, std::function<void()> done) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_)
            return;
        queue_.emplace_back(std::move(work), std::move(done));
    }
    cv_.notify_one();
}

void EventLoop::run_blocking() {
    for (;;) {
        std::pair<std::function<void()>, std::function<void()>> job;
        {
            std::unique_lock lock(mutex_);
            cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (stopping_)
                return;
            job = std::move(queue_.front());
            queue_.pop_front();
        }
        try {
            job.first();
        } catch (const std::exception& e) {
            log().error("blocking call: {}", e.what());
            continue;
        }
        if (job.second)
            post(std::move(job.second));
    }
}

void EventLoop::stop() {
    {
        std::lock_guard lock(mutex_);
        if (stopping_ && !thread_.joinable())
            return;
        stopping_ = true;
        queue_.clear();
    }
    cv_.notify_all();
    for (auto& w : workers_) {
        if (w.joinable())
            w.join();
    }
    guard_.reset();
    context_.stop();
    if (thread_.joinable())
        thread_.join();
}

}  // namespace alluvium::detail
