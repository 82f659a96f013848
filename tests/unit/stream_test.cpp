// The local stream's internals: frame sync, ICY framing, time -> byte mapping, the
// broadcast buffer, the rescue range set, silence.
#include <alluvium/media.hpp>

#include "stream/broadcast.hpp"
#include "stream/framing.hpp"
#include "stream/icy.hpp"
#include "stream/listeners.hpp"
#include "stream/silence.hpp"
#include "swarm/range_set.hpp"

#include <gtest/gtest.h>

namespace alluvium::detail {
namespace {

using namespace std::chrono;

// An MPEG-1 Layer III frame header: 128 kbit/s, 44.1 kHz, no padding -> 417 bytes.
std::string mp3_frame(char fill = '\x55') {
    std::string f(417, fill);
    f[0] = '\xFF';
    f[1] = '\xFB';
    f[2] = '\x90';
    f[3] = '\x64';
    return f;
}

// An ADTS header for a frame of `length` bytes (AAC LC, 44.1 kHz, stereo).
std::string adts_frame(std::size_t length) {
    std::string f(length, '\x11');
    f[0] = '\xFF';
    f[1] = '\xF1';
    f[2] = '\x50';
    f[3] = static_cast<char>(0x80 | ((length >> 11) & 3));
    f[4] = static_cast<char>((length >> 3) & 0xff);
    f[5] = static_cast<char>(((length & 7) << 5) | 0x1f);
    f[6] = '\xFC';
    return f;
}

std::string ogg_page(std::uint64_t granule, std::size_t body) {
    std::string p = "OggS";
    p += '\0';  // version
    p += '\0';  // flags
    for (int i = 0; i < 8; ++i)
        p += static_cast<char>((granule >> (8 * i)) & 0xff);
    p.append(4, '\x01');  // serial
    p.append(4, '\x00');  // sequence
    p.append(4, '\x00');  // CRC (not checked by framing)
    const std::size_t segments = (body + 254) / 255;
    p += static_cast<char>(segments);
    std::size_t left = body;
    for (std::size_t i = 0; i < segments; ++i) {
        const std::size_t s = std::min<std::size_t>(left, 255);
        p += static_cast<char>(s);
        left -= s;
    }
    p.append(body, 'v');
    return p;
}

TEST(Framing, MeasuresMpegAdtsAndOggFrames) {
    EXPECT_EQ(mpeg_frame_length(mp3_frame()), 417u);
    std::string padded = mp3_frame();
    padded[2] = '\x92';  // padding bit
    EXPECT_EQ(mpeg_frame_length(padded), 418u);
    EXPECT_FALSE(mpeg_frame_length("\xFF\xFB\xF0\x64"));  // bit rate index 15 is invalid
    EXPECT_EQ(adts_frame_length(adts_frame(371)), 371u);
    EXPECT_EQ(ogg_page_length(ogg_page(0, 600)), 27u + 3u + 600u);
}

TEST(Framing, AdtsHeadersFromAnAudioSpecificConfig) {
    // AAC LC, 44.1 kHz (index 4), stereo: 00010 0100 0010 000 = 0x12 0x10.
    const auto h = adts_header(std::string("\x12\x10", 2), 364);
    ASSERT_TRUE(h);
    ASSERT_EQ(h->size(), 7u);
    const std::string frame = *h + std::string(364, 'a');
    EXPECT_EQ(adts_frame_length(frame), 371u) << "the length field covers header and payload";
    EXPECT_EQ(static_cast<unsigned char>((*h)[2]), 0x50u) << "profile LC, rate index 4";
    EXPECT_EQ(find_frame(StreamFormat::adts, frame + frame), 0u);
    // HE-AAC signalled explicitly (object type 5): its AAC LC core.
    const auto he = adts_header(std::string("\x2b\x92\x08\x00", 4), 100);
    ASSERT_TRUE(he);
    EXPECT_EQ(static_cast<unsigned char>((*he)[2]) >> 6, 1u);
    EXPECT_FALSE(adts_header(std::string("\xf8\x00", 2), 100)) << "escaped object type";
    EXPECT_FALSE(adts_header(std::string("\x17\x80", 2), 100)) << "explicit sampling rate";
    EXPECT_FALSE(adts_header("", 100));
    EXPECT_FALSE(adts_header(std::string("\x12\x10", 2), 9000)) << "too long for ADTS";
}

TEST(Framing, FindsTheFirstConfirmedFrameAfterJunk) {
    // Junk that contains a false sync (0xFF 0xFB) not followed by a second frame.
    const std::string junk = std::string("abc\xFF\xFB\x90\x64xyz", 10) + std::string(500, 'j');
    const std::string stream = junk + mp3_frame() + mp3_frame() + mp3_frame();
    EXPECT_EQ(find_frame(StreamFormat::mp3, stream), junk.size());
    const std::string aac = std::string(33, 'q') + adts_frame(200) + adts_frame(210);
    EXPECT_EQ(find_frame(StreamFormat::adts, aac), 33u);
    const std::string ogg = std::string(77, 'z') + ogg_page(5000, 100) + ogg_page(6000, 100);
    EXPECT_EQ(find_frame(StreamFormat::ogg, ogg), 77u);
    EXPECT_FALSE(find_frame(StreamFormat::mp3, std::string(2000, 'n')).has_value());
}

TEST(Framing, FindsWhereOggHeadersEnd) {
    const std::string headers = ogg_page(0, 30) + ogg_page(0, 400);
    const std::string audio = ogg_page(44100, 300);
    EXPECT_EQ(ogg_header_end(headers + audio), headers.size());
    EXPECT_FALSE(ogg_header_end(headers).has_value());
}

TEST(Icy, BlocksHoldThePaddedTitle) {
    const std::string block = icy_block("Artist - Title");
    // "StreamTitle='Artist - Title';" is 29 bytes -> 2 blocks of 16.
    ASSERT_EQ(block.size(), 1u + 32u);
    EXPECT_EQ(block[0], 2);
    EXPECT_EQ(block.substr(1, 29), "StreamTitle='Artist - Title';");
    EXPECT_EQ(block[30], '\0');
    // The sequence that ends the value in players' parsers is removed from titles.
    EXPECT_EQ(icy_block("a';b").substr(1, 18), "StreamTitle='a;b';");
}

TEST(Icy, InsertsBlocksEveryMetaintWithTheTitleOnlyWhenItChanges) {
    IcyWriter w(16);
    std::string out;
    w.write(std::string(40, 'a'), "One", out);
    // 16 audio, block("One"), 16 audio, "\0", 8 audio
    const std::string one = icy_block("One");
    ASSERT_EQ(out.size(), 40u + one.size() + 1u);
    EXPECT_EQ(out.substr(16, one.size()), one);
    EXPECT_EQ(out[16 + one.size() + 16], '\0');
    out.clear();
    w.write(std::string(8, 'b'), "Two", out);  // completes the third block
    EXPECT_EQ(out.substr(8), icy_block("Two"));
}

TEST(RangeSetTest, MergesAndFindsGaps) {
    RangeSet r;
    r.add(10, 20);
    r.add(30, 40);
    EXPECT_EQ(r.end_of(15), 20u);
    EXPECT_EQ(r.end_of(25), 25u);
    EXPECT_EQ(r.first_gap(10, 40), 20u);
    r.add(20, 30);  // bridges both
    EXPECT_EQ(r.end_of(10), 40u);
    EXPECT_EQ(r.first_gap(10, 40), 40u);
    r.add(5, 12);
    EXPECT_EQ(r.end_of(5), 40u);
    EXPECT_EQ(r.total(), 35u);
}

TEST(Layout, MapsTimeToBytesByTheIndex) {
    MediaLayout l;
    l.container = l.codec = "mp3";
    l.duration = seconds{3};
    l.data_start = 400;
    l.data_end = 50400;
    l.index = {400, 16400, 33000};  // VBR: the second second is larger
    EXPECT_EQ(l.byte_at(Milliseconds{0}), 400u);
    EXPECT_EQ(l.byte_at(seconds{1}), 16400u);
    EXPECT_EQ(l.byte_at(Milliseconds{1500}), 16400u + (33000u - 16400u) / 2);
    EXPECT_EQ(l.byte_at(seconds{2}), 33000u);
    EXPECT_EQ(l.byte_at(seconds{9}), 50400u);
    EXPECT_EQ(l.time_at(16400), seconds{1});
    EXPECT_EQ(l.time_at(33000), seconds{2});
    EXPECT_EQ(l.time_at(50400), seconds{3});
    EXPECT_TRUE(l.concatenable());
}

TEST(Layout, MapsProportionallyWithoutAnIndex) {
    MediaLayout l;
    l.container = "ogg";
    l.codec = "vorbis";
    l.duration = seconds{10};
    l.data_end = 100000;
    EXPECT_EQ(l.byte_at(seconds{5}), 50000u);
    EXPECT_EQ(l.time_at(25000), Milliseconds{2500});
    MediaLayout flac = l;
    flac.container = flac.codec = "flac";
    EXPECT_FALSE(flac.concatenable());
}

class CountingStream : public HttpStream {
  public:
    Pull pull(std::string&, std::size_t) override { return Pull::wait; }
};

Chunk chunk(std::string bytes, TimePoint at, Milliseconds length, std::size_t sync = 0) {
    Chunk c;
    c.bytes = std::move(bytes);
    c.play_at = at;
    c.length = length;
    c.sync = sync;
    c.title = "T";
    return c;
}

TEST(BroadcastBuffer, JoinsAtTheFrameStartOfTheChunkPlayingNow) {
    Broadcast b(seconds{60}, seconds{10});
    const TimePoint t0 = *parse_w3cdtf("2026-01-01T00:00:00Z");
    b.append(chunk(std::string(100, 'a'), t0, seconds{1}), t0);
    b.append(chunk(std::string(100, 'b'), t0 + seconds{1}, seconds{1}, 7), t0);
    b.append(chunk(std::string(100, 'c'), t0 + seconds{2}, seconds{1}, std::string::npos), t0);
    const auto j = b.join(t0 + Milliseconds{1500});
    ASSERT_TRUE(j.ok);
    EXPECT_EQ(j.position, 107u);
    // A chunk without a frame start is skipped for joining.
    const auto later = b.join(t0 + Milliseconds{2500});
    EXPECT_FALSE(later.ok);
    std::uint64_t pos = j.position;
    std::string out;
    std::string title;
    ASSERT_EQ(b.read(pos, 1000, out, title), Broadcast::Read::data);
    EXPECT_EQ(out, std::string(93, 'b'));  // stops at the chunk end
    EXPECT_EQ(pos, 200u);
    EXPECT_EQ(b.head_time(), t0 + seconds{3});
}

TEST(BroadcastBuffer, JoinsALongAudioChunkAtTheFramePlayingNow) {
    // A chunk of 10 MP3 frames over 1 s (the preroll comes out as one): a listener 0.55 s
    // in starts at frame 6, not at frame 0, 0.55 s behind the schedule.
    Broadcast b(seconds{60}, seconds{10});
    b.set_format(StreamFormat::mp3);
    const TimePoint t0 = *parse_w3cdtf("2026-01-01T00:00:00Z");
    std::string frames;
    for (int i = 0; i < 10; ++i)
        frames += mp3_frame();
    b.append(chunk(frames, t0, seconds{1}), t0);
    const auto j = b.join(t0 + Milliseconds{550});
    ASSERT_TRUE(j.ok);
    EXPECT_EQ(j.position, 6u * 417u);
    EXPECT_EQ(b.join(t0).position, 0u);
    // Past the chunk's end (the head is late), the chunk is joined at its start.
    EXPECT_EQ(b.join(t0 + seconds{3}).position, 0u);
}

TEST(BroadcastBuffer, JoinsALongOggChunkAfterItsHeaderPages) {
    Broadcast b(seconds{60}, seconds{10});
    b.set_format(StreamFormat::ogg);
    const TimePoint t0 = *parse_w3cdtf("2026-01-01T00:00:00Z");
    const std::string headers = ogg_page(0, 300) + ogg_page(0, 3000);
    std::string bytes = headers;
    for (int i = 1; i <= 4; ++i)
        bytes += ogg_page(static_cast<std::uint64_t>(i) * 1000, 1000);
    Chunk c = chunk(bytes, t0, seconds{1});
    c.starts_item = true;
    c.headers = std::make_shared<const std::string>(headers);
    b.append(std::move(c), t0);
    // 0.1 s in falls inside the header pages: the first audio page, with the headers.
    const auto early = b.join(t0 + Milliseconds{100});
    ASSERT_TRUE(early.ok);
    EXPECT_EQ(early.position, headers.size());
    ASSERT_TRUE(early.headers);
    EXPECT_EQ(*early.headers, headers);
    const auto late = b.join(t0 + Milliseconds{800});
    EXPECT_EQ(late.position, headers.size() + 3 * ogg_page(0, 1000).size());
}

// A listener on `b` reading through `stream` (kept alive by the caller), at position 0.
std::shared_ptr<ListenerSlot> add_listener(Broadcast& b, const std::shared_ptr<HttpStream>& stream,
                                           bool joined) {
    auto slot = std::make_shared<ListenerSlot>();
    slot->stream = stream;
    slot->joined = joined;
    b.add_listener(slot);
    return slot;
}

TEST(BroadcastBuffer, DropsAListenerThatFallsBehind) {
    Broadcast b(seconds{60}, seconds{10});
    const TimePoint t0 = *parse_w3cdtf("2026-01-01T00:00:00Z");
    const auto stream = std::make_shared<CountingStream>();
    add_listener(b, stream, true);
    b.append(chunk(std::string(100, 'a'), t0, seconds{1}), t0);
    EXPECT_EQ(b.listeners(), 1u);
    // The listener stays at 0 while the station plays on for 12 s.
    for (int s = 1; s <= 12; ++s) {
        b.append(chunk(std::string(100, 'x'), t0 + seconds{s}, seconds{1}), t0 + seconds{s});
    }
    EXPECT_EQ(b.dropped(), 1u);
    EXPECT_EQ(b.listeners(), 0u);
}

TEST(BroadcastBuffer, AListenerWaitingForAPlaceToJoinIsNotBehind) {
    // MPEG-TS: a listener waits for the next keyframe, which may be seconds away. Until it
    // has joined it has no position to lag with (it was once dropped as "49 s behind").
    Broadcast b(seconds{60}, seconds{10});
    const TimePoint t0 = *parse_w3cdtf("2026-01-01T00:00:00Z");
    const auto stream = std::make_shared<CountingStream>();
    add_listener(b, stream, false);
    for (int s = 0; s <= 12; ++s) {
        b.append(chunk(std::string(100, 'x'), t0 + seconds{s}, seconds{1}, std::string::npos),
                 t0 + seconds{s});
    }
    EXPECT_FALSE(b.join(t0 + seconds{12}).ok);
    EXPECT_EQ(b.dropped(), 0u);
    EXPECT_EQ(b.listeners(), 1u);
}

TEST(Silence, EncodesFramesOfTheStreamsFormat) {
    AudioParams p{StreamFormat::mp3, "mp3", 44100, 2, 128000};
    const std::string mp3 = encode_silence(p, Milliseconds{500});
    ASSERT_FALSE(mp3.empty());
    EXPECT_EQ(find_frame(StreamFormat::mp3, mp3), 0u) << "bare frames, no ID3 tag";
    // 128 kbit/s for half a second: about 8 KB.
    EXPECT_NEAR(static_cast<double>(mp3.size()), 8000.0, 1500.0);
    const std::string ogg =
        encode_silence({StreamFormat::ogg, "vorbis", 44100, 2, 128000}, Milliseconds{500});
    ASSERT_GT(ogg.size(), 100u);
    EXPECT_EQ(ogg.substr(0, 4), "OggS");
}

TEST(ByteRangeHeader, WhatPlayersSendIsServedAsAsked) {
    const ByteRange open = parse_byte_range("bytes=100-", 1000);
    EXPECT_TRUE(open.partial);
    EXPECT_TRUE(open.satisfiable);
    EXPECT_EQ(open.first, 100u);
    EXPECT_EQ(open.last, 999u);
    const ByteRange closed = parse_byte_range("bytes=0-99", 1000);
    EXPECT_EQ(closed.first, 0u);
    EXPECT_EQ(closed.last, 99u);
    EXPECT_EQ(parse_byte_range("bytes=900-5000", 1000).last, 999u) << "clipped to the item";
}

TEST(ByteRangeHeader, BeyondTheItemIsUnsatisfiable) {
    EXPECT_FALSE(parse_byte_range("bytes=1000-", 1000).satisfiable);
    EXPECT_FALSE(parse_byte_range("bytes=18446744073709551615-", 1000).satisfiable);
    EXPECT_FALSE(parse_byte_range("bytes=50-10", 1000).satisfiable);
}

TEST(ByteRangeHeader, AnythingElseGetsTheWholeItem) {
    for (const char* h : {"", "bytes=", "bytes=-500", "bytes=0-1,5-6", "bytes=a-b", "bytes= 5-",
                          "bytes=5--3", "bytes=99999999999999999999999-", "items=0-1", "bytes=5"}) {
        const ByteRange r = parse_byte_range(h, 1000);
        EXPECT_FALSE(r.partial) << h;
        EXPECT_TRUE(r.satisfiable) << h;
        EXPECT_EQ(r.first, 0u) << h;
        EXPECT_EQ(r.last, 999u) << h;
    }
    EXPECT_FALSE(parse_byte_range("bytes=0-", 0).partial) << "size unknown yet";
}

}  // namespace
}  // namespace alluvium::detail
