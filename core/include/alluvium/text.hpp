// Small text helpers the programs share: HTML escaping for pages that show remote text,
// ASCII case-insensitive comparison (HTTP header names, schemes), hex and base64 encoding.
// Pure functions, callable from any thread.
#pragma once

#include <alluvium/export.hpp>

#include <cstddef>
#include <optional>
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
// Whether `text` is exactly `digits` lower-case hex digits (an info-hash: 40).
[[nodiscard]] ALLUVIUM_EXPORT bool is_lower_hex(std::string_view text, std::size_t digits) noexcept;
// Bytes as standard base64 (RFC 4648, with padding).
[[nodiscard]] ALLUVIUM_EXPORT std::string base64_encode(std::string_view bytes);
// The bytes standard base64 (with padding) stands for; nullopt when `text` is not that.
[[nodiscard]] ALLUVIUM_EXPORT std::optional<std::string> base64_decode(std::string_view text);

}  // namespace alluvium
