// Cutting a live source into self-contained segments with libavformat (no re-encoding).
#include "segmenter.hpp"

#include "stop_signal.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/mathematics.h>
}

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <thread>

namespace alluvium::broadcaster {
namespace {

namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

std::string av_error(int code) {
    char buf[AV_ERROR_MAX_STRING_SIZE] = {};
    av_strerror(code, buf, sizeof buf);
    return buf;
}

struct OutputFormat {
    const char* muxer;
    const char* extension;
    const char* mime_type;
};

// The container a segment is written in: one every player opens, that carries the source's
// codecs as they are, and whose segments decode without their neighbours.
std::optional<OutputFormat> output_for(AVCodecID video, AVCodecID audio) {
    const bool no_audio = audio == AV_CODEC_ID_NONE;
    if (video != AV_CODEC_ID_NONE) {
        const bool ts_video = video == AV_CODEC_ID_H264 || video == AV_CODEC_ID_HEVC ||
                              video == AV_CODEC_ID_MPEG2VIDEO;
        const bool ts_audio = no_audio || audio == AV_CODEC_ID_AAC || audio == AV_CODEC_ID_MP3 ||
                              audio == AV_CODEC_ID_MP2 || audio == AV_CODEC_ID_AC3;
        if (ts_video && ts_audio)
            return OutputFormat{"mpegts", ".ts", "video/mp2t"};
        const bool webm_video =
            video == AV_CODEC_ID_VP8 || video == AV_CODEC_ID_VP9 || video == AV_CODEC_ID_AV1;
        const bool webm_audio =
            no_audio || audio == AV_CODEC_ID_OPUS || audio == AV_CODEC_ID_VORBIS;
        if (webm_video && webm_audio)
            return OutputFormat{"webm", ".webm", "video/webm"};
        return std::nullopt;
    }
    switch (audio) {
        case AV_CODEC_ID_MP3:
            return OutputFormat{"mp3", ".mp3", "audio/mpeg"};
        case AV_CODEC_ID_AAC:
            return OutputFormat{"adts", ".aac", "audio/aac"};
        case AV_CODEC_ID_OPUS:
            return OutputFormat{"ogg", ".opus", "audio/ogg"};
        case AV_CODEC_ID_VORBIS:
            return OutputFormat{"ogg", ".ogg", "audio/ogg"};
        default:
            return std::nullopt;
    }
}

}  // namespace

struct Segmenter::Impl {
    SegmenterOptions o;
    AVFormatContext* in = nullptr;
    int video = -1;
    int audio = -1;
    int master = -1;  // the stream that decides cuts: video (keyframes) if any, else audio
    OutputFormat format{};
    unsigned number = 1;
    bool stopped = false;
    std::string reason;
    Steady::time_point read_deadline{};

    // The capture clock: when the first packet of this opening arrived, and its timestamp.
    std::int64_t anchor_us = AV_NOPTS_VALUE;
    TimePoint anchor_wall{};
    Steady::time_point anchor_steady{};

    // The segment being written.
    AVFormatContext* out = nullptr;
    int out_index[2] = {-1, -1};  // output stream of `video`, `audio`
    fs::path temp;
    fs::path final_path;
    std::int64_t first_us = AV_NOPTS_VALUE;  // first master timestamp in it
    std::int64_t end_us = AV_NOPTS_VALUE;    // end of its last master packet
    AVPacket* pending = nullptr;             // read, belongs to the next segment
    bool has_pending = false;

    ~Impl() {
        abandon_segment();
        av_packet_free(&pending);
        close_input();
    }

    static int interrupted(void* self) {
        const auto* i = static_cast<Impl*>(self);
        const bool cancelled = i->o.cancel != nullptr && i->o.cancel->requested();
        return cancelled || Steady::now() > i->read_deadline ? 1 : 0;
    }

    void close_input() {
        if (in != nullptr)
            avformat_close_input(&in);
        video = audio = master = -1;
    }

