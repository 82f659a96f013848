// The Tuner as a library user drives it (in process): clock correction, playlist re-reads,
// events, and a cache that survives a restart.
#include <alluvium/tuner.hpp>

#include "station.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <thread>

namespace alluvium::test {
namespace {

using namespace std::chrono;

const Binaries binaries{ALLUVIUM_BROADCASTER, ALLUVIUM_GATEWAY, ALLUVIUM_TUNE};

std::unique_ptr<TestStation> make_station() {
    auto s = std::make_unique<TestStation>(
        binaries, std::vector<ToneItem>{{"a.mp3", 400, 6}, {"b.mp3", 700, 6}, {"c.mp3", 1100, 6}},
        std::vector<std::string>{"-c:a", "libmp3lame", "-b:a", "128k"});
    s->publish();
    s->write_playlist(now_ms() - milliseconds(1000));
    s->start_gateway();
    EXPECT_TRUE(s->prime());
    return s;
}

TunerOptions options_for(TestStation& s, const std::string& cache) {
    TunerOptions o;
    o.gateways = {s.gateway().base()};
    o.cache_dir = s.dir().path() / cache;
    o.stream_port = 0;
    o.bt_listen = "127.0.0.1:0";
    return o;
}

std::vector<TunerEvent> wait_for_event(Tuner& tuner, TunerEventKind kind, seconds timeout) {
    std::vector<TunerEvent> seen;
    eventually(
        [&] {
            for (auto& e : tuner.take_events())
                seen.push_back(std::move(e));
            return std::any_of(seen.begin(), seen.end(),
                               [&](const TunerEvent& e) { return e.kind == kind; });
        },
        timeout);
    return seen;
}

class ClockSkew : public ::testing::TestWithParam<int> {};

TEST_P(ClockSkew, TheStationServersDateCorrectsAWrongLocalClock) {
    auto s = make_station();
    const minutes skew{GetParam()};
    TunerOptions o = options_for(*s, "cache");
    o.clock = [skew] { return now_ms() + skew; };
    Tuner tuner(o);
    std::error_code ec;
    std::string detail;
    ASSERT_FALSE(tuner.tune(s->playlist_url(), ec, &detail).empty()) << detail;
    ASSERT_TRUE(eventually([&] { return tuner.status().now.has_value(); }, seconds(10)));
    const TunerStatus st = tuner.status();
    EXPECT_NEAR(static_cast<double>(st.clock_offset.count()),
                -static_cast<double>(duration_cast<Milliseconds>(skew).count()), 2000.0);
    // Every client computes the same item: the one the real clock says (1-2 s into a).
    EXPECT_EQ(st.now->index, 0u);
    EXPECT_LT(st.offset, seconds(5));
}

INSTANTIATE_TEST_SUITE_P(PlusAndMinusTenMinutes, ClockSkew, ::testing::Values(10, -10));

TEST(Tuner, FollowsPlaylistChangesAndKeepsTheScheduleWhenANewOneIsBroken) {
    auto s = make_station();
    Tuner tuner(options_for(*s, "cache"));
    std::error_code ec;
    ASSERT_FALSE(tuner.tune(s->playlist_url(), ec).empty());
    auto events = wait_for_event(tuner, TunerEventKind::now_playing, seconds(10));
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(tuner.status().station, "Test Station");

    // The station renames itself: the playlist is re-read every 2 s (sy:updateFrequency).
    const auto path = s->dir().path() / "www/station.rss";
    std::ifstream in(path);
    std::string xml(std::istreambuf_iterator<char>(in), {});
    in.close();
    const std::string renamed = std::regex_replace(xml, std::regex("<title>Test Station</title>"),
                                                   "<title>Renamed Station</title>");
    std::ofstream(path) << renamed;
    std::vector<TunerEvent> seen;
    const auto drain = [&] {
        for (auto& e : tuner.take_events()) {
            seen.push_back(std::move(e));
        }
    };
    EXPECT_TRUE(eventually(
        [&] {
            drain();
            return tuner.status().station == "Renamed Station";
        },
        seconds(10)));
    EXPECT_TRUE(std::any_of(seen.begin(), seen.end(), [](const TunerEvent& e) {
        return e.kind == TunerEventKind::schedule;
    }));

    // A broken playlist: an error is reported, the schedule stays.
    std::ofstream(path) << renamed.substr(0, renamed.size() / 2);
    // The status and the event are two steps: wait for both.
    EXPECT_TRUE(eventually(
        [&] {
            drain();
            return !tuner.status().playlist_error.empty() &&
                   std::any_of(seen.begin(), seen.end(), [](const TunerEvent& e) {
                       return e.kind == TunerEventKind::playlist_error;
                   });
        },
        seconds(10)));
    const TunerStatus st = tuner.status();
    EXPECT_NE(st.playlist_error.find("station.rss"), std::string::npos) << st.playlist_error;
    EXPECT_EQ(st.station, "Renamed Station");
    EXPECT_TRUE(st.now.has_value());
}

TEST(Tuner, ACacheSurvivesARestartAndPlaysWithoutTheGateway) {
    auto s = make_station();
    {
        Tuner first(options_for(*s, "cache"));
        std::error_code ec;
        ASSERT_FALSE(first.tune(s->playlist_url(), ec).empty());
        // Wait until the current and next items are fully here.
        ASSERT_TRUE(eventually(
            [&] {
                return first.status().bytes_from_peers + first.status().bytes_from_gateway >=
                       280000;
            },
            seconds(20)));
    }
    TunerOptions again = options_for(*s, "cache");
    again.gateways = {"http://127.0.0.1:" + std::to_string(free_port())};  // nobody there
    s->stop_gateway();
    s->stop_origin();  // nothing to fall back on but the cache
    Tuner second(again);
    std::error_code ec;
    std::string detail;
    // The playlist is gone with the origin: tune to a copy of it on disk.
    const std::string copy = (s->dir().path() / "copy.rss").string();
    std::filesystem::copy_file(s->dir().path() / "www/station.rss", copy);
    const std::string url = second.tune(copy, ec, &detail);
    ASSERT_FALSE(url.empty()) << detail;
    ASSERT_TRUE(eventually([&] { return second.status().buffer > seconds(2); }, seconds(10)))
        << "the cached item did not play";
    const TunerStatus st = second.status();
    EXPECT_EQ(st.stalls, 0u);
    EXPECT_EQ(st.bytes_from_origin, 0u);
}

TEST(Tuner, ABadPlaylistIsAClearError) {
    TunerOptions o;
    o.stream_port = 0;
    o.bt_listen = "127.0.0.1:0";
    TempDir dir;
    o.cache_dir = dir.path();
    dir.write("bad.rss", "<rss version=\"2.0\"><channel/></rss>");
    Tuner tuner(o);
    std::error_code ec;
    std::string detail;
    EXPECT_TRUE(tuner.tune(dir / "bad.rss", ec, &detail).empty());
    EXPECT_TRUE(ec);
    EXPECT_NE(detail.find("bad.rss:1:"), std::string::npos) << detail;
    EXPECT_TRUE(tuner.tune(dir / "missing.rss", ec, &detail).empty());
    EXPECT_NE(detail.find("missing.rss"), std::string::npos) << detail;
}

}  // namespace
}  // namespace alluvium::test
