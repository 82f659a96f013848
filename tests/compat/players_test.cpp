// Real players on the local stream: mpv, ffprobe and VLC connect to /stream, play it,
// and show the item's title (ICECAST-NOTES.md gives the commands and what they print).
#include "station.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <fstream>

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
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("TAG:icy-name=Test Station"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("TAG:StreamTitle=Tone 500"), std::string::npos) << r.out;
}

TEST_F(Players, VlcPlaysAndShowsTheTitle) {
    ASSERT_TRUE(have_program("cvlc"));
    // VLC refuses to run as root: run it as nobody, with a home of its own.
    const std::string home = station_->dir() / "vlchome";
    std::filesystem::create_directories(home);
    std::filesystem::permissions(home, std::filesystem::perms::all);
    const std::string wav = home + "/vlc.wav";
    std::vector<std::string> argv = {"cvlc",
                                     "--no-dbus",
                                     "--no-metadata-network-access",
                                     "--aout=afile",
                                     "--audiofile-file=" + wav,
                                     "--play-and-exit",
                                     "--run-time=5",
                                     "-vv",
                                     tune_->stream_url()};
    if (geteuid() == 0) {
        argv.insert(argv.begin(), {"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                                   "env", "HOME=" + home});
    }
    const RunResult r = run(argv, seconds(30));
    EXPECT_NE(r.err.find("New Icy-Title=Tone 500"), std::string::npos) << r.err.substr(0, 3000);
    EXPECT_GT(wav_rms(wav), 1000.0) << "VLC decoded silence";
}

}  // namespace
}  // namespace alluvium::test
