// Faults a station meets, injected on loopback: a peer that sends corrupt pieces, a
// listener killed with SIGKILL, the gateway restarting mid-broadcast, a full cache disk.
// Each time what a player hears must stay right: the stream never carries a wrong byte.
#include <alluvium/fetch.hpp>
#include <alluvium/gateway_client.hpp>

#include "station.hpp"
#include "swarm_client.hpp"

#include <gtest/gtest.h>
#include <sys/mount.h>

#include <fstream>
#include <future>
#include <set>
#include <thread>

namespace alluvium::test {
namespace {

using namespace std::chrono;

const Binaries binaries{ALLUVIUM_BROADCASTER, ALLUVIUM_GATEWAY, ALLUVIUM_TUNE};
const std::vector<std::string> mp3 = {"-c:a", "libmp3lame", "-b:a", "128k"};
const std::vector<int> candidates = {400, 700, 1100};

std::string file_bytes(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

// The whole of item `n` as a listener's /items/<n> serves it.
std::string item_bytes(const TuneProcess& tune, int n) {
    HttpRequest r;
    r.url = tune.base() + "/items/" + std::to_string(n);
    r.total_timeout = seconds(60);
    std::error_code ec;
    const HttpResponse res = http_request(r, ec);
    if (ec)
        return "<" + ec.message() + ">";
    return res.status == 200 ? res.body
                             : "<HTTP " + std::to_string(res.status) + ": " + res.body + ">";
}

std::unique_ptr<TestStation> primed_station(std::vector<ToneItem> items, Milliseconds into,
                                            std::vector<std::string> gateway_args = {}) {
    return alluvium::test::primed_station(binaries, std::move(items), mp3, into,
                                          std::move(gateway_args));
}

TEST(Faults, APeerSendingCorruptPiecesIsBannedAndNoWrongByteIsPlayed) {
    // The gateway's seed barely serves (2 KB/s, loopback included): pieces must come from
    // the lying peer or, once it is caught, from the origin.
    auto s = primed_station({{"a.mp3", 400, 12}, {"b.mp3", 700, 12}}, milliseconds(500),
                            {"--upload-limit", "2000"});
    const std::string original = file_bytes(s->dir().path() / "www/a.mp3");
    const GatewayAnswer meta =
        GatewayClient(s->gateway().base()).lookup(s->origin().url("a.mp3"), {}, seconds(10));
    ASSERT_EQ(meta.state, GatewayState::ready) << meta.message;
    // A peer with the item's torrent and garbage of the right size, announced to the tracker.
    SwarmClient liar(s->dir().path() / "liar");
    ASSERT_TRUE(liar.seed_unchecked(meta.metadata->torrent, random_bytes(original.size(), 7)));
    ASSERT_TRUE(eventually([&] { return s->gateway().status()["totals"]["peers"].get<int>() >= 1; },
                           seconds(15)))
        << "the liar never announced";

    auto tune = s->tune();
    ASSERT_TRUE(eventually(
        [&] {
            const auto st = tune->status();
            return !st.is_null() && st["hash_failures"].get<std::uint64_t>() > 0;
        },
        seconds(20)))
        << "the corrupt peer was never used (it sent " << liar.stats().uploaded << " bytes to "
        << liar.stats().peers << " peers): " << tune->log();
    EXPECT_EQ(item_bytes(*tune, 0), original) << "a wrong byte reached /items/0";
    // By now the schedule may be near the end of a.mp3 (finding the liar took as long as it
    // took): what plays is a's tone and, once a ends, b's, and nothing else.
    const auto tones = tones_in(tune->stream_url(), 4, candidates);
    ASSERT_GE(tones.size(), 12u);
    const int b = first_window(tones, 700, 1);
    const std::size_t b_from = b < 0 ? tones.size() : static_cast<std::size_t>(b);
    EXPECT_GE(b_from, 3u) << "a.mp3 barely played";
    for (std::size_t i = 1; i < tones.size(); ++i)
        EXPECT_EQ(tones[i], i < b_from ? 400 : 700) << "window " << i << ": not the item's tone";
    // The gateway's seed gave next to nothing: the rescue path filled in, from the gateway's
    // copy, not the origin.
    EXPECT_GT(s->gateway().status()["totals"]["bytes_rescued"].get<std::uint64_t>(), 0u)
        << tune->log();
    EXPECT_EQ(tune->status()["bytes"]["origin"].get<std::uint64_t>(), 0u) << tune->log();
}

// The resume data on disk may be older than the cache (saved when an item first finished,
// before the pieces ahead of the scheduled offset were read through /items/<n>): a
// restarted listener hashes such items again instead of trusting it.
TEST(Faults, AListenerKilledWithSigkillResumesFromAnIntactCache) {
    auto s = primed_station({{"a.mp3", 400, 8}, {"b.mp3", 700, 8}, {"c.mp3", 1100, 8}},
                            milliseconds(500));
    const auto dir = s->dir().path() / "killed";
    {
        TuneProcess first(binaries, s->playlist_url(), dir, {"--gateway", s->gateway().base()});
        // Every item whole in its cache (/items/<n> answers once it has every byte).
        for (int n = 0; n < 3; ++n) {
            ASSERT_EQ(
                item_bytes(first, n),
                file_bytes(s->dir().path() / "www" / s->items()[static_cast<std::size_t>(n)].file))
                << first.log();
        }
        first.kill();  // mid-write of resume data or not: no goodbye
    }
    // Nothing to fall back on but the cache.
    s->stop_gateway();
    const std::string copy = (s->dir().path() / "copy.rss").string();
    std::filesystem::copy_file(s->dir().path() / "www/station.rss", copy);
    s->stop_origin();
    TuneProcess again(binaries, copy, dir,
                      {"--gateway", "http://127.0.0.1:" + std::to_string(free_port())});
    for (const auto& [n, f] : std::vector<std::pair<int, const char*>>{{0, "a.mp3"}, {2, "c.mp3"}})
        EXPECT_EQ(item_bytes(again, n), file_bytes(s->dir().path() / "www" / f))
            << f << " is not intact in the cache: " << again.log();
    const auto tones = tones_in(again.stream_url(), 3, candidates);
    ASSERT_GE(tones.size(), 8u) << again.log();
    EXPECT_NE(tones[2], 0) << "the cached item did not play";
    const auto st = again.status();
    EXPECT_EQ(st["stalls"].get<int>(), 0) << again.log();
    EXPECT_EQ(st["bytes"]["origin"].get<std::uint64_t>(), 0u);
}

// Regression: libtorrent 2.0.8 dereferenced a null piece picker when a torrent became a
// seed while a deadline's posted cancel was pending (a listener crashed at start-up, about
// one wave in four of this set-up). Many short items finish quickly among many peers.
TEST(Faults, ListenersOnAStationOfShortItemsAllStayUp) {
    std::vector<ToneItem> items;
    for (int i = 0; i < 8; ++i)
        items.push_back(
            {"t" + std::to_string(i) + ".mp3", candidates[static_cast<std::size_t>(i % 3)], 3});
    auto s = primed_station(items, milliseconds(500));
    for (int wave = 0; wave < 2; ++wave) {
        std::vector<std::unique_ptr<TuneProcess>> tunes;
        for (int n = 0; n < 6; ++n)
            tunes.push_back(s->tune());
        // Every listener plays through four items (each a torrent that completes).
        std::vector<std::set<int>> played(tunes.size());
        EXPECT_TRUE(eventually(
            [&] {
                bool all = true;
                for (std::size_t n = 0; n < tunes.size(); ++n) {
                    const auto st = tunes[n]->status();
                    if (!st.is_null() && !st["playing"].is_null())
                        played[n].insert(st["playing"]["index"].get<int>());
                    all = all && played[n].size() >= 4;
                }
                return all;
            },
            seconds(40)));
        for (const auto& t : tunes)
            EXPECT_FALSE(t->status().is_null()) << "a listener died: " << t->log();
    }
}

TEST(Faults, TheGatewayRestartingMidBroadcastIsNotHeard) {
    auto s = primed_station({{"a.mp3", 400, 6}, {"b.mp3", 700, 6}, {"c.mp3", 1100, 6}},
                            milliseconds(500));
    auto tune = s->tune();
    auto tones = std::async(std::launch::async,
                            [&] { return tones_in(tune->stream_url(), 14, candidates); });
    ASSERT_TRUE(
        eventually([&] { return tune->status()["buffer_ms"].get<int>() > 2000; }, seconds(10)));
    s->gateway().restart();  // the outage lasts as long as a stop and a start take
    const auto heard = tones.get();
    ASSERT_GE(heard.size(), 48u);
    EXPECT_GE(first_window(heard, 700), 0);
    EXPECT_GE(first_window(heard, 1100), 0) << "the items after the restart did not come";
    int silent = 0;
    for (std::size_t i = 1; i < heard.size(); ++i)
        silent += heard[i] == 0 ? 1 : 0;
    EXPECT_LE(silent, 2) << "the restart was heard";
    EXPECT_EQ(tune->status()["stalls"].get<int>(), 0) << tune->log();
}

// A cache folder on a 256 KiB tmpfs: the items (about 3 × 220 KB) do not fit.
class TinyDisk {
  public:
    explicit TinyDisk(const std::filesystem::path& at) : path_(at) {
        std::filesystem::create_directories(at);
        mounted_ = mount("tmpfs", at.c_str(), "tmpfs", 0, "size=256k") == 0;
    }
    ~TinyDisk() {
        if (mounted_)
            umount2(path_.c_str(), MNT_DETACH);
    }
    TinyDisk(const TinyDisk&) = delete;
    TinyDisk& operator=(const TinyDisk&) = delete;
    [[nodiscard]] bool mounted() const { return mounted_; }

  private:
    std::filesystem::path path_;
    bool mounted_ = false;
};

TEST(Faults, AFullCacheDiskIsAClearErrorNotACrash) {
    auto s = primed_station({{"a.mp3", 400, 14}, {"b.mp3", 700, 14}, {"c.mp3", 1100, 14}},
                            milliseconds(500));
    const auto dir = s->dir().path() / "full";
    TinyDisk disk(dir / "cache");
    if (!disk.mounted())
        GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
    TuneProcess tune(binaries, s->playlist_url(), dir, {"--gateway", s->gateway().base()});
    nlohmann::json st;
    ASSERT_TRUE(eventually(
        [&] {
            st = tune.status();
            return !st.is_null() && !st["swarm_error"].get<std::string>().empty();
        },
        seconds(30)))
        << "the full disk was not reported: " << tune.log();
    EXPECT_NE(st["swarm_error"].get<std::string>().find("No space left on device"),
              std::string::npos)
        << st["swarm_error"];
    // The listener stays up and keeps answering.
    EXPECT_TRUE(port_open(tune.port()));
    EXPECT_FALSE(tune.status().is_null()) << "the listener died: " << tune.log();
}

}  // namespace
}  // namespace alluvium::test
