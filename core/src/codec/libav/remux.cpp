// Video items remuxed into one MPEG-TS stream with libavformat (the codec module); the
// stream side is TsRemuxer (stream/remux.hpp).
#include "../../common/log.hpp"
#include "../codec.hpp"
#include "libav.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavcodec/bsf.h>
#include <libavformat/avformat.h>
}

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace alluvium::detail {
namespace {

constexpr AVRational ts_base{1, 90000};
constexpr AVRational ms_base{1, 1000};
constexpr Milliseconds read_ahead{8000};  // demuxed beyond what the stream has taken
constexpr int input_buffer = 64 * 1024;
constexpr int output_buffer = 188 * 64;  // whole transport packets per write
constexpr std::uint64_t need_step = 256 * 1024;
constexpr int pmt_pid = 0x1000;  // libavformat's default

struct ParametersFree {
    void operator()(AVCodecParameters* p) const { avcodec_parameters_free(&p); }
};
using ParametersPtr = std::unique_ptr<AVCodecParameters, ParametersFree>;
struct IoFree {
    void operator()(AVIOContext* io) const {
        if (io != nullptr)
            av_freep(&io->buffer);
        avio_context_free(&io);
    }
};
using IoPtr = std::unique_ptr<AVIOContext, IoFree>;
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

struct Packet {
    PacketPtr pkt;        // stream_index: the output track; timestamps in 1/90000 s of item time
    Milliseconds t{0};    // item time (decoding order)
    Milliseconds end{0};  // t + duration
    bool key = false;     // a video keyframe
};

}  // namespace

// One airing: an item demuxed from an offset, on a thread of its own.
struct TsAiring {
    ItemSource item;
    Milliseconds offset{0};
    std::uint64_t rate = 0;
    std::function<Milliseconds()> item_now;
    std::string name;

    std::mutex m;
    std::condition_variable cv;
    bool stopping = false;
    bool poked = false;
    bool ready = false;  // tracks and shape are set (and stay so)
    bool done = false;
    std::string error;
    std::vector<ParametersPtr> tracks;  // video first, when there is one
    bool has_video = false;
    std::string shape;  // what the muxer must be opened for
    std::deque<Packet> queue;
    Milliseconds demuxed{0};  // item time of the last packet read
    Milliseconds taken{0};    // item time up to which the stream has taken packets
    std::int64_t zero = 0;    // the item's own timestamp of item time 0, in 1/90000 s
    std::thread thread;

    // Demuxer thread only.
    std::uint64_t pos = 0;
    std::uint64_t needed = UINT64_MAX;  // position of the last need()

    void run();
    void demux();
    void fail(std::string why) {
        std::lock_guard lock(m);
        error = std::move(why);
    }
    int read(std::uint8_t* buf, int size);
    std::int64_t seek(std::int64_t by, int whence);
    bool wait();  // for new bytes or the stream taking packets; false when stopping
    void need();
};

void TsAiring::run() {
    try {
        demux();
    } catch (const std::exception& e) {
        fail(e.what());
    }
    std::lock_guard lock(m);
    done = true;
}

bool TsAiring::wait() {
    std::unique_lock lock(m);
    cv.wait_for(lock, std::chrono::milliseconds(200), [this] { return stopping || poked; });
    poked = false;
    return !stopping;
}

void TsAiring::need() {
    Milliseconds starts_in{0};
    {
        std::lock_guard lock(m);
        if (ready)
            starts_in = std::max(Milliseconds{0}, demuxed - item_now());
    }
    item.need(pos, rate, starts_in);
    needed = pos;
}

int TsAiring::read(std::uint8_t* buf, int size) {
    const std::uint64_t total = item.size();
    if (pos >= total)
        return AVERROR_EOF;
    const auto want = static_cast<std::size_t>(
        std::min<std::uint64_t>(static_cast<std::uint64_t>(size), total - pos));
    for (;;) {
        if (needed == UINT64_MAX || pos < needed || pos >= needed + need_step)
            need();
        const std::size_t n = item.read(pos, reinterpret_cast<char*>(buf), want);
        if (n > 0) {
            pos += n;
            return static_cast<int>(n);
        }
        if (item.failure())
            return AVERROR(EIO);
        if (!wait())
            return AVERROR_EXIT;
        needed = UINT64_MAX;  // ask again: the deadline moves with the clock
    }
}

std::int64_t TsAiring::seek(std::int64_t by, int whence) {
    const auto total = static_cast<std::int64_t>(item.size());
    std::int64_t to = 0;
    switch (whence & ~AVSEEK_FORCE) {
        case AVSEEK_SIZE:
            return total;
        case SEEK_SET:
            to = by;
            break;
        case SEEK_CUR:
            to = static_cast<std::int64_t>(pos) + by;
            break;
        case SEEK_END:
            to = total + by;
            break;
        default:
            return -1;
    }
    if (to < 0)
        return -1;
    pos = static_cast<std::uint64_t>(to);
    return to;
}

void TsAiring::demux() {
    while (item.size() == 0) {
        if (const auto why = item.failure())
            return fail(*why);
        if (!wait())
            return;
    }
    auto* buffer = static_cast<unsigned char*>(av_malloc(input_buffer));
    IoPtr io(avio_alloc_context(
        buffer, input_buffer, 0, this,
        [](void* self, std::uint8_t* b, int n) { return static_cast<TsAiring*>(self)->read(b, n); },
        nullptr,
        [](void* self, std::int64_t o, int w) {
            return static_cast<TsAiring*>(self)->seek(o, w);
        }));
    if (!io) {
        av_free(buffer);
        return fail("out of memory");
    }
    AVFormatContext* raw = avformat_alloc_context();
    raw->pb = io.get();
    raw->flags |= AVFMT_FLAG_CUSTOM_IO;
    // Enough to find the codecs of a transport stream without reading seconds of it.
    raw->probesize = 2 * 1024 * 1024;
    raw->max_analyze_duration = 2 * AV_TIME_BASE;
    if (const int r = avformat_open_input(&raw, name.c_str(), nullptr, nullptr); r < 0) {
        return fail(r == AVERROR_EXIT ? "" : "cannot read it: " + av_error(r));
    }
    InputPtr fmt(raw);
    if (const int r = avformat_find_stream_info(fmt.get(), nullptr); r < 0) {
        return fail(r == AVERROR_EXIT ? "" : "cannot read its streams: " + av_error(r));
    }
    {
        std::lock_guard lock(m);
        if (stopping)
            return;
    }
    int video = av_find_best_stream(fmt.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
    if (video >= 0 && (fmt->streams[video]->disposition & AV_DISPOSITION_ATTACHED_PIC) != 0)
        video = -1;  // cover art, not video
    const int audio = av_find_best_stream(fmt.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
    if (video < 0 && audio < 0)
        return fail("it has no audio or video stream");
    if (video >= 0 && !ts_video(fmt->streams[video]->codecpar->codec_id)) {
        return fail(std::string("its video (") +
                    avcodec_get_name(fmt->streams[video]->codecpar->codec_id) +
                    ") cannot go in MPEG-TS");
    }
    if (audio >= 0 && !ts_audio(fmt->streams[audio]->codecpar->codec_id)) {
        return fail(std::string("its audio (") +
                    avcodec_get_name(fmt->streams[audio]->codecpar->codec_id) +
                    ") cannot go in MPEG-TS");
    }

    // H.264 and HEVC from MP4 or Matroska carry their parameter sets out of band; MPEG-TS
    // wants them in band (Annex B). Input that is Annex B already passes through.
    std::unique_ptr<AVBSFContext, FilterFree> filter;
    if (video >= 0) {
        const AVStream* st = fmt->streams[video];
        const char* name_of = st->codecpar->codec_id == AV_CODEC_ID_H264   ? "h264_mp4toannexb"
                              : st->codecpar->codec_id == AV_CODEC_ID_HEVC ? "hevc_mp4toannexb"
                                                                           : "null";
        AVBSFContext* b = nullptr;
        if (av_bsf_alloc(av_bsf_get_by_name(name_of), &b) < 0)
            return fail("no bitstream filter " + std::string(name_of));
        filter.reset(b);
        avcodec_parameters_copy(b->par_in, st->codecpar);
        b->time_base_in = st->time_base;
        if (const int r = av_bsf_init(b); r < 0)
            return fail("cannot convert its video: " + av_error(r));
    }
    std::vector<int> inputs;  // input stream of each track
    std::string asc;          // AAC's AudioSpecificConfig
    std::string key;
    for (const int index : {video, audio}) {
        if (index < 0)
            continue;
        const AVCodecParameters* from =
            index == video ? filter->par_out : fmt->streams[index]->codecpar;
        ParametersPtr par(avcodec_parameters_alloc());
        avcodec_parameters_copy(par.get(), from);
        if (par->codec_id == AV_CODEC_ID_AAC) {
            // AAC goes in as ADTS frames, whatever carried it (raw in MP4, ADTS in TS), so
            // that the muxer needs no configuration of its own and items can follow each
            // other on one muxer.
            if (par->extradata != nullptr)
                asc.assign(reinterpret_cast<const char*>(par->extradata),
                           static_cast<std::size_t>(par->extradata_size));
            av_freep(&par->extradata);
            par->extradata_size = 0;
        }
        key += std::string(avcodec_get_name(par->codec_id)) + "/" +
               std::to_string(par->sample_rate) + "/" + std::to_string(par->ch_layout.nb_channels) +
               "/";
        if (index == audio && par->extradata != nullptr) {
            key.append(reinterpret_cast<const char*>(par->extradata),
                       static_cast<std::size_t>(par->extradata_size));
        }
        key += ";";
        tracks.push_back(std::move(par));
        inputs.push_back(index);
    }
    const std::int64_t start = fmt->start_time != AV_NOPTS_VALUE ? fmt->start_time : 0;
    // MP4 and Matroska seek to the keyframe before the offset by their index. A transport
    // stream has none: libavformat's search lands at the offset, past the keyframe, and the
    // rest of a short item (a live segment is one GOP) would have nothing to show. Those are
    // read from their start.
    const bool indexed = std::string_view(fmt->iformat->name) != "mpegts";
    if (offset.count() > 0 && (indexed || offset > std::chrono::seconds(30))) {
        const std::int64_t at = start + av_rescale_q(offset.count(), ms_base, AV_TIME_BASE_Q);
        if (const int r = av_seek_frame(fmt.get(), -1, at, AVSEEK_FLAG_BACKWARD); r < 0)
            log().debug("stream: {}: cannot seek to {} ({})", name, format_duration(offset),
                        av_error(r));
    }
    {
        std::lock_guard lock(m);
        has_video = video >= 0;
        shape = std::move(key);
        zero = av_rescale_q(start, AV_TIME_BASE_Q, ts_base);
        taken = offset;
        ready = true;
    }

    bool keyframe_seen = video < 0;
    std::int64_t last_ts = 0;
    const auto enqueue = [&](Packet p) -> bool {
        std::unique_lock lock(m);
        demuxed = p.t;
        queue.push_back(std::move(p));
        cv.wait(lock, [this] { return stopping || demuxed - taken <= read_ahead; });
        return !stopping;
    };
    // Until the offset: what follows the last keyframe (the airing starts there).
    std::vector<Packet> before;
    bool reached = offset.count() <= 0;
    const auto push = [&](PacketPtr pkt, int track) -> bool {
        const AVStream* st = fmt->streams[inputs[static_cast<std::size_t>(track)]];
        const AVRational tb = track == 0 && filter ? filter->time_base_out : st->time_base;
        const std::int64_t own_zero = av_rescale_q(start, AV_TIME_BASE_Q, tb);
        std::int64_t ts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
        ts = ts != AV_NOPTS_VALUE ? ts - own_zero : last_ts;
        last_ts = ts;
        Packet p;
        p.t = Milliseconds{av_rescale_q(ts, tb, ms_base)};
        p.end =
            p.t + Milliseconds{av_rescale_q(std::max<std::int64_t>(pkt->duration, 0), tb, ms_base)};
        p.key = video >= 0 && track == 0 && (pkt->flags & AV_PKT_FLAG_KEY) != 0;
        if (!keyframe_seen && !p.key)
            return true;  // before the first keyframe nothing can be shown
        keyframe_seen = true;
        if (st->codecpar->codec_id == AV_CODEC_ID_AAC &&
            !(pkt->size >= 2 && pkt->data[0] == 0xff && (pkt->data[1] & 0xf0) == 0xf0)) {
            const auto header = adts_header(asc, static_cast<std::size_t>(pkt->size));
            if (!header) {
                fail("its AAC configuration cannot be carried in ADTS");
                return false;
            }
            PacketPtr framed(av_packet_alloc());
            if (av_new_packet(framed.get(), pkt->size + 7) < 0)
                return false;
            std::copy(header->begin(), header->end(), framed->data);
            std::copy(pkt->data, pkt->data + pkt->size, framed->data + 7);
            av_packet_copy_props(framed.get(), pkt.get());
            pkt = std::move(framed);
        }
        if (pkt->pts != AV_NOPTS_VALUE)
            pkt->pts = av_rescale_q(pkt->pts - own_zero, tb, ts_base);
        if (pkt->dts != AV_NOPTS_VALUE)
            pkt->dts = av_rescale_q(pkt->dts - own_zero, tb, ts_base);
        pkt->duration = av_rescale_q(pkt->duration, tb, ts_base);
        pkt->stream_index = track;
        pkt->pos = -1;
        p.pkt = std::move(pkt);
        if (!reached) {
            if (p.t < offset) {
                if (p.key || video < 0)
                    before.clear();
                before.push_back(std::move(p));
                return true;
            }
            reached = true;
            for (Packet& q : before) {
                if (!enqueue(std::move(q)))
                    return false;
            }
            before.clear();
        }
        return enqueue(std::move(p));
    };
    const auto drain = [&]() -> bool {
        for (;;) {
            PacketPtr out(av_packet_alloc());
            if (av_bsf_receive_packet(filter.get(), out.get()) < 0)
                return true;
            if (!push(std::move(out), 0))
                return false;
        }
    };
    for (;;) {
        PacketPtr pkt(av_packet_alloc());
        const int r = av_read_frame(fmt.get(), pkt.get());
        if (r == AVERROR_EXIT)
            return;
        if (r < 0) {
            if (r != AVERROR_EOF)
                log().warn("stream: {}: {} (the rest of it is skipped)", name, av_error(r));
            break;
        }
        const auto found = std::find(inputs.begin(), inputs.end(), pkt->stream_index);
        if (found == inputs.end())
            continue;
        const int track = static_cast<int>(found - inputs.begin());
        if (track == 0 && filter) {
            if (av_bsf_send_packet(filter.get(), pkt.get()) < 0)
                continue;
            if (!drain())
                return;
        } else if (!push(std::move(pkt), track)) {
            return;
        }
    }
    if (filter) {
        av_bsf_send_packet(filter.get(), nullptr);
        if (!drain())
            return;
    }
    for (Packet& q : before) {  // the item ended before the offset
        if (!enqueue(std::move(q)))
            return;
    }
}

struct MuxState {
    std::mutex airing_mutex;  // guards `airing` against poke() from other threads
    std::shared_ptr<TsAiring> airing;

    // The muxer: the producer's thread only.
    AVFormatContext* mux = nullptr;
    std::string shape;
    std::vector<std::int64_t> last_dts;
    std::string out;  // written by the muxer, not yet taken
    std::string pat;
    std::string pmt;
    std::string error;
    // Stream timestamp = the item's own + shift. Items whose own timestamps run on from the
    // previous one's (a live source's segments) keep its shift: one timeline, not one
    // rebased at each schedule start.
    std::int64_t shift = 0;
    bool shifted = false;       // the current airing's shift is set
    std::int64_t own_end = -1;  // the previous airing's last own timestamp + duration

    mutable std::mutex tables_mutex;
    std::shared_ptr<const std::string> tables;

    ~MuxState() { close_muxer(); }

    static int write(void* self, std::uint8_t* buf, int size) {
        auto* impl = static_cast<MuxState*>(self);
        impl->out.append(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(size));
        // Keep the PAT and PMT for listeners who join between them. The muxer repeats them
        // every 100 ms with a new continuity counter (byte 3); only new content counts.
        bool changed = false;
        for (int i = 0; i + 188 <= size; i += 188) {
            if (buf[i] != 0x47)
                continue;
            const int pid = ((buf[i + 1] & 0x1f) << 8) | buf[i + 2];
            std::string* table = pid == 0 ? &impl->pat : pid == pmt_pid ? &impl->pmt : nullptr;
            const auto* packet = reinterpret_cast<const char*>(buf + i);
            if (table != nullptr &&
                (table->empty() || table->compare(4, 184, packet + 4, 184) != 0)) {
                table->assign(packet, 188);
                changed = true;
            }
        }
        if (changed && !impl->pat.empty() && !impl->pmt.empty()) {
            auto t = std::make_shared<const std::string>(impl->pat + impl->pmt);
            std::lock_guard lock(impl->tables_mutex);
            impl->tables = std::move(t);
        }
        return size;
    }

    void close_muxer() {
        if (mux == nullptr)
            return;
        av_write_trailer(mux);
        avio_flush(mux->pb);
        free_muxer();
    }

    void free_muxer() {
        av_freep(&mux->pb->buffer);
        avio_context_free(&mux->pb);
        avformat_free_context(mux);
        mux = nullptr;
        pat.clear();
        pmt.clear();
    }

    bool open_muxer(const TsAiring& a) {
        close_muxer();
        if (avformat_alloc_output_context2(&mux, nullptr, "mpegts", nullptr) < 0) {
            error = "no MPEG-TS muxer";
            return false;
        }
        for (const auto& par : a.tracks) {
            AVStream* st = avformat_new_stream(mux, nullptr);
            avcodec_parameters_copy(st->codecpar, par.get());
            st->codecpar->codec_tag = 0;
            st->time_base = ts_base;
        }
        auto* buffer = static_cast<unsigned char*>(av_malloc(output_buffer));
        mux->pb =
            avio_alloc_context(buffer, output_buffer, 1, this, nullptr, &MuxState::write, nullptr);
        // The tables before every keyframe: a listener joining there needs nothing else.
        AVDictionary* options = nullptr;
        av_dict_set(&options, "mpegts_flags", "+pat_pmt_at_frames", 0);
        const int r = avformat_write_header(mux, &options);
        av_dict_free(&options);
        if (r < 0) {
            error = "cannot start the MPEG-TS stream: " + av_error(r);
            free_muxer();
            return false;
        }
        shape = a.shape;
        // Timestamps keep rising across a new muxer too (video first, then audio).
        last_dts.resize(a.tracks.size(), AV_NOPTS_VALUE);
        return true;
    }

    // `base`: the stream time of the airing's item time 0, by the schedule.
    void write_packet(const TsAiring& a, AVPacket* pkt, Milliseconds base) {
        if (!shifted) {
            const std::int64_t scheduled = base.count() * 90 - a.zero;
            const std::int64_t first = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
            const bool runs_on = own_end >= 0 && first != AV_NOPTS_VALUE &&
                                 std::abs(first + a.zero - own_end) < 90000 &&
                                 std::abs(shift - scheduled) < 2 * 90000;
            shift = runs_on ? shift : scheduled;
            shifted = true;
            own_end = -1;
        }
        if (pkt->dts != AV_NOPTS_VALUE)
            own_end =
                std::max(own_end, pkt->dts + a.zero + std::max<std::int64_t>(pkt->duration, 0));
        // Item-relative timestamps back to the item's own, then onto the stream.
        const std::int64_t by = shift + a.zero;
        if (pkt->pts != AV_NOPTS_VALUE)
            pkt->pts += by;
        if (pkt->dts != AV_NOPTS_VALUE)
            pkt->dts += by;
        // Where one item meets the next, decoding times may overlap by a frame or two
        // (B-frames start before zero); the muxer needs them to rise.
        std::int64_t& last = last_dts[static_cast<std::size_t>(pkt->stream_index)];
        if (pkt->dts != AV_NOPTS_VALUE && last != AV_NOPTS_VALUE && pkt->dts <= last) {
            pkt->dts = last + 1;
            if (pkt->pts != AV_NOPTS_VALUE && pkt->pts < pkt->dts)
                pkt->pts = pkt->dts;
        }
        if (pkt->dts != AV_NOPTS_VALUE)
            last = pkt->dts;
        av_packet_rescale_ts(pkt, ts_base, mux->streams[pkt->stream_index]->time_base);
        if (const int r = av_write_frame(mux, pkt); r < 0)
            log().debug("stream: a packet was not muxed: {}", av_error(r));
        avio_flush(mux->pb);
    }
};

class LibavRemuxer final : public Remuxer {
  public:
    ~LibavRemuxer() override { stop(); }
    void start(ItemSource item, Milliseconds offset, std::uint64_t bytes_per_second,
               std::function<Milliseconds()> item_now, std::string name) override;
    void stop() override;
    void poke() override;
    Take take(Milliseconds until, Milliseconds base, TsChunk& out) override;
    [[nodiscard]] std::string error() const override;
    [[nodiscard]] std::shared_ptr<const std::string> tables() const override;

  private:
    std::unique_ptr<MuxState> impl_ = std::make_unique<MuxState>();
};

void LibavRemuxer::start(ItemSource item, Milliseconds offset, std::uint64_t bytes_per_second,
                         std::function<Milliseconds()> item_now, std::string name) {
    stop();
    auto a = std::make_shared<TsAiring>();
    a->item = std::move(item);
    a->offset = offset;
    a->rate = bytes_per_second;
    a->item_now = std::move(item_now);
    a->name = std::move(name);
    a->thread = std::thread([a] { a->run(); });
    std::lock_guard lock(impl_->airing_mutex);
    impl_->airing = std::move(a);
    impl_->shifted = false;
}

void LibavRemuxer::stop() {
    std::shared_ptr<TsAiring> a;
    {
        std::lock_guard lock(impl_->airing_mutex);
        a = std::move(impl_->airing);
    }
    if (!a)
        return;
    {
        std::lock_guard lock(a->m);
        a->stopping = true;
    }
    a->cv.notify_all();
    a->thread.join();
}

void LibavRemuxer::poke() {
    std::shared_ptr<TsAiring> a;
    {
        std::lock_guard lock(impl_->airing_mutex);
        a = impl_->airing;
    }
    if (!a)
        return;
    {
        std::lock_guard lock(a->m);
        a->poked = true;
    }
    a->cv.notify_all();
}

Remuxer::Take LibavRemuxer::take(Milliseconds until, Milliseconds base, TsChunk& out) {
    std::shared_ptr<TsAiring> a;
    {
        std::lock_guard lock(impl_->airing_mutex);
        a = impl_->airing;
    }
    if (!a)
        return Take::end;
    std::unique_lock lock(a->m);
    if (!a->error.empty()) {
        impl_->error = a->error;
        return Take::error;
    }
    if (!a->ready)
        return a->done ? Take::end : Take::waiting;
    if (until > a->taken) {
        a->taken = until;
        a->cv.notify_all();
    }
    if (a->queue.empty())
        return a->done ? Take::end : Take::waiting;
    if (a->queue.front().t >= until)
        return Take::not_due;
    if (impl_->mux == nullptr || impl_->shape != a->shape) {
        if (!impl_->open_muxer(*a))
            return Take::error;
    }
    out = TsChunk{};
    out.from = a->queue.front().t;
    out.sync = a->queue.front().key || !a->has_video;
    out.tables = a->queue.front().key;
    bool first = true;
    while (!a->queue.empty() && a->queue.front().t < until && (first || !a->queue.front().key)) {
        Packet p = std::move(a->queue.front());
        a->queue.pop_front();
        out.to = std::max(out.to, std::max(p.end, p.t));
        impl_->write_packet(*a, p.pkt.get(), base);
        first = false;
    }
    a->cv.notify_all();
    lock.unlock();
    out.bytes = std::move(impl_->out);
    impl_->out.clear();
    return Take::chunk;
}

std::string LibavRemuxer::error() const {
    return impl_->error;
}

std::shared_ptr<const std::string> LibavRemuxer::tables() const {
    std::lock_guard lock(impl_->tables_mutex);
    return impl_->tables;
}

std::unique_ptr<Remuxer> libav_remuxer() {
    return std::make_unique<LibavRemuxer>();
}

}  // namespace alluvium::detail
