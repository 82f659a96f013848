// An audio encoder and the muxer of a stream's format (MP3, ADTS or Ogg), writing into
// memory: what silence (silence.cpp) and transcoded items (transcode.cpp) are made with.
// Private to the codec module.
//
// Threads: one object is used by one thread at a time.
#pragma once

#include "../codec.hpp"
#include "libav.hpp"

#include <memory>
#include <string>

struct AVFrame;

namespace alluvium::detail {

struct CodecFree {
    void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
using CodecPtr = std::unique_ptr<AVCodecContext, CodecFree>;
struct FrameFree {
    void operator()(AVFrame* f) const { av_frame_free(&f); }
};
using FramePtr = std::unique_ptr<AVFrame, FrameFree>;

class AudioEncoder {
  public:
    AudioEncoder() = default;
    ~AudioEncoder();
    AudioEncoder(const AudioEncoder&) = delete;
    AudioEncoder& operator=(const AudioEncoder&) = delete;

    // Opens the encoder for `params` and its muxer, and writes the stream's header (the
    // header pages of an Ogg stream, whose comments carry `title`; nothing for MP3 and ADTS,
    // whose titles travel as ICY metadata). False, with error() saying why, when `params`
    // cannot be encoded.
    bool open(const AudioParams& params, const std::string& title = {});
    [[nodiscard]] const std::string& error() const { return error_; }

    // What frames must be: the encoder's sample format, rate and layout.
    [[nodiscard]] const AVCodecContext& context() const { return *enc_; }
    // Samples per frame; every frame but the last must have exactly this many.
    [[nodiscard]] int frame_size() const;
    // Makes `frame` hold room for `samples` in the encoder's format (its samples unset);
    // false when out of memory.
    bool make_frame(AVFrame& frame, int samples) const;

    // Encodes one frame (its pts in samples, 1/rate) and muxes what the encoder has ready;
    // a null frame flushes the encoder and ends the stream. False on an error.
    bool send(const AVFrame* frame);
    // The bytes muxed since the last take().
    [[nodiscard]] std::string take();
    // The end of the last packet muxed, in samples (its pts + duration).
    [[nodiscard]] std::int64_t muxed_until() const { return muxed_until_; }

  private:
    static int write(void* self, std::uint8_t* buf, int size);
    bool drain();
    void close();

    CodecPtr enc_;
    AVFormatContext* mux_ = nullptr;
    AVStream* st_ = nullptr;
    PacketPtr pkt_;
    std::string out_;
    std::string error_;
    std::int64_t muxed_until_ = 0;
    bool ended_ = false;
};

}  // namespace alluvium::detail
