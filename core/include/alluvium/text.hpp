// Small text helpers the programs share: HTML escaping for pages that show remote text,
// ASCII case-insensitive comparison (HTTP header names, schemes), hex encoding.
// Pure functions, callable from any thread.
#pragma once

#include <alluvium/export.hpp>

#include <string>
#include <string_view>

namespace alluvium {

// Text made safe inside HTML element content and quoted attribute values: & < > " ' become
// character references. Remote text (station and item titles, URLs) goes through this
// before it reaches a page.
[[nodiscard]] ALLUVIUM_EXPORT std::string html_escape(std::string_view text);

// Whether `a` and `b` are equal ignoring the case of ASCII letters (not locale-dependent).
[[nodiscard]] ALLUVIUM_EXPORT bool iequals(std::string_view a, std::string_view b) noexcept;

// Bytes as lower-case hex digits, two per byte.
[[nodiscard]] ALLUVIUM_EXPORT std::string to_hex(std::string_view bytes);
// Hex digits (either case) back to bytes; empty when the length is odd or a digit is not hex.
[[nodiscard]] ALLUVIUM_EXPORT std::string from_hex(std::string_view hex);

}  // namespace alluvium
