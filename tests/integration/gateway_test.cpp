// alluvium-gateway as a process, with nginx as the origin and libtorrent clients as
// listeners, all on 127.0.0.1.
#include <alluvium/fetch.hpp>
#include <alluvium/gateway_client.hpp>
#include <alluvium/time.hpp>
#include <alluvium/url.hpp>

#include "gateway_process.hpp"
#include "nginx_origin.hpp"
#include "raw_http.hpp"
#include "swarm_client.hpp"
#include "temp_dir.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/sha.h>

#include <fstream>
#include <future>
#include <libtorrent/bdecode.hpp>
#include <thread>

namespace alluvium::test {
namespace {

const std::string gateway_binary = ALLUVIUM_GATEWAY;

std::string sha256_hex(const std::string& data) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (const unsigned char b : digest) {
        out += hex[b >> 4];
        out += hex[b & 15];
    }
    return out;
}

class Gateway : public ::testing::Test {
  protected:
    void SetUp() override { std::filesystem::create_directories(www()); }
    std::filesystem::path www() const { return dir_.path() / "www"; }
    std::string publish(const std::string& name, const std::string& content) {
        std::ofstream(www() / name, std::ios::binary) << content;
        return content;
    }
    void start_origin(const std::string& rate = "", const std::string& extra_config = "") {
        origin_ = std::make_unique<NginxOrigin>(www(), rate, extra_config);
    }
    // By default the gateway may fetch anything from the test origin.
    void start_gateway() { start_gateway({"--allow-origin", origin_->origin()}); }
    void start_gateway(const std::vector<std::string>& args) {
        gateway_ = std::make_unique<GatewayProcess>(gateway_binary, dir_.path() / "gateway", args);
    }
    GatewayAnswer lookup(const std::string& url, Milliseconds wait = Milliseconds{10000},
                         const std::string& playlist = {}) {
        return GatewayClient(gateway_->base()).lookup(url, playlist, wait);
    }
    GatewayAnswer lookup_ready(const std::string& url) {
        GatewayAnswer a;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        do {
            a = lookup(url);
        } while (a.state == GatewayState::pending && std::chrono::steady_clock::now() < deadline);
        return a;
    }

    // The origin and a gateway that logs its spread policy's decisions (debug), and the
    // metadata of the published file `name`.
    GatewayAnswer spreading_gateway_for(const std::string& name) {
        start_origin();
        start_gateway({"--allow-origin", origin_->origin(), "--log-level", "debug"});
        return lookup_ready(origin_->url(name));
    }

