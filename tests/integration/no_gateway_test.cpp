// Stations without a gateway: the swarm metadata `generate` writes into the playlist (a
// .torrent beside each file, its info-hash in the ezRSS fields) is all a listener needs,
// and a gateway whose answer names another info-hash than the playlist is refused.
#include <alluvium/http_server.hpp>
#include <alluvium/metainfo.hpp>
#include <alluvium/playlist.hpp>
#include <alluvium/text.hpp>

#include "opentracker.hpp"
#include "process.hpp"
#include "station.hpp"
#include "swarm_client.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

namespace alluvium::test {
namespace {

using namespace std::chrono;
namespace fs = std::filesystem;

const Binaries binaries{ALLUVIUM_BROADCASTER, ALLUVIUM_GATEWAY, ALLUVIUM_TUNE};
const std::vector<std::string> mp3 = {"-c:a", "libmp3lame", "-b:a", "128k"};
const std::vector<int> candidates = {400, 700, 1100};

// The item on air at the listener plays from the swarm it joined through the playlist.
bool joined_from_playlist(const TuneProcess& t) {
    return t.log().find("joined from the playlist's .torrent") != std::string::npos;
}

TEST(NoGateway, AStationOnPythonsHttpServerPlaysFromItsPlaylistAlone) {
    ASSERT_TRUE(have_program("python3"));
    TestStation s(binaries, {{"a.mp3", 400, 8}, {"b.mp3", 700, 8}, {"c.mp3", 1100, 8}}, mp3);
    const int port = free_port();
    const std::string base = "http://127.0.0.1:" + std::to_string(port) + "/";
    // Each item has its .torrent beside it, linked from the playlist with its info-hash.
    const Playlist p = s.write_swarm_playlist(now_ms() - seconds(1), {}, base);
    ASSERT_EQ(p.items.size(), 3u);
    for (const Item& item : p.items) {
        ASSERT_TRUE(item.torrent) << item.media_url;
        EXPECT_EQ(item.torrent->torrent_url, item.media_url + ".torrent");
        const fs::path file =
            s.dir().path() / "www" / (fs::path(item.media_url).filename().string() + ".torrent");
        EXPECT_EQ(torrent_info_hash(s.dir().read(file.lexically_relative(s.dir().path()))),
                  item.torrent->info_hash)
            << file;
    }
    // xmllint reads it as well-formed XML, and rapper (Raptor) as RDF, the ezRSS fields and
    // both enclosures included.
    const std::string rss = (s.dir().path() / "www/station.rss").string();
    EXPECT_EQ(run({"xmllint", "--noout", rss}).exit_code, 0);
    ASSERT_TRUE(have_program("rapper"));
    const RunResult rdf = run({"rapper", "-i", "rdfxml", "-o", "ntriples", rss});
    EXPECT_EQ(rdf.exit_code, 0) << rdf.err;
    EXPECT_NE(rdf.out.find("<http://xmlns.ezrss.it/0.1/infoHash> \"" +
                           p.items[0].torrent->info_hash + "\""),
              std::string::npos)
        << rdf.out;

    Background web({"python3", "-m", "http.server", std::to_string(port), "--bind", "127.0.0.1",
                    "--directory", (s.dir().path() / "www").string()},
                   (s.dir().path() / "http-server.log").string());
    ASSERT_TRUE(web.wait_until([&] { return port_open(port); }, seconds(10))) << web.log();
    TuneProcess t(binaries, base + "station.rss", s.dir().path() / "tune", {"--no-gateway"});
    ASSERT_TRUE(eventually([&] { return joined_from_playlist(t); }, seconds(15))) << t.log();
    // Tuned in 1 s into the 400 Hz item, well before its 8 s end.
    const auto tones = tones_in(t.stream_url(), 4, candidates);
    ASSERT_GE(tones.size(), 12u) << t.log();
    int heard = 0;
    for (const int hz : tones)
        heard += hz == 400 || hz == 700 ? 1 : 0;
    EXPECT_GE(heard, static_cast<int>(tones.size()) * 3 / 4) << t.log();
    // No gateway anywhere: every byte came from the origin (a listener alone has no peers).
    const auto status = answered_status(t, "the listener");
    EXPECT_EQ(status["bytes"]["gateway"], 0u) << status.dump();
    EXPECT_GT(status["bytes"]["origin"], 0u) << status.dump();
}

// The station's playlist with its media moved to a port where nothing listens, its .torrent
// links left on the origin: a listener tuned to it can have the media from peers alone.
std::string peers_only_playlist(const TestStation& s, const std::string& base) {
    std::string xml = s.dir().read("www/station.rss");
    const std::string dead = "http://127.0.0.1:" + std::to_string(free_port()) + "/";
    for (const ToneItem& item : s.items()) {
        for (const char* after : {"\"", "<"}) {  // rdf:about, enclosure, rdf:li; <link>
            const std::string from = base + item.file + after;
            const std::string to = dead + item.file + after;
            for (auto at = xml.find(from); at != std::string::npos; at = xml.find(from, at))
                xml.replace(at, from.size(), to);
        }
    }
    const fs::path out = s.dir().path() / "www/peers-only.rss";
    std::ofstream(out) << xml;
    return "peers-only.rss";
}

// Two listeners of the peers-only copy of the station's playlist.
std::vector<std::unique_ptr<TuneProcess>> tune_peers_only(TestStation& s,
                                                          const std::vector<std::string>& options) {
    const std::string playlist = s.origin().url(peers_only_playlist(s, s.origin().url("")));
    std::vector<std::unique_ptr<TuneProcess>> tunes;
    for (int i = 0; i < 2; ++i) {
        tunes.push_back(std::make_unique<TuneProcess>(
            binaries, playlist, s.dir().path() / ("peers-only" + std::to_string(i)), options));
    }
    return tunes;
}

// A peers-only listener plays the 400 Hz item, from peers' bytes alone.
void expect_plays_from_peers_alone(const TuneProcess& t) {
    const auto tones = tones_in(t.stream_url(), 3, candidates);
    EXPECT_GE(std::count(tones.begin(), tones.end(), 400), 8) << t.log();
    const auto status = answered_status(t, "a peers-only listener");
    EXPECT_GT(status["bytes"]["peers"], 0u) << status.dump();
    EXPECT_EQ(status["bytes"]["origin"], 0u) << status.dump();
}

TEST(NoGateway, ListenersShareThroughTheTrackerInTheirTorrents) {
    ASSERT_TRUE(have_program("opentracker"));
    TestStation s(binaries, {{"a.mp3", 400, 30}, {"b.mp3", 700, 30}}, mp3);
    s.publish();
    Opentracker tracker(s.dir().path() / "opentracker");
    const Playlist station =
        s.write_swarm_playlist(now_ms() - milliseconds(500), {"--tracker", tracker.announce_url()});
    // Both files, each with its .torrent: the tracker URL took one argument, not the files.
    ASSERT_EQ(station.items.size(), 2u);
    tracker.allow(station);
    ASSERT_TRUE(tracker.start()) << tracker.log();
    // One listener reads the origin. Two more are tuned to a copy of the playlist whose
    // media URLs lead nowhere (as for listeners the origin cannot serve): they find the
    // first through the tracker named in the .torrent, and what they play comes from it.
    std::vector<std::unique_ptr<TuneProcess>> tunes;
    tunes.push_back(s.tune({"--no-gateway"}));
    ASSERT_TRUE(eventually([&] { return joined_from_playlist(*tunes[0]); }, seconds(15)))
        << tunes[0]->log();
    for (auto& t : tune_peers_only(s, {"--no-gateway"}))
        tunes.push_back(std::move(t));
    for (const auto& t : tunes)
        ASSERT_TRUE(eventually([&] { return joined_from_playlist(*t); }, seconds(15))) << t->log();
    const std::string first = station.items[0].torrent->info_hash;
    EXPECT_TRUE(eventually([&] { return tracker.peers(first) >= 3; }, seconds(20)))
        << "opentracker knows " << tracker.peers(first) << " of 3";
    // The 400 Hz item plays at both from peers' bytes alone.
    for (std::size_t i = 1; i <= 2; ++i)
        expect_plays_from_peers_alone(*tunes[i]);
}

// No gateway and no tracker: the playlist's .torrent names none. Listeners join the DHT
// through its routers (here the test's own node, as alluvium-tune joins the public routers
// by default) and find each other there.
TEST(NoGateway, ListenersFindEachOtherThroughTheDhtAlone) {
    TestStation s(binaries, {{"a.mp3", 400, 30}, {"b.mp3", 700, 30}}, mp3);
    s.publish();
    const Playlist station = s.write_swarm_playlist(now_ms() - milliseconds(500));
    ASSERT_EQ(station.items.size(), 2u);
    SwarmClient router(s.dir().path() / "router");
    const std::string dht = router.start_dht();
    const std::vector<std::string> options = {"--no-gateway", "--dht-bootstrap", dht};
    std::vector<std::unique_ptr<TuneProcess>> tunes;
    tunes.push_back(s.tune(options));
    ASSERT_TRUE(eventually([&] { return joined_from_playlist(*tunes[0]); }, seconds(15)))
        << tunes[0]->log();
    // Two more whose media URLs lead nowhere: what they play comes from the first.
    for (auto& t : tune_peers_only(s, options))
        tunes.push_back(std::move(t));
    // libtorrent says where it found each peer: here only the DHT could have told them.
    for (std::size_t i = 1; i <= 2; ++i) {
        ASSERT_TRUE(eventually(
            [&] {
                const nlohmann::json st = tunes[i]->status();
                return st.is_object() && st["dht"]["peers"].get<int>() > 0 &&
                       st["bytes"]["peers"].get<std::uint64_t>() > 0;
            },
            seconds(20)))
            << tunes[i]->status().dump() << "\n"
            << tunes[i]->log();
    }
    for (std::size_t i = 1; i <= 2; ++i) {
        expect_plays_from_peers_alone(*tunes[i]);
        const auto status = answered_status(*tunes[i], "a peers-only listener");
        EXPECT_TRUE(status["dht"]["running"].get<bool>()) << status.dump();
        EXPECT_GT(status["dht"]["peers"], 0) << status.dump();
    }
}

// Six listeners tune in at once with no gateway and nothing cached: between them they read
// each piece from the origin about once (the origin share, core/src/swarm/origin_share.cpp),
// not once each. What each received counts once; the origin's bytes of the item are compared
// with that.
TEST(NoGateway, AnAudienceTunedInAtOnceReadsThePiecesFromTheOriginAboutOnce) {
    ASSERT_TRUE(have_program("opentracker"));
    TestStation s(binaries, {{"a.mp3", 400, 40}, {"b.mp3", 700, 40}}, mp3);
    s.publish();
    Opentracker tracker(s.dir().path() / "opentracker");
    tracker.allow(
        s.write_swarm_playlist(now_ms() - seconds(1), {"--tracker", tracker.announce_url()}));
    ASSERT_TRUE(tracker.start()) << tracker.log();
    constexpr int audience = 6;
    std::vector<std::unique_ptr<TuneProcess>> tunes;
    for (int i = 0; i < audience; ++i)
        tunes.push_back(s.tune({"--no-gateway"}));
    // Each has received 15 s of the item (16 kB/s), from peers or the origin.
    const auto received = [&] {
        std::uint64_t least = UINT64_MAX;
        for (const auto& t : tunes) {
            const nlohmann::json st = t->status();
            if (!st.is_object())
                return std::uint64_t{0};
            least = std::min(least, st["bytes"]["peers"].get<std::uint64_t>() +
                                        st["bytes"]["origin"].get<std::uint64_t>());
        }
        return least;
    };
    ASSERT_TRUE(eventually([&] { return received() >= 15 * 16000; }, seconds(40)))
        << "a listener received " << received() << " bytes; the first's log:\n"
        << tunes[0]->log();
    const auto copies = static_cast<double>(status_sum(tunes, "bytes", "origin")) /
                        (static_cast<double>(status_sum(tunes, "bytes", "origin") +
                                             status_sum(tunes, "bytes", "peers")) /
                         audience);
    RecordProperty("origin_copies", std::to_string(copies));
    std::printf("origin copies of what one listener received: %.2f\n", copies);
    // Each reading its own: 6 copies. Shared out: about 1, more where two drew close times
    // or a piece was due before any peer had it.
    EXPECT_LT(copies, 2.5) << "origin bytes: " << s.origin().bytes("a.mp3")
                           << "; the first's log:\n"
                           << tunes[0]->log();
    EXPECT_GT(status_sum(tunes, "bytes", "peers"), 0u);
}

// A gateway that lies, as one fed a substitute file or a man in the middle of a plain-HTTP
// gateway would. `about_hash`: /v1/swarm answers metadata of other bytes of the same size
// (consistent with itself: its info_hash is its torrent's). Otherwise /v1/swarm is honest
// (the metadata of the `real` bytes) and /v1/media serves other bytes for every range.
class LyingGateway {
  public:
    LyingGateway(const std::string& real, bool about_hash) {
        MetainfoBuilder b(real.size());
        (void)b.feed(about_hash ? std::string(real.size(), 'x') : real);
        meta_ = b.finish();
        std::error_code ec;
        server_ = HttpServer::start(
            HttpServerOptions{},
            [this](HttpServerRequest&& request, HttpResponder responder) {
                responder.respond(answer(request));
            },
            ec);
        if (!server_)
            throw std::runtime_error("the lying gateway cannot listen: " + ec.message());
    }
    [[nodiscard]] std::string base() const {
        return "http://127.0.0.1:" + std::to_string(server_->port());
    }
    [[nodiscard]] std::string info_hash() const { return meta_.info_hash_hex(); }
    [[nodiscard]] int swarm_asked() const { return swarm_asked_; }
    [[nodiscard]] int media_asked() const { return media_asked_; }

