// Media facts read with libavformat: container, MIME type, duration, size, codecs.
// Used by the broadcaster to write playlists (durations are never typed by hand) and by
// the listener to map play time to bytes.
#pragma once

#include <alluvium/export.hpp>
#include <alluvium/time.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace alluvium {

struct ALLUVIUM_EXPORT MediaInfo {
    std::string container;  // libavformat's short name, e.g. "mp3", "ogg", "matroska,webm"
    std::string mime_type;  // e.g. "audio/mpeg", "video/webm"
    std::uint64_t size_bytes = 0;
    Milliseconds duration{0};
    std::int64_t bit_rate = 0;  // bits per second, 0 when unknown
    bool has_audio = false;
    bool has_video = false;
    std::string audio_codec;  // e.g. "mp3", "vorbis", "opus", "aac"
    std::string video_codec;  // e.g. "h264", "vp9"
    std::string title;        // tags, when the file carries them
    std::string artist;
};

struct ALLUVIUM_EXPORT ProbeOptions {
    // When the container only estimates its duration from the bit rate (ADTS AAC, MP3
    // without a Xing/Info header, MPEG-TS), read every packet to measure it exactly.
    bool exact_duration = true;
    // Give up on a network URL after this long without data.
    Milliseconds network_timeout{15000};
};

// Probes a local file or an http(s) URL. Blocks while it reads. On failure returns nullopt,
// sets `ec` (not_found, unsupported_media, io_error, network_error) and, if given, fills
// `detail` with libavformat's reason.
[[nodiscard]] ALLUVIUM_EXPORT std::optional<MediaInfo> probe_media(
    const std::string& path_or_url, std::error_code& ec, std::string* detail = nullptr,
    const ProbeOptions& options = {});

// Where the audio of a file lies and how play time maps to bytes: what the local stream
// needs to start an item mid-way on a frame boundary and to pace it. Built by the gateway
// (it has the whole file) and handed to listeners with the swarm metadata.
struct ALLUVIUM_EXPORT MediaLayout {
    std::string container;  // "mp3", "aac" (ADTS), "ogg", ...
    std::string codec;      // audio codec: "mp3", "aac", "vorbis", "opus"
    int sample_rate = 0;
    int channels = 0;
    std::int64_t bit_rate = 0;
    Milliseconds duration{0};
    // Bytes [0, header_end) must precede any mid-item start (Ogg's header pages); 0 when
    // frames stand alone (MP3, ADTS).
    std::uint64_t header_end = 0;
    // The audio frames lie in [data_start, data_end): tags (ID3v2, ID3v1, APE) outside.
    std::uint64_t data_start = 0;
    std::uint64_t data_end = 0;
    // index[k] is the byte offset of the first frame (or Ogg page) that starts at or after
    // k * index_interval of play time.
    Milliseconds index_interval{1000};
    std::vector<std::uint64_t> index;

    // Whether items in this layout can follow each other byte for byte on one stream.
    [[nodiscard]] bool concatenable() const;
    // The byte offset where playback at `t` starts (a frame boundary when indexed).
    [[nodiscard]] std::uint64_t byte_at(Milliseconds t) const;
    // The play time at byte `offset` (inverse of byte_at, within one index interval).
    [[nodiscard]] Milliseconds time_at(std::uint64_t offset) const;
};

// Reads every packet of a local file to build its layout. Blocks. Nullopt and `ec` on
// failure (as probe_media).
[[nodiscard]] ALLUVIUM_EXPORT std::optional<MediaLayout> index_media(const std::string& path,
                                                                     std::error_code& ec,
                                                                     std::string* detail = nullptr);

// The MIME type Alluvium uses for what was probed: container, video or not, and codecs
// (a Matroska file with only WebM codecs is video/webm or audio/webm).
[[nodiscard]] ALLUVIUM_EXPORT std::string mime_type_for(const MediaInfo& info);

// The local stream. A station with video that MPEG-TS can carry (MP4, MPEG-TS, Matroska
// with H.264 or HEVC) streams "video/mp2t", every item remuxed; other stations stream their
// audio byte for byte.
[[nodiscard]] ALLUVIUM_EXPORT bool remuxable_video(const std::string& mime_type);
// Whether an item of `mime_type` plays on a local stream of `stream_type`; if not, players
// play it at /items/<n>.
[[nodiscard]] ALLUVIUM_EXPORT bool plays_on_stream(const std::string& mime_type,
                                                   const std::string& stream_type);

}  // namespace alluvium
