// Silence encoded in a stream's format, for gaps in the schedule and for items that cannot go
// on the stream. Encoded by the codec module (codec/codec.hpp). Private to the core.
#pragma once

#include "../codec/codec.hpp"

#include <string>

namespace alluvium::detail {

// `length` of silence in `params`' format; "" when it cannot be encoded (no such encoder,
// or the codec module is missing).
[[nodiscard]] std::string encode_silence(const AudioParams& params, Milliseconds length);

}  // namespace alluvium::detail
