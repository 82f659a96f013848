// The demuxing side of a video airing (ts_airing.hpp): reading the item through the swarm,
// choosing its tracks and queueing its packets for the muxer.
#include "ts_airing.hpp"

#include "../../common/log.hpp"

extern "C" {
#include <libavcodec/bsf.h>
}

#include <algorithm>
#include <cstdio>
#include <string_view>
#include <utility>

namespace alluvium::detail {
namespace {

struct FilterFree {
    void operator()(AVBSFContext* b) const { av_bsf_free(&b); }
};

// What MPEG-TS carries (ISO/IEC 13818-1 stream types that players know).
bool ts_video(AVCodecID id) {
    return id == AV_CODEC_ID_H264 || id == AV_CODEC_ID_HEVC || id == AV_CODEC_ID_MPEG2VIDEO ||
           id == AV_CODEC_ID_MPEG1VIDEO;
}
bool ts_audio(AVCodecID id) {
    return id == AV_CODEC_ID_AAC || id == AV_CODEC_ID_MP3 || id == AV_CODEC_ID_MP2 ||
           id == AV_CODEC_ID_AC3 || id == AV_CODEC_ID_EAC3 || id == AV_CODEC_ID_OPUS;
}

}  // namespace

TsAiring::Due TsAiring::take(Milliseconds until) {
    Due due;
    std::unique_lock lock(m);
    if (!error.empty()) {
        due.state = Due::State::error;
        due.error = error;
        return due;
    }
    if (!ready || queue.empty()) {
        if (ready && until > taken) {
            taken = until;
            cv.notify_all();  // the demuxer reads ahead of what is taken
        }
        due.state = done ? Due::State::end : Due::State::waiting;
        return due;
    }
    if (until > taken) {
        taken = until;
        cv.notify_all();
    }
    if (queue.front().t >= until) {
        due.state = Due::State::not_due;
        return due;
    }
    due.state = Due::State::packets;
    bool first = true;
    while (!queue.empty() && queue.front().t < until && (first || !queue.front().key)) {
        due.packets.push_back(std::move(queue.front()));
        queue.pop_front();
        first = false;
    }
    cv.notify_all();
    return due;
}

namespace {

// The demuxer's work for one airing (on the airing's thread): opens the item, picks its
// tracks, then reads packets into the airing's queue.
class TsDemux {
  public:
    explicit TsDemux(TsAiring& a) : a_(a) {}
    void run();

  private:
    bool open();             // false: failed or stopping (said so)
    bool choose_streams();   // sets video_, audio_ and the bitstream filter
    void describe_tracks();  // the airing's tracks and shape
    void seek_to_offset();
    bool push(PacketPtr pkt, int track);  // false: stop reading
    bool frame_aac(PacketPtr& pkt);       // raw AAC into ADTS
    bool enqueue(Packet p);
    bool drain();  // what the bitstream filter has ready
    bool read_all();

