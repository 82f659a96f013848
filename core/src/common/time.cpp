#include <alluvium/time.hpp>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iterator>

namespace alluvium {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// A cursor over the text; every read checks bounds, so malformed input cannot overrun.
struct Cursor {
    std::string_view text;
    std::size_t pos = 0;

    [[nodiscard]] bool done() const { return pos >= text.size(); }
    [[nodiscard]] char peek() const { return done() ? '\0' : text[pos]; }
    bool accept(char c) {
        if (peek() != c) {
            return false;
        }
        ++pos;
        return true;
    }
    // Exactly `n` decimal digits.
    bool digits(int n, int& out) {
        int value = 0;
        for (int i = 0; i < n; ++i) {
            const char c = peek();
            if (c < '0' || c > '9') {
                return false;
            }
            value = value * 10 + (c - '0');
            ++pos;
        }
        out = value;
        return true;
    }
};

std::optional<TimePoint> fail(std::string* why, const char* reason) {
    if (why != nullptr) {
        *why = reason;
    }
    return std::nullopt;
}

// Reads "Z" or "+hh:mm"/"-hh:mm"; returns the offset east of UTC.
bool read_zone(Cursor& c, minutes& offset) {
    if (c.accept('Z')) {
        offset = minutes{0};
        return true;
    }
    const char sign = c.peek();
    if (sign != '+' && sign != '-') {
        return false;
    }
    ++c.pos;
    int hh = 0;
    int mm = 0;
    if (!c.digits(2, hh) || !c.accept(':') || !c.digits(2, mm) || hh > 23 || mm > 59) {
        return false;
    }
    offset = hours{hh} + minutes{mm};
    if (sign == '-') {
        offset = -offset;
    }
    return true;
}

}  // namespace

std::optional<TimePoint> parse_w3cdtf(std::string_view text, std::string* why) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.front() == '\n' ||
                             text.front() == '\r')) {
        text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\n' ||
                             text.back() == '\r')) {
        text.remove_suffix(1);
    }
    Cursor c{text};
    int year = 0;
    int month = 1;
    int day = 1;
    if (!c.digits(4, year)) {
        return fail(why, "expected a four-digit year (YYYY-MM-DDThh:mm:ssZ)");
    }
    if (c.accept('-')) {
        if (!c.digits(2, month) || month < 1 || month > 12) {
            return fail(why, "month must be 01-12");
        }
        if (c.accept('-')) {
            if (!c.digits(2, day)) {
                return fail(why, "expected a two-digit day");
            }
        }
    }
    const std::chrono::year_month_day ymd{std::chrono::year{year},
                                          std::chrono::month{static_cast<unsigned>(month)},
                                          std::chrono::day{static_cast<unsigned>(day)}};
    if (!ymd.ok()) {
        return fail(why, "no such calendar date");
    }
    TimePoint t = std::chrono::time_point_cast<Milliseconds>(std::chrono::sys_days{ymd});
    if (c.done()) {
        return t;
    }
    if (!c.accept('T')) {
        return fail(why, "expected 'T' between date and time");
    }
    int hh = 0;
    int mi = 0;
    int ss = 0;
    if (!c.digits(2, hh) || !c.accept(':') || !c.digits(2, mi) || hh > 23 || mi > 59) {
        return fail(why, "time must be hh:mm with hh 00-23 and mm 00-59");
    }
    Milliseconds fraction{0};
    if (c.accept(':')) {
        // 60 is allowed for a leap second; it folds into the next minute as POSIX time does.
        if (!c.digits(2, ss) || ss > 60) {
            return fail(why, "seconds must be 00-60");
        }
        if (c.accept('.')) {
            int scale = 100;
            bool any = false;
            while (c.peek() >= '0' && c.peek() <= '9') {
                fraction += Milliseconds{(c.peek() - '0') * scale};
                scale /= 10;
                ++c.pos;
                any = true;
            }
            if (!any) {
                return fail(why, "expected digits after the decimal point");
            }
        }
    }
    minutes offset{0};
    if (!read_zone(c, offset)) {
        return fail(why, "a time needs a zone: 'Z' or '+hh:mm'/'-hh:mm'");
    }
    if (!c.done()) {
        return fail(why, "unexpected text after the date-time");
    }
    t += hours{hh} + minutes{mi} + seconds{ss} + fraction;
    return t - offset;
}

