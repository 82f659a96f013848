// Instants and W3C date-time (W3CDTF, the profile of ISO 8601 that RSS modules use).
// All instants are UTC with millisecond resolution; offsets in the text are folded in.
#pragma once

#include <alluvium/export.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace alluvium {

using Milliseconds = std::chrono::milliseconds;
using TimePoint = std::chrono::sys_time<Milliseconds>;

// Parses every W3CDTF granularity: YYYY, YYYY-MM, YYYY-MM-DD, YYYY-MM-DDThh:mmTZD,
// YYYY-MM-DDThh:mm:ssTZD and YYYY-MM-DDThh:mm:ss.sTZD (any number of fraction digits;
// beyond milliseconds they are truncated). TZD is "Z" or "+hh:mm"/"-hh:mm".
// On failure returns nullopt and, if `why` is given, a short reason.
[[nodiscard]] ALLUVIUM_EXPORT std::optional<TimePoint> parse_w3cdtf(std::string_view text,
                                                                    std::string* why = nullptr);

// HTTP's date format (RFC 9110 IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT"), as in the
// Date and Last-Modified headers. Nullopt when malformed.
[[nodiscard]] ALLUVIUM_EXPORT std::optional<TimePoint> parse_http_date(std::string_view text);

// "2026-11-26T20:00:00Z", or "...:00.250Z" when the instant has milliseconds.
[[nodiscard]] ALLUVIUM_EXPORT std::string format_w3cdtf(TimePoint t);

// The same instant in the machine's local time zone, "2026-11-26 21:00:00 CET", for people.
[[nodiscard]] ALLUVIUM_EXPORT std::string format_local(TimePoint t);

// "1:02:03.250" / "2:03" / "0:07" — hours only when needed, milliseconds only when non-zero.
[[nodiscard]] ALLUVIUM_EXPORT std::string format_duration(Milliseconds d);

// The current instant, rounded down to milliseconds.
[[nodiscard]] ALLUVIUM_EXPORT TimePoint now_utc();

}  // namespace alluvium
