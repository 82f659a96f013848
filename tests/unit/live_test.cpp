// The live broadcaster's parts: cutting a source into segments that decode alone, and the
// rolling playlist (atomic rewrites, expiry, restart). The sources are made with ffmpeg.
#include <alluvium/media.hpp>
#include <alluvium/playlist.hpp>

#include "live_station.hpp"
#include "process.hpp"
#include "segmenter.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

namespace {

using namespace alluvium;
using namespace alluvium::broadcaster;
using namespace alluvium::test;
using namespace std::chrono;
namespace fs = std::filesystem;

// Makes a source file with ffmpeg from lavfi `inputs` and codec `args`.
fs::path make_source(const TempDir& dir, const std::string& name,
                     const std::vector<std::string>& inputs, const std::vector<std::string>& args) {
    const fs::path out = dir.path() / name;
    std::vector<std::string> argv = {"ffmpeg", "-nostdin", "-v", "error", "-y"};
    argv.insert(argv.end(), inputs.begin(), inputs.end());
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back(out.string());
    const RunResult r = run(argv, seconds(120));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return out;
}

std::vector<Segment> cut_all(const fs::path& source, const fs::path& dir, Milliseconds length) {
    fs::create_directories(dir);
    SegmenterOptions o;
    o.input = source.string();
    o.dir = dir;
    o.length = length;
    Segmenter segmenter(o);
    std::vector<Segment> out;
    while (auto s = segmenter.next())
        out.push_back(*s);
    EXPECT_EQ(segmenter.stop_reason(), "the source ended");
    return out;
}

Milliseconds exact_duration(const fs::path& file) {
    std::error_code ec;
    const auto info = probe_media(file.string(), ec);
    EXPECT_TRUE(info.has_value()) << file << ": " << ec.message();
    return info ? info->duration : Milliseconds{0};
}

// Decodes the whole file on its own; any decoder complaint fails.
void expect_decodes_alone(const fs::path& file) {
    const RunResult r = run(
        {"ffmpeg", "-nostdin", "-v", "error", "-xerror", "-i", file.string(), "-f", "null", "-"},
        seconds(60));
    EXPECT_EQ(r.exit_code, 0) << file << ": " << r.err;
    EXPECT_EQ(r.err, "") << file;
}

void expect_cut_well(const std::vector<Segment>& segments, const fs::path& source,
                     Milliseconds length, Milliseconds frame) {
    ASSERT_GE(segments.size(), 3u);
    Milliseconds sum{0};
    for (std::size_t i = 0; i < segments.size(); ++i) {
        const Segment& s = segments[i];
        SCOPED_TRACE(s.file.string());
        EXPECT_EQ(s.number, i + 1);
        EXPECT_TRUE(fs::exists(s.file));
        EXPECT_EQ(s.bytes, fs::file_size(s.file));
        if (i + 1 < segments.size()) {
            EXPECT_GE(s.duration, length);
            EXPECT_EQ(s.start + s.duration, segments[i + 1].start) << "segments follow each other";
        }
        expect_decodes_alone(s.file);
        sum += s.duration;
    }
    const Milliseconds whole = exact_duration(source);
    EXPECT_LE(std::abs((sum - whole).count()), frame.count())
        << "segments add up to " << sum.count() << " ms, the source is " << whole.count();
    // No temporary file is left behind.
    for (const auto& e : fs::directory_iterator(segments.front().file.parent_path()))
        EXPECT_NE(e.path().filename().string().front(), '.') << e.path();
}

// An audio codec the segmenter cuts on frame boundaries, and what it writes.
struct AudioCase {
    const char* name;  // the source file, whose extension tells ffmpeg the container
    std::vector<std::string> codec;
    Milliseconds length;  // segment target
    Milliseconds frame;   // one frame of this codec: how far the sum may drift
    const char* mime_type;
    const char* extension;
};

class SegmenterAudio : public ::testing::TestWithParam<AudioCase> {};

TEST_P(SegmenterAudio, CutsOnFramesIntoSegmentsThatDecodeAlone) {
    const AudioCase& c = GetParam();
    TempDir dir;
    const auto source =
        make_source(dir, c.name, {"-f", "lavfi", "-i", "sine=frequency=440:duration=15"}, c.codec);
    const auto segments = cut_all(source, dir.path() / "out", c.length);
    ASSERT_FALSE(segments.empty());
    EXPECT_EQ(segments.front().mime_type, c.mime_type);
    EXPECT_EQ(segments.front().file.extension(), c.extension);
    expect_cut_well(segments, source, c.length, c.frame);
}

INSTANTIATE_TEST_SUITE_P(Codecs, SegmenterAudio,
                         ::testing::Values(AudioCase{"tone.mp3",
                                                     {"-c:a", "libmp3lame", "-b:a", "128k"},
                                                     Milliseconds{4000},
                                                     Milliseconds{27},
                                                     "audio/mpeg",
                                                     ".mp3"},
                                           AudioCase{"tone.aac",
                                                     {"-c:a", "aac", "-b:a", "96k"},
                                                     Milliseconds{4000},
                                                     Milliseconds{24},
                                                     "audio/aac",
                                                     ".aac"},
                                           AudioCase{"tone.opus",
                                                     {"-c:a", "libopus", "-b:a", "64k"},
                                                     Milliseconds{4000},
                                                     Milliseconds{21},
                                                     "audio/ogg",
                                                     ".opus"},
                                           AudioCase{"tone.ogg",
                                                     {"-c:a", "libvorbis", "-q:a", "3"},
                                                     Milliseconds{4000},
                                                     Milliseconds{24},
                                                     "audio/ogg",
                                                     ".ogg"}),
                         [](const ::testing::TestParamInfo<AudioCase>& p) {
                             return std::string(p.param.extension + 1);
                         });

// A video codec the segmenter cuts on keyframes (every 2 s here), with its audio.
struct VideoCase {
    const char* name;
    std::vector<std::string> codecs;
    const char* mime_type;
};

class SegmenterVideo : public ::testing::TestWithParam<VideoCase> {};

TEST_P(SegmenterVideo, CutsOnKeyframesIntoSegmentsThatDecodeAlone) {
    const VideoCase& c = GetParam();
    TempDir dir;
    std::vector<std::string> args = {"-g", "50", "-keyint_min", "50", "-shortest"};
    args.insert(args.end(), c.codecs.begin(), c.codecs.end());
    const auto source =
        make_source(dir, c.name,
                    {"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=20", "-f",
                     "lavfi", "-i", "sine=frequency=440:duration=20"},
                    args);
    const auto segments = cut_all(source, dir.path() / "out", Milliseconds{6000});
    ASSERT_FALSE(segments.empty());
    EXPECT_EQ(segments.front().mime_type, c.mime_type);
    expect_cut_well(segments, source, Milliseconds{6000}, Milliseconds{40});
    for (const Segment& s : segments) {
        // Every segment opens on a keyframe.
        const RunResult r =
            run({"ffprobe", "-v", "error", "-select_streams", "v", "-read_intervals", "%+#1",
                 "-show_entries", "frame=key_frame", "-of", "csv=p=0", s.file.string()});
        EXPECT_EQ(r.out.substr(0, 1), "1") << s.file << ": " << r.out << r.err;
        // Keyframes come every 2 s, so a cut lands within one GOP of the target.
        if (s.number < segments.back().number) {
            EXPECT_LT(s.duration, Milliseconds{6000 + 2000});
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Codecs, SegmenterVideo,
                         ::testing::Values(VideoCase{"pattern.ts",
                                                     {"-c:v", "libx264", "-sc_threshold", "0",
                                                      "-preset", "ultrafast", "-c:a", "aac"},
                                                     "video/mp2t"},
                                           VideoCase{"pattern.webm",
                                                     {"-c:v", "libvpx", "-deadline", "realtime",
                                                      "-cpu-used", "8", "-b:v", "300k", "-c:a",
                                                      "libopus"},
                                                     "video/webm"}),
                         [](const ::testing::TestParamInfo<VideoCase>& p) {
                             return std::string(p.param.mime_type).substr(6);
                         });

TEST(Segmenter, RefusesWhatCannotBeCutWithoutReencoding) {
    TempDir dir;
    const auto source =
        make_source(dir, "tone.flac", {"-f", "lavfi", "-i", "sine=frequency=440:duration=2"}, {});
    SegmenterOptions o;
    o.input = source.string();
    o.dir = dir.path();
    try {
        Segmenter s(o);
        FAIL() << "a FLAC source was accepted";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("tone.flac"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("flac"), std::string::npos) << e.what();
    }
}

TEST(Segmenter, AMissingSourceIsAClearError) {
    TempDir dir;
    SegmenterOptions o;
    o.input = (dir.path() / "nothing.mp3").string();
    o.dir = dir.path();
    EXPECT_THROW(Segmenter{o}, std::runtime_error);
}

// ---- the live playlist ----------------------------------------------------------------

LiveOptions live_options(const fs::path& dir) {
    LiveOptions o;
    o.dir = dir;
    o.base_url = "http://127.0.0.1:8080/live/";
    o.title = "Test live";
    o.segment_length = Milliseconds{6000};
    o.window = Milliseconds{60000};
    o.grace = Milliseconds{10000};
    return o;
}

PublishedSegment segment(const fs::path& dir, unsigned n, TimePoint start) {
    char name[32];
    std::snprintf(name, sizeof name, "segment-%06u.mp3", n);
    std::ofstream(dir / name) << "frames";
    return {n, name, "audio/mpeg", 6, Milliseconds{6000}, start, std::nullopt};
}

Playlist read_back(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    const ReadResult r = read_playlist(text.str(), file.string());
    EXPECT_TRUE(r.ok()) << (r.diagnostics.empty() ? "" : r.diagnostics.front().to_string());
    return r.ok() ? *r.playlist : Playlist{};
}

const TimePoint t0 = TimePoint{} + hours(24 * 20000);

TEST(LiveStation, EachSegmentIsListedWithItsCaptureTimeDurationAndLength) {
    TempDir dir;
    LiveStation station(live_options(dir.path()));
    station.add(segment(dir.path(), 1, t0), t0 + seconds(6));
    station.add(segment(dir.path(), 2, t0 + seconds(6)), t0 + seconds(12));
    const Playlist p = read_back(station.playlist_path());
    ASSERT_EQ(p.items.size(), 2u);
    EXPECT_EQ(p.items[1].media_url, "http://127.0.0.1:8080/live/segment-000002.mp3");
    EXPECT_EQ(p.items[1].start, t0 + seconds(6));
    EXPECT_EQ(p.items[1].duration, Milliseconds{6000});
    EXPECT_EQ(p.items[1].length_bytes, 6u);
    EXPECT_EQ(p.items[1].mime_type, "audio/mpeg");
    ASSERT_TRUE(p.update.has_value());
    EXPECT_EQ(p.update->interval(), Milliseconds{6000}) << "listeners re-read every segment";
    EXPECT_FALSE(p.loops());
}

TEST(LiveStation, OldSegmentsLeaveTheWindowAndTheirFilesGoAfterTheGrace) {
    TempDir dir;
    LiveStation station(live_options(dir.path()));
    for (unsigned n = 1; n <= 20; ++n)
        station.add(segment(dir.path(), n, t0 + seconds(6 * (n - 1))), t0 + seconds(6 * n));
    // Now is t0 + 120 s: what ended before t0 + 60 s is gone from the playlist.
    const Playlist p = read_back(station.playlist_path());
    ASSERT_FALSE(p.items.empty());
    EXPECT_GE(*p.items.front().start + *p.items.front().duration, t0 + seconds(60));
    EXPECT_EQ(p.items.size(), 11u);
    // Segment 9 left the window at t0 + 120 s: its file stays for the grace (10 s).
    EXPECT_TRUE(fs::exists(dir.path() / "segment-000009.mp3"));
    EXPECT_FALSE(fs::exists(dir.path() / "segment-000001.mp3"));
    station.expire(t0 + seconds(131));
    EXPECT_FALSE(fs::exists(dir.path() / "segment-000009.mp3"));
    EXPECT_TRUE(fs::exists(dir.path() / "segment-000010.mp3"));
}

TEST(LiveStation, ARestartGoesOnNumberingAndKeepsTheSchedule) {
    TempDir dir;
    {
        LiveStation station(live_options(dir.path()));
        for (unsigned n = 1; n <= 5; ++n)
            station.add(segment(dir.path(), n, t0 + seconds(6 * (n - 1))), t0 + seconds(6 * n));
    }
    LiveStation again(live_options(dir.path()));
    EXPECT_EQ(again.next_number(), 6u);
    ASSERT_EQ(again.playlist().items.size(), 5u);
    // The source came back 20 s later: the new segment starts then, after a gap.
    again.add(segment(dir.path(), 6, t0 + seconds(50)), t0 + seconds(56));
    const Playlist p = read_back(again.playlist_path());
    ASSERT_EQ(p.items.size(), 6u);
    EXPECT_EQ(p.items[5].start, t0 + seconds(50));
    EXPECT_EQ(p.items[4].start, t0 + seconds(24));
}

TEST(LiveStation, ABrokenPlaylistInTheFolderIsAClearError) {
    TempDir dir;
    std::ofstream(dir.path() / "live.rss") << "<rss>not ours";
    try {
        LiveStation station(live_options(dir.path()));
        FAIL() << "a broken playlist was taken over";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("live.rss"), std::string::npos) << e.what();
    }
}

TEST(LiveStation, AReaderNeverSeesAHalfWrittenPlaylist) {
    TempDir dir;
    LiveStation station(live_options(dir.path()));
    station.add(segment(dir.path(), 1, t0), t0);
    std::atomic<bool> done{false};
    std::atomic<int> reads{0};
    std::atomic<int> bad{0};
    std::thread reader([&] {
        while (!done) {
            std::ifstream in(station.playlist_path(), std::ios::binary);
            std::stringstream text;
            text << in.rdbuf();
            if (!read_playlist(text.str(), "live.rss").ok())
                ++bad;
            ++reads;
        }
    });
    for (unsigned n = 2; n <= 300; ++n)
        station.add(segment(dir.path(), n, t0 + seconds(6 * (n - 1))), t0 + seconds(6 * n));
    done = true;
    reader.join();
    EXPECT_GT(reads.load(), 10);
    EXPECT_EQ(bad.load(), 0) << "of " << reads.load() << " reads";
}

TEST(LiveStation, SegmentNumbersComeFromFileNames) {
    EXPECT_EQ(segment_number("segment-000042.mp3"), 42u);
    EXPECT_EQ(segment_number("live7.ts"), 7u);
    EXPECT_EQ(segment_number("intro.mp3"), 0u);
    EXPECT_EQ(segment_number("segment-99999999999.mp3"), 0u);
}

}  // namespace
