// Which format an audio station's stream takes: the one most of its items can go on byte
// for byte. The others are transcoded into it on the listener (remux.hpp). Pure functions,
// private to the core.
#pragma once

#include <alluvium/playlist.hpp>

#include "../codec/codec.hpp"

namespace alluvium::detail {

// The stream format of an item, by its MIME type alone (before its layout is known): MP3
// for audio/mpeg, ADTS for audio/aac, Ogg for audio/ogg; none for the rest (FLAC, WAV,
// MP4 audio...), which cannot go on a stream byte for byte.
[[nodiscard]] StreamFormat stream_format_of_type(const std::string& mime_type);

// What an item's layout is taken to be until it is known (its MIME type, its size over its
// duration): a container and codec the stream can frame, 44.1 kHz stereo.
[[nodiscard]] MediaLayout guessed_layout(const alluvium::Item& item, std::uint64_t size,
                                         Milliseconds duration);

// The format most of `playlist`'s items have (ties: the one that comes first; MP3 when no
// item has one a stream can take), with what to encode silence and transcoded items in
// until an item of that format says better: 44.1 kHz stereo at the median bit rate of those
// items (by their length and duration), rounded to a standard MP3 rate; 128 kbit/s when
// none is known.
[[nodiscard]] AudioParams station_format(const Playlist& playlist);

}  // namespace alluvium::detail
