// A station that mixes formats: MP3, Ogg Vorbis, FLAC, WAV and AAC items. Its stream takes
// the format most items have (MP3); the listener transcodes the others into it. A player
// must hear no silence where one item meets the next, and mpv and streamripper must see
// each item's title (docs/ICECAST.md).
#include <alluvium/playlist.hpp>

#include "station.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <regex>
#include <set>
#include <sstream>

namespace alluvium::test {
namespace {

using namespace std::chrono;

const Binaries binaries{ALLUVIUM_BROADCASTER, ALLUVIUM_GATEWAY, ALLUVIUM_TUNE};

constexpr double item_seconds = 20;
constexpr double recording_seconds = 300;  // five minutes: every boundary twice
const std::vector<std::string> mp3{"-c:a", "libmp3lame", "-b:a", "128k"};

std::vector<ToneItem> mixed_items() {
    return {{"a.mp3", 440, item_seconds, mp3},
            {"b.ogg", 550, item_seconds, {"-c:a", "libvorbis", "-b:a", "128k"}},
            {"c.mp3", 660, item_seconds, mp3},
            {"d.flac", 770, item_seconds, {"-c:a", "flac"}},
            {"e.wav", 880, item_seconds, {"-c:a", "pcm_s16le"}},
            {"f.aac", 990, item_seconds, {"-c:a", "aac", "-b:a", "128k"}},
            {"g.mp3", 1100, item_seconds, mp3}};
}

struct Silence {
    double start = 0;
    double length = 0;
};

// The silences longer than `shortest` seconds in an MP3 file, by ffmpeg's silencedetect
// (quieter than -50 dBFS; the tones are at -18 dBFS). `decoded`: whether ffmpeg read it.
std::vector<Silence> silences_in(const std::string& file, double shortest, bool& decoded) {
    const RunResult r =
        run({"ffmpeg", "-nostdin", "-v", "info", "-i", file, "-af",
             "silencedetect=noise=-50dB:duration=" + std::to_string(shortest), "-f", "null", "-"},
            seconds(120));
    decoded = r.exit_code == 0;
    std::vector<Silence> out;
    const std::regex end(R"(silence_end: ([0-9.]+) \| silence_duration: ([0-9.]+))");
    for (std::sregex_iterator it(r.err.begin(), r.err.end(), end), last; it != last; ++it) {
        const double length = std::stod((*it)[2]);
        out.push_back({std::stod((*it)[1]) - length, length});
    }
    return out;
}

class MixedFormats : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        station_ = primed_station(binaries, mixed_items(), {}, seconds(2));
        tune_ = station_->tune();
    }
    static void TearDownTestSuite() {
        tune_.reset();
        station_.reset();
    }

    // Each item's title as the playlist gives it (an ADTS file has no tags: its file name).
    static std::vector<std::string> titles() {
        std::ifstream in(station_->dir() / "www/station.rss");
        std::stringstream text;
        text << in.rdbuf();
        const ReadResult read = read_playlist(text.str(), "station.rss");
        std::vector<std::string> out;
        if (read.ok()) {
            for (const Item& item : read.playlist->items)
                out.push_back(item.display_title());
        }
        return out;
    }

    static std::unique_ptr<TestStation> station_;
    static std::unique_ptr<TuneProcess> tune_;
};
std::unique_ptr<TestStation> MixedFormats::station_;
std::unique_ptr<TuneProcess> MixedFormats::tune_;

// Five minutes of the stream recorded, while mpv and streamripper listen beside it for the
// first two and a half (the loop is 140 s long).
TEST_F(MixedFormats, PlaysEveryItemOnOneMp3StreamWithoutSilenceAndPlayersSeeEachTitle) {
    ASSERT_TRUE(have_program("mpv"));
    ASSERT_TRUE(have_program("streamripper"));
    const std::vector<std::string> expected = titles();
    ASSERT_EQ(expected.size(), mixed_items().size());

    auto recording = std::async(std::launch::async, [] {
        return record_stream(tune_->port(), "/stream", recording_seconds);
    });
    const int listen = static_cast<int>(item_seconds * 7 + 10);
    auto mpv = std::async(std::launch::async, [&] {
        return run({"mpv", "--no-config", "--no-video", "--ao=null",
                    "--length=" + std::to_string(listen), tune_->stream_url()},
                   seconds(listen + 30));
    });
    const std::string rips = station_->dir() / "rips";
    auto ripper = std::async(std::launch::async, [&] {
        return run(
            {"streamripper", tune_->stream_url(), "-d", rips, "-s", "-l", std::to_string(listen)},
            seconds(listen + 30));
    });

    const RunResult mpv_run = mpv.get();
    const RunResult ripper_run = ripper.get();
    const std::string mpv_said = mpv_run.out + mpv_run.err;
    for (const std::string& title : expected) {
        EXPECT_NE(mpv_said.find("icy-title: " + title), std::string::npos)
            << "mpv did not show " << title << ":\n"
            << mpv_said.substr(0, 4000);
        EXPECT_NE(ripper_run.out.find("- " + title), std::string::npos)
            << "streamripper did not see " << title;
    }

    const Recording rec = recording.get();
    EXPECT_NE(rec.head.find("Content-Type: audio/mpeg"), std::string::npos) << rec.head;
    ASSERT_GT(rec.body.size(), 16000u * 250) << "about 16 kB/s for 300 s";
    const std::string file = station_->dir() / "stream.mp3";
    std::ofstream(file, std::ios::binary) << rec.body;

    // Every item's tone is in it: the transcoded ones play, not silence in their place.
    const std::vector<int> heard =
        tones_in(rec, recording_seconds - 5, {440, 550, 660, 770, 880, 990, 1100}, 0.5);
    std::set<int> tones(heard.begin(), heard.end());
    tones.erase(0);
    EXPECT_EQ(tones.size(), 7u);

    // One pass finds every gap over 20 ms (encoders' priming at the boundaries, printed for
    // the record); none of 100 ms or more may fall after the first second (a player's start).
    bool decoded = false;
    const std::vector<Silence> gaps = silences_in(file, 0.02, decoded);
    ASSERT_TRUE(decoded) << "ffmpeg could not decode the recording";
    double longest = 0;
    for (const Silence& s : gaps) {
        if (s.start + s.length > 1.0 && s.length >= 0.1)
            ADD_FAILURE() << s.length * 1000 << " ms of silence at " << s.start << " s";
        if (s.start > 1.0)
            longest = std::max(longest, s.length);
    }
    std::printf("boundaries: %zu gaps over 20 ms, the longest %.0f ms\n", gaps.size(),
                longest * 1000);
    EXPECT_EQ(answered_status(*tune_, "the listener").value("warning", ""), "")
        << "an item could not go on the stream";
}

}  // namespace
}  // namespace alluvium::test
