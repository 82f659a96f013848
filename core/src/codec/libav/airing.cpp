// Reading an airing's item through the swarm (airing.hpp).
#include "airing.hpp"

#include <pthread.h>

#include <algorithm>
#include <cstdio>

namespace alluvium::detail {
namespace {

constexpr int input_buffer = 64 * 1024;
constexpr std::uint64_t need_step = 256 * 1024;

}  // namespace

void Airing::start(const char* thread_name) {
    thread = std::thread([this, thread_name] {
        pthread_setname_np(pthread_self(), thread_name);
        try {
            work();
        } catch (const std::exception& e) {
            fail(e.what());
        }
        {
            std::lock_guard lock(m);
            done = true;
        }
        if (item.made)
            item.made();  // the stream may be waiting for the end (or the error)
    });
}

void Airing::stop() {
    {
        std::lock_guard lock(m);
        stopping = true;
    }
    cv.notify_all();
    if (thread.joinable())
        thread.join();
}

void Airing::poke() {
    {
        std::lock_guard lock(m);
        poked = true;
    }
    cv.notify_all();
}

bool Airing::wait() {
    std::unique_lock lock(m);
    cv.wait(lock, [this] { return stopping || poked; });  // poke(): bytes came, or a failure
    poked = false;
    return !stopping;
}

bool Airing::pace(Milliseconds t, bool first, std::unique_lock<std::mutex>& lock) {
    demuxed = t;
    if (first && item.made) {
        lock.unlock();
        item.made();  // the stream may be waiting for it
        lock.lock();
    }
    cv.wait(lock, [this] { return stopping || demuxed - taken <= read_ahead; });
    return !stopping;
}

void Airing::need() {
    Milliseconds starts_in{0};
    {
        std::lock_guard lock(m);
        if (ready)
            starts_in = std::max(Milliseconds{0}, demuxed - item_now());
    }
    item.need(pos, rate, starts_in);
    needed = pos;
}

int Airing::read(std::uint8_t* buf, int size) {
    const std::uint64_t total = item.size();
    if (pos >= total)
        return AVERROR_EOF;
    const auto want = static_cast<std::size_t>(
        std::min<std::uint64_t>(static_cast<std::uint64_t>(size), total - pos));
    for (;;) {
        if (needed == UINT64_MAX || pos < needed || pos >= needed + need_step)
            need();
        const std::size_t n = item.read(pos, reinterpret_cast<char*>(buf), want);
        if (n > 0) {
            pos += n;
            return static_cast<int>(n);
        }
        if (item.failure())
            return AVERROR(EIO);
        if (!wait())
            return AVERROR_EXIT;
        needed = UINT64_MAX;  // ask again: the deadline moves with the clock
    }
}

std::int64_t Airing::seek(std::int64_t by, int whence) {
    const auto total = static_cast<std::int64_t>(item.size());
    std::int64_t to = 0;
    switch (whence & ~AVSEEK_FORCE) {
        case AVSEEK_SIZE:
            return total;
        case SEEK_SET:
            to = by;
            break;
        case SEEK_CUR:
            to = static_cast<std::int64_t>(pos) + by;
            break;
        case SEEK_END:
            to = total + by;
            break;
        default:
            return -1;
    }
    if (to < 0)
        return -1;
    pos = static_cast<std::uint64_t>(to);
    return to;
}

bool Airing::open_input(IoPtr& io, InputPtr& fmt, std::int64_t probe_bytes) {
    while (item.size() == 0) {
        if (const auto why = item.failure()) {
            fail(*why);
            return false;
        }
        if (!wait())
            return false;
    }
    auto* buffer = static_cast<unsigned char*>(av_malloc(input_buffer));
    io.reset(avio_alloc_context(
        buffer, input_buffer, 0, this,
        [](void* self, std::uint8_t* b, int n) { return static_cast<Airing*>(self)->read(b, n); },
        nullptr,
        [](void* self, std::int64_t o, int w) { return static_cast<Airing*>(self)->seek(o, w); }));
    if (!io) {
        av_free(buffer);
        fail("out of memory");
        return false;
    }
    AVFormatContext* raw = avformat_alloc_context();
    raw->pb = io.get();
    raw->flags |= AVFMT_FLAG_CUSTOM_IO;
    // Enough to find the codecs without reading seconds of the item.
    raw->probesize = probe_bytes;
    raw->max_analyze_duration = 2 * AV_TIME_BASE;
    if (const int r = avformat_open_input(&raw, name.c_str(), nullptr, nullptr); r < 0) {
        fail(r == AVERROR_EXIT ? "" : "cannot read it: " + av_error(r));
        return false;
    }
    fmt.reset(raw);
    if (const int r = avformat_find_stream_info(fmt.get(), nullptr); r < 0) {
        fail(r == AVERROR_EXIT ? "" : "cannot read its streams: " + av_error(r));
        return false;
    }
    std::lock_guard lock(m);
    return !stopping;
}

}  // namespace alluvium::detail
