// Beyond one gateway, on 127.0.0.1: listeners found through opentracker alone (the built-in
// tracker off), two gateways that never talk giving the same metadata, and a listener that
// fails over to a second gateway when the first dies.
#include <alluvium/fetch.hpp>

#include "gateway_process.hpp"
#include "opentracker.hpp"
#include "process.hpp"
#include "station.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <regex>
#include <set>

namespace {

using namespace alluvium;
using namespace alluvium::test;
using namespace std::chrono;
namespace fs = std::filesystem;

const Binaries binaries{ALLUVIUM_BROADCASTER, ALLUVIUM_GATEWAY, ALLUVIUM_TUNE};
const std::vector<std::string> mp3 = {"-c:a", "libmp3lame", "-b:a", "128k"};

bool prime(const GatewayProcess& gateway, const std::string& playlist) {
    const RunResult r =
        run({binaries.gateway, "prime", playlist, "--gateway", gateway.base()}, seconds(120));
    return r.exit_code == 0;
}

TEST(Scale, ListenersFindEachOtherThroughOpentrackerAlone) {
    ASSERT_TRUE(have_program("opentracker"));
    TestStation s(binaries, {{"a.mp3", 400, 20}, {"b.mp3", 700, 20}}, mp3);
    s.publish();
    s.write_playlist(now_ms());
    Opentracker tracker(s.dir().path() / "opentracker");
    s.start_gateway({"--tracker", tracker.announce_url(), "--no-builtin-tracker",
                     "--tracker-whitelist", tracker.whitelist().string()});
    ASSERT_TRUE(s.prime()) << s.gateway().log();
    ASSERT_TRUE(fs::exists(tracker.whitelist()));
    ASSERT_TRUE(tracker.start()) << tracker.log();
    s.write_playlist(now_ms() - milliseconds(500));

    // The gateway hands listeners opentracker and no peers of its own.
    const GatewayReply answer = s.gateway().swarm_ready(s.origin().url("a.mp3"));
    ASSERT_EQ(answer.status, 200) << answer.body.dump();
    EXPECT_EQ(answer.body["tracker"], tracker.announce_url());
    EXPECT_TRUE(answer.body["peers"].empty());
    const std::string hash = answer.body["info_hash"];
    EXPECT_EQ(s.gateway().get("/announce").status, 404) << "the built-in tracker is off";

    std::vector<std::unique_ptr<TuneProcess>> tunes;
    for (int i = 0; i < 3; ++i)
        tunes.push_back(s.tune());
    // Every listener (and the gateway's seed) announced to opentracker...
    EXPECT_TRUE(eventually([&] { return tracker.peers(hash) >= 4; }, seconds(20)))
        << "opentracker knows " << tracker.peers(hash) << " of 4";
    // ...and found the others there: bytes went from listener to listener.
    EXPECT_TRUE(eventually([&] { return status_sum(tunes, "bytes", "peers") > 0; }, seconds(20)));
}

TEST(Scale, ListenersFindEachOtherThroughALocalDhtAlone) {
    // No tracker at all: the gateway's seed is the first node of a private DHT (it joins
    // no other), and listeners join it through the seed.
    TestStation s(binaries, {{"a.mp3", 400, 20}, {"b.mp3", 700, 20}}, mp3);
    s.publish();
    s.write_playlist(now_ms());
    s.start_gateway({"--no-builtin-tracker", "--dht", "--dht-bootstrap", "none"});
    ASSERT_TRUE(s.prime()) << s.gateway().log();
    s.write_playlist(now_ms() - milliseconds(500));
    const GatewayReply answer = s.gateway().swarm_ready(s.origin().url("a.mp3"));
    ASSERT_EQ(answer.status, 200) << answer.body.dump();
    EXPECT_EQ(answer.body["tracker"], "");
    EXPECT_TRUE(answer.body["dht"].get<bool>());
    EXPECT_TRUE(answer.body["peers"].empty());
    EXPECT_EQ(s.gateway().get("/announce").status, 404) << "no tracker of its own, nor other";

    std::vector<std::unique_ptr<TuneProcess>> tunes;
    for (int i = 0; i < 3; ++i)
        tunes.push_back(s.tune());
    // Listeners met in the DHT (libtorrent says where it found each peer), and traded.
    EXPECT_TRUE(eventually(
        [&] {
            return status_sum(tunes, "dht", "peers") > 0 && status_sum(tunes, "bytes", "peers") > 0;
        },
        seconds(30)))
        << tunes[0]->status().dump() << "\n"
        << tunes[2]->log();
    for (auto& t : tunes)
        EXPECT_TRUE(t->status()["dht"]["running"].get<bool>()) << t->log();
}

TEST(Scale, TwoGatewaysThatNeverTalkGiveIdenticalMetadata) {
    TestStation s(binaries, {{"a.mp3", 400, 10}, {"b.mp3", 700, 7}}, mp3);
    s.publish();
    s.write_playlist(now_ms());
    const TempDir second;
    GatewayProcess one(binaries.gateway, second.path() / "one",
                       {"--allow-origin", s.origin().origin()});
    GatewayProcess two(binaries.gateway, second.path() / "two",
                       {"--allow-origin", s.origin().origin()});
    for (const auto& item : s.items()) {
        const GatewayReply a = one.swarm_ready(s.origin().url(item.file));
        const GatewayReply b = two.swarm_ready(s.origin().url(item.file));
        ASSERT_EQ(a.status, 200) << a.body.dump();
        ASSERT_EQ(b.status, 200) << b.body.dump();
        EXPECT_EQ(a.body["info_hash"], b.body["info_hash"]) << item.file;
        EXPECT_EQ(a.body["piece_size"], b.body["piece_size"]);
        EXPECT_EQ(a.body["content_sha256"], b.body["content_sha256"]);
        EXPECT_NE(a.body["tracker"], b.body["tracker"]) << "each its own tracker";
    }
}

TEST(Scale, AListenerFailsOverToASecondGatewayWithoutAGap) {
    // Items of 4 s: the listener opens the next two ahead, so the last two are looked up
    // after the first gateway is gone.
    const std::vector<int> hz = {400, 700, 1100, 1500, 1900};
    std::vector<ToneItem> items;
    for (int f : hz)
        items.push_back({"tone" + std::to_string(f) + ".mp3", f, 4});
    TestStation s(binaries, items, mp3);
    s.publish();
    s.write_playlist(now_ms());
    const TempDir dirs;
    auto first = std::make_unique<GatewayProcess>(
        binaries.gateway, dirs.path() / "one",
        std::vector<std::string>{"--allow-origin", s.origin().origin()});
    GatewayProcess second(binaries.gateway, dirs.path() / "two",
                          {"--allow-origin", s.origin().origin()});
    ASSERT_TRUE(prime(*first, s.playlist_url()));
    ASSERT_TRUE(prime(second, s.playlist_url()));
    s.write_playlist(now_ms() - milliseconds(500));
    TuneProcess tune(binaries, s.playlist_url(), dirs.path() / "listener",
                     {"--gateway", first->base(), "--gateway", second.base()});
    ASSERT_TRUE(eventually([&] { return tune.status()["bytes"]["gateway"] > 0; }, seconds(10)));
    // The first gateway dies without a word; the stream plays on.
    ::kill(first->pid(), SIGKILL);
    const Recording rec = record_stream(tune.port(), "/stream", 14);
    const auto windows = tones_in(rec, 13, hz, 0.05);
    ASSERT_GE(windows.size(), 200u) << tune.log();
    // MP3 items start and end with the encoder's padding (a window or two of near silence
    // at each join); a gap in the stream would be far longer.
    int silent = 0;
    int longest = 0;
    std::set<int> heard;
    for (int w : windows) {
        silent = w == 0 ? silent + 1 : 0;
        longest = std::max(longest, silent);
        if (w != 0)
            heard.insert(w);
    }
    EXPECT_LE(longest, 2) << "silence after the gateway died\n" << tune.log();
    EXPECT_GE(heard.size(), 3u) << "items followed each other";
    EXPECT_EQ(tune.status()["stalls"].get<int>(), 0) << tune.log();
    // The items looked up after the failure came through the second gateway.
    EXPECT_GT(second.status()["totals"]["announces"].get<int>(), 0);
}

}  // namespace
