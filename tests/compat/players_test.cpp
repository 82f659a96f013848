// Real players on the local stream: mpv, ffprobe and VLC connect to /stream, play it,
// and show the item's title (docs/ICECAST.md gives the commands and what they print).
#include "chromium.hpp"
#include "station.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <set>

namespace alluvium::test {
namespace {

using namespace std::chrono;

const Binaries binaries{ALLUVIUM_BROADCASTER, ALLUVIUM_GATEWAY, ALLUVIUM_TUNE};

class Players : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        station_ = std::make_unique<TestStation>(
            binaries, std::vector<ToneItem>{{"a.mp3", 500, 30}, {"b.mp3", 900, 30}},
            std::vector<std::string>{"-c:a", "libmp3lame", "-b:a", "128k"});
        station_->publish();
        station_->write_playlist(time_point_cast<Milliseconds>(system_clock::now()) - seconds(2));
        station_->start_gateway();
        ASSERT_TRUE(station_->prime());
        tune_ = station_->tune();
    }
    static void TearDownTestSuite() {
        tune_.reset();
        station_.reset();
    }

    static std::unique_ptr<TestStation> station_;
    static std::unique_ptr<TuneProcess> tune_;
};
std::unique_ptr<TestStation> Players::station_;
std::unique_ptr<TuneProcess> Players::tune_;

// Root mean square of a 16-bit WAV's samples (after its 44-byte header).
double wav_rms(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    const std::string bytes(std::istreambuf_iterator<char>(in), {});
    if (bytes.size() <= 44)
        return 0;
    const auto* s = reinterpret_cast<const std::int16_t*>(bytes.data() + 44);
    const std::size_t n = (bytes.size() - 44) / 2;
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i)
        sum += static_cast<double>(s[i]) * s[i];
    return std::sqrt(sum / static_cast<double>(n));
}

