// The codec module's transcoder run over an item held in memory, as the stream runs it,
// taking everything it makes: for the transcoder's unit tests and its benchmark. Needs the
// core's private headers (link alluvium-core-internal).
#pragma once

#include "codec/codec.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace alluvium::test {

struct Transcoded {
    std::vector<detail::TsChunk> chunks;
    std::string bytes;                           // every chunk's, in order
    std::shared_ptr<const std::string> headers;  // tables() after the last chunk
    std::string error;
};

// Transcodes `item` from `offset` into `into`. Bounded: whatever came in 60 s.
inline Transcoded transcode_in_memory(const std::string& item, const detail::AudioParams& into,
                                      Milliseconds offset, const std::string& name = "item") {
    using detail::Remuxer;
    Transcoded out;
    detail::Codecs* codecs = detail::codecs();
    if (codecs == nullptr) {
        out.error = detail::codecs_error();
        return out;
    }
    std::mutex m;
    std::condition_variable cv;
    bool made = false;
    auto transcoder = codecs->transcoder(into);
    detail::ItemSource source;
    source.read = [&item](std::uint64_t at, char* to, std::size_t max) -> std::size_t {
        if (at >= item.size())
            return 0;
        const std::size_t n = std::min<std::size_t>(max, item.size() - at);
        std::memcpy(to, item.data() + at, n);
        return n;
    };
    source.need = [](std::uint64_t, std::uint64_t, Milliseconds) {};
    source.size = [&item] { return static_cast<std::uint64_t>(item.size()); };
    source.failure = [] { return std::optional<std::string>(); };
    source.made = [&] {
        std::lock_guard lock(m);
        made = true;
        cv.notify_all();
    };
    transcoder->start(
        source, offset, 16000, [] { return Milliseconds{0}; }, name);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < until) {
        detail::TsChunk chunk;
        const auto took = transcoder->take(Milliseconds::max(), Milliseconds{0}, chunk);
        if (took == Remuxer::Take::chunk) {
            out.bytes += chunk.bytes;
            out.chunks.push_back(std::move(chunk));
            out.headers = transcoder->tables();
            continue;
        }
        if (took == Remuxer::Take::error)
            out.error = transcoder->error();
        if (took != Remuxer::Take::waiting)
            break;
        std::unique_lock lock(m);  // for the transcoder's next output, or its end
        cv.wait_until(lock, until, [&] { return made; });
        made = false;
    }
    transcoder->stop();
    return out;
}

}  // namespace alluvium::test
