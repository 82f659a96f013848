// What the desktop player shows for each state of the Tuner: pure logic, no display.
#include "presenter.hpp"

#include <gtest/gtest.h>

#include <QDateTime>

namespace alluvium::player {
namespace {

using namespace std::chrono;

const TimePoint t0{Milliseconds{1'800'000'000'000}};

ItemSummary item(std::size_t index, const std::string& title, TimePoint start, int seconds,
                 const std::string& mime = "audio/mpeg") {
    ItemSummary s;
    s.index = index;
    s.title = title;
    s.media_url = "http://origin.test/" + title;
    s.mime_type = mime;
    s.start = start;
    s.end = start + std::chrono::seconds(seconds);
    return s;
}

QString local(TimePoint t) {
    return QDateTime::fromMSecsSinceEpoch(t.time_since_epoch().count())
        .toLocalTime()
        .toString("HH:mm:ss");
}

// A station 15 s into a 60 s item, two played before and two to come.
PresenterInput playing() {
    PresenterInput in;
    TunerStatus& s = in.status;
    s.tuned = true;
    s.station = "Test Radio";
    s.stream_url = "http://127.0.0.1:8000/stream";
    s.state = AirState::playing;
    s.previous = {item(0, "One", t0 - seconds(90), 30), item(1, "Two", t0 - seconds(60), 60)};
    s.now = item(2, "Three", t0, 60);
    s.offset = seconds(15);
    s.next = {item(3, "Four", t0 + seconds(60), 45), item(0, "One", t0 + seconds(105), 30)};
    s.buffer = milliseconds(4600);
    s.peers = 3;
    s.gateway_connected = true;
    s.download_rate = 18 * 1024;
    s.upload_rate = 1536;
    s.bytes_from_peers = 750;
    s.bytes_from_gateway = 200;
    s.bytes_from_origin = 50;
    in.base_url = "http://127.0.0.1:8000";
    return in;
}

TEST(Presenter, NothingTunedInvitesToOpenAStation) {
    const ViewState v = present({});
    EXPECT_EQ(v.mode, Mode::idle);
    EXPECT_TRUE(v.banner.contains("Open a station"));
    EXPECT_FALSE(v.banner_is_problem);
    EXPECT_TRUE(v.media_url.isEmpty());
}

TEST(Presenter, TuningIsShownUntilTheTunerAnswers) {
    PresenterInput in;
    in.tuning = true;
    const ViewState v = present(in);
    EXPECT_EQ(v.mode, Mode::tuning);
    EXPECT_TRUE(v.media_url.isEmpty());
}

TEST(Presenter, ABadPlaylistIsAProblemNamingWhy) {
    PresenterInput in;
    in.tune_error = "station.rss:12: <item>: no media URL";
    const ViewState v = present(in);
    EXPECT_EQ(v.mode, Mode::error);
    EXPECT_TRUE(v.banner_is_problem);
    EXPECT_TRUE(v.banner.contains("station.rss:12")) << v.banner.toStdString();
    EXPECT_TRUE(v.media_url.isEmpty());
}

TEST(Presenter, PlayingShowsTitlePositionAndProgress) {
    const ViewState v = present(playing());
    EXPECT_EQ(v.mode, Mode::playing);
    EXPECT_EQ(v.station, "Test Radio");
    EXPECT_EQ(v.title, "Three");
    EXPECT_EQ(v.position, "0:15 / 1:00");
    EXPECT_DOUBLE_EQ(v.progress, 0.25);
    EXPECT_FALSE(v.banner_is_problem);
    EXPECT_FALSE(v.video);
    EXPECT_EQ(v.media_url, "http://127.0.0.1:8000/stream") << "audio plays from the stream";
}

TEST(Presenter, TheScheduleListsPlayedNowAndNextInLocalTime) {
    const ViewState v = present(playing());
    ASSERT_EQ(v.schedule.size(), 5u);
    const ScheduleRow::Kind kinds[] = {ScheduleRow::Kind::played, ScheduleRow::Kind::played,
                                       ScheduleRow::Kind::now, ScheduleRow::Kind::next,
                                       ScheduleRow::Kind::next};
    const char* titles[] = {"One", "Two", "Three", "Four", "One"};
    for (std::size_t i = 0; i < 5; ++i) {
        EXPECT_EQ(v.schedule[i].kind, kinds[i]) << i;
        EXPECT_EQ(v.schedule[i].title, titles[i]) << i;
    }
    EXPECT_EQ(v.schedule[2].time, local(t0));
    EXPECT_EQ(v.schedule[3].time, local(t0 + seconds(60)));
    EXPECT_EQ(v.schedule[3].length, "0:45");
}

TEST(Presenter, SwarmFiguresAreReadable) {
    const ViewState v = present(playing());
    EXPECT_EQ(v.peers, "3 + gateway");
    EXPECT_EQ(v.download, "18.0 KB/s");
    EXPECT_EQ(v.upload, "1.5 KB/s");
    EXPECT_EQ(v.share, "75% from peers, 25% from servers");
    EXPECT_EQ(v.buffer, "4.6 s");
}

TEST(Presenter, TheRoutersPortForwardingIsSaidInAFewWords) {
    PresenterInput in = playing();
    EXPECT_EQ(present(in).forwarding, "off");
    in.status.port_mapping = true;
    EXPECT_EQ(present(in).forwarding, "asking the router");
    in.status.port_mapping_unanswered = true;
    EXPECT_EQ(present(in).forwarding, "no router answered");
    // A refusal names the method and the router's reason, each reason once.
    in.status.port_mapping_unanswered = false;
    in.status.port_mappings = {{"NAT-PMP", "", 0, "not authorized"},
                               {"NAT-PMP", "", 0, "not authorized"},
                               {"UPnP", "", 0, "conflict in mapping"}};
    EXPECT_EQ(present(in).forwarding,
              "not forwarded (NAT-PMP: not authorized; UPnP: conflict in mapping)");
    // One forwarded mapping is enough; the TCP port is the one peers connect to.
    in.status.port_mappings.push_back({"UPnP", "UDP", 6882, ""});
    EXPECT_EQ(present(in).forwarding, "port 6882 forwarded by UPnP");
    in.status.port_mappings.push_back({"UPnP", "TCP", 6881, ""});
    EXPECT_EQ(present(in).forwarding, "port 6881 forwarded by UPnP");
}

TEST(Presenter, NoBytesYetIsNotADivisionByZero) {
    PresenterInput in = playing();
    in.status.bytes_from_peers = in.status.bytes_from_gateway = in.status.bytes_from_origin = 0;
    EXPECT_EQ(present(in).share, "no bytes yet");
}

TEST(Presenter, AVideoStationPlaysFromItsStream) {
    PresenterInput in = playing();
    in.status.content_type = "video/mp2t";
    in.status.now = item(2, "Film", t0, 60, "video/mp4");
    ViewState v = present(in);
    EXPECT_TRUE(v.video);
    EXPECT_EQ(v.media_url, "http://127.0.0.1:8000/stream") << "remuxed, across items";
    in.status.now = item(3, "Interlude", t0, 60, "audio/mpeg");
    v = present(in);
    EXPECT_FALSE(v.video);
    EXPECT_EQ(v.media_url, "http://127.0.0.1:8000/stream") << "one stream, the same URL";
}

TEST(Presenter, VideoOnAnAudioStreamPlaysTheItemFromItsOffset) {
    PresenterInput in = playing();
    in.status.content_type = "audio/mpeg";
    in.status.now = item(2, "Film", t0, 60, "video/mp4");
    const ViewState v = present(in);
    EXPECT_TRUE(v.video);
    EXPECT_EQ(v.media_url, "http://127.0.0.1:8000/items/2");
    EXPECT_EQ(v.start_ms, 15000);
}

TEST(Presenter, AnItemThatCannotBeConcatenatedIsPlayedDirectly) {
    PresenterInput in = playing();
    in.status.now = item(2, "Lossless", t0, 60, "audio/flac");
    const ViewState v = present(in);
    EXPECT_FALSE(v.video);
    EXPECT_EQ(v.media_url, "http://127.0.0.1:8000/items/2");
}

TEST(Presenter, AGapSaysWhenTheNextItemStarts) {
    PresenterInput in = playing();
    in.status.state = AirState::gap;
    in.status.now.reset();
    const ViewState v = present(in);
    EXPECT_EQ(v.mode, Mode::gap);
    EXPECT_EQ(v.banner, "Silence until " + local(t0 + seconds(60)));
    EXPECT_FALSE(v.banner_is_problem);
}

TEST(Presenter, BeforeTheFirstItemTheStationIsOffAirUntilItsStart) {
    PresenterInput in = playing();
    in.status.state = AirState::before_start;
    in.status.now.reset();
    in.status.previous.clear();
    const ViewState v = present(in);
    EXPECT_EQ(v.mode, Mode::off_air);
    EXPECT_TRUE(v.banner.contains(local(t0 + seconds(60)))) << v.banner.toStdString();
}

TEST(Presenter, AfterTheLastItemTheScheduleHasEnded) {
    PresenterInput in = playing();
    in.status.state = AirState::ended;
    in.status.now.reset();
    in.status.next.clear();
    const ViewState v = present(in);
    EXPECT_EQ(v.mode, Mode::off_air);
    EXPECT_TRUE(v.banner.contains("ended"));
}

TEST(Presenter, AStreamBehindTheScheduleIsANetworkProblem) {
    PresenterInput in = playing();
    in.status.buffer = milliseconds(-3000);
    const ViewState v = present(in);
    EXPECT_EQ(v.mode, Mode::stalled);
    EXPECT_TRUE(v.banner_is_problem);
    EXPECT_TRUE(v.banner.contains("0:03 behind")) << v.banner.toStdString();
    EXPECT_EQ(v.title, "Three") << "what should be playing stays on screen";
}

TEST(Presenter, AMomentBehindIsNotANetworkProblem) {
    PresenterInput in = playing();
    in.status.buffer = milliseconds(-400);
    EXPECT_EQ(present(in).mode, Mode::playing);
}

TEST(Presenter, AFailedPlaylistUpdateKeepsTheScheduleAndSaysSo) {
    PresenterInput in = playing();
    in.status.playlist_error = "station.rss:3: not well-formed";
    const ViewState v = present(in);
    EXPECT_EQ(v.mode, Mode::playing);
    EXPECT_TRUE(v.banner_is_problem);
    EXPECT_TRUE(v.banner.contains("station.rss:3")) << v.banner.toStdString();
    EXPECT_EQ(v.schedule.size(), 5u);
}

TEST(Presenter, ACacheDiskErrorIsShown) {
    PresenterInput in = playing();
    in.status.swarm_error = "cache /home/x/.cache/alluvium: No space left on device";
    const ViewState v = present(in);
    EXPECT_TRUE(v.banner_is_problem);
    EXPECT_TRUE(v.banner.contains("No space left on device")) << v.banner.toStdString();
}

TEST(Presenter, RatesUseKilobytesAndMegabytes) {
    EXPECT_EQ(format_rate(0), "0.0 KB/s");
    EXPECT_EQ(format_rate(-5), "0.0 KB/s");
    EXPECT_EQ(format_rate(1536), "1.5 KB/s");
    EXPECT_EQ(format_rate(3 * 1024 * 1024), "3.0 MB/s");
}

TEST(Presenter, OnlyConcatenableAudioGoesOnTheStream) {
    EXPECT_TRUE(on_stream("audio/mpeg", "audio/mpeg"));
    EXPECT_TRUE(on_stream("audio/ogg", "audio/ogg"));
    EXPECT_FALSE(on_stream("video/webm", "audio/ogg"));
    EXPECT_FALSE(on_stream("audio/flac", "audio/mpeg"));
    EXPECT_TRUE(on_stream("video/mp4", "video/mp2t"));
    EXPECT_TRUE(on_stream("audio/mpeg", "video/mp2t"));
    EXPECT_FALSE(on_stream("video/webm", "video/mp2t")) << "VP8/VP9: not in MPEG-TS";
}

}  // namespace
}  // namespace alluvium::player
