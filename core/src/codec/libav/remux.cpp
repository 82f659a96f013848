// Video items remuxed into one MPEG-TS stream with libavformat (the codec module); the
// stream side is TsRemuxer (stream/remux.hpp).
#include "../../common/log.hpp"
#include "../codec.hpp"
#include "libav.hpp"
#include "ts_airing.hpp"

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

constexpr int output_buffer = 188 * 64;  // whole transport packets per write
constexpr int pmt_pid = 0x1000;          // libavformat's default

}  // namespace

struct MuxState {
    CurrentAiring<TsAiring> airing;

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
    impl_->airing.start(std::move(item), offset, bytes_per_second, std::move(item_now),
                        std::move(name), "alluvium-remux");
    impl_->shifted = false;
}

void LibavRemuxer::stop() {
    impl_->airing.stop();
}

void LibavRemuxer::poke() {
    impl_->airing.poke();
}

Remuxer::Take LibavRemuxer::take(Milliseconds until, Milliseconds base, TsChunk& out) {
    const std::shared_ptr<TsAiring> a = impl_->airing.get();
    if (!a)
        return Take::end;
    TsAiring::Due due = a->take(until);
    switch (due.state) {
        case TsAiring::Due::State::error:
            impl_->error = due.error;
            return Take::error;
        case TsAiring::Due::State::end:
            return Take::end;
        case TsAiring::Due::State::waiting:
            return Take::waiting;
        case TsAiring::Due::State::not_due:
            return Take::not_due;
        case TsAiring::Due::State::packets:
            break;
    }
    if (impl_->mux == nullptr || impl_->shape != a->shape) {
        if (!impl_->open_muxer(*a))
            return Take::error;
    }
    out = TsChunk{};
    out.from = due.packets.front().t;
    out.sync = due.packets.front().key || !a->has_video;
    out.tables = due.packets.front().key;
    for (Packet& p : due.packets) {
        out.to = std::max(out.to, std::max(p.end, p.t));
        impl_->write_packet(*a, p.pkt.get(), base);
    }
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
