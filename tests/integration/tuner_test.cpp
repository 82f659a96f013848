// The Tuner as a library user drives it (in process): clock correction, playlist re-reads,
// events, and a cache that survives a restart.
#include <alluvium/tuner.hpp>

#include "raw_http.hpp"
#include "station.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <fstream>
#include <future>
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

// Rewrites the published playlist's titles (station and items) to `title`, as XML text.
void retitle(TestStation& s, const std::string& xml_title) {
    const auto path = s.dir().path() / "www/station.rss";
    std::ifstream in(path);
    std::string xml(std::istreambuf_iterator<char>(in), {});
    in.close();
    std::ofstream(path) << std::regex_replace(xml, std::regex("<title>[^<]*</title>"),
                                              "<title>" + xml_title + "</title>");
}

std::string header_of(const std::string& reply, const std::string& name) {
    const std::regex line("\r\n" + name + ": ([^\r]*)\r\n", std::regex::icase);
    std::smatch m;
    return std::regex_search(reply, m, line) ? m[1].str() : std::string();
}

TEST(Tuner, ThePageShowsHostileTitlesAsTextAndRunsNothing) {
    auto s = make_station();
    retitle(*s, "&lt;script&gt;alert(\"station\")&lt;/script&gt;");
    Tuner tuner(options_for(*s, "cache"));
    std::error_code ec;
    const std::string url = tuner.tune(s->playlist_url(), ec);
    ASSERT_FALSE(url.empty());
    ASSERT_TRUE(eventually([&] { return tuner.status().now.has_value(); }, seconds(10)));
    EXPECT_EQ(tuner.status().station, "<script>alert(\"station\")</script>");
    const int port = std::stoi(url.substr(url.rfind(':') + 1));
    const std::string page = raw_exchange(port, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    ASSERT_NE(page.find("200 OK"), std::string::npos) << page;
    // Two script elements, the page's own files; the title is text.
    std::vector<std::string> scripts;
    for (auto at = page.find("<script"); at != std::string::npos; at = page.find("<script", at + 1))
        scripts.push_back(page.substr(at, page.find('>', at) + 1 - at));
    EXPECT_EQ(scripts, (std::vector<std::string>{"<script src=\"/chart.js\" defer>",
                                                 "<script src=\"/page.js\" defer>"}))
        << page;
    EXPECT_NE(page.find("&lt;script&gt;alert(&quot;station&quot;)&lt;/script&gt;"),
              std::string::npos)
        << page;
    // Scripts only from the program's own files: no inline script runs, whatever the page
    // holds.
    const std::string policy = header_of(page, "Content-Security-Policy");
    EXPECT_NE(policy.find("script-src 'self'"), std::string::npos) << page;
    EXPECT_EQ(policy.find("unsafe-inline"), std::string::npos) << page;
    EXPECT_NE(policy.find("default-src 'none'"), std::string::npos) << page;
}

TEST(Tuner, OnlyTheAllowedOriginReadsTheStatusAndTheStream) {
    auto s = make_station();
    TunerOptions o = options_for(*s, "cache");
    o.allow_origin = "http://radio.example";
    Tuner tuner(o);
    std::error_code ec;
    const std::string url = tuner.tune(s->playlist_url(), ec);
    ASSERT_FALSE(url.empty());
    const int port = std::stoi(url.substr(url.rfind(':') + 1));
    const auto ask = [&](const std::string& path, const std::string& origin,
                         const std::string& host = "127.0.0.1") {
        return raw_exchange(port,
                            "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nOrigin: " + origin +
                                "\r\nConnection: close\r\n\r\n",
                            path == "/stream" ? milliseconds(1500) : seconds(5));
    };
    // Any other page: answered, but its scripts may not read the answer.
    const std::string other = ask("/status", "http://elsewhere.example");
    ASSERT_NE(other.find("200 OK"), std::string::npos) << other;
    EXPECT_EQ(header_of(other, "Access-Control-Allow-Origin"), "");
    const std::string allowed = ask("/status", "http://radio.example");
    EXPECT_EQ(header_of(allowed, "Access-Control-Allow-Origin"), "http://radio.example");
    ASSERT_TRUE(eventually([&] { return tuner.status().buffer > seconds(1); }, seconds(10)));
    const std::string stream = ask("/stream", "http://elsewhere.example");
    ASSERT_NE(stream.find("200 OK"), std::string::npos) << stream.substr(0, 300);
    EXPECT_EQ(header_of(stream, "Access-Control-Allow-Origin"), "");
    EXPECT_EQ(header_of(ask("/stream", "http://radio.example"), "Access-Control-Allow-Origin"),
              "http://radio.example");
    // A name that is not loopback reached this loopback server only by DNS rebinding.
    const std::string rebound = ask("/status", "http://rebound.example", "rebound.example:8000");
    EXPECT_NE(rebound.find(" 421 "), std::string::npos) << rebound;
    EXPECT_EQ(rebound.find("\"station\""), std::string::npos) << rebound;
    EXPECT_NE(ask("/status", "", "localhost:" + std::to_string(port)).find("200 OK"),
              std::string::npos);
}

TEST(Tuner, TuneStatusAndStopFromDifferentThreadsAtOnce) {
    auto s = make_station();
    for (int round = 0; round < 3; ++round) {
        Tuner tuner(options_for(*s, "cache" + std::to_string(round)));
        std::atomic<bool> done{false};
        std::atomic<int> reads{0};
        std::vector<std::thread> readers;
        for (int r = 0; r < 3; ++r) {
            readers.emplace_back([&] {
                while (!done) {
                    const TunerStatus st = tuner.status();
                    const std::string u = tuner.stream_url();
                    // A status is whole: tuned with its stream, or empty.
                    if (st.tuned && st.stream_url.empty())
                        ADD_FAILURE() << "a tuned status without its stream";
                    (void)u;
                    ++reads;
                }
            });
        }
        std::error_code ec;
        std::string url;
        std::thread tuning([&] { url = tuner.tune(s->playlist_url(), ec); });
        // Round 0 stops while tune() may still be reading the playlist; the others later.
        std::this_thread::sleep_for(milliseconds(round * 700));
        tuner.stop();
        tuning.join();
        EXPECT_TRUE(!url.empty() || ec == std::errc::operation_canceled) << ec.message();
        const TunerStatus after = tuner.status();
        EXPECT_FALSE(after.tuned && !after.stream_url.empty());
        EXPECT_TRUE(tuner.stream_url().empty());
        EXPECT_TRUE(tuner.tune(s->playlist_url(), ec).empty());
        EXPECT_EQ(ec, std::errc::operation_canceled);
        done = true;
        for (auto& t : readers)
            t.join();
        EXPECT_GT(reads.load(), 0);
    }
}

TEST(Tuner, StopMakesATuneWaitingForAnUnansweredPlaylistGiveUp) {
    // A server that takes the connection and never answers.
    const ListeningPort server;
    const std::string playlist =
        "http://127.0.0.1:" + std::to_string(server.port()) + "/station.rss";
    TunerOptions o;
    o.stream_port = 0;
    o.bt_listen = "127.0.0.1:0";
    TempDir dir;
    o.cache_dir = dir.path();
    Tuner tuner(o);
    std::error_code ec;
    auto tuned = std::async(std::launch::async, [&] { return tuner.tune(playlist, ec); });
    EXPECT_EQ(tuned.wait_for(milliseconds(500)), std::future_status::timeout);
    const auto asked = steady_clock::now();
    tuner.stop();
    ASSERT_EQ(tuned.wait_for(seconds(3)), std::future_status::ready);
    EXPECT_LT(steady_clock::now() - asked, seconds(3));
    EXPECT_TRUE(tuned.get().empty());
    EXPECT_EQ(ec, std::errc::operation_canceled);
}

}  // namespace
}  // namespace alluvium::test
