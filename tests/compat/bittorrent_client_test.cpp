// A real BitTorrent client from Debian (aria2c) downloads an item with nothing but the
// gateway's .torrent and tracker, from the gateway's seed, and gets the origin's bytes; and
// with no gateway at all, with nothing but the playlist's .torrent enclosure, from a
// listener.
#include <alluvium/playlist.hpp>
#include <alluvium/time.hpp>
#include <alluvium/url.hpp>

#include "gateway_process.hpp"
#include "nginx_origin.hpp"
#include "opentracker.hpp"
#include "process.hpp"
#include "station.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <fstream>

namespace alluvium::test {
namespace {

// aria2c on `torrent` (a file or a URL), alone on loopback: no DHT, local discovery or peer
// exchange; peers from the trackers in the .torrent only. Its download lands in `dir`.
RunResult aria2c(const std::filesystem::path& dir, const std::string& torrent) {
    return run(
        {"aria2c", "--dir", dir.string(), "--enable-dht=false", "--enable-dht6=false",
         "--bt-enable-lpd=false", "--enable-peer-exchange=false", "--seed-time=0",
         "--listen-port=" + std::to_string(free_port()), "--bt-stop-timeout=60",
         "--console-log-level=warn", "--summary-interval=0", "--file-allocation=none", torrent},
        std::chrono::seconds(90));
}

TEST(Aria2c, DownloadsAnItemUsingTheGatewaysMetadataAndTracker) {
    ASSERT_TRUE(have_program("aria2c")) << "install aria2";
    TempDir dir;
    std::filesystem::create_directories(dir.path() / "www");
    const std::string content = random_bytes(5'000'000, 42);
    std::ofstream(dir.path() / "www/program.ogg", std::ios::binary) << content;
    NginxOrigin origin(dir.path() / "www");
    GatewayProcess gateway(ALLUVIUM_GATEWAY, dir.path() / "gateway",
                           {"--allow-origin", origin.origin()});
    const std::string query =
        "/v1/swarm?wait=10000&url=" + percent_encode(origin.url("program.ogg"));
    ASSERT_EQ(gateway.get(query).status, 200);

    const RunResult fetch =
        run({"curl", "-sf", "-o", (dir.path() / "item.torrent").string(),
             gateway.base() + "/v1/torrent?url=" + percent_encode(origin.url("program.ogg"))});
    ASSERT_EQ(fetch.exit_code, 0) << fetch.err;
    const RunResult aria = aria2c(dir.path() / "aria", (dir.path() / "item.torrent").string());
    ASSERT_EQ(aria.exit_code, 0) << aria.out << aria.err;
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir.path() / "aria"))
        files.push_back(e.path());
    ASSERT_EQ(files.size(), 1u);
    std::ifstream got(files[0], std::ios::binary);
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(got), {}), content);
    EXPECT_EQ(origin.count("GET", "/program.ogg", 200), 1u);
    EXPECT_GE(gateway.status()["totals"]["bytes_served"].get<std::uint64_t>(), content.size());
}

// No gateway: a station on nginx whose playlist carries the swarm metadata, opentracker named
// in its .torrent files, and one listener that has played the first item whole (it tuned in
// before it began, so it fetched it from its first byte). aria2c is given
// the URL of that item's .torrent enclosure and nothing else; it downloads the item from the
// listener, not from the origin.
TEST(Aria2c, DownloadsAnItemFromAListenerWithOnlyThePlaylistsTorrent) {
    ASSERT_TRUE(have_program("aria2c")) << "install aria2";
    ASSERT_TRUE(have_program("opentracker")) << "install opentracker";
    TestStation s(Binaries{ALLUVIUM_BROADCASTER, ALLUVIUM_GATEWAY, ALLUVIUM_TUNE},
                  {{"a.mp3", 400, 6}, {"b.mp3", 700, 60}}, {"-c:a", "libmp3lame", "-b:a", "128k"});
    s.publish();
    Opentracker tracker(s.dir().path() / "opentracker");
    const Playlist station = s.write_swarm_playlist(now_ms() + std::chrono::seconds(8),
                                                    {"--tracker", tracker.announce_url()});
    ASSERT_TRUE(station.items[0].torrent);
    const TorrentLink first = *station.items[0].torrent;
    tracker.allow(station);
    ASSERT_TRUE(tracker.start()) << tracker.log();

    // The listener tunes in to the end of the second item; it has played the first, 6 s
    // item whole once it plays the second again.
    auto t = s.tune({"--no-gateway"});
    const auto playing = [&](int index) {
        const auto st = t->status();
        return st.is_object() && st["playing"].is_object() && st["playing"]["index"] == index;
    };
    ASSERT_TRUE(eventually([&] { return playing(0); }, std::chrono::seconds(30))) << t->log();
    ASSERT_TRUE(eventually([&] { return playing(1); }, std::chrono::seconds(30))) << t->log();
    const std::uint64_t origin_before = s.origin().bytes("a.mp3");

    const RunResult aria = aria2c(s.dir().path() / "aria", first.torrent_url);
    ASSERT_EQ(aria.exit_code, 0) << aria.out << aria.err << t->log();
    // The file is named by the torrent (its content's SHA-256); aria2c keeps the .torrent.
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(s.dir().path() / "aria"))
        if (e.path().extension() != ".torrent")
            files.push_back(e.path());
    ASSERT_EQ(files.size(), 1u);
    EXPECT_EQ(s.dir().read("aria/" + files[0].filename().string()), s.dir().read("www/a.mp3"));
    EXPECT_EQ(s.origin().bytes("a.mp3"), origin_before) << "aria2c read the origin";
    // The listener counts what it sent: its figures come with libtorrent's next status
    // update, not at once (aria2c may have closed the connection already).
    EXPECT_TRUE(eventually(
        [&] {
            return answered_status(*t, "the listener")["bytes"]["uploaded"].get<std::uint64_t>() >
                   0u;
        },
        std::chrono::seconds(10)))
        << t->status().dump();
}

}  // namespace
}  // namespace alluvium::test