    TsAiring& a_;
    IoPtr io_;
    InputPtr fmt_;
    std::unique_ptr<AVBSFContext, FilterFree> filter_;
    int video_ = -1;
    int audio_ = -1;
    std::vector<int> inputs_;  // input stream of each track
    std::string asc_;          // AAC's AudioSpecificConfig
    std::int64_t start_ = 0;   // the item's first timestamp, in AV_TIME_BASE units
    bool keyframe_seen_ = false;
    std::int64_t last_ts_ = 0;
    std::vector<Packet> before_;  // until the offset: what follows the last keyframe
    bool reached_ = false;
};

bool TsDemux::open() {
    // Enough to find the codecs of a transport stream without reading seconds of it.
    return a_.open_input(io_, fmt_, 2 * 1024 * 1024);
}

bool TsDemux::choose_streams() {
    AVFormatContext* fmt = fmt_.get();
    video_ = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
    if (video_ >= 0 && (fmt->streams[video_]->disposition & AV_DISPOSITION_ATTACHED_PIC) != 0)
        video_ = -1;  // cover art, not video
    audio_ = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
    std::string problem;
    if (video_ < 0 && audio_ < 0)
        problem = "it has no audio or video stream";
    else if (video_ >= 0 && !ts_video(fmt->streams[video_]->codecpar->codec_id))
        problem = std::string("its video (") +
                  avcodec_get_name(fmt->streams[video_]->codecpar->codec_id) +
                  ") cannot go in MPEG-TS";
    else if (audio_ >= 0 && !ts_audio(fmt->streams[audio_]->codecpar->codec_id))
        problem = std::string("its audio (") +
                  avcodec_get_name(fmt->streams[audio_]->codecpar->codec_id) +
                  ") cannot go in MPEG-TS";
    if (!problem.empty()) {
        a_.fail(problem);
        return false;
    }
    if (video_ < 0)
        return true;
    // H.264 and HEVC from MP4 or Matroska carry their parameter sets out of band; MPEG-TS
    // wants them in band (Annex B). Input that is Annex B already passes through.
    const AVStream* st = fmt->streams[video_];
    const char* name_of = st->codecpar->codec_id == AV_CODEC_ID_H264   ? "h264_mp4toannexb"
                          : st->codecpar->codec_id == AV_CODEC_ID_HEVC ? "hevc_mp4toannexb"
                                                                       : "null";
    AVBSFContext* b = nullptr;
    if (av_bsf_alloc(av_bsf_get_by_name(name_of), &b) < 0) {
        a_.fail("no bitstream filter " + std::string(name_of));
        return false;
    }
    filter_.reset(b);
    avcodec_parameters_copy(b->par_in, st->codecpar);
    b->time_base_in = st->time_base;
    if (const int r = av_bsf_init(b); r < 0) {
        a_.fail("cannot convert its video: " + av_error(r));
        return false;
    }
    return true;
}

void TsDemux::describe_tracks() {
    std::string key;
    for (const int index : {video_, audio_}) {
        if (index < 0)
            continue;
        const AVCodecParameters* from =
            index == video_ ? filter_->par_out : fmt_->streams[index]->codecpar;
        ParametersPtr par(avcodec_parameters_alloc());
        avcodec_parameters_copy(par.get(), from);
        if (par->codec_id == AV_CODEC_ID_AAC) {
            // AAC goes in as ADTS frames, whatever carried it (raw in MP4, ADTS in TS), so
            // that the muxer needs no configuration of its own and items can follow each
            // other on one muxer.
            if (par->extradata != nullptr)
                asc_.assign(reinterpret_cast<const char*>(par->extradata),
                            static_cast<std::size_t>(par->extradata_size));
            av_freep(&par->extradata);
            par->extradata_size = 0;
        }
        key += std::string(avcodec_get_name(par->codec_id)) + "/" +
               std::to_string(par->sample_rate) + "/" + std::to_string(par->ch_layout.nb_channels) +
               "/";
        if (index == audio_ && par->extradata != nullptr) {
            key.append(reinterpret_cast<const char*>(par->extradata),
                       static_cast<std::size_t>(par->extradata_size));
        }
        key += ";";
        a_.tracks.push_back(std::move(par));
        inputs_.push_back(index);
    }
    start_ = fmt_->start_time != AV_NOPTS_VALUE ? fmt_->start_time : 0;
    std::lock_guard lock(a_.m);
    a_.has_video = video_ >= 0;
    a_.shape = std::move(key);
    a_.zero = av_rescale_q(start_, AV_TIME_BASE_Q, ts_base);
    a_.taken = a_.offset;
    a_.ready = true;
}

void TsDemux::seek_to_offset() {
    // MP4 and Matroska seek to the keyframe before the offset by their index. A transport
    // stream has none: libavformat's search lands at the offset, past the keyframe, and the
    // rest of a short item (a live segment is one GOP) would have nothing to show. Those are
    // read from their start.
    const bool indexed = std::string_view(fmt_->iformat->name) != "mpegts";
    const Milliseconds offset = a_.offset;
    if (offset.count() > 0 && (indexed || offset > std::chrono::seconds(30))) {
        const std::int64_t at = start_ + av_rescale_q(offset.count(), ms_base, AV_TIME_BASE_Q);
        if (const int r = av_seek_frame(fmt_.get(), -1, at, AVSEEK_FLAG_BACKWARD); r < 0)
            log().debug("stream: {}: cannot seek to {} ({})", a_.name, format_duration(offset),
                        av_error(r));
    }
}

bool TsDemux::enqueue(Packet p) {
    std::unique_lock lock(a_.m);
    const Milliseconds t = p.t;
    const bool first = a_.queue.empty();
    a_.queue.push_back(std::move(p));
    return a_.pace(t, first, lock);
}

bool TsDemux::frame_aac(PacketPtr& pkt) {
    if (pkt->size >= 2 && pkt->data[0] == 0xff && (pkt->data[1] & 0xf0) == 0xf0)
        return true;  // ADTS already
    const auto header = adts_header(asc_, static_cast<std::size_t>(pkt->size));
    if (!header) {
        a_.fail("its AAC configuration cannot be carried in ADTS");
        return false;
    }
    PacketPtr framed(av_packet_alloc());
    if (av_new_packet(framed.get(), pkt->size + 7) < 0)
        return false;
    std::copy(header->begin(), header->end(), framed->data);
    std::copy(pkt->data, pkt->data + pkt->size, framed->data + 7);
    av_packet_copy_props(framed.get(), pkt.get());
    pkt = std::move(framed);
    return true;
}

bool TsDemux::push(PacketPtr pkt, int track) {
    const AVStream* st = fmt_->streams[inputs_[static_cast<std::size_t>(track)]];
    const AVRational tb = track == 0 && filter_ ? filter_->time_base_out : st->time_base;
    const std::int64_t own_zero = av_rescale_q(start_, AV_TIME_BASE_Q, tb);
    std::int64_t ts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
    ts = ts != AV_NOPTS_VALUE ? ts - own_zero : last_ts_;
    last_ts_ = ts;
    Packet p;
    p.t = Milliseconds{av_rescale_q(ts, tb, ms_base)};
    p.end = p.t + Milliseconds{av_rescale_q(std::max<std::int64_t>(pkt->duration, 0), tb, ms_base)};
    p.key = video_ >= 0 && track == 0 && (pkt->flags & AV_PKT_FLAG_KEY) != 0;
    if (!keyframe_seen_ && !p.key)
        return true;  // before the first keyframe nothing can be shown
    keyframe_seen_ = true;
    if (st->codecpar->codec_id == AV_CODEC_ID_AAC && !frame_aac(pkt))
        return false;
    if (pkt->pts != AV_NOPTS_VALUE)
        pkt->pts = av_rescale_q(pkt->pts - own_zero, tb, ts_base);
    if (pkt->dts != AV_NOPTS_VALUE)
        pkt->dts = av_rescale_q(pkt->dts - own_zero, tb, ts_base);
    pkt->duration = av_rescale_q(pkt->duration, tb, ts_base);
    pkt->stream_index = track;
    pkt->pos = -1;
    p.pkt = std::move(pkt);
    if (!reached_) {
        if (p.t < a_.offset) {
            if (p.key || video_ < 0)
                before_.clear();
            before_.push_back(std::move(p));
            return true;
        }
        reached_ = true;
        for (Packet& q : before_) {
            if (!enqueue(std::move(q)))
                return false;
        }
        before_.clear();
    }
    return enqueue(std::move(p));
}

bool TsDemux::drain() {
    for (;;) {
        PacketPtr out(av_packet_alloc());
        if (av_bsf_receive_packet(filter_.get(), out.get()) < 0)
            return true;
        if (!push(std::move(out), 0))
            return false;
    }
}

bool TsDemux::read_all() {
    for (;;) {
        PacketPtr pkt(av_packet_alloc());
        const int r = av_read_frame(fmt_.get(), pkt.get());
        if (r == AVERROR_EXIT)
            return false;
        if (r < 0) {
            if (r != AVERROR_EOF)
                log().warn("stream: {}: {} (the rest of it is skipped)", a_.name, av_error(r));
            break;
        }
        const auto found = std::find(inputs_.begin(), inputs_.end(), pkt->stream_index);
        if (found == inputs_.end())
            continue;
        const int track = static_cast<int>(found - inputs_.begin());
        if (track == 0 && filter_) {
            if (av_bsf_send_packet(filter_.get(), pkt.get()) < 0)
                continue;
            if (!drain())
                return false;
        } else if (!push(std::move(pkt), track)) {
            return false;
        }
    }
    if (filter_) {
        av_bsf_send_packet(filter_.get(), nullptr);
        if (!drain())
            return false;
    }
    return true;
}

void TsDemux::run() {
    if (!open() || !choose_streams())
        return;
    describe_tracks();
    seek_to_offset();
    keyframe_seen_ = video_ < 0;
    reached_ = a_.offset.count() <= 0;
    if (!read_all())
        return;
    for (Packet& q : before_) {  // the item ended before the offset
        if (!enqueue(std::move(q)))
            return;
    }
}

}  // namespace

void TsAiring::work() {
    TsDemux(*this).run();
}

}  // namespace alluvium::detail
