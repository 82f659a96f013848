#include <alluvium/time.hpp>

#include <gtest/gtest.h>

namespace alluvium {
namespace {

using namespace std::chrono;

TimePoint utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0, int ms = 0) {
    return time_point_cast<Milliseconds>(sys_days{year{y} / month{mo} / day{d}}) + hours{h} +
           minutes{mi} + seconds{s} + Milliseconds{ms};
}

TEST(W3cdtf, ParsesEveryGranularity) {
    EXPECT_EQ(parse_w3cdtf("2026"), utc(2026, 1, 1));
    EXPECT_EQ(parse_w3cdtf("2026-11"), utc(2026, 11, 1));
    EXPECT_EQ(parse_w3cdtf("2026-11-26"), utc(2026, 11, 26));
    EXPECT_EQ(parse_w3cdtf("2026-11-26T20:15Z"), utc(2026, 11, 26, 20, 15));
    EXPECT_EQ(parse_w3cdtf("2026-11-26T20:15:30Z"), utc(2026, 11, 26, 20, 15, 30));
    EXPECT_EQ(parse_w3cdtf("2026-11-26T20:15:30.25Z"), utc(2026, 11, 26, 20, 15, 30, 250));
    EXPECT_EQ(parse_w3cdtf("2026-11-26T20:15:30.123456Z"), utc(2026, 11, 26, 20, 15, 30, 123));
}

TEST(W3cdtf, FoldsOffsetsIntoUtc) {
    EXPECT_EQ(parse_w3cdtf("2026-11-26T21:00:00+01:00"), utc(2026, 11, 26, 20));
    EXPECT_EQ(parse_w3cdtf("2026-11-26T15:00:00-05:00"), utc(2026, 11, 26, 20));
    EXPECT_EQ(parse_w3cdtf("2026-11-27T01:30:00+05:30"), utc(2026, 11, 26, 20));
    // Across a year boundary.
    EXPECT_EQ(parse_w3cdtf("2026-12-31T23:30:00-01:00"), utc(2027, 1, 1, 0, 30));
}

TEST(W3cdtf, TrimsSurroundingWhitespace) {
    EXPECT_EQ(parse_w3cdtf("\n  2026-11-26T20:00:00Z \n"), utc(2026, 11, 26, 20));
}

TEST(W3cdtf, RejectsMalformedWithAReason) {
    for (const char* bad : {"", "yesterday", "26-11-2026", "2026-13-01", "2026-02-30",
                            "2026-11-26T25:00Z", "2026-11-26T20:61Z", "2026-11-26T20:00:00",
                            "2026-11-26T20:00:00+1:00", "2026-11-26T20:00:00Zjunk",
                            "2026-11-26 20:00:00Z", "2026-11-26T20:00:00.Z", "2026-11-26T20Z"}) {
        std::string why;
        EXPECT_FALSE(parse_w3cdtf(bad, &why).has_value()) << bad;
        EXPECT_FALSE(why.empty()) << bad;
    }
}

TEST(W3cdtf, FormatsUtcAndRoundTrips) {
    EXPECT_EQ(format_w3cdtf(utc(2026, 11, 26, 20, 5, 9)), "2026-11-26T20:05:09Z");
    EXPECT_EQ(format_w3cdtf(utc(2026, 11, 26, 20, 5, 9, 7)), "2026-11-26T20:05:09.007Z");
    const TimePoint t = utc(1999, 12, 31, 23, 59, 59, 999);
    EXPECT_EQ(parse_w3cdtf(format_w3cdtf(t)), t);
    EXPECT_EQ(format_w3cdtf(TimePoint{}), "1970-01-01T00:00:00Z");
}

TEST(W3cdtf, LeapDay) {
    EXPECT_EQ(parse_w3cdtf("2028-02-29T12:00:00Z"), utc(2028, 2, 29, 12));
    EXPECT_FALSE(parse_w3cdtf("2027-02-29T12:00:00Z").has_value());
}

TEST(Duration, FormatsForPeople) {
    EXPECT_EQ(format_duration(Milliseconds{7000}), "0:07");
    EXPECT_EQ(format_duration(Milliseconds{123000}), "2:03");
    EXPECT_EQ(format_duration(Milliseconds{3723250}), "1:02:03.250");
    EXPECT_EQ(format_duration(Milliseconds{-1500}), "-0:01.500");
}

}  // namespace
}  // namespace alluvium
