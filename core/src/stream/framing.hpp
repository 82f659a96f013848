// Frame boundaries of the formats that can follow each other on one stream: MPEG audio
// (MP3), AAC in ADTS, and Ogg pages. Pure functions (private to the core). A station with
// video goes out as MPEG-TS, remuxed packet by packet (remux.hpp), not framed here.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace alluvium::detail {

enum class StreamFormat { mp3, adts, ogg, ts, none };

// The stream format a media layout's container and codec allow; none when the item cannot
// go on the stream byte for byte.
[[nodiscard]] StreamFormat stream_format_of(const std::string& container, const std::string& codec);
[[nodiscard]] const char* content_type_of(StreamFormat format);

// Length of the MPEG audio frame (layers I-III, MPEG 1/2/2.5) whose header starts `bytes`;
// nullopt when it is not a valid header.
[[nodiscard]] std::optional<std::size_t> mpeg_frame_length(std::string_view bytes);
// Length of the ADTS frame starting `bytes`.
[[nodiscard]] std::optional<std::size_t> adts_frame_length(std::string_view bytes);
// The 7-byte ADTS header that makes a raw AAC frame of `payload` bytes stand alone, from
// its stream's AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1); nullopt when ADTS cannot
// carry that configuration.
[[nodiscard]] std::optional<std::string> adts_header(std::string_view audio_specific_config,
                                                     std::size_t payload);
// Length of the Ogg page starting `bytes` (header + segment table + body).
[[nodiscard]] std::optional<std::size_t> ogg_page_length(std::string_view bytes);

// Where the header pages of an Ogg stream end (the first page with a non-zero granule
// position starts); nullopt when `bytes` does not reach that far.
[[nodiscard]] std::optional<std::size_t> ogg_header_end(std::string_view bytes);

// The first offset >= `from` where a frame of `format` starts, confirmed by the next frame
// starting right after it (or by the buffer ending inside the first one). Nullopt if none.
[[nodiscard]] std::optional<std::size_t> find_frame(StreamFormat format, std::string_view bytes,
                                                    std::size_t from = 0);

}  // namespace alluvium::detail