    TempDir dir_;
    std::unique_ptr<NginxOrigin> origin_;
    std::unique_ptr<GatewayProcess> gateway_;
};

TEST_F(Gateway, MetadataMatchesAnIndependentHashOfTheFile) {
    const std::string content = publish("song.mp3", random_bytes(3'000'001, 1));
    start_origin();
    start_gateway();
    const GatewayAnswer a = lookup_ready(origin_->url("song.mp3"));
    ASSERT_EQ(a.state, GatewayState::ready) << a.message << "\n" << gateway_->log();
    const SwarmMetadata& m = *a.metadata;
    EXPECT_EQ(m.size, content.size());
    EXPECT_EQ(m.piece_size, 16384u);
    EXPECT_EQ(m.content_sha256, sha256_hex(content));
    EXPECT_EQ(m.tracker_url, gateway_->base() + "/announce");
    // libtorrent's own creator, on a copy named like the torrent's file, agrees.
    std::ofstream(dir_.path() / m.content_sha256, std::ios::binary) << content;
    EXPECT_EQ(m.info_hash,
              libtorrent_info_hash(dir_.path() / m.content_sha256, static_cast<int>(m.piece_size)));
    // No url-list: listeners never go to the origin by themselves.
    EXPECT_EQ(m.torrent.find("url-list"), std::string::npos);
}

TEST_F(Gateway, ManyConcurrentRequestsCauseOneOriginFetch) {
    publish("show.mp3", random_bytes(4'000'000, 2));
    start_origin("2m");  // slow enough that all requests arrive while it downloads
    start_gateway();
    const std::string url = origin_->url("show.mp3");
    std::vector<std::future<GatewayAnswer>> answers;
    for (int i = 0; i < 20; ++i) {
        answers.push_back(std::async(std::launch::async, [&] { return lookup_ready(url); }));
    }
    std::set<std::string> hashes;
    for (auto& f : answers) {
        const GatewayAnswer a = f.get();
        ASSERT_EQ(a.state, GatewayState::ready) << a.message;
        hashes.insert(a.metadata->info_hash);
    }
    EXPECT_EQ(hashes.size(), 1u);
    EXPECT_EQ(origin_->count("GET", "/show.mp3", 200), 1u);
    EXPECT_EQ(origin_->bytes("/show.mp3"), 4'000'000u);
}

TEST_F(Gateway, TheCacheSurvivesARestart) {
    const std::string content = publish("kept.ogg", random_bytes(500'000, 3));
    start_origin();
    start_gateway();
    const std::string url = origin_->url("kept.ogg");
    const GatewayAnswer first = lookup_ready(url);
    ASSERT_EQ(first.state, GatewayState::ready);
    gateway_.reset();
    start_gateway();
    const GatewayAnswer again = lookup(url, Milliseconds{0});
    ASSERT_EQ(again.state, GatewayState::ready) << again.message;
    EXPECT_EQ(again.metadata->info_hash, first.metadata->info_hash);
    EXPECT_EQ(origin_->count("GET", "/kept.ogg", 200), 1u) << "nothing downloaded again";
    // And the restarted gateway seeds it: a client downloads the item from it.
    SwarmClient client(dir_.path() / "client");
    ASSERT_TRUE(client.add(again.metadata->torrent));
    ASSERT_TRUE(client.wait_complete(std::chrono::seconds(60))) << gateway_->log();
    std::ifstream got(client.file(), std::ios::binary);
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(got), {}), content);
}

TEST_F(Gateway, EvictsTheLeastRecentlyUsedItemWhenTheCacheIsFull) {
    for (const char* name : {"a.mp3", "b.mp3", "c.mp3"}) {
        publish(name, random_bytes(1 << 20, static_cast<unsigned>(name[0])));
    }
    start_origin();
    start_gateway({"--allow-origin", origin_->origin(), "--cache-size", "2.5M"});
    ASSERT_EQ(lookup_ready(origin_->url("a.mp3")).state, GatewayState::ready);
    ASSERT_EQ(lookup_ready(origin_->url("b.mp3")).state, GatewayState::ready);
    std::this_thread::sleep_for(
        std::chrono::milliseconds(1100));  // access times have 1 s resolution
    ASSERT_EQ(lookup(origin_->url("a.mp3"), Milliseconds{0}).state,
              GatewayState::ready);  // a is now newer
    const GatewayAnswer b = lookup(origin_->url("b.mp3"), Milliseconds{0});
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    ASSERT_EQ(lookup(origin_->url("a.mp3"), Milliseconds{0}).state, GatewayState::ready);
    ASSERT_EQ(lookup_ready(origin_->url("c.mp3")).state, GatewayState::ready);
    const auto status = gateway_->status();
    std::set<std::string> cached;
    for (const auto& item : status["items"])
        cached.insert(item["url"].get<std::string>());
    EXPECT_EQ(cached, (std::set<std::string>{origin_->url("a.mp3"), origin_->url("c.mp3")}));
    EXPECT_FALSE(
        std::filesystem::exists(dir_.path() / "gateway/cache" / b.metadata->content_sha256));
    EXPECT_LE(status["totals"]["cache_bytes"].get<std::uint64_t>(), 2'621'440u);
    // Asked again, the evicted item is fetched again.
    ASSERT_EQ(lookup_ready(origin_->url("b.mp3")).state, GatewayState::ready);
    EXPECT_EQ(origin_->count("GET", "/b.mp3", 200), 2u);
}

TEST_F(Gateway, AChangedOriginFileGetsNewMetadata) {
    publish("news.mp3", random_bytes(200'000, 4));
    start_origin();
    start_gateway({"--allow-origin", origin_->origin(), "--revalidate-after", "0"});
    const std::string url = origin_->url("news.mp3");
    const GatewayAnswer before = lookup_ready(url);
    ASSERT_EQ(before.state, GatewayState::ready);
    // Unchanged: the revalidation is a conditional request answered 304, nothing re-sent.
    const GatewayAnswer same = lookup(url);
    EXPECT_EQ(same.metadata->info_hash, before.metadata->info_hash);
    EXPECT_TRUE(eventually([&] { return origin_->count("GET", "/news.mp3", 304) >= 1; },
                           std::chrono::seconds(10)));
    // Changed (new size, so a new ETag whatever the clock): new metadata.
    publish("news.mp3", random_bytes(210'000, 5));
    EXPECT_TRUE(eventually(
        [&] {
            const GatewayAnswer a = lookup(url);
            return a.state == GatewayState::ready &&
                   a.metadata->info_hash != before.metadata->info_hash &&
                   a.metadata->size == 210'000u;
        },
        std::chrono::seconds(20)))
        << gateway_->log();
}

TEST_F(Gateway, TheOriginsCacheControlDecidesWhenToAskAgain) {
    // --revalidate-after only applies when the origin says nothing: here one file is fresh
    // for an hour, the other must be revalidated on every lookup.
    std::filesystem::create_directories(www() / "hour");
    std::filesystem::create_directories(www() / "never");
    publish("hour/a.mp3", random_bytes(50'000, 11));
    publish("never/b.mp3", random_bytes(50'000, 12));
    start_origin("",
                 "    location /hour/ { add_header Cache-Control \"public, max-age=3600\"; }\n"
                 "    location /never/ { add_header Cache-Control \"no-cache\"; }\n");
    start_gateway({"--allow-origin", origin_->origin(), "--revalidate-after", "0"});
    const std::string hour = origin_->url("hour/a.mp3");
    const std::string never = origin_->url("never/b.mp3");
    ASSERT_EQ(lookup_ready(hour).state, GatewayState::ready) << gateway_->log();
    ASSERT_EQ(lookup_ready(never).state, GatewayState::ready) << gateway_->log();
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(lookup(hour).state, GatewayState::ready);
        EXPECT_EQ(lookup(never).state, GatewayState::ready);
    }
    // Each lookup of the no-cache file after the first asked the origin (conditionally).
    EXPECT_TRUE(eventually([&] { return origin_->count("GET", "/never/b.mp3", 304) >= 3; },
                           std::chrono::seconds(10)))
        << gateway_->log();
    EXPECT_EQ(origin_->count("GET", "/hour/a.mp3", 304), 0u) << "asked again within max-age";
    EXPECT_EQ(origin_->count("GET", "/hour/a.mp3", 200), 1u);
}

TEST_F(Gateway, TheOriginRateLimitHoldsForAllItsFetchesTogether) {
    // Two 600 kB items fetched at once at 300 kB/s for the origin: at least 4 s less the
    // one-second allowance (3 s), not the 2 s a limit per fetch would take.
    publish("one.mp3", random_bytes(600'000, 13));
    publish("two.mp3", random_bytes(600'000, 14));
    start_origin();
    start_gateway({"--allow-origin", origin_->origin(), "--origin-rate-limit", "300000",
                   "--fetch-jobs", "2"});
    const auto began = std::chrono::steady_clock::now();
    EXPECT_EQ(lookup(origin_->url("one.mp3"), Milliseconds{0}).state, GatewayState::pending);
    EXPECT_EQ(lookup(origin_->url("two.mp3"), Milliseconds{0}).state, GatewayState::pending);
    ASSERT_EQ(lookup_ready(origin_->url("one.mp3")).state, GatewayState::ready);
    ASSERT_EQ(lookup_ready(origin_->url("two.mp3")).state, GatewayState::ready);
    const double took =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    EXPECT_GE(took, 2.9) << "the origin sent 1.2 MB faster than 300 kB/s allows";
    EXPECT_EQ(origin_->bytes("/one.mp3") + origin_->bytes("/two.mp3"), 1'200'000u);
}

class GatewayTracker : public Gateway {
  protected:
    // An item on the gateway, whose swarm the tests announce in.
    void start_with_an_item(const std::vector<std::string>& extra = {}) {
        publish("hit.mp3", random_bytes(100'000, 6));
        start_origin();
        std::vector<std::string> args{"--allow-origin", origin_->origin()};
        args.insert(args.end(), extra.begin(), extra.end());
        start_gateway(args);
        const GatewayAnswer a = lookup_ready(origin_->url("hit.mp3"));
        ASSERT_EQ(a.state, GatewayState::ready);
        for (std::size_t i = 0; i < 40; i += 2) {
            raw_hash_ +=
                static_cast<char>(std::stoi(a.metadata->info_hash.substr(i, 2), nullptr, 16));
        }
    }
    // Announces listener `name` (one letter) at `port`; the ports of the peers it was given.
    std::set<int> announce(char name, int port) {
        HttpRequest r;
        std::error_code ec;
        r.url = gateway_->base() + "/announce?info_hash=" + percent_encode(raw_hash_) +
                "&peer_id=" + percent_encode("-XX0001-" + std::string(12, name)) +
                "&port=" + std::to_string(port) + "&left=100000&compact=1";
        const HttpResponse answer = http_request(r, ec);
        EXPECT_EQ(answer.status, 200) << ec.message();
        libtorrent::error_code bec;
        const libtorrent::bdecode_node body = libtorrent::bdecode(answer.body, bec);
        EXPECT_FALSE(bec) << bec.message();
        if (bec)
            return {};
        interval_ = body.dict_find_int_value("interval");
        const std::string peers(body.dict_find_string_value("peers"));
        EXPECT_EQ(peers.size() % 6, 0u);
        std::set<int> ports;
        for (std::size_t i = 0; i + 6 <= peers.size(); i += 6) {
            ports.insert((static_cast<unsigned char>(peers[i + 4]) << 8) |
                         static_cast<unsigned char>(peers[i + 5]));
        }
        return ports;
    }

    std::string raw_hash_;
    std::int64_t interval_ = 0;
};

TEST_F(GatewayTracker, IntroducesPeersToEachOther) {
    start_with_an_item();
    const ListeningPort first;
    (void)announce('a', first.port());
    const std::set<int> ports = announce('b', free_port());
    EXPECT_LE(interval_, 60);
    EXPECT_TRUE(ports.count(first.port())) << "the first listener";
    EXPECT_TRUE(ports.count(gateway_->bt_port())) << "the gateway's own seed";
    // The swarm metadata names known peers too.
    EXPECT_FALSE(lookup(origin_->url("hit.mp3"), Milliseconds{0}).metadata->peers.empty());
}

TEST_F(GatewayTracker, HandsOutOnlyTheListenersItCouldConnectTo) {
    start_with_an_item();
    const ListeningPort reachable;
    const int unreachable = free_port();
    (void)announce('a', reachable.port());
    (void)announce('b', unreachable);
    // Each was checked when it first announced; a third listener is given the one that
    // answered, and the seed, once the checks are done (on loopback, at once).
    const int third = free_port();
    std::set<int> ports;
    EXPECT_TRUE(eventually(
        [&] {
            ports = announce('c', third);
            return ports.count(reachable.port()) == 1 && ports.count(unreachable) == 0;
        },
        std::chrono::seconds(10)))
        << ports.size() << " peers";
    EXPECT_TRUE(ports.count(gateway_->bt_port()));
    // The unreachable one still gets its peers: it can connect out.
    EXPECT_TRUE(announce('b', unreachable).count(reachable.port()));
    const auto status = gateway_->status();
    EXPECT_GE(status["totals"]["nat_check"]["reachable"].get<int>(), 1) << status.dump();
    EXPECT_GE(status["totals"]["nat_check"]["unreachable"].get<int>(), 1) << status.dump();
    const GatewayAnswer metadata = lookup(origin_->url("hit.mp3"), Milliseconds{0});
    ASSERT_TRUE(metadata.metadata.has_value());
    for (const std::string& peer : metadata.metadata->peers)
        EXPECT_NE(peer, "127.0.0.1:" + std::to_string(unreachable)) << "nor in the metadata";
}

TEST_F(GatewayTracker, WithoutTheNatCheckEveryListenerIsHandedOut) {
    start_with_an_item({"--no-nat-check"});
    const int unreachable = free_port();
    (void)announce('a', unreachable);
    EXPECT_TRUE(announce('b', free_port()).count(unreachable));
    EXPECT_TRUE(gateway_->status()["totals"]["nat_check"].is_null());
}

TEST_F(Gateway, AnOverloadedOriginIsLeftAloneForAsLongAsItAsks) {
    publish("busy.mp3", random_bytes(50'000, 8));
    publish("other.mp3", random_bytes(50'000, 9));
    origin_ = std::make_unique<NginxOrigin>(
        www(), "", "location = /busy.mp3 { add_header Retry-After 3 always; return 503; }");
    start_gateway();
    const auto first = lookup(origin_->url("busy.mp3"));
    EXPECT_EQ(first.state, GatewayState::failed) << first.message;
    EXPECT_EQ(first.http_status, 503);
    // Within the 3 s it asked for: neither that item nor another from the same origin.
    const auto again = lookup(origin_->url("busy.mp3"));
    EXPECT_EQ(again.http_status, 503);
    const auto other = lookup(origin_->url("other.mp3"));
    EXPECT_EQ(other.http_status, 503) << other.message;
    EXPECT_EQ(origin_->count("GET", "/busy.mp3", 503), 1u);
    EXPECT_EQ(origin_->count("GET", "/other.mp3", 200), 0u);
    EXPECT_NE(gateway_->log().find("overloaded"), std::string::npos);
    // Afterwards it is asked again.
    EXPECT_TRUE(
        eventually([&] { return lookup(origin_->url("other.mp3")).state == GatewayState::ready; },
                   std::chrono::seconds(15)));
    EXPECT_TRUE(eventually([&] { return origin_->count("GET", "/other.mp3", 200) == 1; },
                           std::chrono::seconds(5)));
}

TEST_F(Gateway, GarbageAnnouncesAreRefusedWithAReason) {
    start_gateway(std::vector<std::string>{});
    for (const std::string& q :
         {std::string("/announce"), std::string("/announce?info_hash=short&peer_id=x&port=1"),
          "/announce?info_hash=" + percent_encode(std::string(20, 'a')) +
              "&peer_id=" + percent_encode(std::string(20, 'b')) + "&port=notaport",
          "/announce?info_hash=" + percent_encode(std::string(20, 'a')) +
              "&peer_id=" + percent_encode(std::string(20, 'b')) + "&port=1&event=bogus"}) {
        HttpRequest r;
        r.url = gateway_->base() + q;
        std::error_code ec;
        const HttpResponse answer = http_request(r, ec);
        EXPECT_EQ(answer.status, 400) << q;
        EXPECT_NE(answer.body.find("failure reason"), std::string::npos) << q;
    }
    HttpRequest unknown;
    unknown.url = gateway_->base() + "/announce?info_hash=" + percent_encode(std::string(20, 'a')) +
                  "&peer_id=" + percent_encode(std::string(20, 'b')) + "&port=1";
    std::error_code ec;
    EXPECT_EQ(http_request(unknown, ec).status, 404) << "only the gateway's own items are tracked";
    EXPECT_NE(gateway_->log().find("refused announce"), std::string::npos);
}

TEST_F(Gateway, RefusesWhatTheAllowListDoesNotCover) {
    publish("ok.mp3", random_bytes(1000, 7));
    start_origin();
    start_gateway(std::vector<std::string>{});  // no allowed origin, no playlist
    const GatewayAnswer other = lookup(origin_->url("ok.mp3"));
    EXPECT_EQ(other.state, GatewayState::refused);
    EXPECT_EQ(other.http_status, 403);
    const GatewayAnswer metadata = lookup("http://169.254.169.254/latest/meta-data/");
    EXPECT_EQ(metadata.state, GatewayState::refused);
    // A listener names a playlist on a loopback address: listener playlists may only point
    // at public addresses, so the gateway does not even read it.
    publish("station.rss", "<rdf:RDF/>");
    const GatewayAnswer named =
        lookup(origin_->url("ok.mp3"), Milliseconds{0}, origin_->url("station.rss"));
    EXPECT_EQ(named.state, GatewayState::refused);
    EXPECT_NE(named.message.find("127.0.0.1"), std::string::npos) << named.message;
    EXPECT_EQ(origin_->count("GET", "/ok.mp3", 200), 0u);
    EXPECT_NE(gateway_->log().find("refused"), std::string::npos);
}

TEST_F(Gateway, ItemsOfATrustedPlaylistAreAllowed) {
    publish("one.mp3", random_bytes(2000, 8));
    publish("other.mp3", random_bytes(2000, 9));
    start_origin();
    const std::string playlist =
        "<?xml version=\"1.0\"?><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" "
        "xmlns=\"http://purl.org/rss/1.0/\" xmlns:mm=\"http://musicbrainz.org/mm/mm-2.0#\">"
        "<channel rdf:about=\"s\"><title>t</title></channel><item rdf:about=\"" +
        origin_->url("one.mp3") + "\"><link>" + origin_->url("one.mp3") +
        "</link><mm:duration>1000</mm:duration></item></rdf:RDF>";
    publish("station.rss", playlist);
    start_gateway({"--playlist", origin_->url("station.rss")});
    EXPECT_EQ(lookup_ready(origin_->url("one.mp3")).state, GatewayState::ready);
    EXPECT_EQ(lookup(origin_->url("other.mp3")).state, GatewayState::refused);
}

TEST_F(Gateway, RefusesOversizedUrlsAndItems) {
    publish("big.mp3", random_bytes(2 << 20, 10));
    start_origin();
    start_gateway({"--allow-origin", origin_->origin(), "--max-item-size", "1M"});
    const GatewayAnswer long_url = lookup(origin_->url(std::string(3000, 'x') + ".mp3"));
    EXPECT_EQ(long_url.http_status, 414);
    const GatewayAnswer big = lookup_ready(origin_->url("big.mp3"));
    EXPECT_EQ(big.state, GatewayState::refused);
    EXPECT_EQ(big.http_status, 413);
    EXPECT_NE(big.message.find("limit"), std::string::npos) << big.message;
    // Refused on Content-Length: the gateway read none of the body. (nginx's own count shows
    // what it pushed into loopback socket buffers before the close, not what was read.)
    EXPECT_EQ(gateway_->status()["totals"]["origin_bytes"].get<std::uint64_t>(), 0u);
}

TEST_F(Gateway, SeveralClientsDownloadFromTheGatewaySeedAndEachOther) {
    const std::string content = publish("mix.mp3", random_bytes(6'000'000, 11));
    start_origin();
    start_gateway();
    const GatewayAnswer a = lookup_ready(origin_->url("mix.mp3"));
    ASSERT_EQ(a.state, GatewayState::ready);
    std::vector<std::unique_ptr<SwarmClient>> clients;
    for (int i = 0; i < 4; ++i) {
        clients.push_back(
            std::make_unique<SwarmClient>(dir_.path() / ("client" + std::to_string(i))));
        ASSERT_TRUE(clients.back()->add(a.metadata->torrent));
    }
    // The seed says it is a gateway's in its peer id, so listeners count its bytes apart
    // whoever connected.
    EXPECT_TRUE(eventually(
        [&] {
            for (const auto& id : clients[0]->peer_ids())
                if (id.rfind("-AG", 0) == 0)
                    return true;
            return false;
        },
        std::chrono::seconds(10)));
    for (auto& c : clients) {
        ASSERT_TRUE(c->wait_complete(std::chrono::seconds(90))) << c->stats().progress;
        std::ifstream got(c->file(), std::ios::binary);
        EXPECT_EQ(std::string(std::istreambuf_iterator<char>(got), {}), content);
    }
    EXPECT_EQ(origin_->count("GET", "/mix.mp3", 200), 1u);
    // The spreading seed hands each piece out about once; the clients trade the rest.
    const auto items = gateway_->status()["items"];
    ASSERT_EQ(items.size(), 1u);
    const double uploaded = static_cast<double>(items[0]["uploaded"].get<std::int64_t>());
    EXPECT_LE(uploaded / static_cast<double>(content.size()), 2.0) << "the seed fed every client";
    std::int64_t traded = 0;
    for (auto& c : clients)
        traded += c->stats().uploaded;
    EXPECT_GT(traded, 0);
}

TEST_F(Gateway, APieceGrantedToAListenerThatLeavesIsOfferedAtOnceToOneRefusedIt) {
    // One piece. The first client takes it at 200 B/s, so it is still on its way when the
    // second asks for it, and the spreading seed refuses the second.
    const std::string content = publish("short.mp3", random_bytes(10'000, 14));
    const GatewayAnswer a = spreading_gateway_for("short.mp3");
    ASSERT_EQ(a.state, GatewayState::ready);
    auto first = std::make_unique<SwarmClient>(dir_.path() / "first");
    ASSERT_TRUE(first->add(a.metadata->torrent, nullptr, 200));
    ASSERT_TRUE(eventually(
        [&] {
            const auto items = gateway_->status()["items"];
            return items.size() == 1 && items[0]["uploaded"].get<std::int64_t>() > 0;
        },
        std::chrono::seconds(10)));
    SwarmClient second(dir_.path() / "second");
    ASSERT_TRUE(second.add(a.metadata->torrent));
    ASSERT_TRUE(eventually([&] { return gateway_->log().find("refused to") != std::string::npos; },
                           std::chrono::seconds(10)))
        << gateway_->log();
    first.reset();  // leaves with the piece still on its way
    EXPECT_TRUE(
        eventually([&] { return gateway_->log().find("offered again") != std::string::npos; },
                   std::chrono::seconds(5)))
        << gateway_->log();
    ASSERT_TRUE(second.wait_complete(std::chrono::seconds(30))) << second.stats().progress;
    std::ifstream got(second.file(), std::ios::binary);
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(got), {}), content);
}

TEST_F(Gateway, ARefusedPieceAnotherListenerHoldsIsOfferedAgainOnlyAfterTheSwarmHadTime) {
    // One piece. The first client holds it but passes it on at 1 B/s; the second is refused
    // it by the spreading seed (another listener holds it) and gets it from the seed only
    // once the in-swarm wait (6 s) is over, not after the 1.5 s of a piece nobody holds.
    const std::string content = publish("held.mp3", random_bytes(10'000, 15));
    const GatewayAnswer a = spreading_gateway_for("held.mp3");
    ASSERT_EQ(a.state, GatewayState::ready);
    SwarmClient first(dir_.path() / "first");
    ASSERT_TRUE(first.add(a.metadata->torrent));
    ASSERT_TRUE(first.wait_complete(std::chrono::seconds(30))) << gateway_->log();
    first.set_upload_limit(1);
    SwarmClient second(dir_.path() / "second");
    ASSERT_TRUE(second.add(a.metadata->torrent));
    ASSERT_TRUE(eventually([&] { return gateway_->log().find("refused to") != std::string::npos; },
                           std::chrono::seconds(10)))
        << gateway_->log();
    ASSERT_TRUE(second.wait_complete(std::chrono::seconds(30))) << gateway_->log();
    // The seed says when it offered the piece again: "... refused N ms ago".
    const std::string log = gateway_->log();
    const auto line = log.find("offered again to");
    ASSERT_NE(line, std::string::npos) << "the piece came from the first client" << log;
    const auto ago = log.find("refused ", line);
    ASSERT_NE(ago, std::string::npos) << log;
    EXPECT_GE(std::stoi(log.substr(ago + 8)), 6000) << "offered again before the swarm had time";
    std::ifstream got(second.file(), std::ios::binary);
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(got), {}), content);
}

TEST_F(Gateway, ReadsItsSettingsFromAConfigFile) {
    publish("x.mp3", random_bytes(1000, 13));
    start_origin();
    // The shipped example, with the test's origin and cache size added.
    std::ifstream example(std::string(ALLUVIUM_SOURCE_DIR) + "/packaging/alluvium-gateway.toml");
    std::string config(std::istreambuf_iterator<char>(example), {});
    ASSERT_FALSE(config.empty());
    config += "\ncache-size = \"3M\"\nallow-origin = [\"" + origin_->origin() + "\"]\n";
    config.replace(config.find("cache-size = \"10G\""), 19, "");
    dir_.write("gateway.toml", config);
    start_gateway({"--config", (dir_.path() / "gateway.toml").string()});
    EXPECT_EQ(gateway_->status()["totals"]["cache_limit"].get<std::uint64_t>(), 3u << 20);
    EXPECT_EQ(lookup_ready(origin_->url("x.mp3")).state, GatewayState::ready);
}

TEST_F(Gateway, ServesRangesOfItsCopyToListenersTheSwarmLeftShort) {
    const std::string content = publish("r.mp3", random_bytes(3'000'000, 13));
    start_origin();
    start_gateway();
    const std::string url = origin_->url("r.mp3");
    const auto get = [&](const std::string& media_url, const std::string& range) {
        HttpRequest r;
        r.url = gateway_->base() + "/v1/media?url=" + percent_encode(media_url);
        if (!range.empty())
            r.headers.emplace_back("Range", range);
        std::error_code ec;
        HttpResponse response = http_request(r, ec);
        EXPECT_FALSE(ec) << ec.message();
        return response;
    };
    EXPECT_EQ(get(url, "bytes=0-99").status, 404) << "not fetched yet: nothing to serve";
    ASSERT_EQ(lookup_ready(url).state, GatewayState::ready);
    const HttpResponse part = get(url, "bytes=1000-1999");
    EXPECT_EQ(part.status, 206);
    EXPECT_EQ(part.header("Content-Range"), "bytes 1000-1999/3000000");
    EXPECT_EQ(part.body, content.substr(1000, 1000));
    // An open or oversized range is cut to 1 MiB: a rescue, not a download.
    const HttpResponse open = get(url, "bytes=2000000-");
    EXPECT_EQ(open.status, 206);
    EXPECT_EQ(open.header("Content-Range"), "bytes 2000000-2999999/3000000");
    const HttpResponse big = get(url, "bytes=0-2999999");
    EXPECT_EQ(big.header("Content-Range"), "bytes 0-1048575/3000000");
    EXPECT_EQ(big.body, content.substr(0, 1048576));
    const HttpResponse whole = get(url, "");
    EXPECT_EQ(whole.status, 400);
    EXPECT_NE(whole.body.find("Range"), std::string::npos) << whole.body;
    EXPECT_EQ(get(url, "bytes=abc-").status, 400);
    EXPECT_EQ(get(url, "bytes=0-1,5-9").status, 400);
    EXPECT_EQ(get(url, "bytes=3000000-").status, 416);
    EXPECT_EQ(get(origin_->url("other.mp3"), "bytes=0-9").status, 404);
    // Only the version a listener's swarm describes.
    const std::string hash = lookup(url).metadata->info_hash;
    HttpRequest versioned;
    versioned.url = gateway_->base() + "/v1/media?url=" + percent_encode(url) + "&info_hash=";
    versioned.headers.emplace_back("Range", "bytes=0-9");
    std::error_code ec;
    EXPECT_EQ(http_request(versioned, ec).status, 409);
    versioned.url += hash;
    EXPECT_EQ(http_request(versioned, ec).body, content.substr(0, 10));
    // What it served counts in its upload, apart from its seed's.
    const auto status = gateway_->status();
    const std::uint64_t served = 1000 + 1000000 + 1048576 + 10;
    EXPECT_EQ(status["items"][0]["rescued"].get<std::uint64_t>(), served);
    EXPECT_EQ(status["totals"]["bytes_rescued"].get<std::uint64_t>(), served);
    EXPECT_EQ(origin_->bytes("/r.mp3"), 3'000'000u) << "the origin was read once";
}

TEST_F(Gateway, RangesServedLeaveTheSeedLessOfTheUploadLimitForASecond) {
    const std::string content = publish("budget.mp3", random_bytes(2'000'000, 16));
    start_origin();
    start_gateway({"--allow-origin", origin_->origin(), "--upload-limit", "400000"});
    const std::string url = origin_->url("budget.mp3");
    ASSERT_EQ(lookup_ready(url).state, GatewayState::ready);
    const auto limit = [&] {
        return gateway_->status()["totals"]["seed_upload_limit"].get<std::int64_t>();
    };
    EXPECT_EQ(limit(), 400000);
    HttpRequest r;
    r.url = gateway_->base() + "/v1/media?url=" + percent_encode(url);
    r.headers.emplace_back("Range", "bytes=0-199999");
    std::error_code ec;
    ASSERT_EQ(http_request(r, ec).status, 206);
    // 200 kB went beside the seed: it may send the rest of the limit until a second passed.
    EXPECT_EQ(limit(), 200000);
    EXPECT_TRUE(eventually([&] { return limit() == 400000; }, std::chrono::seconds(5)));
    r.headers = {{"Range", "bytes=0-999999"}};
    ASSERT_EQ(http_request(r, ec).status, 206);
    EXPECT_EQ(limit(), 100000) << "a quarter of the limit, however much went beside it";
}

TEST_F(Gateway, StatusReportsItemsPeersAndBytes) {
    publish("s.mp3", random_bytes(300'000, 12));
    start_origin();
    start_gateway();
    ASSERT_EQ(lookup_ready(origin_->url("s.mp3")).state, GatewayState::ready);
    const auto status = gateway_->status();
    EXPECT_EQ(status["totals"]["items"].get<int>(), 1);
    EXPECT_EQ(status["totals"]["origin_bytes"].get<std::uint64_t>(), 300'000u);
    EXPECT_EQ(status["items"][0]["url"].get<std::string>(), origin_->url("s.mp3"));
    EXPECT_EQ(status["items"][0]["origin_bytes"].get<std::uint64_t>(), 300'000u);
    EXPECT_TRUE(status["totals"].contains("listeners"));
    EXPECT_TRUE(parse_w3cdtf(status["now"].get<std::string>()).has_value());
    // The dashboard: a page of the program's own files, under the pages' policy.
    HttpRequest page;
    page.url = gateway_->base() + "/";
    std::error_code ec;
    const HttpResponse html = http_request(page, ec);
    EXPECT_EQ(html.media_type(), "text/html");
    EXPECT_NE(html.body.find("<script src=\"/dashboard.js\" defer>"), std::string::npos);
    EXPECT_NE(html.header("Content-Security-Policy").find("script-src 'self'"), std::string::npos);
    page.url = gateway_->base() + "/dashboard.js";
    EXPECT_EQ(http_request(page, ec).media_type(), "text/javascript");
    // Its event stream: the samples so far, then the status each second.
    const std::string events =
        raw_exchange(gateway_->port(), "GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                     std::chrono::seconds(3));
    EXPECT_NE(events.find("Content-Type: text/event-stream"), std::string::npos) << events;
    const auto history = events.find("event: history\ndata: [");
    const auto first_status = events.find("event: status\ndata: {");
    ASSERT_NE(history, std::string::npos) << events;
    ASSERT_NE(first_status, std::string::npos) << events;
    EXPECT_LT(history, first_status);
    EXPECT_NE(events.find(origin_->url("s.mp3"), first_status), std::string::npos) << events;
}

}  // namespace
}  // namespace alluvium::test
