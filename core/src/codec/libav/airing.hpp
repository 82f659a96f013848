// One airing of an item the stream cannot take byte for byte: the item read through the
// swarm by libavformat, from an offset, on a thread of its own. TsAiring (ts_airing.hpp)
// demuxes it for the MPEG-TS muxer; TranscodeAiring (transcode.cpp) decodes and re-encodes
// it into an audio stream's format. Private to the codec module.
//
// Threads: start(), stop() and poke() from any thread; the rest is the airing's own thread
// (read(), seek(), wait(), need()) or, under `m`, whoever takes what it made. stop() blocks
// until the thread has returned; an airing is stopped before it is destroyed.
#pragma once

#include "../codec.hpp"
#include "libav.hpp"

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace alluvium::detail {

inline constexpr AVRational ms_base{1, 1000};
inline constexpr Milliseconds read_ahead{8000};  // made beyond what the stream has taken

struct IoFree {
    void operator()(AVIOContext* io) const {
        if (io != nullptr)
            av_freep(&io->buffer);
        avio_context_free(&io);
    }
};
using IoPtr = std::unique_ptr<AVIOContext, IoFree>;

struct Airing {
    ItemSource item;
    Milliseconds offset{0};
    std::uint64_t rate = 0;
    std::function<Milliseconds()> item_now;
    std::string name;

    std::mutex m;
    std::condition_variable cv;
    bool stopping = false;
    bool poked = false;
    bool ready = false;  // the item is open and what the taker needs of it is set
    bool done = false;
    std::string error;
    Milliseconds demuxed{0};  // item time of the last thing made
    Milliseconds taken{0};    // item time up to which the stream has taken
    std::thread thread;

    // The airing's thread only.
    std::uint64_t pos = 0;
    std::uint64_t needed = UINT64_MAX;  // position of the last need()

    Airing() = default;
    Airing(const Airing&) = delete;
    Airing& operator=(const Airing&) = delete;
    virtual ~Airing() = default;

    void start(const char* thread_name);  // runs work() on the airing's thread
    void stop();                          // ends the thread and joins it; blocks until it returns
    void poke();                          // bytes came (or a failure): the thread looks again
    void fail(std::string why) {
        std::lock_guard lock(m);
        error = std::move(why);
    }

    // The airing's thread.
    int read(std::uint8_t* buf, int size);
    std::int64_t seek(std::int64_t by, int whence);
    bool wait();  // for new bytes or the stream taking; false when stopping
    void need();
    // Waits until the item's size is known, then opens it with libavformat; false when it
    // failed (said so in `error`) or the airing is stopping.
    bool open_input(IoPtr& io, InputPtr& fmt, std::int64_t probe_bytes);
    // Records that item time `t` is made, tells the stream (item.made, with `lock` let go
    // meanwhile) when it is the `first` output it can take since it took the last, then waits
    // while `t` is more than read_ahead past what the stream has taken; false when stopping.
    // Called with `lock` held on `m`.
    bool pace(Milliseconds t, bool first, std::unique_lock<std::mutex>& lock);

  protected:
    virtual void work() = 0;
};

// The airing a converter (a Remuxer of the codec module) is on. start(), stop() and get()
// from the stream's thread; poke() from any thread. stop() blocks until the airing's thread
// has returned.
template <class A>
class CurrentAiring {
  public:
    CurrentAiring() = default;
    CurrentAiring(const CurrentAiring&) = delete;
    CurrentAiring& operator=(const CurrentAiring&) = delete;
    ~CurrentAiring() { stop(); }

    // Ends the airing on now, then starts one of `item` from `offset` on a thread named
    // `thread_name`; `fill` sets what else the airing needs before its thread starts.
    void start(ItemSource item, Milliseconds offset, std::uint64_t rate,
               std::function<Milliseconds()> item_now, std::string name, const char* thread_name,
               const std::function<void(A&)>& fill = {}) {
        stop();
        auto a = std::make_shared<A>();
        a->item = std::move(item);
        a->offset = offset;
        a->rate = rate;
        a->item_now = std::move(item_now);
        a->name = std::move(name);
        if (fill)
            fill(*a);
        a->start(thread_name);
        std::lock_guard lock(m_);
        airing_ = std::move(a);
    }
    void stop() {
        std::shared_ptr<A> a;
        {
            std::lock_guard lock(m_);
            a = std::move(airing_);
        }
        if (a)
            a->stop();
    }
    void poke() {
        if (auto a = get())
            a->poke();
    }
    [[nodiscard]] std::shared_ptr<A> get() const {
        std::lock_guard lock(m_);
        return airing_;
    }

  private:
    mutable std::mutex m_;  // guards airing_ against poke() from other threads
    std::shared_ptr<A> airing_;
};

}  // namespace alluvium::detail
