// Mixed-format stations: which format the stream takes (station_format.hpp), and the codec
// module's transcoder turning an item the stream cannot take byte for byte into whole
// frames or pages of the stream's format (stream/remux.hpp).
#include "codec/codec.hpp"
#include "stream/framing.hpp"
#include "stream/station_format.hpp"
#include "transcode_run.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace alluvium::detail {
namespace {

using namespace std::chrono;
using test::Transcoded;

alluvium::Item entry(const std::string& mime, std::uint64_t bytes, Milliseconds length) {
    alluvium::Item i;
    i.media_url = "http://127.0.0.1/x";
    i.mime_type = mime;
    i.length_bytes = bytes;
    i.duration = length;
    return i;
}

TEST(StationFormat, IsTheFormatMostItemsHaveAtTheirMedianBitRate) {
    Playlist p;
    p.items = {entry("audio/flac", 5'000'000, seconds(30)),
               entry("audio/ogg", 480'000, seconds(30)),
               entry("audio/mpeg", 480'000, seconds(30)),  // 128 kbit/s
               entry("audio/wav", 5'000'000, seconds(30)),
               entry("audio/mpeg", 720'000, seconds(30)),   // 192 kbit/s
               entry("audio/mpeg", 470'000, seconds(30))};  // 125 kbit/s: 128
    const AudioParams f = station_format(p);
    EXPECT_EQ(f.format, StreamFormat::mp3);
    EXPECT_EQ(f.codec, "mp3");
    EXPECT_EQ(f.bit_rate, 128000);
    EXPECT_EQ(f.sample_rate, 44100);
    EXPECT_EQ(f.channels, 2);
}

TEST(StationFormat, ATieGoesToTheFormatThatCameFirstAndNoneStreamableIsMp3) {
    Playlist p;
    p.items = {entry("audio/flac", 1, seconds(1)), entry("audio/aac", 240'000, seconds(30)),
               entry("application/ogg", 240'000, seconds(30))};
    const AudioParams tie = station_format(p);
    EXPECT_EQ(tie.format, StreamFormat::adts);
    EXPECT_EQ(tie.codec, "aac");
    EXPECT_EQ(tie.bit_rate, 64000);
    p.items = {entry("audio/flac", 1, seconds(1)), entry("audio/wav", 1, seconds(1))};
    const AudioParams none = station_format(p);
    EXPECT_EQ(none.format, StreamFormat::mp3);
    EXPECT_EQ(none.bit_rate, 128000);
    EXPECT_EQ(stream_format_of_type("audio/mp4"), StreamFormat::none);
}

// A 16-bit stereo PCM WAV file of a 440 Hz tone.
std::string wav_tone(int rate, Milliseconds length) {
    const auto frames = static_cast<std::uint32_t>(rate * length.count() / 1000);
    const std::uint32_t data = frames * 4;
    std::string w = "RIFF";
    const auto u32 = [&w](std::uint32_t v) {
        for (int i = 0; i < 4; ++i)
            w += static_cast<char>((v >> (8 * i)) & 0xff);
    };
    const auto u16 = [&w](std::uint16_t v) {
        w += static_cast<char>(v & 0xff);
        w += static_cast<char>(v >> 8);
    };
    u32(36 + data);
    w += "WAVEfmt ";
    u32(16);
    u16(1);
    u16(2);
    u32(static_cast<std::uint32_t>(rate));
    u32(static_cast<std::uint32_t>(rate) * 4);
    u16(4);
    u16(16);
    w += "data";
    u32(data);
    for (std::uint32_t i = 0; i < frames; ++i) {
        const auto s = static_cast<std::int16_t>(
            8000 * std::sin(2 * M_PI * 440 * static_cast<double>(i) / rate));
        u16(static_cast<std::uint16_t>(s));
        u16(static_cast<std::uint16_t>(s));
    }
    return w;
}

Transcoded transcode(const std::string& item, const AudioParams& into, Milliseconds offset) {
    return test::transcode_in_memory(item, into, offset, "tone.wav");
}

TEST(Transcoder, TurnsAWavItemIntoWholeMp3FramesCoveringItsLength) {
    const Transcoded t = transcode(wav_tone(44100, seconds(6)),
                                   {StreamFormat::mp3, "mp3", 44100, 2, 128000}, Milliseconds{0});
    ASSERT_TRUE(t.error.empty()) << t.error;
    ASSERT_FALSE(t.chunks.empty());
    EXPECT_EQ(t.headers, nullptr) << "MP3 needs no header for joiners";
    // Every chunk starts on a frame, and the frames follow each other to the end.
    for (const TsChunk& chunk : t.chunks) {
        EXPECT_TRUE(chunk.sync);
        EXPECT_TRUE(mpeg_frame_length(chunk.bytes).has_value());
    }
    std::size_t at = 0;
    int frames = 0;
    while (at < t.bytes.size()) {
        const auto length = mpeg_frame_length(std::string_view(t.bytes).substr(at));
        ASSERT_TRUE(length.has_value()) << "not a frame at byte " << at;
        at += *length;
        ++frames;
    }
    EXPECT_EQ(at, t.bytes.size());
    // 6 s at 1152 samples a frame (the encoder's priming and padding add a few).
    EXPECT_NEAR(frames, 6 * 44100 / 1152, 5);
    EXPECT_EQ(t.chunks.front().from, Milliseconds{0});
    EXPECT_NEAR(static_cast<double>(t.chunks.back().to.count()), 6000.0, 100.0);
    for (std::size_t i = 1; i < t.chunks.size(); ++i)
        EXPECT_GE(t.chunks[i].from, t.chunks[i - 1].from);
    // 128 kbit/s for 6 s: about 96 kB.
    EXPECT_NEAR(static_cast<double>(t.bytes.size()), 96000.0, 8000.0);
}

TEST(Transcoder, StartsAnOggAiringAtItsOffsetWithItsHeaderPages) {
    const Transcoded t = transcode(wav_tone(48000, seconds(8)),
                                   {StreamFormat::ogg, "vorbis", 44100, 2, 128000}, seconds(5));
    ASSERT_TRUE(t.error.empty()) << t.error;
    ASSERT_FALSE(t.chunks.empty());
    ASSERT_NE(t.headers, nullptr) << "a joiner needs the header pages";
    EXPECT_EQ(t.headers->substr(0, 4), "OggS");
    EXPECT_NE(t.headers->find("itle=tone.wav"), std::string::npos)
        << "an Ogg airing's comments carry its title";
    EXPECT_EQ(t.chunks.front().bytes.substr(0, t.headers->size()), *t.headers)
        << "the airing starts with its header pages";
    EXPECT_TRUE(t.chunks.front().tables);
    EXPECT_EQ(t.chunks.front().from, seconds(5));
    EXPECT_NEAR(static_cast<double>(t.chunks.back().to.count()), 8000.0, 300.0);
    // Whole pages, back to back.
    std::size_t at = 0;
    while (at < t.bytes.size()) {
        const auto length = ogg_page_length(std::string_view(t.bytes).substr(at));
        ASSERT_TRUE(length.has_value()) << "not a page at byte " << at;
        at += *length;
    }
    EXPECT_EQ(at, t.bytes.size());
}

TEST(Transcoder, SaysWhyAnItemCannotBeTranscoded) {
    const Transcoded t = transcode(std::string(100000, 'x'),
                                   {StreamFormat::mp3, "mp3", 44100, 2, 128000}, Milliseconds{0});
    EXPECT_FALSE(t.error.empty());
    EXPECT_TRUE(t.chunks.empty());
}

}  // namespace
}  // namespace alluvium::detail