std::optional<TimePoint> parse_http_date(std::string_view text) {
    // "Sun, 06 Nov 1994 08:49:37 GMT": fixed positions.
    static constexpr std::string_view months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    if (text.size() != 29 || text[3] != ',' || text.substr(26) != "GMT") {
        return std::nullopt;
    }
    Cursor c{text.substr(5)};
    int day = 0;
    int year = 0;
    int hh = 0;
    int mm = 0;
    int ss = 0;
    if (!c.digits(2, day) || !c.accept(' ')) {
        return std::nullopt;
    }
    const std::string_view month = text.substr(8, 3);
    const auto found = std::find(std::begin(months), std::end(months), month);
    if (found == std::end(months)) {
        return std::nullopt;
    }
    c.pos += 4;
    if (!c.digits(4, year) || !c.accept(' ') || !c.digits(2, hh) || !c.accept(':') ||
        !c.digits(2, mm) || !c.accept(':') || !c.digits(2, ss) || hh > 23 || mm > 59 || ss > 60) {
        return std::nullopt;
    }
    const std::chrono::year_month_day ymd{
        std::chrono::year{year},
        std::chrono::month{static_cast<unsigned>(std::distance(std::begin(months), found) + 1)},
        std::chrono::day{static_cast<unsigned>(day)}};
    if (!ymd.ok()) {
        return std::nullopt;
    }
    return std::chrono::time_point_cast<Milliseconds>(std::chrono::sys_days{ymd}) + hours{hh} +
           minutes{mm} + seconds{ss};
}

std::string format_w3cdtf(TimePoint t) {
    const auto day_point = std::chrono::floor<days>(t);
    const std::chrono::year_month_day ymd{day_point};
    const std::chrono::hh_mm_ss<Milliseconds> tod{t - day_point};
    char buf[48];
    const auto ms = tod.subseconds().count();
    if (ms != 0) {
        std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", int{ymd.year()},
                      unsigned{ymd.month()}, unsigned{ymd.day()},
                      static_cast<int>(tod.hours().count()),
                      static_cast<int>(tod.minutes().count()),
                      static_cast<int>(tod.seconds().count()), static_cast<int>(ms));
    } else {
        std::snprintf(
            buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", int{ymd.year()},
            unsigned{ymd.month()}, unsigned{ymd.day()}, static_cast<int>(tod.hours().count()),
            static_cast<int>(tod.minutes().count()), static_cast<int>(tod.seconds().count()));
    }
    return buf;
}

std::string format_local(TimePoint t) {
    const std::time_t secs = std::chrono::system_clock::to_time_t(
        std::chrono::time_point_cast<std::chrono::system_clock::duration>(t));
    std::tm tm{};
    localtime_r(&secs, &tm);
    char buf[64];
    const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %Z", &tm);
    return std::string(buf, n);
}

std::string format_duration(Milliseconds d) {
    std::string sign;
    if (d < Milliseconds{0}) {
        sign = "-";
        d = -d;
    }
    const auto total_ms = d.count();
    const auto ms = total_ms % 1000;
    const auto total_s = total_ms / 1000;
    const auto s = total_s % 60;
    const auto m = (total_s / 60) % 60;
    const auto h = total_s / 3600;
    char buf[64];
    if (h > 0) {
        std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(h),
                      static_cast<long long>(m), static_cast<long long>(s));
    } else {
        std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(m),
                      static_cast<long long>(s));
    }
    std::string out = sign + buf;
    if (ms != 0) {
        std::snprintf(buf, sizeof buf, ".%03lld", static_cast<long long>(ms));
        out += buf;
    }
    return out;
}

TimePoint now_utc() {
    return std::chrono::time_point_cast<Milliseconds>(std::chrono::system_clock::now());
}

}  // namespace alluvium
