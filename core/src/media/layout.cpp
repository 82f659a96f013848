// Media layouts: the time -> byte map of a file, from a full demux with libavformat.
#include <alluvium/error.hpp>
#include <alluvium/media.hpp>

#include "libav.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
}

#include <algorithm>
#include <memory>

namespace alluvium {
namespace {

using detail::av_error;
using detail::InputPtr;
using detail::PacketPtr;

}  // namespace

bool MediaLayout::concatenable() const {
    return (container == "mp3" && codec == "mp3") || (container == "aac" && codec == "aac") ||
           (container == "ogg" && (codec == "vorbis" || codec == "opus"));
}

std::uint64_t MediaLayout::byte_at(Milliseconds t) const {
    if (t <= Milliseconds{0}) {
        return data_start;
    }
    if (!index.empty() && index_interval.count() > 0) {
        const auto k = static_cast<std::size_t>(t / index_interval);
        if (k >= index.size()) {
            return data_end;
        }
        // Between two index points bytes are spread evenly; the caller resyncs to a frame.
        const std::uint64_t a = index[k];
        const std::uint64_t b = k + 1 < index.size() ? index[k + 1] : data_end;
        const auto within = t - index_interval * static_cast<std::int64_t>(k);
        if (within.count() == 0 || b <= a) {
            return a;
        }
        return a + (b - a) * static_cast<std::uint64_t>(within.count()) /
                       static_cast<std::uint64_t>(index_interval.count());
    }
    if (duration.count() <= 0 || data_end <= data_start) {
        return data_start;
    }
    const auto span = data_end - data_start;
    const auto ms = static_cast<std::uint64_t>(std::min(t, duration).count());
    return data_start + span * ms / static_cast<std::uint64_t>(duration.count());
}

Milliseconds MediaLayout::time_at(std::uint64_t offset) const {
    if (offset <= data_start) {
        return Milliseconds{0};
    }
    if (!index.empty() && index_interval.count() > 0) {
        const auto after = std::upper_bound(index.begin(), index.end(), offset);
        const auto k = static_cast<std::int64_t>(std::distance(index.begin(), after)) - 1;
        if (k < 0) {
            return Milliseconds{0};
        }
        const std::uint64_t a = index[static_cast<std::size_t>(k)];
        const std::uint64_t b = static_cast<std::size_t>(k + 1) < index.size()
                                    ? index[static_cast<std::size_t>(k + 1)]
                                    : data_end;
        Milliseconds t = index_interval * k;
        if (b > a) {
            t += Milliseconds{static_cast<std::int64_t>(
                (std::min(offset, b) - a) * static_cast<std::uint64_t>(index_interval.count()) /
                (b - a))};
        }
        return std::min(t, duration);
    }
    if (data_end <= data_start) {
        return Milliseconds{0};
    }
    const auto span = data_end - data_start;
    return Milliseconds{static_cast<std::int64_t>((std::min(offset, data_end) - data_start) *
                                                  static_cast<std::uint64_t>(duration.count()) /
                                                  span)};
}

std::optional<MediaLayout> index_media(const std::string& path, std::error_code& ec,
                                       std::string* detail) {
    // probe_media sets up libavformat's logging and checks the file exists.
    const auto info = probe_media(path, ec, detail, ProbeOptions{false, Milliseconds{15000}});
    if (!info) {
        return std::nullopt;
    }
    const auto fail = [&](std::string why) -> std::optional<MediaLayout> {
        ec = errc::unsupported_media;
        if (detail != nullptr)
            *detail = std::move(why);
        return std::nullopt;
    };
    AVFormatContext* raw = nullptr;
    if (const int r = avformat_open_input(&raw, path.c_str(), nullptr, nullptr); r < 0) {
        return fail(av_error(r));
    }
    InputPtr fmt(raw);
    if (const int r = avformat_find_stream_info(fmt.get(), nullptr); r < 0) {
        return fail(av_error(r));
    }
    const int stream = av_find_best_stream(fmt.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
    if (stream < 0) {
        return fail("no audio stream");
    }
    const AVStream* st = fmt->streams[stream];
    MediaLayout layout;
    layout.container = fmt->iformat->name;
    layout.codec = avcodec_get_name(st->codecpar->codec_id);
    layout.sample_rate = st->codecpar->sample_rate;
    layout.channels = st->codecpar->ch_layout.nb_channels;
    layout.bit_rate = fmt->bit_rate;
    layout.data_end = info->size_bytes;

    PacketPtr pkt(av_packet_alloc());
    std::int64_t first_ts = AV_NOPTS_VALUE;
    std::int64_t last_end_ts = AV_NOPTS_VALUE;
    std::int64_t last_pos_end = -1;
    bool first = true;
    const AVRational ms{1, 1000};
    while (av_read_frame(fmt.get(), pkt.get()) >= 0) {
        if (pkt->stream_index == stream && pkt->pos >= 0) {
            const std::int64_t ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
            if (first) {
                layout.data_start = static_cast<std::uint64_t>(pkt->pos);
                first = false;
            }
            if (ts != AV_NOPTS_VALUE) {
                if (first_ts == AV_NOPTS_VALUE)
                    first_ts = ts;
                const std::int64_t t_ms = av_rescale_q(ts - first_ts, st->time_base, ms);
                // One index point per interval: the first packet at or after it.
                while (static_cast<std::int64_t>(layout.index.size()) *
                           layout.index_interval.count() <=
                       t_ms) {
                    layout.index.push_back(static_cast<std::uint64_t>(pkt->pos));
                }
                last_end_ts = std::max(last_end_ts, ts + std::max<std::int64_t>(pkt->duration, 0));
            }
            // Ogg packets share pages; the page end is found at the next page start.
            if (layout.container != "ogg") {
                last_pos_end = std::max(last_pos_end, pkt->pos + pkt->size);
            }
        }
        av_packet_unref(pkt.get());
    }
    if (first || first_ts == AV_NOPTS_VALUE) {
        return fail("no audio packets");
    }
    layout.duration = Milliseconds{av_rescale_q(last_end_ts - first_ts, st->time_base, ms)};
    if (layout.container == "ogg") {
        // Vorbis and Opus need their header pages before any audio page.
        layout.header_end = layout.data_start;
        layout.data_start = 0;
    } else if (last_pos_end > 0) {
        layout.data_end =
            std::min<std::uint64_t>(static_cast<std::uint64_t>(last_pos_end), info->size_bytes);
    }
    if (!layout.index.empty()) {
        layout.index[0] = layout.container == "ogg" ? layout.header_end : layout.data_start;
    }
    return layout;
}

}  // namespace alluvium
