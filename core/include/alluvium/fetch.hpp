// Fetching documents over HTTP(S) (libcurl) or from local files.
// Every call blocks the calling thread until it completes, fails or times out; calls may be
// made from several threads at once.
#pragma once

#include <alluvium/export.hpp>
#include <alluvium/time.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace alluvium {

struct HttpResponse;

struct ALLUVIUM_EXPORT HttpRequest {
    std::string url;
    std::string method = "GET";  // "GET", "HEAD" or "POST"
    std::string body;            // sent with POST
    bool head_only = false;      // the same as method "HEAD"
    bool follow_redirects = true;
    std::size_t max_body_bytes = 16u * 1024u * 1024u;  // larger bodies fail with too_large
    Milliseconds connect_timeout{5000};
    Milliseconds total_timeout{30000};
    std::string if_none_match;                                 // ETag of a cached copy
    std::string if_modified_since;                             // Last-Modified of a cached copy
    std::vector<std::pair<std::string, std::string>> headers;  // extra request headers
    // First byte of a "Range: bytes=N-" request; 0 asks for the whole resource.
    std::uint64_t range_from = 0;
    // Last byte (inclusive) when more than 0: "Range: bytes=N-M". An open range lets the
    // server push megabytes into the socket that a reader stopping early never uses.
    std::uint64_t range_to = 0;

    // Streaming: when set, body bytes go here as they arrive and are not kept in the
    // response; max_body_bytes still applies. Return false to abort (ec = refused).
    // Runs on the calling thread.
    std::function<bool(std::string_view chunk)> on_body;
    // Streaming: called once before the first body byte of a 2xx answer, with its status
    // and headers (e.g. to read Content-Length).
    std::function<void(const HttpResponse& head)> on_head;
    // Called with the peer IP address of every connection (redirects included) before the
    // request is sent on it; return false to refuse it (ec = refused). This is the check
    // that stops DNS tricks: it sees the address actually connected to.
    std::function<bool(const std::string& ip)> allow_address;
    // When set and true, the transfer stops within about a second (ec = refused).
    const std::atomic<bool>* cancel = nullptr;
    // Receive rate cap in bytes per second (0: none).
    std::uint64_t max_bytes_per_second = 0;
    // Abort when fewer than 1 byte/s arrive for this long (0: only total_timeout applies).
    Milliseconds stall_timeout{0};
};

struct ALLUVIUM_EXPORT HttpResponse {
    long status = 0;            // e.g. 200, 304, 404
    std::string effective_url;  // after redirects
    std::string content_type;   // as sent, parameters included
    std::string etag;
    std::string last_modified;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // of the final response

    // Content-Type without parameters, lower-case: "application/x-alluvium".
    [[nodiscard]] std::string media_type() const;
    [[nodiscard]] std::string header(std::string_view name) const;  // first match, any case
};

// Performs the request. Transport failures set `ec` (network_error, too_large,
// invalid_argument) and `detail`; an HTTP error status is not a transport failure: the
// response comes back with its status.
[[nodiscard]] ALLUVIUM_EXPORT HttpResponse http_request(const HttpRequest& request,
                                                        std::error_code& ec,
                                                        std::string* detail = nullptr);

[[nodiscard]] ALLUVIUM_EXPORT bool is_url(std::string_view text) noexcept;

// A document read from a file path or an http(s) URL.
struct ALLUVIUM_EXPORT Document {
    std::string source;  // the path or URL, as given
    std::string body;
    std::string content_type;  // empty for files
};

// Reads a path or URL, refusing more than `max_bytes` (too_large) and non-2xx answers
// (http_error, with the status in `detail`).
[[nodiscard]] ALLUVIUM_EXPORT Document load_document(std::string_view path_or_url,
                                                     std::size_t max_bytes, std::error_code& ec,
                                                     std::string* detail = nullptr);

}  // namespace alluvium
