// The gateway's pure parts: metainfo, bencoding, announce parsing, the tracker's table,
// the allow-list policy, sizes, and the SQLite store.
#include <alluvium/bencode.hpp>
#include <alluvium/cli_support.hpp>
#include <alluvium/gateway_client.hpp>
#include <alluvium/metainfo.hpp>
#include <alluvium/url.hpp>

#include "config.hpp"
#include "origin_fetch.hpp"
#include "policy.hpp"
#include "process.hpp"
#include "rate_pacer.hpp"
#include "store.hpp"
#include "swarm_client.hpp"
#include "temp_dir.hpp"
#include "tracker.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <libtorrent/torrent_info.hpp>
#include <thread>

namespace alluvium::gateway {
namespace {

Metainfo metainfo_of(const std::string& content, std::size_t chunk) {
    MetainfoBuilder b(content.size());
    for (std::size_t i = 0; i < content.size(); i += chunk) {
        EXPECT_TRUE(b.feed(std::string_view(content).substr(i, chunk)));
    }
    return b.finish();
}

TEST(RetryAfter, ReadsSecondsAndDatesWithinBounds) {
    using std::chrono::seconds;
    const TimePoint now = *parse_http_date("Wed, 25 Nov 2026 10:00:00 GMT");
    EXPECT_EQ(gateway::retry_after("120", now), seconds(120));
    EXPECT_EQ(gateway::retry_after("  7 ", now), seconds(7));
    EXPECT_EQ(gateway::retry_after("Wed, 25 Nov 2026 10:01:30 GMT", now), seconds(90));
    // Never shorter than a second nor longer than an hour; 30 s when it says nothing useful.
    EXPECT_EQ(gateway::retry_after("0", now), seconds(1));
    EXPECT_EQ(gateway::retry_after("99999999999999", now), seconds(3600));
    EXPECT_EQ(gateway::retry_after("Wed, 25 Nov 2026 09:00:00 GMT", now), seconds(1));
    EXPECT_EQ(gateway::retry_after("", now), seconds(30));
    EXPECT_EQ(gateway::retry_after("soon", now), seconds(30));
    EXPECT_EQ(gateway::retry_after("-5", now), seconds(30));
}

TEST(Freshness, FollowsCacheControlThenExpires) {
    using std::chrono::seconds;
    const TimePoint now = *parse_http_date("Wed, 25 Nov 2026 10:00:00 GMT");
    const std::string date = "Wed, 25 Nov 2026 10:00:00 GMT";
    EXPECT_EQ(freshness_lifetime("max-age=600", "", date, now), seconds(600));
    EXPECT_EQ(freshness_lifetime("public, MAX-AGE = \"60\"", "", date, now), seconds(60));
    // A shared cache takes s-maxage over max-age, and both over Expires.
    EXPECT_EQ(
        freshness_lifetime("max-age=600, s-maxage=30", "Wed, 25 Nov 2026 11:00:00 GMT", date, now),
        seconds(30));
    EXPECT_EQ(freshness_lifetime("", "Wed, 25 Nov 2026 11:00:00 GMT", date, now), seconds(3600));
    // Expires counts from the origin's Date, not from our clock.
    EXPECT_EQ(freshness_lifetime("", "Wed, 25 Nov 2026 11:00:00 GMT",
                                 "Wed, 25 Nov 2026 10:30:00 GMT", now),
              seconds(1800));
    EXPECT_EQ(freshness_lifetime("", "Wed, 25 Nov 2026 11:00:00 GMT", "", now), seconds(3600));
    // Ask every time.
    EXPECT_EQ(freshness_lifetime("no-cache", "", date, now), seconds(0));
    EXPECT_EQ(freshness_lifetime("max-age=600, no-store", "", date, now), seconds(0));
    EXPECT_EQ(freshness_lifetime("private, max-age=600", "", date, now), seconds(0));
    EXPECT_EQ(freshness_lifetime("max-age=soon", "", date, now), seconds(0));
    EXPECT_EQ(freshness_lifetime("", "0", date, now), seconds(0));
    EXPECT_EQ(freshness_lifetime("", "Wed, 25 Nov 2026 09:00:00 GMT", date, now), seconds(0));
    // Bounded, and nothing said is nullopt (the gateway's own setting applies).
    EXPECT_EQ(freshness_lifetime("max-age=99999999999999", "", date, now),
              seconds(365LL * 24 * 3600));
    EXPECT_FALSE(freshness_lifetime("", "", date, now).has_value());
    EXPECT_FALSE(freshness_lifetime("public, must-revalidate", "  ", date, now).has_value());
    EXPECT_FALSE(freshness_lifetime(",,=, ;", "", "", now).has_value());
}

TEST(RatePacer, TwoTakersTogetherKeepToTheRate) {
    // 100 kB/s with one second in hand: 2 x 150 kB takes at least 2 s, whoever takes.
    RatePacer pacer(100'000);
    const auto began = std::chrono::steady_clock::now();
    auto take = [&] {
        for (int i = 0; i < 10; ++i)
            EXPECT_TRUE(pacer.take(15'000));
    };
    std::thread a(take);
    std::thread b(take);
    a.join();
    b.join();
    const double took =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    EXPECT_GE(took, 1.9);
    // A cancelled taker returns at once instead of sleeping off its debt.
    std::atomic<bool> cancel{true};
    EXPECT_FALSE(pacer.take(1'000'000, &cancel));
}

TEST(PieceSize, FollowsTheSizeRule) {
    EXPECT_EQ(piece_size_for(1), 16384u);
    EXPECT_EQ(piece_size_for(96 * 1024), 16384u);       // a 6 s live segment
    EXPECT_EQ(piece_size_for(5'000'000), 32768u);       // a 5 MB song
    EXPECT_EQ(piece_size_for(64ull << 20), 262144u);    // the 64 MiB benchmark item
    EXPECT_EQ(piece_size_for(100ull << 30), 1048576u);  // capped
}

TEST(Metainfo, MatchesLibtorrentsOwnTorrentCreator) {
    test::TempDir dir;
    for (const std::size_t size : {std::size_t{1}, std::size_t{16384}, std::size_t{3'000'001}}) {
        const std::string content = test::random_bytes(size, static_cast<unsigned>(size));
        const Metainfo m = metainfo_of(content, 65536);
        ASSERT_FALSE(m.info_hash.empty());
        // The name in the torrent is the content's SHA-256; give libtorrent the same file.
        dir.write(m.content_sha256, content);
        EXPECT_EQ(m.info_hash_hex(), test::libtorrent_info_hash(dir.path() / m.content_sha256,
                                                                static_cast<int>(m.piece_size)))
            << "size " << size;
    }
}

TEST(Metainfo, IsTheSameWhateverTheChunking) {
    const std::string content = test::random_bytes(1'000'003, 7);
    const Metainfo a = metainfo_of(content, 1);
    const Metainfo b = metainfo_of(content, 16384);
    const Metainfo c = metainfo_of(content, content.size());
    EXPECT_EQ(a.info_hash, b.info_hash);
    EXPECT_EQ(b.info_hash, c.info_hash);
    EXPECT_EQ(a.info, c.info);
}

TEST(Metainfo, RefusesMoreOrFewerBytesThanAnnounced) {
    MetainfoBuilder more(10);
    EXPECT_FALSE(more.feed(std::string(11, 'x')));
    MetainfoBuilder fewer(10);
    EXPECT_TRUE(fewer.feed(std::string(9, 'x')));
    EXPECT_TRUE(fewer.finish().info_hash.empty());
}

TEST(Metainfo, TorrentFileKeepsTheInfoVerbatimAndHasNoUrlList) {
    const Metainfo m = metainfo_of("hello", 5);
    const std::string t = m.torrent({"http://127.0.0.1:8767/announce"});
    EXPECT_NE(t.find("4:info" + m.info), std::string::npos);
    EXPECT_EQ(t.find("url-list"), std::string::npos);
    EXPECT_EQ(t.find("creation date"), std::string::npos);
    EXPECT_EQ(t.find("announce-list"), std::string::npos) << "one tracker: announce alone";
}

TEST(Metainfo, ATorrentsInfoHashIsReadBackAndTheMagnetNamesIt) {
    const Metainfo m = metainfo_of(test::random_bytes(100'000, 3), 4096);
    const std::vector<std::string> trackers = {"http://127.0.0.1:6969/announce",
                                               "udp://127.0.0.1:6969"};
    std::string why;
    EXPECT_EQ(torrent_info_hash(m.torrent(trackers), &why), m.info_hash_hex()) << why;
    EXPECT_EQ(torrent_info_hash(m.torrent({})), m.info_hash_hex());
    const std::string magnet = m.magnet_uri("set one.mp3", trackers);
    EXPECT_TRUE(magnet.starts_with("magnet:?xt=urn:btih:" + m.info_hash_hex() + "&xl=100000"));
    EXPECT_NE(magnet.find("&dn=set%20one.mp3"), std::string::npos) << magnet;
    EXPECT_NE(magnet.find("&tr=udp%3A%2F%2F127.0.0.1%3A6969"), std::string::npos) << magnet;
    EXPECT_EQ(magnet_info_hash(magnet), m.info_hash_hex());
}

// generate --web-seed: the media URL as url-list (BEP 19) and the magnet's ws=, outside the
// info, so the info-hash is the one without them; libtorrent reads the web seed back.
TEST(Metainfo, AWebSeedIsOutsideTheInfoAndLibtorrentReadsIt) {
    namespace lt = libtorrent;
    const Metainfo m = metainfo_of(test::random_bytes(50'000, 5), 4096);
    const std::string seed = "http://127.0.0.1:8080/a%20b.mp3";  // as published: encoded
    const std::string t = m.torrent({"http://127.0.0.1:6969/announce"}, {seed});
    EXPECT_NE(t.find("8:url-listl" + std::to_string(seed.size()) + ":" + seed + "e"),
              std::string::npos);
    EXPECT_EQ(torrent_info_hash(t), m.info_hash_hex());
    lt::error_code ec;
    const lt::torrent_info info(t, ec, lt::from_span);
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_EQ(info.web_seeds().size(), 1u);
    EXPECT_EQ(info.web_seeds()[0].url, seed);
    const std::string magnet = m.magnet_uri("a b.mp3", {}, {seed});
    EXPECT_NE(magnet.find("&ws=http%3A%2F%2F127.0.0.1%3A8080%2Fa%2520b.mp3"), std::string::npos)
        << magnet;
}

TEST(Metainfo, MagnetsInBase32AndUpperCaseHexNameTheSameHash) {
    // 20 bytes 0x00..0x13 in RFC 4648 base32, and in upper-case hex.
    const std::string hex = "000102030405060708090a0b0c0d0e0f10111213";
    EXPECT_EQ(magnet_info_hash("magnet:?xt=urn:btih:AAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQT"), hex);
    EXPECT_EQ(magnet_info_hash("magnet:?dn=x&xt=urn:btih:000102030405060708090A0B0C0D0E0F10111213"),
              hex);
    EXPECT_EQ(magnet_info_hash("magnet:?xt=urn:sha1:AAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQT"), "");
    EXPECT_EQ(magnet_info_hash("magnet:?xt=urn:btih:0001"), "");
    EXPECT_EQ(magnet_info_hash("http://example/"), "");
}

TEST(Metainfo, MalformedTorrentsAreRefusedWithAReason) {
    for (const std::string& bad : std::vector<std::string>{
             "", "le", "d4:infoi1ee", "d4:info", "d4:infod", "d9999:infoe", "d3:foo3:bare",
             "d4:infod6:lengthi-ee", "i12e", std::string(100000, 'l')}) {
        std::string why;
        EXPECT_EQ(torrent_info_hash(bad, &why), "") << bad.substr(0, 20);
        EXPECT_FALSE(why.empty()) << bad.substr(0, 20);
    }
}

TEST(Metainfo, SeveralTrackersAreTiersOfTheAnnounceList) {
    const Metainfo m = metainfo_of("hello", 5);
    const std::string t =
        m.torrent({"http://127.0.0.1:8767/announce", "http://127.0.0.1:6969/announce"});
    EXPECT_EQ(t.rfind("d8:announce30:http://127.0.0.1:8767/announce", 0), 0u);
    EXPECT_NE(t.find("13:announce-listl"
                     "l30:http://127.0.0.1:8767/announcee"
                     "l30:http://127.0.0.1:6969/announcee"
                     "e4:info" +
                     m.info),
              std::string::npos)
        << t.substr(0, 200);
    EXPECT_EQ(m.torrent({}), "d4:info" + m.info + "e") << "no tracker: the DHT's business";
}

TEST(Bencode, SortsKeysAndEncodesEveryType) {
    Bdict d;
    d.emplace("zeta", 1);
    d.emplace("alpha", Blist{Bvalue("x"), Bvalue(-3)});
    EXPECT_EQ(bencode(d), "d5:alphal1:xi-3ee4:zetai1ee");
}

HttpServerRequest announce_request(const std::string& query,
                                   const std::string& from = "127.0.0.1") {
    HttpServerRequest r;
    r.method = "GET";
    r.path = "/announce";
    r.query = query;
    r.remote_address = from;
    return r;
}

const std::string hash20 = std::string(20, '\x11');
const std::string peer20 = "-AL0100-abcdefghijkl";

std::string query(const std::string& info_hash, const std::string& peer, int port,
                  const std::string& rest = "") {
    return "info_hash=" + percent_encode(info_hash) + "&peer_id=" + percent_encode(peer) +
           "&port=" + std::to_string(port) + "&uploaded=0&downloaded=0&left=100&compact=1" + rest;
}

TEST(Announce, ParsesAValidRequest) {
    const auto parsed =
        parse_announce(announce_request(query(hash20, peer20, 6881, "&event=started&numwant=5")));
    ASSERT_TRUE(std::holds_alternative<Announce>(parsed)) << std::get<std::string>(parsed);
    const Announce& a = std::get<Announce>(parsed);
    EXPECT_EQ(a.info_hash, hash20);
    EXPECT_EQ(a.port, 6881);
    EXPECT_EQ(a.left, 100u);
    EXPECT_EQ(a.event, Announce::Event::started);
    EXPECT_EQ(a.numwant, 5u);
    EXPECT_EQ(a.ip, "127.0.0.1");
}

TEST(Announce, RefusesGarbageWithAReason) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"", "info_hash"},
        {"info_hash=abc&peer_id=" + percent_encode(peer20) + "&port=1", "20 bytes"},
        {"info_hash=" + percent_encode(hash20) + "&port=1", "peer_id"},
        {query(hash20, peer20, 0), "port"},
        {"info_hash=" + percent_encode(hash20) + "&peer_id=" + percent_encode(peer20) +
             "&port=70000",
         "port"},
        {"info_hash=" + percent_encode(hash20) + "&peer_id=" + percent_encode(peer20) + "&port=x",
         "port"},
        {query(hash20, peer20, 1, "&event=exploded"), "event"},
        {"info_hash=" + percent_encode(hash20) + "&peer_id=" + percent_encode(peer20) +
             "&port=1&left=-1",
         "left"},
        {query(hash20, peer20, 1, "&numwant=lots"), "numwant"},
    };
    for (const auto& [q, word] : cases) {
        const auto parsed = parse_announce(announce_request(q));
        ASSERT_TRUE(std::holds_alternative<std::string>(parsed)) << q;
        EXPECT_NE(std::get<std::string>(parsed).find(word), std::string::npos)
            << q << " -> " << std::get<std::string>(parsed);
    }
}

TEST(TrackerTable, PeersFindEachOtherAndExpire) {
    Tracker tracker(TrackerOptions{std::chrono::seconds(30), std::chrono::seconds(10), 200});
    const auto t0 = Tracker::Clock::now();
    Announce a = std::get<Announce>(parse_announce(announce_request(query(hash20, peer20, 1111))));
    // Unknown torrents are refused: this is not an open tracker.
    EXPECT_EQ(tracker.announce(a, t0).index(), 1u);
    tracker.add_torrent(hash20);
    EXPECT_EQ(tracker.announce(a, t0).index(), 0u);
    Announce b = a;
    b.port = 2222;
    b.left = 0;
    const std::string answer = std::get<0>(tracker.announce(b, t0));
    // b sees a: compact 127.0.0.1:1111 = 7f 00 00 01 04 57.
    EXPECT_NE(answer.find(std::string("5:peers6:\x7f\x00\x00\x01\x04\x57", 15)), std::string::npos);
    EXPECT_NE(answer.find("8:intervali30e"), std::string::npos);
    EXPECT_EQ(tracker.counts(hash20).seeds, 1u);
    EXPECT_EQ(tracker.counts(hash20).leechers, 1u);
    // Much later, only the peer that announced again is listed.
    const auto later = t0 + std::chrono::seconds(200);
    const std::string after = std::get<0>(tracker.announce(b, later));
    EXPECT_NE(after.find("5:peers0:"), std::string::npos) << after;
    // A stopped peer leaves at once.
    b.event = Announce::Event::stopped;
    (void)tracker.announce(b, later);
    EXPECT_EQ(tracker.counts(hash20).seeds, 0u);
}

TEST(TrackerTable, TheGatewaysOwnSeedIsListedFromTheStartAndNeverExpires) {
    Tracker tracker;
    tracker.add_torrent(hash20, std::pair<std::string, std::uint16_t>{"127.0.0.1", 6881});
    Announce a = std::get<Announce>(parse_announce(announce_request(query(hash20, peer20, 1111))));
    const auto much_later = Tracker::Clock::now() + std::chrono::hours(5);
    const std::string answer = std::get<0>(tracker.announce(a, much_later));
    // 127.0.0.1:6881 = 7f 00 00 01 1a e1
    EXPECT_NE(answer.find(std::string("\x7f\x00\x00\x01\x1a\xe1", 6)), std::string::npos);
    Announce seed_stops = a;
    seed_stops.port = 6881;
    seed_stops.event = Announce::Event::stopped;
    (void)tracker.announce(seed_stops, much_later);
    EXPECT_EQ(tracker.counts(hash20).seeds, 1u);
}

// Whether an announce's compact peer list names 127.0.0.1:port.
bool lists_port(const std::string& answer, std::uint16_t port) {
    const char entry[6] = {
        '\x7f', 0, 0, 1, static_cast<char>(port >> 8), static_cast<char>(port & 0xff)};
    return answer.find(std::string(entry, 6)) != std::string::npos;
}

TEST(TrackerTable, AListenerTheNatCheckCouldNotReachIsNotHandedOut) {
    Tracker tracker;
    tracker.add_torrent(hash20);
    std::vector<std::uint16_t> checked;
    tracker.set_nat_check([&](const std::string& ip, std::uint16_t port) {
        EXPECT_EQ(ip, "127.0.0.1");
        checked.push_back(port);
    });
    const auto t0 = Tracker::Clock::now();
    auto announce = [&](std::uint16_t port, Tracker::Clock::time_point at) {
        Announce a =
            std::get<Announce>(parse_announce(announce_request(query(hash20, peer20, port))));
        return std::get<0>(tracker.announce(a, at));
    };
    (void)announce(1111, t0);
    (void)announce(1111, t0 + std::chrono::seconds(1));  // being checked: not asked twice
    EXPECT_EQ(checked, (std::vector<std::uint16_t>{1111}));
    // Not checked yet: handed out.
    EXPECT_TRUE(lists_port(announce(2222, t0), 1111));
    EXPECT_EQ(checked, (std::vector<std::uint16_t>{1111, 2222}));

    tracker.reachable("127.0.0.1", 1111, false, t0);
    tracker.reachable("127.0.0.1", 2222, true, t0);
    const std::string third = announce(3333, t0);
    EXPECT_FALSE(lists_port(third, 1111)) << "unreachable";
    EXPECT_TRUE(lists_port(third, 2222));
    EXPECT_TRUE(lists_port(announce(1111, t0), 2222)) << "an unreachable listener gets its peers";
    EXPECT_EQ(tracker.peers(hash20, 50),
              (std::vector<std::string>{"127.0.0.1:2222", "127.0.0.1:3333"}));
    EXPECT_EQ(tracker.reach_counts().reachable, 1u);
    EXPECT_EQ(tracker.reach_counts().unreachable, 1u);
    // It is still counted in the swarm.
    EXPECT_EQ(tracker.counts(hash20).leechers, 3u);

    // After the verdict's time, the next announce asks again; until the answer, the old
    // verdict holds.
    checked.clear();
    const auto later = t0 + TrackerOptions{}.recheck + std::chrono::seconds(1);
    (void)announce(1111, later);
    EXPECT_EQ(checked, (std::vector<std::uint16_t>{1111}));
    EXPECT_FALSE(lists_port(announce(3333, later), 1111));
    tracker.reachable("127.0.0.1", 1111, true, later);
    EXPECT_TRUE(lists_port(announce(3333, later), 1111)) << "its router opened the port";
}

TEST(TrackerTable, HandleAnswers400And404WithAFailureReason) {
    Tracker tracker;
    const HttpServerResponse bad = tracker.handle(announce_request("info_hash=x"));
    EXPECT_EQ(bad.status, 400);
    EXPECT_NE(bad.body.find("14:failure reason"), std::string::npos);
    const HttpServerResponse unknown = tracker.handle(announce_request(query(hash20, peer20, 1)));
    EXPECT_EQ(unknown.status, 404);
}

TEST(Addresses, AreClassified) {
    const std::vector<std::pair<std::string, AddressClass>> cases = {
        {"127.0.0.1", AddressClass::loopback},
        {"10.1.2.3", AddressClass::private_net},
        {"172.16.0.1", AddressClass::private_net},
        {"172.32.0.1", AddressClass::global},
        {"192.168.1.1", AddressClass::private_net},
        {"100.64.0.1", AddressClass::private_net},
        {"169.254.169.254", AddressClass::link_local},
        {"8.8.8.8", AddressClass::global},
        {"0.0.0.0", AddressClass::reserved},
        {"224.0.0.1", AddressClass::multicast},
        {"::1", AddressClass::loopback},
        {"::", AddressClass::reserved},
        {"fe80::1", AddressClass::link_local},
        {"fd00:ec2::254", AddressClass::private_net},
        {"::ffff:10.0.0.1", AddressClass::private_net},
        {"2001:db8::1", AddressClass::reserved},
        {"2a00:1450::1", AddressClass::global},
        {"not an ip", AddressClass::invalid},
    };
    for (const auto& [ip, expected] : cases) {
        EXPECT_EQ(classify_address(ip), expected) << ip;
    }
}

TEST(Policy, AllowsConfiguredOriginsAndPlaylistItemsOnly) {
    Policy policy(PolicyOptions{{"http://127.0.0.1:8080"}, false, true});
    const Decision configured = policy.check_media("http://127.0.0.1:8080/a.mp3");
    EXPECT_TRUE(configured.allowed);
    EXPECT_TRUE(configured.private_ok);
    EXPECT_FALSE(policy.check_media("http://127.0.0.1:8081/a.mp3").allowed);
    EXPECT_FALSE(policy.check_media("file:///etc/passwd").allowed);

    policy.learn_playlist("https://radio.example/s.rss", {"https://cdn.example/b.mp3"}, false);
    const Decision listed = policy.check_media("https://cdn.example/b.mp3");
    EXPECT_TRUE(listed.allowed);
    EXPECT_FALSE(listed.private_ok) << "listener playlists reach public addresses only";
    EXPECT_FALSE(Policy::address_ok(listed, "127.0.0.1"));
    EXPECT_FALSE(Policy::address_ok(listed, "169.254.169.254"));
    EXPECT_TRUE(Policy::address_ok(listed, "93.184.216.34"));

    policy.learn_playlist("https://radio.example/trusted.rss", {"http://10.0.0.5/c.mp3"}, true);
    EXPECT_TRUE(policy.check_media("http://10.0.0.5/c.mp3").private_ok);
    EXPECT_EQ(policy.items_of("https://radio.example/trusted.rss").size(), 1u);
}

TEST(Policy, CanRefuseListenerPlaylists) {
    Policy policy(PolicyOptions{{}, false, false});
    EXPECT_FALSE(policy.check_playlist("https://radio.example/s.rss", false).allowed);
    EXPECT_TRUE(policy.check_playlist("https://radio.example/s.rss", true).allowed);
}

TEST(Sizes, Parse) {
    EXPECT_EQ(cli::parse_size("123"), 123u);
    EXPECT_EQ(cli::parse_size("64k"), 65536u);
    EXPECT_EQ(cli::parse_size("10G"), 10ull << 30);
    EXPECT_EQ(cli::parse_size("1.5M"), 1572864u);
    EXPECT_EQ(cli::parse_size("2GiB"), 2ull << 30);
    EXPECT_FALSE(cli::parse_size("ten").has_value());
    EXPECT_FALSE(cli::parse_size("-1G").has_value());
    EXPECT_FALSE(cli::parse_size("5X").has_value());
}

TEST(Store, KeepsItemsAcrossReopeningAndOrdersByAccess) {
    test::TempDir dir;
    const auto file = dir.path() / "g.sqlite3";
    std::string error;
    {
        auto store = Store::open(file, error);
        ASSERT_TRUE(store) << error;
        for (int i = 0; i < 3; ++i) {
            StoredItem item;
            item.url = "http://h/" + std::to_string(i);
            item.meta = metainfo_of(std::to_string(i), 1);
            item.etag = "\"e" + std::to_string(i) + "\"";
            item.last_access = 100 + i;
            store->put(item);
        }
        store->touch("http://h/0", 500);
        store->add_playlist("http://h/s.rss", false, 1);
        store->add_playlist("http://h/s.rss", true, 2);
    }
    auto store = Store::open(file, error);
    ASSERT_TRUE(store) << error;
    const auto items = store->by_last_access();
    ASSERT_EQ(items.size(), 3u);
    EXPECT_EQ(items[0].url, "http://h/1");
    EXPECT_EQ(items[2].url, "http://h/0");
    const auto found = store->find("http://h/2");
    ASSERT_TRUE(found);
    EXPECT_EQ(found->meta.info_hash, metainfo_of("2", 1).info_hash);
    EXPECT_EQ(found->etag, "\"e2\"");
    EXPECT_TRUE(store->content_in_use(found->meta.content_sha256));
    store->remove("http://h/2");
    EXPECT_FALSE(store->find("http://h/2"));
    ASSERT_EQ(store->playlists().size(), 1u);
    EXPECT_TRUE(store->playlists()[0].second) << "trust only grows";
}

TEST(Store, UpgradesADatabaseWrittenByVersionOne) {
    test::TempDir dir;
    const auto file = dir.path() / "old.sqlite3";
    // The first schema: no layout column, no user_version.
    const std::string v1 =
        "CREATE TABLE items (url TEXT PRIMARY KEY, info_hash BLOB NOT NULL, size INTEGER NOT NULL, "
        "piece_size INTEGER NOT NULL, content_sha256 TEXT NOT NULL, info BLOB NOT NULL, etag TEXT "
        "NOT NULL "
        "DEFAULT '', last_modified TEXT NOT NULL DEFAULT '', fetched_at INTEGER NOT NULL, "
        "validated_at "
        "INTEGER NOT NULL, last_access INTEGER NOT NULL);"
        "INSERT INTO items VALUES ('http://h/a', x'00', 5, 16384, 'abc', x'00', '', '', 1, 1, 1);";
    ASSERT_EQ(test::run({"sqlite3", file.string(), v1}).exit_code, 0)
        << "needs the sqlite3 program";
    std::string error;
    auto store = Store::open(file, error);
    ASSERT_TRUE(store) << error;
    const auto item = store->find("http://h/a");
    ASSERT_TRUE(item);
    EXPECT_EQ(item->layout, "");
    EXPECT_EQ(item->fresh_for, -1) << "the origin said nothing";
    StoredItem updated = *item;
    updated.layout = "{}";
    store->put(updated);
    EXPECT_EQ(store->find("http://h/a")->layout, "{}");
    // A revalidation keeps the stored lifetime unless the answer gave a new one.
    store->mark_validated("http://h/a", 50, 600);
    store->mark_validated("http://h/a", 60);
    EXPECT_EQ(store->find("http://h/a")->fresh_for, 600);
    EXPECT_EQ(store->find("http://h/a")->validated_at, 60);
}

}  // namespace
}  // namespace alluvium::gateway

namespace alluvium {
namespace {

TEST(GatewayAnswerParsing, ReadsReadyPendingAndErrors) {
    const std::string ready =
        R"({"state":"ready","size":5,"piece_size":16384,"info_hash":"0123456789abcdef0123456789abcdef01234567",)"
        R"("content_sha256":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",)"
        R"("tracker":"http://127.0.0.1:8767/announce","torrent":"ZDRlMTI=","peers":["127.0.0.1:6881"]})";
    const GatewayAnswer a = parse_gateway_answer(200, ready, "http://h/a.mp3");
    ASSERT_EQ(a.state, GatewayState::ready) << a.message;
    EXPECT_EQ(a.metadata->torrent, "d4e12");
    EXPECT_EQ(a.metadata->peers.size(), 1u);
    const GatewayAnswer p = parse_gateway_answer(
        202, R"({"state":"hashing","received":5,"total":10,"retry_after_ms":200})", "u");
    EXPECT_EQ(p.state, GatewayState::pending);
    EXPECT_EQ(p.retry_after, Milliseconds{200});
    EXPECT_EQ(parse_gateway_answer(403, R"({"error":"no"})", "u").state, GatewayState::refused);
    EXPECT_EQ(parse_gateway_answer(502, R"({"error":"origin down"})", "u").message, "origin down");
}

TEST(GatewayAnswerParsing, ATracklessAnswerPointsAtTheDht) {
    const std::string ready =
        R"({"state":"ready","size":5,"piece_size":16384,"info_hash":"0123456789abcdef0123456789abcdef01234567",)"
        R"("content_sha256":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",)"
        R"("tracker":"","torrent":"ZDRlMTI=","peers":[],"seed":"127.0.0.1:6881","dht":true})";
    const GatewayAnswer a = parse_gateway_answer(200, ready, "http://h/a.mp3");
    ASSERT_EQ(a.state, GatewayState::ready) << a.message;
    EXPECT_TRUE(a.metadata->dht);
    EXPECT_EQ(a.metadata->seed, "127.0.0.1:6881");
    EXPECT_EQ(a.metadata->tracker_url, "");
}

TEST(TrackerUrl, HttpAndUdpWithAPort) {
    EXPECT_TRUE(is_tracker_url("http://127.0.0.1:6969/announce"));
    EXPECT_TRUE(is_tracker_url("https://tracker.example/announce"));
    EXPECT_TRUE(is_tracker_url("udp://tracker.example:6969/announce"));
    EXPECT_TRUE(is_tracker_url("udp://127.0.0.1:6969"));
    EXPECT_FALSE(is_tracker_url("udp://tracker.example/announce")) << "udp needs a port";
    EXPECT_FALSE(is_tracker_url("ftp://x"));
    EXPECT_FALSE(is_tracker_url(""));
}

TEST(GatewayAnswerParsing, RefusesMalformedAnswers) {
    for (const char* body :
         {"", "[]", "{", R"({"state":"ready"})",
          R"({"size":5,"piece_size":1000,"info_hash":"x","torrent":"!!"})",
          R"({"size":5,"piece_size":16384,"info_hash":"0123456789abcdef0123456789abcdef01234567",)"
          R"("content_sha256":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",)"
          R"("tracker":"ftp://x","torrent":"ZDRlMTI="})",
          R"({"size":-5})"}) {
        EXPECT_EQ(parse_gateway_answer(200, body, "u").state, GatewayState::failed) << body;
    }
}

}  // namespace
}  // namespace alluvium