    void open() {
        close_input();
        stopped = false;
        reason.clear();
        anchor_us = AV_NOPTS_VALUE;
        has_pending = false;
        in = avformat_alloc_context();
        if (in == nullptr)
            throw std::runtime_error("out of memory");
        in->interrupt_callback = {&Impl::interrupted, this};
        read_deadline = Steady::now() + o.stall_timeout;
        const std::string url = o.input == "-" ? "pipe:0" : o.input;
        const AVInputFormat* demuxer = nullptr;
        if (!o.input_format.empty()) {
            demuxer = av_find_input_format(o.input_format.c_str());
            if (demuxer == nullptr)
                throw std::runtime_error(o.input + ": unknown input format '" + o.input_format +
                                         "'");
        }
        int rc = avformat_open_input(&in, url.c_str(), demuxer, nullptr);
        if (rc < 0) {
            in = nullptr;  // freed by libavformat on failure
            throw std::runtime_error(o.input + ": " + av_error(rc));
        }
        read_deadline = Steady::now() + o.stall_timeout;
        rc = avformat_find_stream_info(in, nullptr);
        if (rc < 0)
            throw std::runtime_error(o.input + ": " + av_error(rc));
        video = av_find_best_stream(in, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
        audio = av_find_best_stream(in, AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
        video = std::max(video, -1);
        audio = std::max(audio, -1);
        // Cover art is a video stream of one picture: not video.
        if (video >= 0 && (in->streams[video]->disposition & AV_DISPOSITION_ATTACHED_PIC))
            video = -1;
        if (video < 0 && audio < 0)
            throw std::runtime_error(o.input + ": no audio or video stream");
        master = video >= 0 ? video : audio;
        const auto codec = [&](int s) {
            return s >= 0 ? in->streams[s]->codecpar->codec_id : AV_CODEC_ID_NONE;
        };
        const auto chosen = output_for(codec(video), codec(audio));
        if (!chosen) {
            std::string what = video >= 0 ? avcodec_get_name(codec(video)) : "";
            if (audio >= 0)
                what += std::string(what.empty() ? "" : " + ") + avcodec_get_name(codec(audio));
            throw std::runtime_error(o.input + ": " + what +
                                     " cannot be cut without re-encoding (supported: MP3, "
                                     "AAC, Opus, Vorbis; H.264/HEVC in MPEG-TS; VP8/VP9 in "
                                     "WebM)");
        }
        format = *chosen;
    }

    std::int64_t to_us(const AVPacket* p, std::int64_t ts) const {
        return av_rescale_q(ts, in->streams[p->stream_index]->time_base, AV_TIME_BASE_Q);
    }

    void open_segment(std::int64_t at_us) {
        char name[32];
        std::snprintf(name, sizeof name, "%06u", number);
        final_path = o.dir / (o.prefix + name + format.extension);
        temp = o.dir / ("." + final_path.filename().string() + ".part");
        int rc = avformat_alloc_output_context2(&out, nullptr, format.muxer, temp.c_str());
        if (rc < 0 || out == nullptr)
            throw std::runtime_error(temp.string() + ": " + av_error(rc));
        const int streams[2] = {video, audio};
        for (int k = 0; k < 2; ++k) {
            out_index[k] = -1;
            if (streams[k] < 0)
                continue;
            AVStream* s = avformat_new_stream(out, nullptr);
            if (s == nullptr)
                throw std::runtime_error("out of memory");
            avcodec_parameters_copy(s->codecpar, in->streams[streams[k]]->codecpar);
            s->codecpar->codec_tag = 0;
            s->time_base = in->streams[streams[k]]->time_base;
            out_index[k] = s->index;
        }
        rc = avio_open(&out->pb, temp.c_str(), AVIO_FLAG_WRITE);
        if (rc < 0)
            throw std::runtime_error(temp.string() + ": " + av_error(rc));
        AVDictionary* options = nullptr;
        // A bare stream of frames: no ID3 tag or Xing frame that claims a length.
        av_dict_set(&options, "id3v2_version", "0", 0);
        av_dict_set(&options, "write_xing", "0", 0);
        rc = avformat_write_header(out, &options);
        av_dict_free(&options);
        if (rc < 0)
            throw std::runtime_error(temp.string() + ": " + av_error(rc));
        first_us = at_us;
        end_us = at_us;
    }

    void write(AVPacket* p) {
        const int k = p->stream_index == video ? 0 : 1;
        AVStream* s = out->streams[out_index[k]];
        av_packet_rescale_ts(p, in->streams[p->stream_index]->time_base, s->time_base);
        p->stream_index = out_index[k];
        p->pos = -1;
        const int rc = av_interleaved_write_frame(out, p);
        if (rc < 0)
            throw std::runtime_error(temp.string() + ": " + av_error(rc));
    }

    Segment close_segment(std::int64_t next_us) {
        const int rc = av_write_trailer(out);
        avio_closep(&out->pb);
        avformat_free_context(out);
        out = nullptr;
        if (rc < 0)
            throw std::runtime_error(temp.string() + ": " + av_error(rc));
        fs::rename(temp, final_path);
        Segment seg;
        seg.number = number++;
        seg.file = final_path;
        seg.mime_type = format.mime_type;
        seg.bytes = fs::file_size(final_path);
        // Both ends on the capture clock, rounded alike: each segment ends exactly where
        // the next begins, so a schedule of them has no gap and no overlap.
        const auto on_clock = [&](std::int64_t us) {
            return Milliseconds{(us - anchor_us + 500) / 1000};
        };
        seg.start = anchor_wall + on_clock(first_us);
        seg.duration = on_clock(next_us) - on_clock(first_us);
        first_us = AV_NOPTS_VALUE;
        return seg;
    }

    void abandon_segment() {
        if (out == nullptr)
            return;
        avio_closep(&out->pb);
        avformat_free_context(out);
        out = nullptr;
        std::error_code ec;
        fs::remove(temp, ec);
    }

    std::optional<Segment> next() {
        if (stopped)
            return std::nullopt;
        if (pending == nullptr)
            pending = av_packet_alloc();
        AVPacket* p = av_packet_alloc();
        const auto free_p = [&] { av_packet_free(&p); };
        const std::int64_t length_us = o.length.count() * 1000;
        while (true) {
            if (has_pending) {
                av_packet_move_ref(p, pending);
                has_pending = false;
            } else {
                read_deadline = Steady::now() + o.stall_timeout;
                const int rc = av_read_frame(in, p);
                if (rc < 0) {
                    stopped = true;
                    const bool cancelled = o.cancel != nullptr && o.cancel->requested();
                    reason =
                        cancelled           ? "stopped"
                        : rc == AVERROR_EOF ? "the source ended"
                        : rc == AVERROR_EXIT
                            ? "no data for " + std::to_string(o.stall_timeout.count() / 1000) + " s"
                            : av_error(rc);
                    free_p();
                    if (out != nullptr && end_us > first_us)
                        return close_segment(end_us);  // the last, shorter segment
                    abandon_segment();
                    return std::nullopt;
                }
            }
            if (p->stream_index != video && p->stream_index != audio) {
                av_packet_unref(p);
                continue;
            }
            const std::int64_t ts = p->pts != AV_NOPTS_VALUE ? p->pts : p->dts;
            if (p->stream_index == master && ts != AV_NOPTS_VALUE) {
                const std::int64_t us = to_us(p, ts);
                if (anchor_us == AV_NOPTS_VALUE) {
                    anchor_us = us;
                    anchor_wall = std::chrono::time_point_cast<Milliseconds>(
                        std::chrono::system_clock::now());
                    anchor_steady = Steady::now();
                }
                if (o.pace) {
                    const auto due = anchor_steady + std::chrono::microseconds(us - anchor_us);
                    // Real time: the packet's deadline (a stop request ends the wait).
                    if (o.cancel != nullptr)
                        o.cancel->sleep_until(due);
                    else
                        std::this_thread::sleep_until(due);
                }
                const bool cut_point = p->stream_index != video || (p->flags & AV_PKT_FLAG_KEY);
                if (cut_point && out != nullptr && us - first_us >= length_us) {
                    av_packet_move_ref(pending, p);
                    has_pending = true;
                    free_p();
                    return close_segment(us);
                }
                if (cut_point && out == nullptr)
                    open_segment(us);
                if (out != nullptr) {
                    const std::int64_t duration = p->duration > 0 ? to_us(p, p->duration) : 0;
                    end_us = std::max(end_us, us + duration);
                }
            }
            if (out == nullptr) {
                av_packet_unref(p);  // before the first cut point (a keyframe)
                continue;
            }
            write(p);
        }
    }
};

Segmenter::Segmenter(SegmenterOptions options) : impl_(std::make_unique<Impl>()) {
    impl_->o = std::move(options);
    impl_->number = impl_->o.first_number;
    impl_->open();
}

Segmenter::~Segmenter() = default;

std::optional<Segment> Segmenter::next() {
    return impl_->next();
}

void Segmenter::reopen() {
    impl_->abandon_segment();
    impl_->open();
}

std::string Segmenter::describe() const {
    const Impl& i = *impl_;
    std::string text;
    for (int s : {i.video, i.audio}) {
        if (s < 0)
            continue;
        const AVCodecParameters* c = i.in->streams[s]->codecpar;
        if (!text.empty())
            text += " + ";
        text += avcodec_get_name(c->codec_id);
        if (c->codec_type == AVMEDIA_TYPE_VIDEO) {
            text += " " + std::to_string(c->width) + "x" + std::to_string(c->height);
        } else {
            text += " " + std::to_string(c->sample_rate) + " Hz " +
                    std::to_string(c->ch_layout.nb_channels) + " ch";
        }
        if (c->bit_rate > 0)
            text += " " + std::to_string(c->bit_rate / 1000) + " kb/s";
    }
    return text + " -> " + i.format.extension;
}

std::string Segmenter::stop_reason() const {
    return impl_->reason;
}

unsigned Segmenter::next_number() const {
    return impl_->number;
}

}  // namespace alluvium::broadcaster
