#include "silence.hpp"

namespace alluvium::detail {

std::string encode_silence(const AudioParams& params, Milliseconds length) {
    Codecs* c = codecs();
    return c != nullptr ? c->encode_silence(params, length) : std::string();
}

}  // namespace alluvium::detail
