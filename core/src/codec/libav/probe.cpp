// Probing and indexing media files with libavformat (the codec module).
#include <alluvium/error.hpp>
#include <alluvium/fetch.hpp>
#include <alluvium/media.hpp>

#include "../../common/log.hpp"
#include "libav.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/log.h>
}

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <set>

namespace alluvium::detail {
namespace {

// FFmpeg's own messages (its formats and codecs) go to our logger at debug level: a bad file is
// reported once, by us, with its name; not as a burst of decoder chatter on stderr.
void route_av_log(void* /*avcl*/, int level, const char* format, va_list args) {
    if (level > AV_LOG_WARNING) {
        return;
    }
    char line[1024];
    std::vsnprintf(line, sizeof line, format, args);
    std::string_view text(line);
    while (!text.empty() && text.back() == '\n') {
        text.remove_suffix(1);
    }
    log().debug("ffmpeg: {}", text);
}

std::string tag(const AVDictionary* dict, const char* key) {
    const AVDictionaryEntry* e = av_dict_get(dict, key, nullptr, 0);
    return e != nullptr && e->value != nullptr ? e->value : "";
}

// Reads every packet and returns the end of the last one on `stream` minus its first
// timestamp: the exact duration for containers that only estimate theirs.
std::optional<Milliseconds> scan_duration(AVFormatContext* fmt, int stream) {
    AVPacket* pkt = av_packet_alloc();
    if (pkt == nullptr) {
        return std::nullopt;
    }
    std::int64_t first = AV_NOPTS_VALUE;
    std::int64_t last_end = AV_NOPTS_VALUE;
    while (av_read_frame(fmt, pkt) >= 0) {
        if (pkt->stream_index == stream) {
            const std::int64_t ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
            if (ts != AV_NOPTS_VALUE) {
                first = first == AV_NOPTS_VALUE ? ts : std::min(first, ts);
                const std::int64_t end = ts + std::max<std::int64_t>(pkt->duration, 0);
                last_end = last_end == AV_NOPTS_VALUE ? end : std::max(last_end, end);
            }
        }
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
    if (first == AV_NOPTS_VALUE || last_end <= first) {
        return std::nullopt;
    }
    const AVRational tb = fmt->streams[stream]->time_base;
    return Milliseconds{av_rescale_q(last_end - first, tb, AVRational{1, 1000})};
}

void read_streams(const AVFormatContext* fmt, MediaInfo& info) {
    for (unsigned i = 0; i < fmt->nb_streams; ++i) {
        const AVStream* s = fmt->streams[i];
        const AVCodecParameters* par = s->codecpar;
        if (par->codec_type == AVMEDIA_TYPE_AUDIO && !info.has_audio) {
            info.has_audio = true;
            info.audio_codec = avcodec_get_name(par->codec_id);
        } else if (par->codec_type == AVMEDIA_TYPE_VIDEO && !info.has_video &&
                   (s->disposition & AV_DISPOSITION_ATTACHED_PIC) == 0) {
            // Cover art in MP3/FLAC/M4A is a "video" stream of one picture: not video.
            info.has_video = true;
            info.video_codec = avcodec_get_name(par->codec_id);
        }
        if (info.title.empty()) {
            info.title = tag(s->metadata, "title");
        }
        if (info.artist.empty()) {
            info.artist = tag(s->metadata, "artist");
        }
    }
}

}  // namespace

void init_libav() {
    static std::once_flag once;
    std::call_once(once, [] {
        av_log_set_callback(route_av_log);
        avformat_network_init();
    });
}

std::optional<MediaInfo> libav_probe(const std::string& path_or_url, std::error_code& ec,
                                     std::string* detail, const ProbeOptions& options) {
    ec.clear();
    const bool remote = is_url(path_or_url);
    const auto fail = [&](errc code, std::string why) -> std::optional<MediaInfo> {
        ec = code;
        if (detail != nullptr) {
            *detail = std::move(why);
        }
        return std::nullopt;
    };
    std::error_code fs_ec;
    if (!remote && !std::filesystem::is_regular_file(path_or_url, fs_ec)) {
        return fail(errc::not_found, "no such file");
    }
    AVDictionary* open_options = nullptr;
    if (remote) {
        const auto us =
            std::chrono::duration_cast<std::chrono::microseconds>(options.network_timeout);
        av_dict_set(&open_options, "rw_timeout", std::to_string(us.count()).c_str(), 0);
    }
    AVFormatContext* raw = nullptr;
    const int opened = avformat_open_input(&raw, path_or_url.c_str(), nullptr, &open_options);
    av_dict_free(&open_options);
    if (opened < 0) {
        return fail(remote ? errc::network_error : errc::unsupported_media, av_error(opened));
    }
    InputPtr fmt(raw);
    if (const int found = avformat_find_stream_info(fmt.get(), nullptr); found < 0) {
        return fail(errc::unsupported_media, av_error(found));
    }
    MediaInfo info;
    info.container = fmt->iformat->name;
    read_streams(fmt.get(), info);
    if (!info.has_audio && !info.has_video) {
        return fail(errc::unsupported_media, "no audio or video stream");
    }
    info.title = tag(fmt->metadata, "title").empty() ? info.title : tag(fmt->metadata, "title");
    info.artist = tag(fmt->metadata, "artist").empty() ? info.artist : tag(fmt->metadata, "artist");
    info.bit_rate = fmt->bit_rate;
    info.mime_type = mime_type_for(info);
    if (remote) {
        const std::int64_t size = fmt->pb != nullptr ? avio_size(fmt->pb) : -1;
        info.size_bytes = size > 0 ? static_cast<std::uint64_t>(size) : 0;
    } else {
        info.size_bytes = std::filesystem::file_size(path_or_url, fs_ec);
    }
    if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0) {
        info.duration = Milliseconds{av_rescale(fmt->duration, 1000, AV_TIME_BASE)};
    }
    const bool estimated = fmt->duration == AV_NOPTS_VALUE ||
                           fmt->duration_estimation_method == AVFMT_DURATION_FROM_BITRATE;
    if (options.exact_duration && estimated) {
        const int best =
            av_find_best_stream(fmt.get(), info.has_audio ? AVMEDIA_TYPE_AUDIO : AVMEDIA_TYPE_VIDEO,
                                -1, -1, nullptr, 0);
        if (best >= 0 && av_seek_frame(fmt.get(), -1, 0, AVSEEK_FLAG_BYTE) >= 0) {
            if (const auto scanned = scan_duration(fmt.get(), best)) {
                info.duration = *scanned;
            }
        }
    }
    if (info.duration <= Milliseconds{0}) {
        return fail(errc::unsupported_media, "the duration cannot be determined");
    }
    return info;
}

namespace {

// What reading every packet of one stream found: where its timestamps begin and end, and
// where its last packet ends in the file.
struct PacketSpan {
    bool found = false;
    std::int64_t first_ts = AV_NOPTS_VALUE;
    std::int64_t last_end_ts = AV_NOPTS_VALUE;
    std::int64_t last_pos_end = -1;
};

// Reads every packet, filling the layout's data start and its time index.
PacketSpan index_packets(AVFormatContext* fmt, int stream, MediaLayout& layout) {
    const AVStream* st = fmt->streams[stream];
    const AVRational ms{1, 1000};
    PacketSpan span;
    PacketPtr pkt(av_packet_alloc());
    while (av_read_frame(fmt, pkt.get()) >= 0) {
        if (pkt->stream_index == stream && pkt->pos >= 0) {
            const std::int64_t ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
            if (!span.found) {
                layout.data_start = static_cast<std::uint64_t>(pkt->pos);
                span.found = true;
            }
            if (ts != AV_NOPTS_VALUE) {
                if (span.first_ts == AV_NOPTS_VALUE)
                    span.first_ts = ts;
                const std::int64_t t_ms = av_rescale_q(ts - span.first_ts, st->time_base, ms);
                // One index point per interval: the first packet at or after it.
                while (static_cast<std::int64_t>(layout.index.size()) *
                           layout.index_interval.count() <=
                       t_ms) {
                    layout.index.push_back(static_cast<std::uint64_t>(pkt->pos));
                }
                span.last_end_ts =
                    std::max(span.last_end_ts, ts + std::max<std::int64_t>(pkt->duration, 0));
            }
            // Ogg packets share pages; the page end is found at the next page start.
            if (layout.container != "ogg") {
                span.last_pos_end = std::max(span.last_pos_end, pkt->pos + pkt->size);
            }
        }
        av_packet_unref(pkt.get());
    }
    return span;
}

}  // namespace

std::optional<MediaLayout> libav_index(const std::string& path, std::error_code& ec,
                                       std::string* detail) {
    // probe_media sets up libavformat's logging and checks the file exists.
    const auto info = libav_probe(path, ec, detail, ProbeOptions{false, Milliseconds{15000}});
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

    const PacketSpan span = index_packets(fmt.get(), stream, layout);
    if (!span.found || span.first_ts == AV_NOPTS_VALUE) {
        return fail("no audio packets");
    }
    const AVRational ms{1, 1000};
    layout.duration =
        Milliseconds{av_rescale_q(span.last_end_ts - span.first_ts, st->time_base, ms)};
    if (layout.container == "ogg") {
        // Vorbis and Opus need their header pages before any audio page.
        layout.header_end = layout.data_start;
        layout.data_start = 0;
    } else if (span.last_pos_end > 0) {
        layout.data_end = std::min<std::uint64_t>(static_cast<std::uint64_t>(span.last_pos_end),
                                                  info->size_bytes);
    }
    if (!layout.index.empty()) {
        layout.index[0] = layout.container == "ogg" ? layout.header_end : layout.data_start;
    }
    return layout;
}

}  // namespace alluvium::detail
