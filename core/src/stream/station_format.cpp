#include "station_format.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <map>
#include <vector>

namespace alluvium::detail {
namespace {

const char* codec_of(StreamFormat f) {
    switch (f) {
        case StreamFormat::adts:
            return "aac";
        case StreamFormat::ogg:
            return "vorbis";
        case StreamFormat::mp3:
        case StreamFormat::ts:
        case StreamFormat::none:
            break;
    }
    return "mp3";
}

// The standard MP3 bit rate nearest `rate` (bits/s).
std::int64_t standard_rate(std::int64_t rate) {
    constexpr std::array<std::int64_t, 14> kbits{32,  40,  48,  56,  64,  80,  96,
                                                 112, 128, 160, 192, 224, 256, 320};
    std::int64_t best = 128;
    for (const std::int64_t k : kbits) {
        if (std::llabs(k * 1000 - rate) < std::llabs(best * 1000 - rate))
            best = k;
    }
    return best * 1000;
}

}  // namespace

StreamFormat stream_format_of_type(const std::string& mime_type) {
    if (mime_type == "audio/mpeg")
        return StreamFormat::mp3;
    if (mime_type == "audio/aac" || mime_type == "audio/aacp")
        return StreamFormat::adts;
    if (mime_type == "audio/ogg" || mime_type == "application/ogg")
        return StreamFormat::ogg;
    return StreamFormat::none;
}

MediaLayout guessed_layout(const alluvium::Item& item, std::uint64_t size, Milliseconds duration) {
    MediaLayout l;
    const StreamFormat f = stream_format_of_type(item.mime_type);
    if (f == StreamFormat::none) {
        l.container = item.mime_type;
    } else {
        l.codec = codec_of(f);
        l.container = f == StreamFormat::ogg ? "ogg" : l.codec;
    }
    l.duration = duration;
    l.data_end = size;
    l.sample_rate = 44100;
    l.channels = 2;
    l.bit_rate =
        duration.count() > 0
            ? static_cast<std::int64_t>(size * 8000 / static_cast<std::uint64_t>(duration.count()))
            : 128000;
    return l;
}

AudioParams station_format(const Playlist& playlist) {
    std::map<StreamFormat, int> count;
    StreamFormat best = StreamFormat::mp3;
    int most = 0;
    for (const alluvium::Item& item : playlist.items) {
        const StreamFormat f = stream_format_of_type(item.mime_type);
        if (f == StreamFormat::none)
            continue;
        if (++count[f] > most) {  // a tie keeps the format that got there first
            most = count[f];
            best = f;
        }
    }
    std::vector<std::int64_t> rates;
    for (const alluvium::Item& item : playlist.items) {
        if (stream_format_of_type(item.mime_type) != best || !item.duration ||
            item.duration->count() <= 0 || item.length_bytes.value_or(0) == 0)
            continue;
        rates.push_back(static_cast<std::int64_t>(
            *item.length_bytes * 8000 / static_cast<std::uint64_t>(item.duration->count())));
    }
    AudioParams p;
    p.format = best;
    p.codec = codec_of(best);
    if (!rates.empty()) {
        std::nth_element(rates.begin(),
                         rates.begin() + static_cast<std::ptrdiff_t>(rates.size() / 2),
                         rates.end());
        p.bit_rate = standard_rate(rates[rates.size() / 2]);
    }
    return p;
}

}  // namespace alluvium::detail
