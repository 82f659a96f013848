#include <alluvium/schedule.hpp>

#include <gtest/gtest.h>

namespace alluvium {
namespace {

using namespace std::chrono;

TimePoint at(const char* w3cdtf) {
    return *parse_w3cdtf(w3cdtf);
}

Item item(const std::string& name, Milliseconds duration,
          std::optional<TimePoint> start = std::nullopt) {
    Item i;
    i.media_url = "http://origin.test/" + name + ".mp3";
    i.title = name;
    i.duration = duration;
    i.start = start;
    return i;
}

Playlist relative(std::optional<TimePoint> anchor, std::vector<Milliseconds> durations) {
    Playlist p;
    p.anchor = anchor;
    for (std::size_t n = 0; n < durations.size(); ++n) {
        p.items.push_back(item("i" + std::to_string(n), durations[n]));
    }
    return p;
}

Schedule build(const Playlist& p) {
    Diagnostics d;
    auto s = Schedule::build(p, &d);
    EXPECT_TRUE(s.has_value());
    EXPECT_FALSE(has_errors(d));
    return *s;
}

TEST(Schedule, BeforeStartListsTheFirstItems) {
    const auto s = build(relative(at("2026-01-01T10:00:00Z"), {minutes{3}, minutes{4}}));
    const OnAir air = s.at(at("2026-01-01T09:59:59Z"));
    EXPECT_EQ(air.state, AirState::before_start);
    EXPECT_FALSE(air.current.has_value());
    ASSERT_EQ(air.next.size(), 3u);  // loops: i0, i1, i0 again
    EXPECT_EQ(air.next[0].start, at("2026-01-01T10:00:00Z"));
    EXPECT_EQ(air.next[2].pass, 1u);
}

TEST(Schedule, JoinsMidItemAtScheduledOffset) {
    const auto s = build(relative(at("2026-01-01T10:00:00Z"), {minutes{3}, minutes{4}}));
    const OnAir air = s.at(at("2026-01-01T10:04:30.250Z"));
    ASSERT_EQ(air.state, AirState::playing);
    EXPECT_EQ(air.current->item, 1u);
    EXPECT_EQ(air.offset, Milliseconds{90250});
}

TEST(Schedule, ExactlyOnABoundaryTheNextItemStartsAtOffsetZero) {
    const auto s = build(relative(at("2026-01-01T10:00:00Z"), {minutes{3}, minutes{4}}));
    const OnAir air = s.at(at("2026-01-01T10:03:00Z"));
    ASSERT_EQ(air.state, AirState::playing);
    EXPECT_EQ(air.current->item, 1u);
    EXPECT_EQ(air.offset, Milliseconds{0});
    // One millisecond before, the first item is in its last millisecond.
    const OnAir before = s.at(at("2026-01-01T10:02:59.999Z"));
    EXPECT_EQ(before.current->item, 0u);
    EXPECT_EQ(before.offset, Milliseconds{179999});
}

TEST(Schedule, ExplicitStartWinsAndLeavesAGapOfSilence) {
    Playlist p;
    p.items.push_back(item("a", minutes{3}, at("2026-01-01T10:00:00Z")));
    p.items.push_back(item("b", minutes{3}, at("2026-01-01T10:05:00Z")));
    p.items.push_back(item("c", minutes{1}));  // follows b
    const auto s = build(p);
    EXPECT_FALSE(s.loops());
    const OnAir gap = s.at(at("2026-01-01T10:04:00Z"));
    EXPECT_EQ(gap.state, AirState::gap);
    ASSERT_FALSE(gap.next.empty());
    EXPECT_EQ(gap.next[0].item, 1u);
    const OnAir c = s.at(at("2026-01-01T10:08:30Z"));
    ASSERT_EQ(c.state, AirState::playing);
    EXPECT_EQ(c.current->item, 2u);
    EXPECT_EQ(c.offset, seconds{30});
    EXPECT_EQ(s.at(at("2026-01-01T10:09:00Z")).state, AirState::ended);
    EXPECT_EQ(s.end(), at("2026-01-01T10:09:00Z"));
}

TEST(Schedule, AnOverlapCutsTheEarlierItem) {
    Playlist p;
    p.items.push_back(item("a", minutes{10}, at("2026-01-01T10:00:00Z")));
    p.items.push_back(item("b", minutes{3}, at("2026-01-01T10:04:00Z")));
    const auto s = build(p);
    const auto slots = s.between(at("2026-01-01T00:00:00Z"), at("2026-01-02T00:00:00Z"));
    ASSERT_EQ(slots.size(), 2u);
    EXPECT_EQ(slots[0].end, at("2026-01-01T10:04:00Z"));
    const OnAir air = s.at(at("2026-01-01T10:05:00Z"));
    EXPECT_EQ(air.current->item, 1u);
    EXPECT_EQ(air.offset, minutes{1});
}

TEST(Schedule, EndDateEndsAnItemBeforeItsDuration) {
    Playlist p;
    p.items.push_back(item("a", minutes{10}, at("2026-01-01T10:00:00Z")));
    p.items.back().end = at("2026-01-01T10:02:00Z");
    p.items.push_back(item("b", minutes{1}));
    const auto s = build(p);
    EXPECT_EQ(s.at(at("2026-01-01T10:02:30Z")).current->item, 1u);
}

TEST(Schedule, LoopingStationWrapsIdenticallyForEveryClient) {
    // Cycle: 3 + 4 + 5 = 12 minutes from 10:00.
    const auto s =
        build(relative(at("2026-01-01T10:00:00Z"), {minutes{3}, minutes{4}, minutes{5}}));
    ASSERT_TRUE(s.loops());
    EXPECT_EQ(s.cycle(), minutes{12});
    // 1000 cycles later plus 8 minutes: item 2, 1 minute in.
    const TimePoint t = at("2026-01-01T10:00:00Z") + minutes{12} * 1000 + minutes{8};
    const OnAir air = s.at(t, 4);
    ASSERT_EQ(air.state, AirState::playing);
    EXPECT_EQ(air.current->item, 2u);
    EXPECT_EQ(air.current->pass, 1000u);
    EXPECT_EQ(air.offset, minutes{1});
    EXPECT_EQ(air.current->start, t - minutes{1});
    // The next items wrap into the following pass with absolute times.
    ASSERT_EQ(air.next.size(), 4u);
    EXPECT_EQ(air.next[0].item, 0u);
    EXPECT_EQ(air.next[0].pass, 1001u);
    EXPECT_EQ(air.next[0].start, t + minutes{4});
    EXPECT_EQ(air.next[3].item, 0u);
    EXPECT_EQ(air.next[3].pass, 1002u);
}

TEST(Schedule, LegacyPlaylistWithoutAnchorLoopsFromTheEpoch) {
    const auto s = build(relative(std::nullopt, {seconds{7}, seconds{13}}));
    EXPECT_EQ(s.begin(), TimePoint{});
    // 2026-01-01T00:00:00Z is 1767225600 s after the epoch; mod 20 = 0: item 0 at offset 0.
    const OnAir air = s.at(at("2026-01-01T00:00:00Z"));
    EXPECT_EQ(air.current->item, 0u);
    EXPECT_EQ(air.offset, Milliseconds{0});
    const OnAir later = s.at(at("2026-01-01T00:00:08Z"));
    EXPECT_EQ(later.current->item, 1u);
    EXPECT_EQ(later.offset, seconds{1});
}

TEST(Schedule, TwentyFourHoursOfUtcMathsHasNoDaylightSavingJumps) {
    // An anchor on a European DST change day: UTC maths sees no 23- or 25-hour day.
    const auto s = build(relative(at("2026-03-29T00:00:00Z"), {hours{1}, hours{1}, hours{1}}));
    for (int h = 0; h < 24; ++h) {
        const OnAir air = s.at(at("2026-03-29T00:30:00Z") + hours{h});
        ASSERT_EQ(air.state, AirState::playing);
        EXPECT_EQ(air.current->item, static_cast<std::size_t>(h % 3));
        EXPECT_EQ(air.offset, minutes{30});
    }
}

TEST(Schedule, BetweenListsWhatPlayedNowAndNext) {
    const auto s = build(relative(at("2026-01-01T10:00:00Z"), {minutes{3}, minutes{4}}));
    const auto slots = s.between(at("2026-01-01T10:02:00Z"), at("2026-01-01T10:15:00Z"));
    // 10:00-10:03 (i0), 10:03-10:07 (i1), 10:07-10:10 (i0), 10:10-10:14 (i1), 10:14-10:17 (i0)
    ASSERT_EQ(slots.size(), 5u);
    EXPECT_EQ(slots[0].item, 0u);
    EXPECT_EQ(slots[4].start, at("2026-01-01T10:14:00Z"));
}

TEST(Schedule, EmptyStation) {
    Playlist p;
    const auto s = build(p);
    EXPECT_EQ(s.at(at("2026-01-01T10:00:00Z")).state, AirState::empty);
    EXPECT_TRUE(s.between(TimePoint{}, at("2030-01-01T00:00:00Z")).empty());
}

TEST(Schedule, RefusesWhatCannotBeScheduled) {
    Playlist missing = relative(at("2026-01-01T10:00:00Z"), {minutes{1}});
    missing.items[0].duration.reset();
    Diagnostics d;
    EXPECT_FALSE(Schedule::build(missing, &d).has_value());
    ASSERT_FALSE(d.empty());
    EXPECT_EQ(d[0].field, "item[1]/mm:duration");

    Playlist backwards;
    backwards.items.push_back(item("a", minutes{1}, at("2026-01-01T10:00:00Z")));
    backwards.items.push_back(item("b", minutes{1}, at("2026-01-01T09:00:00Z")));
    d.clear();
    EXPECT_FALSE(Schedule::build(backwards, &d).has_value());
    EXPECT_EQ(d.at(0).field, "item[2]/ev:startdate");

    Playlist zero = relative(at("2026-01-01T10:00:00Z"), {Milliseconds{0}});
    d.clear();
    EXPECT_FALSE(Schedule::build(zero, &d).has_value());
}

// A live playlist: six-second segments with capture times, ending at `last_end`.
Playlist live(TimePoint last_end, int segments, bool with_update = true) {
    Playlist p;
    for (int n = 0; n < segments; ++n) {
        p.items.push_back(
            item("s" + std::to_string(n), seconds{6}, last_end - seconds{6 * (segments - n)}));
    }
    if (with_update)
        p.update = UpdateSchedule{UpdatePeriod::hourly, 600};
    return p;
}

TEST(LiveSchedule, AGrowingPlaylistIsLiveWithItsSegmentLength) {
    const TimePoint now = at("2026-06-01T12:00:00Z");
    const Playlist p = live(now - seconds{2}, 20);
    EXPECT_EQ(live_segment_length(p, build(p), now), Milliseconds{6000});
    // Without a re-read interval, the durations tell.
    const Playlist q = live(now - seconds{2}, 20, false);
    EXPECT_EQ(live_segment_length(q, build(q), now), Milliseconds{6000});
}

TEST(LiveSchedule, SchedulesThatDoNotGrowAroundNowAreNotLive) {
    const TimePoint now = at("2026-06-01T12:00:00Z");
    const Playlist ended = live(now - hours{1}, 20);
    EXPECT_FALSE(live_segment_length(ended, build(ended), now));
    const Playlist ahead = live(now + hours{2}, 20);
    EXPECT_FALSE(live_segment_length(ahead, build(ahead), now));
    const Playlist looping = relative(std::nullopt, {seconds{6}, seconds{6}});
    EXPECT_FALSE(live_segment_length(looping, build(looping), now));
}

}  // namespace
}  // namespace alluvium
