#include "framing.hpp"

#include <cstdint>

namespace alluvium::detail {
namespace {

unsigned byte_at(std::string_view b, std::size_t i) {
    return static_cast<unsigned char>(b[i]);
}

}  // namespace

StreamFormat stream_format_of(const std::string& container, const std::string& codec) {
    if (container == "mp3" && codec == "mp3")
        return StreamFormat::mp3;
    if (container == "aac" && codec == "aac")
        return StreamFormat::adts;
    if (container == "ogg" && (codec == "vorbis" || codec == "opus"))
        return StreamFormat::ogg;
    return StreamFormat::none;
}

const char* content_type_of(StreamFormat format) {
    switch (format) {
        case StreamFormat::mp3:
            return "audio/mpeg";
        case StreamFormat::adts:
            return "audio/aac";
        case StreamFormat::ogg:
            return "audio/ogg";
        case StreamFormat::ts:
            return "video/mp2t";
        case StreamFormat::none:
            break;
    }
    return "application/octet-stream";
}

std::optional<std::size_t> mpeg_frame_length(std::string_view b) {
    if (b.size() < 4 || byte_at(b, 0) != 0xff || (byte_at(b, 1) & 0xe0) != 0xe0) {
        return std::nullopt;
    }
    const unsigned version = (byte_at(b, 1) >> 3) & 3;  // 0: 2.5, 2: 2, 3: 1
    const unsigned layer = (byte_at(b, 1) >> 1) & 3;    // 1: III, 2: II, 3: I
    const unsigned bitrate_index = byte_at(b, 2) >> 4;
    const unsigned rate_index = (byte_at(b, 2) >> 2) & 3;
    const unsigned padding = (byte_at(b, 2) >> 1) & 1;
    if (version == 1 || layer == 0 || bitrate_index == 0 || bitrate_index == 15 ||
        rate_index == 3) {
        return std::nullopt;
    }
    static constexpr unsigned bitrates[2][3][16] = {
        {{0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448,
          0},                                                                     // MPEG-1 layer I
         {0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 0},  // layer II
         {0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0}},  // layer III
        {{0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256,
          0},                                                                  // MPEG-2/2.5 layer I
         {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0},    // layer II
         {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0}}};  // layer III
    static constexpr unsigned rates[4][3] = {
        {11025, 12000, 8000}, {0, 0, 0}, {22050, 24000, 16000}, {44100, 48000, 32000}};
    const bool mpeg1 = version == 3;
    const unsigned layer_index = 3 - layer;  // 0: I, 1: II, 2: III
    const unsigned kbps = bitrates[mpeg1 ? 0 : 1][layer_index][bitrate_index];
    const unsigned rate = rates[version][rate_index];
    if (layer_index == 0) {
        return (12 * kbps * 1000 / rate + padding) * 4;
    }
    const unsigned coefficient = (layer_index == 2 && !mpeg1) ? 72 : 144;
    return coefficient * kbps * 1000 / rate + padding;
}

std::optional<std::size_t> adts_frame_length(std::string_view b) {
    if (b.size() < 7 || byte_at(b, 0) != 0xff || (byte_at(b, 1) & 0xf6) != 0xf0) {
        return std::nullopt;
    }
    const std::size_t length =
        ((byte_at(b, 3) & 3u) << 11) | (byte_at(b, 4) << 3) | (byte_at(b, 5) >> 5);
    const unsigned rate_index = (byte_at(b, 2) >> 2) & 0xf;
    if (length < 7 || rate_index > 12) {
        return std::nullopt;
    }
    return length;
}

std::optional<std::size_t> ogg_page_length(std::string_view b) {
    if (b.size() < 27 || b.substr(0, 4) != "OggS" || byte_at(b, 4) != 0) {
        return std::nullopt;
    }
    const std::size_t segments = byte_at(b, 26);
    if (b.size() < 27 + segments) {
        return std::nullopt;
    }
    std::size_t body = 0;
    for (std::size_t i = 0; i < segments; ++i) {
        body += byte_at(b, 27 + i);
    }
    return 27 + segments + body;
}

std::optional<std::size_t> ogg_header_end(std::string_view bytes) {
    std::size_t at = 0;
    while (true) {
        const auto length = ogg_page_length(bytes.substr(at));
        if (!length || at + *length > bytes.size()) {
            return std::nullopt;
        }
        std::uint64_t granule = 0;
        for (int i = 7; i >= 0; --i) {
            granule = (granule << 8) | byte_at(bytes, at + 6 + static_cast<std::size_t>(i));
        }
        if (granule != 0 && granule != ~std::uint64_t{0}) {
            return at;
        }
        at += *length;
    }
}

std::optional<std::string> adts_header(std::string_view asc, std::size_t payload) {
    if (asc.size() < 2 || payload + 7 > 0x1fff)
        return std::nullopt;
    const unsigned bits = (byte_at(asc, 0) << 8) | byte_at(asc, 1);
    unsigned object = bits >> 11;             // audioObjectType, 5 bits
    const unsigned rate = (bits >> 7) & 0xf;  // samplingFrequencyIndex
    const unsigned channels = (bits >> 3) & 0xf;
    // HE-AAC (SBR, PS) signalled explicitly: its core is AAC LC at the rate given first.
    if (object == 5 || object == 29)
        object = 2;
    if (object < 1 || object > 4 || rate > 12 || channels < 1 || channels > 7)
        return std::nullopt;
    const std::size_t length = payload + 7;
    std::string h(7, '\0');
    h[0] = static_cast<char>(0xff);
    h[1] = static_cast<char>(0xf1);  // MPEG-4, layer 0, no CRC
    h[2] = static_cast<char>(((object - 1) << 6) | (rate << 2) | (channels >> 2));
    h[3] = static_cast<char>(((channels & 3) << 6) | ((length >> 11) & 3));
    h[4] = static_cast<char>((length >> 3) & 0xff);
    h[5] = static_cast<char>(((length & 7) << 5) | 0x1f);  // buffer fullness 0x7ff: VBR
    h[6] = static_cast<char>(0xfc);
    return h;
}

std::optional<std::size_t> find_frame(StreamFormat format, std::string_view bytes,
                                      std::size_t from) {
    const auto length_at = [&](std::size_t at) -> std::optional<std::size_t> {
        const std::string_view rest = bytes.substr(at);
        switch (format) {
            case StreamFormat::mp3:
                return mpeg_frame_length(rest);
            case StreamFormat::adts:
                return adts_frame_length(rest);
            case StreamFormat::ogg:
                return ogg_page_length(rest);
            case StreamFormat::ts:
            case StreamFormat::none:
                break;
        }
        return std::nullopt;
    };
    for (std::size_t at = from; at < bytes.size(); ++at) {
        const auto length = length_at(at);
        if (!length || *length == 0) {
            continue;
        }
        const std::size_t next = at + *length;
        // A sync pattern in the middle of audio data is likely; a second frame right after
        // it is not, unless it is real.
        if (next >= bytes.size() || length_at(next)) {
            return at;
        }
    }
    return std::nullopt;
}

}  // namespace alluvium::detail
