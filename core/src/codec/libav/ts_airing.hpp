// One airing of a video item: the item demuxed from an offset by libavformat on a thread of
// its own (airing.hpp), its packets queued for the muxer in remux.cpp. Private to the codec
// module.
#pragma once

#include "airing.hpp"

#include <deque>
#include <string>
#include <vector>

namespace alluvium::detail {

inline constexpr AVRational ts_base{1, 90000};

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

// One airing of a video item: demuxed from an offset on the airing's thread
// ("alluvium-remux"), its packets queued for the muxer.
struct TsAiring final : Airing {
    std::vector<ParametersPtr> tracks;  // video first, when there is one
    bool has_video = false;
    std::string shape;  // what the muxer must be opened for
    std::deque<Packet> queue;
    std::int64_t zero = 0;  // the item's own timestamp of item time 0, in 1/90000 s

    ~TsAiring() override { stop(); }

    // The stream's side (remux.cpp). `m` is taken in ts_airing.cpp and airing.cpp only.
    struct Due {
        enum class State { error, end, waiting, not_due, packets } state = State::waiting;
        std::string error;
        std::vector<Packet> packets;  // the first due, then the rest up to the next keyframe
    };
    // What is due before `until` (and that the stream has taken up to it). Once a Due has
    // packets, `tracks`, `shape`, `has_video` and `zero` are set and stay so.
    Due take(Milliseconds until);

  protected:
    void work() override;
};

}  // namespace alluvium::detail
