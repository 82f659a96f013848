// URL helpers: parsing (on libcurl's RFC 3986 parser), origins, percent-encoding.
// Pure functions, callable from any thread.
#pragma once

#include <alluvium/export.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace alluvium {

struct ALLUVIUM_EXPORT Url {
    std::string scheme;      // lower-case: "http", "https"
    std::string host;        // lower-case; IPv6 without brackets
    std::uint16_t port = 0;  // explicit or the scheme's default
    std::string path;        // "/media/a.mp3", percent-encoded as given
    std::string query;       // without '?'

    // "http://host:port" with the default port left out: how origins are compared.
    [[nodiscard]] std::string origin() const;
};

// Parses an absolute http(s) URL; nullopt for anything else (other schemes, relative
// references, credentials in the URL, malformed hosts).
[[nodiscard]] ALLUVIUM_EXPORT std::optional<Url> parse_url(std::string_view text);

// A BitTorrent tracker's announce URL: http(s) as parse_url() takes it, or udp://host:port
// (BEP 15).
[[nodiscard]] ALLUVIUM_EXPORT bool is_tracker_url(std::string_view text);

// Percent-encodes every byte outside RFC 3986's unreserved set ("-._~", letters, digits);
// '/' too, unless `keep_slash`.
[[nodiscard]] ALLUVIUM_EXPORT std::string percent_encode(std::string_view text,
                                                         bool keep_slash = false);

// Decodes %XX escapes (and '+' as a space when `plus_is_space`, as in query strings).
// Malformed escapes stay as they are.
[[nodiscard]] ALLUVIUM_EXPORT std::string percent_decode(std::string_view text,
                                                         bool plus_is_space = false);

}  // namespace alluvium
