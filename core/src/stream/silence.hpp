// Silence encoded in a stream's format (libavcodec), for gaps in the schedule and for
// items that cannot go on the stream. Private to the core.
#pragma once

#include <alluvium/time.hpp>

#include "framing.hpp"

#include <string>

namespace alluvium::detail {

struct AudioParams {
    StreamFormat format = StreamFormat::none;
    std::string codec;  // "mp3", "aac", "vorbis", "opus"
    int sample_rate = 44100;
    int channels = 2;
    std::int64_t bit_rate = 128000;
};

// `length` of silence as stream bytes: bare frames for MP3 and ADTS, a complete Ogg
// logical stream (headers included) for Ogg. Empty when the encoder is missing.
[[nodiscard]] std::string encode_silence(const AudioParams& params, Milliseconds length);

}  // namespace alluvium::detail
