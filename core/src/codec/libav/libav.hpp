// What every libavformat/libavcodec user in the core shares: readable error codes and
// owning pointers that free with the library's own calls. Private to the core.
#pragma once

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
}

#include <memory>
#include <string>

namespace alluvium::detail {

// Routes FFmpeg's log to ours (debug level) and starts its networking, once per process;
// the module's entry point calls it (probe.cpp).
void init_libav();

inline std::string av_error(int code) {
    char buf[AV_ERROR_MAX_STRING_SIZE] = {};
    av_strerror(code, buf, sizeof buf);
    return buf;
}

struct PacketFree {
    void operator()(AVPacket* p) const { av_packet_free(&p); }
};
using PacketPtr = std::unique_ptr<AVPacket, PacketFree>;

struct InputClose {
    void operator()(AVFormatContext* f) const { avformat_close_input(&f); }
};
using InputPtr = std::unique_ptr<AVFormatContext, InputClose>;

}  // namespace alluvium::detail
