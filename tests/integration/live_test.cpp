// A live station end to end on 127.0.0.1: a source paced in real time, alluvium-broadcaster
// live cutting it, nginx publishing the segments and the growing playlist, the gateway told
// of each segment, and listeners playing it behind the live edge.
#include <alluvium/fetch.hpp>
#include <alluvium/playlist.hpp>

#include "gateway_process.hpp"
#include "nginx_origin.hpp"
#include "process.hpp"
#include "station.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <future>
#include <sstream>

namespace {

using namespace alluvium;
using namespace alluvium::test;
using namespace std::chrono;
namespace fs = std::filesystem;

const Binaries binaries{ALLUVIUM_BROADCASTER, ALLUVIUM_GATEWAY, ALLUVIUM_TUNE};
// The source: 400, 700 and 1100 Hz, each for 3 s, round and round.
const std::vector<int> tones = {400, 700, 1100};

std::size_t items_in(const fs::path& playlist) {
    std::ifstream in(playlist, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    const ReadResult r = read_playlist(text.str(), playlist.string());
    return r.ok() ? r.playlist->items.size() : 0;
}

class LiveStationTest : public ::testing::Test {
  protected:
    // The source carries a test pattern as well (H.264 and AAC in MPEG-TS).
    [[nodiscard]] virtual bool video() const { return false; }

    void SetUp() override {
        www_ = dir_.path() / "www";
        fs::create_directories(www_ / "live");
        source_ = dir_.path() / (video() ? "source.ts" : "source.mp3");
        std::vector<std::string> argv = {
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "aevalsrc=sin(2*PI*(400+300*eq(mod(floor(t/3)\\,3)\\,1)+700*eq(mod(floor(t/3)\\,3)"
            "\\,2))*t):s=44100:d=120"};
        if (video()) {
            argv.insert(argv.end(), {"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:d=120",
                                     "-c:v", "libx264", "-preset", "veryfast", "-g", "50",
                                     "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k"});
        } else {
            argv.insert(argv.end(), {"-c:a", "libmp3lame", "-b:a", "128k"});
        }
        argv.push_back(source_.string());
        const RunResult made = run(argv, seconds(120));
        ASSERT_EQ(made.exit_code, 0) << made.err;
        origin_ = std::make_unique<NginxOrigin>(www_);
        gateway_ = std::make_unique<GatewayProcess>(
            binaries.gateway, dir_.path() / "gateway",
            std::vector<std::string>{"--allow-origin", origin_->origin()});
        start_broadcaster();
    }

    void start_broadcaster() {
        broadcaster_ = std::make_unique<Background>(
            std::vector<std::string>{binaries.broadcaster, "--log-level", "info", "live",
                                     source_.string(), "-o", (www_ / "live").string(), "-b",
                                     origin_->url("live/"), "--segment-seconds", "2",
                                     "--window-minutes", "2", "--gateway", gateway_->base()},
            (dir_.path() / ("broadcaster" + std::to_string(starts_++) + ".log")).string());
    }

    // Waits until the playlist lists at least `n` segments.
    bool segments_listed(std::size_t n, seconds within) {
        return eventually([&] { return items_in(playlist()) >= n; }, within);
    }

    [[nodiscard]] fs::path playlist() const { return www_ / "live" / "live.rss"; }
    [[nodiscard]] std::string playlist_url() const { return origin_->url("live/live.rss"); }

    TempDir dir_;
    fs::path www_;
    fs::path source_;
    std::unique_ptr<NginxOrigin> origin_;
    std::unique_ptr<GatewayProcess> gateway_;
    std::unique_ptr<Background> broadcaster_;
    int starts_ = 0;
};

// Silent windows of 50 ms after the first sound: the source has none.
int silences_after_start(const std::vector<int>& windows) {
    std::size_t i = 0;
    while (i < windows.size() && windows[i] == 0)
        ++i;
    int silent = 0;
    for (; i < windows.size(); ++i)
        silent += windows[i] == 0 ? 1 : 0;
    return silent;
}

TEST_F(LiveStationTest, ListenersPlayItContinuouslyAndInStepAndARestartDoesNotBreakThem) {
    // Three segments behind the edge need three segments to play.
    ASSERT_TRUE(segments_listed(4, seconds(30))) << broadcaster_->log();
    std::vector<std::unique_ptr<TuneProcess>> listeners;
    for (int n = 0; n < 3; ++n) {
        listeners.push_back(std::make_unique<TuneProcess>(
            binaries, playlist_url(), dir_.path() / ("listener" + std::to_string(n)),
            std::vector<std::string>{"--gateway", gateway_->base()}));
    }
    for (const auto& l : listeners)
        EXPECT_EQ(l->status()["live_delay_ms"].get<int>(), 6000) << l->log();

    std::vector<std::future<Recording>> recordings;
    for (const auto& l : listeners) {
        recordings.push_back(std::async(
            std::launch::async, [port = l->port()] { return record_stream(port, "/stream", 14); }));
    }
    // In step: at one moment, every listener plays the same point of the schedule.
    ASSERT_TRUE(eventually(
        [&] {
            return std::all_of(listeners.begin(), listeners.end(),
                               [](const auto& l) { return !l->status()["playing"].is_null(); });
        },
        seconds(10)));
    std::vector<std::int64_t> positions;
    for (const auto& l : listeners) {
        const auto st = l->status();
        ASSERT_FALSE(st["playing"].is_null()) << l->log();
        const auto start = parse_w3cdtf(st["playing"]["start"].get<std::string>());
        const auto now = parse_w3cdtf(st["now"].get<std::string>());
        ASSERT_TRUE(start && now);
        // Where the listener is on the schedule, against where the clock says it should be.
        positions.push_back((*start - *now).count() +
                            st["playing"]["offset_ms"].get<std::int64_t>());
    }
    const auto [lo, hi] = std::minmax_element(positions.begin(), positions.end());
    EXPECT_LE(*hi - *lo, 1000) << "listeners are not in step";

    for (std::size_t n = 0; n < recordings.size(); ++n) {
        const Recording rec = recordings[n].get();
        const auto windows = tones_in(rec, 14, tones, 0.05);
        ASSERT_GE(windows.size(), 200u) << listeners[n]->log();
        EXPECT_EQ(silences_after_start(windows), 0)
            << "listener " << n << " heard gaps at segment joins";
        // The tones change every 3 s, in order: all three are heard.
        for (int hz : tones)
            EXPECT_GE(first_window(windows, hz), 0) << "listener " << n << " never heard " << hz;
        EXPECT_EQ(listeners[n]->status()["stalls"].get<int>(), 0) << listeners[n]->log();
    }

    // The broadcaster restarts: numbering goes on, listeners keep playing what comes next.
    const std::size_t before = items_in(playlist());
    broadcaster_->stop();
    start_broadcaster();
    ASSERT_TRUE(segments_listed(before + 4, seconds(30))) << broadcaster_->log();
    EXPECT_TRUE(fs::exists(www_ / "live" / "segment-000001.mp3")) << "the old segments stay";
    const Recording after = record_stream(listeners[0]->port(), "/stream", 10);
    const auto windows = tones_in(after, 10, tones, 0.05);
    int heard = 0;
    for (int w : windows)
        heard += w != 0 ? 1 : 0;
    EXPECT_GE(heard, static_cast<int>(windows.size()) / 2) << listeners[0]->log();
    EXPECT_EQ(listeners[0]->status()["playlist_error"].get<std::string>(), "");
}

class LiveVideoStationTest : public LiveStationTest {
  protected:
    [[nodiscard]] bool video() const override { return true; }
};

TEST_F(LiveVideoStationTest, AListenerPlaysItAsOneTransportStreamAcrossSegments) {
    ASSERT_TRUE(segments_listed(4, seconds(30))) << broadcaster_->log();
    EXPECT_TRUE(fs::exists(www_ / "live" / "segment-000001.ts"));
    TuneProcess listener(binaries, playlist_url(), dir_.path() / "listener",
                         {"--gateway", gateway_->base()});
    const Recording rec = record_stream(listener.port(), "/stream", 14);
    EXPECT_NE(rec.head.find("Content-Type: video/mp2t"), std::string::npos) << rec.head;
    const VideoTimeline video = video_timeline(rec, dir_.path() / "stream.ts");
    ASSERT_TRUE(video.error.empty()) << video.error << listener.log();
    // 2 s segments: six or more joins in what was recorded, none seen in the timestamps.
    EXPECT_GT(video.frames, 250u) << listener.log();
    EXPECT_TRUE(video.starts_on_keyframe);
    EXPECT_EQ(video.steps_back, 0);
    EXPECT_LT(video.largest_step, 0.2) << "a jump in time at a segment join" << listener.log();
    const auto windows = tones_in(rec, 13, tones, 0.05);
    ASSERT_GE(windows.size(), 200u) << listener.log();
    std::string heard;  // one letter per 50 ms: what a failure shows
    for (int w : windows)
        heard += w == 0 ? '.' : static_cast<char>('a' + (w / 100) % 26);
    EXPECT_EQ(silences_after_start(windows), 0) << "gaps in the sound at segment joins: " << heard;
    for (int hz : tones)
        EXPECT_GE(first_window(windows, hz), 0) << "never heard " << hz;
    EXPECT_EQ(listener.status()["stalls"].get<int>(), 0) << listener.log();
}

}  // namespace
