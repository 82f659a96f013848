// Silence in a stream's format, encoded with libavcodec (the codec module).
#include "../../common/log.hpp"
#include "../codec.hpp"
#include "libav.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
}

#include <memory>

namespace alluvium::detail {
namespace {

struct CodecFree {
    void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameFree {
    void operator()(AVFrame* f) const { av_frame_free(&f); }
};

const char* encoder_name(const AudioParams& p) {
    if (p.codec == "mp3")
        return "libmp3lame";
    if (p.codec == "aac")
        return "aac";
    if (p.codec == "vorbis")
        return "libvorbis";
    if (p.codec == "opus")
        return "libopus";
    return nullptr;
}

const char* muxer_name(StreamFormat f) {
    switch (f) {
        case StreamFormat::mp3:
            return "mp3";
        case StreamFormat::adts:
            return "adts";
        case StreamFormat::ogg:
            return "ogg";
        case StreamFormat::ts:
        case StreamFormat::none:
            break;
    }
    return nullptr;
}

// Writes every packet the encoder has ready into the muxer.
bool drain(AVCodecContext* enc, AVFormatContext* mux, AVStream* st, AVPacket* pkt) {
    while (true) {
        const int r = avcodec_receive_packet(enc, pkt);
        if (r == AVERROR(EAGAIN) || r == AVERROR_EOF)
            return true;
        if (r < 0)
            return false;
        av_packet_rescale_ts(pkt, enc->time_base, st->time_base);
        pkt->stream_index = st->index;
        if (av_interleaved_write_frame(mux, pkt) < 0)
            return false;
    }
}

}  // namespace

std::string libav_silence(const AudioParams& params, Milliseconds length) {
    const char* enc_name = encoder_name(params);
    const char* mux_name = muxer_name(params.format);
    const AVCodec* codec = enc_name != nullptr ? avcodec_find_encoder_by_name(enc_name) : nullptr;
    if (codec == nullptr || mux_name == nullptr) {
        log().warn("stream: no encoder for silence in {}", params.codec);
        return {};
    }
    std::unique_ptr<AVCodecContext, CodecFree> enc(avcodec_alloc_context3(codec));
    const int rate =
        params.codec == "opus" ? 48000 : (params.sample_rate > 0 ? params.sample_rate : 44100);
    av_channel_layout_default(&enc->ch_layout, params.channels > 0 ? params.channels : 2);
    enc->sample_rate = rate;
    enc->sample_fmt = codec->sample_fmts != nullptr ? codec->sample_fmts[0] : AV_SAMPLE_FMT_S16;
    enc->bit_rate = params.bit_rate > 0 ? params.bit_rate : 128000;
    enc->time_base = AVRational{1, rate};
    AVFormatContext* raw_mux = nullptr;
    if (avformat_alloc_output_context2(&raw_mux, nullptr, mux_name, nullptr) < 0)
        return {};
    std::unique_ptr<AVFormatContext, void (*)(AVFormatContext*)> mux(
        raw_mux, [](AVFormatContext* m) {
            if (m->pb != nullptr) {
                std::uint8_t* buf = nullptr;
                avio_close_dyn_buf(m->pb, &buf);
                av_free(buf);
            }
            avformat_free_context(m);
        });
    if ((mux->oformat->flags & AVFMT_GLOBALHEADER) != 0)
        enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (avcodec_open2(enc.get(), codec, nullptr) < 0)
        return {};
    AVStream* st = avformat_new_stream(mux.get(), nullptr);
    avcodec_parameters_from_context(st->codecpar, enc.get());
    st->time_base = enc->time_base;
    if (avio_open_dyn_buf(&mux->pb) < 0)
        return {};
    AVDictionary* opts = nullptr;
    if (params.format == StreamFormat::mp3) {
        // Bare frames: no ID3 tag, no Xing header in the middle of a stream.
        av_dict_set(&opts, "id3v2_version", "0", 0);
        av_dict_set(&opts, "write_xing", "0", 0);
    }
    const int header = avformat_write_header(mux.get(), &opts);
    av_dict_free(&opts);
    if (header < 0)
        return {};

    std::unique_ptr<AVFrame, FrameFree> frame(av_frame_alloc());
    PacketPtr pkt(av_packet_alloc());
    const int per_frame = enc->frame_size > 0 ? enc->frame_size : 1024;
    const std::int64_t total = static_cast<std::int64_t>(rate) * length.count() / 1000;
    for (std::int64_t done = 0; done < total; done += per_frame) {
        frame->nb_samples = per_frame;
        frame->format = enc->sample_fmt;
        av_channel_layout_copy(&frame->ch_layout, &enc->ch_layout);
        frame->sample_rate = rate;
        if (av_frame_get_buffer(frame.get(), 0) < 0)
            return {};
        av_samples_set_silence(frame->data, 0, per_frame, enc->ch_layout.nb_channels,
                               enc->sample_fmt);
        frame->pts = done;
        if (avcodec_send_frame(enc.get(), frame.get()) < 0 ||
            !drain(enc.get(), mux.get(), st, pkt.get())) {
            return {};
        }
        av_frame_unref(frame.get());
    }
    avcodec_send_frame(enc.get(), nullptr);
    drain(enc.get(), mux.get(), st, pkt.get());
    av_write_trailer(mux.get());
    std::uint8_t* buf = nullptr;
    const int size = avio_close_dyn_buf(mux->pb, &buf);
    mux->pb = nullptr;
    std::string out(reinterpret_cast<const char*>(buf),
                    static_cast<std::size_t>(std::max(size, 0)));
    av_free(buf);
    return out;
}

}  // namespace alluvium::detail
