// Silence in a stream's format, encoded with libavcodec (the codec module).
#include "../../common/log.hpp"
#include "../codec.hpp"
#include "encoder.hpp"

namespace alluvium::detail {

std::string libav_silence(const AudioParams& params, Milliseconds length) {
    AudioEncoder encoder;
    if (!encoder.open(params)) {
        log().warn("stream: no silence: {}", encoder.error());
        return {};
    }
    const AVCodecContext& enc = encoder.context();
    FramePtr frame(av_frame_alloc());
    const int per_frame = encoder.frame_size();
    const std::int64_t total = static_cast<std::int64_t>(enc.sample_rate) * length.count() / 1000;
    for (std::int64_t done = 0; done < total; done += per_frame) {
        if (!encoder.make_frame(*frame, per_frame))
            return {};
        av_samples_set_silence(frame->data, 0, per_frame, enc.ch_layout.nb_channels,
                               enc.sample_fmt);
        frame->pts = done;
        if (!encoder.send(frame.get()))
            return {};
    }
    encoder.send(nullptr);
    return encoder.take();
}

}  // namespace alluvium::detail
