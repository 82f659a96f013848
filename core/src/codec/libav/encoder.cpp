// An audio encoder and its stream format's muxer, into memory (encoder.hpp).
#include "encoder.hpp"

extern "C" {
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
}

#include <algorithm>
#include <utility>

namespace alluvium::detail {
namespace {

constexpr int output_buffer = 16 * 1024;

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

// The bit rate to encode at: the stream's, within what the encoder takes for 44.1 or 48 kHz
// stereo (an Ogg station of simple sounds may average 20 kbit/s; libvorbis refuses that).
std::int64_t encoding_rate(const AudioParams& p) {
    const std::int64_t rate = p.bit_rate > 0 ? p.bit_rate : 128000;
    const std::int64_t lowest = p.codec == "vorbis" ? 64000 : 32000;
    return std::clamp<std::int64_t>(rate, lowest, 320000);
}

}  // namespace

AudioEncoder::~AudioEncoder() {
    close();
}

void AudioEncoder::close() {
    if (mux_ == nullptr)
        return;
    if (mux_->pb != nullptr) {
        av_freep(&mux_->pb->buffer);
        avio_context_free(&mux_->pb);
    }
    avformat_free_context(mux_);
    mux_ = nullptr;
}

int AudioEncoder::write(void* self, std::uint8_t* buf, int size) {
    static_cast<AudioEncoder*>(self)->out_.append(reinterpret_cast<const char*>(buf),
                                                  static_cast<std::size_t>(size));
    return size;
}

bool AudioEncoder::open(const AudioParams& params, const std::string& title) {
    const char* enc_name = encoder_name(params);
    const char* mux_name = muxer_name(params.format);
    const AVCodec* codec = enc_name != nullptr ? avcodec_find_encoder_by_name(enc_name) : nullptr;
    if (codec == nullptr || mux_name == nullptr) {
        error_ = "no encoder for " + params.codec + " in " + content_type_of(params.format);
        return false;
    }
    enc_.reset(avcodec_alloc_context3(codec));
    pkt_.reset(av_packet_alloc());
    const int rate =
        params.codec == "opus" ? 48000 : (params.sample_rate > 0 ? params.sample_rate : 44100);
    av_channel_layout_default(&enc_->ch_layout, params.channels > 0 ? params.channels : 2);
    enc_->sample_rate = rate;
    enc_->sample_fmt = codec->sample_fmts != nullptr ? codec->sample_fmts[0] : AV_SAMPLE_FMT_S16;
    enc_->bit_rate = encoding_rate(params);
    enc_->time_base = AVRational{1, rate};
    if (avformat_alloc_output_context2(&mux_, nullptr, mux_name, nullptr) < 0) {
        error_ = std::string("no ") + mux_name + " muxer";
        return false;
    }
    if ((mux_->oformat->flags & AVFMT_GLOBALHEADER) != 0)
        enc_->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (const int r = avcodec_open2(enc_.get(), codec, nullptr); r < 0) {
        error_ = std::string("cannot open ") + enc_name + ": " + av_error(r);
        return false;
    }
    st_ = avformat_new_stream(mux_, nullptr);
    avcodec_parameters_from_context(st_->codecpar, enc_.get());
    st_->time_base = enc_->time_base;
    if (!title.empty())
        av_dict_set(&st_->metadata, "title", title.c_str(), 0);
    auto* buffer = static_cast<unsigned char*>(av_malloc(output_buffer));
    mux_->pb =
        avio_alloc_context(buffer, output_buffer, 1, this, nullptr, &AudioEncoder::write, nullptr);
    AVDictionary* opts = nullptr;
    if (params.format == StreamFormat::mp3) {
        // Bare frames: no ID3 tag, no Xing header in the middle of a stream.
        av_dict_set(&opts, "id3v2_version", "0", 0);
        av_dict_set(&opts, "write_xing", "0", 0);
    } else if (params.format == StreamFormat::ogg) {
        // Pages of a quarter of a second rather than one: the stream is fed evenly.
        av_dict_set(&opts, "page_duration", "250000", 0);
    }
    const int header = avformat_write_header(mux_, &opts);
    av_dict_free(&opts);
    if (header < 0) {
        error_ = std::string("cannot start the ") + mux_name + " stream: " + av_error(header);
        return false;
    }
    avio_flush(mux_->pb);
    return true;
}

int AudioEncoder::frame_size() const {
    return enc_->frame_size > 0 ? enc_->frame_size : 1024;
}

bool AudioEncoder::make_frame(AVFrame& frame, int samples) const {
    av_frame_unref(&frame);
    frame.format = enc_->sample_fmt;
    frame.sample_rate = enc_->sample_rate;
    av_channel_layout_copy(&frame.ch_layout, &enc_->ch_layout);
    frame.nb_samples = samples;
    return av_frame_get_buffer(&frame, 0) >= 0;
}

bool AudioEncoder::drain() {
    while (true) {
        const int r = avcodec_receive_packet(enc_.get(), pkt_.get());
        if (r == AVERROR(EAGAIN) || r == AVERROR_EOF)
            return true;
        if (r < 0) {
            error_ = "cannot encode: " + av_error(r);
            return false;
        }
        if (pkt_->pts != AV_NOPTS_VALUE)
            muxed_until_ = pkt_->pts + std::max<std::int64_t>(pkt_->duration, 0);
        av_packet_rescale_ts(pkt_.get(), enc_->time_base, st_->time_base);
        pkt_->stream_index = st_->index;
        if (const int w = av_write_frame(mux_, pkt_.get()); w < 0) {
            error_ = "cannot mux: " + av_error(w);
            return false;
        }
    }
}

bool AudioEncoder::send(const AVFrame* frame) {
    if (ended_)
        return false;
    if (const int r = avcodec_send_frame(enc_.get(), frame); r < 0) {
        error_ = "cannot encode: " + av_error(r);
        return false;
    }
    if (!drain())
        return false;
    if (frame == nullptr) {
        ended_ = true;
        av_write_trailer(mux_);
    }
    avio_flush(mux_->pb);
    return true;
}

std::string AudioEncoder::take() {
    return std::exchange(out_, {});
}

}  // namespace alluvium::detail
