// One airing of a video item: the item demuxed from an offset by libavformat on a thread of
// its own, its packets queued for the muxer in remux.cpp. Private to the codec module.
#pragma once

#include "../codec.hpp"
#include "libav.hpp"

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace alluvium::detail {

inline constexpr AVRational ts_base{1, 90000};
inline constexpr AVRational ms_base{1, 1000};
inline constexpr Milliseconds read_ahead{8000};  // demuxed beyond what the stream has taken

struct ParametersFree {
    void operator()(AVCodecParameters* p) const { avcodec_parameters_free(&p); }
};
using ParametersPtr = std::unique_ptr<AVCodecParameters, ParametersFree>;

struct Packet {
    PacketPtr pkt;        // stream_index: the output track; timestamps in 1/90000 s of item time
    Milliseconds t{0};    // item time (decoding order)
    Milliseconds end{0};  // t + duration
    bool key = false;     // a video keyframe
};

// One airing: an item demuxed from an offset, on a thread of its own.
struct TsAiring {
    ItemSource item;
    Milliseconds offset{0};
    std::uint64_t rate = 0;
    std::function<Milliseconds()> item_now;
    std::string name;

    std::mutex m;
    std::condition_variable cv;
    bool stopping = false;
    bool poked = false;
    bool ready = false;  // tracks and shape are set (and stay so)
    bool done = false;
    std::string error;
    std::vector<ParametersPtr> tracks;  // video first, when there is one
    bool has_video = false;
    std::string shape;  // what the muxer must be opened for
    std::deque<Packet> queue;
    Milliseconds demuxed{0};  // item time of the last packet read
    Milliseconds taken{0};    // item time up to which the stream has taken packets
    std::int64_t zero = 0;    // the item's own timestamp of item time 0, in 1/90000 s
    std::thread thread;

    // Demuxer thread only.
    std::uint64_t pos = 0;
    std::uint64_t needed = UINT64_MAX;  // position of the last need()

    // The stream's side (remux.cpp). `m` is taken in ts_airing.cpp only.
    void start();  // the demuxer thread ("alluvium-remux")
    void stop();   // ends the demuxer and joins it; blocks until it returns
    void poke();   // bytes came (or a failure): the demuxer looks again
    struct Due {
        enum class State { error, end, waiting, not_due, packets } state = State::waiting;
        std::string error;
        std::vector<Packet> packets;  // the first due, then the rest up to the next keyframe
    };
    // What is due before `until` (and that the stream has taken up to it). Once a Due has
    // packets, `tracks`, `shape`, `has_video` and `zero` are set and stay so.
    Due take(Milliseconds until);

    // The demuxer thread.
    void run();
    void demux();
    void fail(std::string why) {
        std::lock_guard lock(m);
        error = std::move(why);
    }
    int read(std::uint8_t* buf, int size);
    std::int64_t seek(std::int64_t by, int whence);
    bool wait();  // for new bytes or the stream taking packets; false when stopping
    void need();
};

}  // namespace alluvium::detail