  private:
    HttpServerResponse answer(const HttpServerRequest& request) {
        if (request.path == "/v1/swarm") {
            ++swarm_asked_;
            const nlohmann::json j = {{"size", meta_.size},
                                      {"piece_size", meta_.piece_size},
                                      {"info_hash", meta_.info_hash_hex()},
                                      {"content_sha256", meta_.content_sha256},
                                      {"tracker", ""},
                                      {"torrent", base64_encode(meta_.torrent({}))}};
            return HttpServerResponse::text(200, j.dump(), "application/json");
        }
        if (request.path == "/v1/media") {
            ++media_asked_;
            const ByteRange r = parse_byte_range(request.header("Range"), meta_.size);
            HttpServerResponse out = HttpServerResponse::text(
                r.partial ? 206 : 200, std::string(r.last - r.first + 1, 'x'), "audio/mpeg");
            if (r.partial) {
                out.headers.emplace_back("Content-Range", "bytes " + std::to_string(r.first) + "-" +
                                                              std::to_string(r.last) + "/" +
                                                              std::to_string(meta_.size));
            }
            return out;
        }
        return HttpServerResponse::text(404, "no");
    }
    Metainfo meta_;
    std::atomic<int> swarm_asked_{0};
    std::atomic<int> media_asked_{0};
    std::unique_ptr<HttpServer> server_;
};

// Most of the decoded windows carry one of the station's tones: no stretch of wrong bytes.
void expect_the_stations_tones(const TuneProcess& t, double seconds) {
    const auto tones = tones_in(t.stream_url(), seconds, candidates);
    ASSERT_GE(tones.size(), static_cast<std::size_t>(seconds * 4) - 4) << t.log();
    int right = 0;
    for (const int hz : tones)
        right += hz == 400 || hz == 700 ? 1 : 0;
    EXPECT_GE(right, static_cast<int>(tones.size()) * 3 / 4) << t.log();
}

TEST(NoGateway, AGatewayWhoseInfoHashIsNotThePlaylistsIsRefused) {
    TestStation s(binaries, {{"a.mp3", 400, 10}, {"b.mp3", 700, 10}}, mp3);
    s.publish();
    const Playlist p = s.write_swarm_playlist(now_ms() - seconds(1));
    const LyingGateway liar(s.dir().read("www/a.mp3"), true);
    auto t = s.tune({"--gateway", liar.base()});
    ASSERT_TRUE(eventually([&] { return joined_from_playlist(*t); }, seconds(20))) << t->log();
    EXPECT_GT(liar.swarm_asked(), 0) << "the lying gateway was never asked";
    EXPECT_NE(t->log().find("refused: info-hash " + liar.info_hash() +
                            ", but the playlist publishes " + p.items[0].torrent->info_hash),
              std::string::npos)
        << t->log();
    // Not one wrong byte: the stream plays the item's own tone (the lie is all 'x'), and
    // the liar's copy is never asked for.
    expect_the_stations_tones(*t, 3);
    EXPECT_EQ(liar.media_asked(), 0);
}

TEST(NoGateway, AGatewayServingOtherBytesPutsNoneOnTheStream) {
    // Its metadata is honest (the playlist's info-hash), so the listener joins through it;
    // what it then sends in /v1/media fails the pieces' hashes and is dropped, and the
    // origin gives those bytes instead.
    TestStation s(binaries, {{"a.mp3", 400, 10}, {"b.mp3", 700, 10}}, mp3);
    s.publish();
    const Playlist p = s.write_swarm_playlist(now_ms() - seconds(1));
    const LyingGateway liar(s.dir().read("www/a.mp3"), false);
    EXPECT_EQ(liar.info_hash(), p.items[0].torrent->info_hash);
    auto t = s.tune({"--gateway", liar.base()});
    ASSERT_TRUE(eventually(
        [&] { return t->log().find("with the wrong hash") != std::string::npos; }, seconds(20)))
        << t->log();
    EXPECT_GT(liar.media_asked(), 0);
    expect_the_stations_tones(*t, 4);
    const auto status = answered_status(*t, "the listener");
    EXPECT_EQ(status["bytes"]["gateway"], 0u) << "bytes of the lying copy were kept";
    EXPECT_GT(status["bytes"]["origin"], 0u) << status.dump();
}

}  // namespace
}  // namespace alluvium::test