// cvlc playing `url` for `run_time` seconds, its sound into `wav` (inside `home`). VLC
// refuses to run as root: as root it runs as nobody, with a home of its own (`home`).
RunResult run_vlc(const std::string& url, const std::string& home, const std::string& wav,
                  int run_time, std::vector<std::string> options = {}) {
    std::filesystem::create_directories(home);
    std::filesystem::permissions(home, std::filesystem::perms::all);
    std::vector<std::string> argv = {"cvlc", "--no-dbus", "--no-metadata-network-access"};
    argv.insert(argv.end(), options.begin(), options.end());
    argv.insert(argv.end(), {"--aout=afile", "--audiofile-file=" + wav, "--play-and-exit",
                             "--run-time=" + std::to_string(run_time), "-vv", url});
    if (geteuid() == 0) {
        argv.insert(argv.begin(), {"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                                   "env", "HOME=" + home});
    }
    return run(argv, std::chrono::seconds(run_time + 28));
}

TEST_F(Players, MpvPlaysAndShowsTheTitle) {
    ASSERT_TRUE(have_program("mpv"));
    const std::string wav = station_->dir() / "mpv.wav";
    const RunResult r = run({"mpv", "--no-config", "--no-video", "--ao=pcm", "--ao-pcm-file=" + wav,
                             "--length=4", tune_->stream_url()},
                            seconds(20));
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE((r.out + r.err).find("icy-title: Tone 500"), std::string::npos) << r.out << r.err;
    EXPECT_GT(wav_rms(wav), 1000.0) << "mpv decoded silence";
}

TEST_F(Players, FfprobeReadsTheStationAndTitle) {
    const RunResult r =
        run({"ffprobe", "-v", "error", "-rw_timeout", "5000000", "-show_entries",
             "format_tags=StreamTitle,icy-name", "-of", "default=nw=1", tune_->stream_url()},
            seconds(20));
    EXPECT_EQ(r.exit_code, 0) << r.err << tune_->log();
    EXPECT_NE(r.out.find("TAG:icy-name=Test Station"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("TAG:StreamTitle=Tone 500"), std::string::npos) << r.out;
}

TEST_F(Players, VlcPlaysAndShowsTheTitle) {
    ASSERT_TRUE(have_program("cvlc"));
    const std::string home = station_->dir() / "vlchome";
    const std::string wav = home + "/vlc.wav";
    const RunResult r = run_vlc(tune_->stream_url(), home, wav, 5);
    EXPECT_NE(r.err.find("New Icy-Title=Tone 500"), std::string::npos) << r.err.substr(0, 3000);
    EXPECT_GT(wav_rms(wav), 1000.0) << "VLC decoded silence";
}

// A video station: H.264/AAC items in MP4 and in MPEG-TS, 6 s each, each with its own
// tone. The local stream remuxes them into one MPEG-TS stream; players must go from one
// item to the next (two tones and two titles in what they played).
class VideoStation : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        station_ = std::make_unique<TestStation>(
            binaries,
            std::vector<ToneItem>{{"a.mp4", 500, 6}, {"b.ts", 900, 6}, {"c.mp4", 1300, 6}},
            std::vector<std::string>{"-c:v", "libx264", "-preset", "veryfast", "-g", "25",
                                     "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k"});
        station_->publish();
        station_->write_playlist(time_point_cast<Milliseconds>(system_clock::now()) - seconds(2));
        station_->start_gateway();
        ASSERT_TRUE(station_->prime());
        tune_ = station_->tune();
    }
    static void TearDownTestSuite() {
        tune_.reset();
        station_.reset();
    }

    static std::set<int> tones(const std::vector<int>& windows) {
        std::set<int> heard(windows.begin(), windows.end());
        heard.erase(0);
        return heard;
    }
    static std::set<std::string> titles(const std::string& log, const std::string& marker) {
        std::set<std::string> seen;
        for (auto at = log.find(marker); at != std::string::npos; at = log.find(marker, at + 1)) {
            const auto end = log.find_first_of("\r\n", at);
            seen.insert(log.substr(at + marker.size(), end - at - marker.size()));
        }
        return seen;
    }

    static std::unique_ptr<TestStation> station_;
    static std::unique_ptr<TuneProcess> tune_;
};
std::unique_ptr<TestStation> VideoStation::station_;
std::unique_ptr<TuneProcess> VideoStation::tune_;

const std::vector<int> video_tones{500, 900, 1300};

TEST_F(VideoStation, TheStreamIsOneTransportStreamWithRisingTimestamps) {
    const Recording rec = record_stream(tune_->port(), "/stream", 14.0);
    EXPECT_NE(rec.head.find("Content-Type: video/mp2t"), std::string::npos) << rec.head;
    ASSERT_GT(rec.body.size(), 188u * 100);
    EXPECT_EQ(rec.body[0], 0x47) << "a listener starts on a transport packet";
    const std::string file = station_->dir() / "stream.ts";
    const VideoTimeline video = video_timeline(rec, file);
    ASSERT_TRUE(video.error.empty()) << video.error;
    // Every video frame decodes (the recording's last second may end mid-frame).
    const RunResult decode = run(
        {"ffmpeg", "-nostdin", "-v", "error", "-xerror", "-i", file, "-t", "12", "-f", "null", "-"},
        seconds(60));
    EXPECT_EQ(decode.exit_code, 0) << decode.err;
    // Decoding times rise frame by frame, across the items (no jump, no step back).
    EXPECT_GT(video.frames, 200u) << "about 25 frames a second for 14 s";
    EXPECT_TRUE(video.starts_on_keyframe) << "the first frame a listener gets is a keyframe";
    EXPECT_EQ(video.steps_back, 0);
    EXPECT_LT(video.largest_step, 0.2) << "a jump in time";
    // And the sound crossed an item boundary.
    EXPECT_GE(tones(tones_in(rec, 12.0, video_tones)).size(), 2u);
}

TEST_F(VideoStation, MpvPlaysVideoAcrossItems) {
    ASSERT_TRUE(have_program("mpv"));
    const std::string wav = station_->dir() / "mpv-video.wav";
    const RunResult r = run({"mpv", "--no-config", "--vo=null", "--ao=pcm", "--ao-pcm-file=" + wav,
                             "--length=12", tune_->stream_url()},
                            seconds(40));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const std::string log = r.out + r.err;
    EXPECT_NE(log.find("VO: [null] 320x240"), std::string::npos) << "mpv showed no video";
    EXPECT_GE(titles(log, "icy-title: ").size(), 2u) << "mpv stayed in one item";
    EXPECT_GE(tones(tones_in(wav, 11.0, video_tones)).size(), 2u) << "one tone only";
}

TEST_F(VideoStation, VlcPlaysVideoAcrossItems) {
    ASSERT_TRUE(have_program("cvlc"));
    const std::string home = station_->dir() / "vlchome";
    const std::string wav = home + "/vlc-video.wav";
    const RunResult r = run_vlc(tune_->stream_url(), home, wav, 12, {"--vout=dummy"});
    EXPECT_NE(r.err.find("using demux module \"ts\""), std::string::npos) << r.err.substr(0, 3000);
    EXPECT_NE(r.err.find("using video decoder module"), std::string::npos) << "no video decoded";
    EXPECT_GE(titles(r.err, "New Icy-Title=").size(), 2u) << "VLC stayed in one item";
    EXPECT_GE(tones(tones_in(wav, 10.0, video_tones)).size(), 2u) << "one tone only";
}

// A browser does not play MPEG-TS: the listener's page says how to open the stream instead.
TEST_F(VideoStation, TheWebPageSaysHowToOpenTheStreamInAPlayer) {
    ASSERT_TRUE(have_program("chromium"));
    Chromium browser(station_->dir().path() / "chromium-video");
    browser.open(tune_->base() + "/");
    ASSERT_TRUE(eventually(
        [&] { return browser.evaluate("!document.getElementById('video-note').hidden") == true; },
        seconds(10)));
    EXPECT_EQ(browser.evaluate("document.getElementById('player').hidden"), true);
    EXPECT_EQ(browser.evaluate("document.getElementById('video-command').textContent"),
              "mpv " + tune_->stream_url());
}

}  // namespace
}  // namespace alluvium::test
