// Errors and diagnostics shared by every core module.
//
// Library calls that can fail report a std::error_code in the alluvium category; calls that
// parse untrusted input also return Diagnostic records that name the place (source, line,
// field) so that a person can fix the input.
#pragma once

#include <alluvium/export.hpp>

#include <string>
#include <system_error>
#include <vector>

namespace alluvium {

enum class errc {
    ok = 0,
    invalid_argument = 1,  // a caller passed something unusable
    parse_error,           // input was read but is not valid (see the diagnostics)
    too_large,             // input exceeds a configured limit
    not_found,             // file or URL does not exist
    io_error,              // reading or writing a file failed
    network_error,         // connection, DNS, TLS or timeout
    http_error,            // the server answered with a non-success status
    unsupported_media,     // libavformat cannot read the media
    refused,               // a policy (allow-list, size cap) refused the request
};

[[nodiscard]] ALLUVIUM_EXPORT const std::error_category& alluvium_category() noexcept;
[[nodiscard]] ALLUVIUM_EXPORT std::error_code make_error_code(errc e) noexcept;

enum class Severity { warning, error };

// One finding about an input. `line` is 1-based, 0 when the input has no line structure.
struct ALLUVIUM_EXPORT Diagnostic {
    Severity severity = Severity::error;
    std::string source;  // file path or URL the input came from
    int line = 0;
    std::string field;  // element or attribute, e.g. "item[3]/mm:duration"
    std::string message;

    // "source:line: error: field: message", the form editors and compilers use.
    [[nodiscard]] std::string to_string() const;
};

using Diagnostics = std::vector<Diagnostic>;

[[nodiscard]] ALLUVIUM_EXPORT bool has_errors(const Diagnostics& diagnostics) noexcept;

}  // namespace alluvium

template <>
struct std::is_error_code_enum<alluvium::errc> : std::true_type {};
