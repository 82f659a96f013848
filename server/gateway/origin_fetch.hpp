// Fetches one media URL from its origin into the cache folder and builds its metainfo.
// Blocking; runs on the gateway's fetch threads.
#pragma once

#include <alluvium/error.hpp>
#include <alluvium/metainfo.hpp>
#include <alluvium/time.hpp>

#include "rate_pacer.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace alluvium::gateway {

struct OriginFetch {
    std::string url;
    std::string etag;  // validators of the cached copy, if any
    std::string last_modified;
    std::uint64_t max_size = 0;
    // The rate all fetches from this origin share (--origin-rate-limit); null: no limit.
    std::shared_ptr<RatePacer> pacer;
    std::function<bool(const std::string& ip)> allow_address;
    std::filesystem::path tmp_dir;
    std::filesystem::path cache_dir;  // the file lands at cache_dir / content_sha256
    // Progress for status and logs (written by the fetch, read by anyone).
    std::atomic<std::uint64_t>* received = nullptr;
    std::atomic<std::uint64_t>* total = nullptr;
    std::atomic<bool>* hashing = nullptr;
    const std::atomic<bool>* cancel = nullptr;  // set: give up at the next chunk
};

struct OriginResult {
    enum class Kind { fetched, not_modified, failed } kind = Kind::failed;
    Metainfo meta;
    std::string layout;  // media layout JSON; "" when the file is not media libavformat reads
    std::string etag;
    std::string last_modified;
    std::uint64_t origin_bytes = 0;  // body bytes the origin sent
    // For failures: an HTTP status to answer with (403 refused, 413 too large, 404 not
    // found at the origin, 502 other origin trouble) and a message naming the cause.
    int status = 502;
    std::string message;
    // The origin said it is overloaded (HTTP 429 or 503): ask it nothing for this long.
    std::chrono::seconds retry_after{0};
    // How long the origin said this copy stays fresh (fetched or not modified); nullopt
    // when its answer said nothing (the gateway's --revalidate-after applies).
    std::optional<std::chrono::seconds> fresh_for;
};

[[nodiscard]] OriginResult fetch_from_origin(const OriginFetch& job);

// How long a Retry-After header asks to wait (delta-seconds or an HTTP-date, RFC 9110
// 10.2.3) from `now`: 30 s when absent or unreadable, at most an hour.
[[nodiscard]] std::chrono::seconds retry_after(std::string_view header, TimePoint now);

// How long a shared cache may use a response without asking the origin again (RFC 9111
// 4.2.1): s-maxage, else max-age, else Expires minus Date (`now` without a Date). Zero for
// no-cache, no-store and private (the gateway must keep the metadata, so it revalidates
// on every lookup instead), and for an unreadable value. Nullopt when the headers say
// nothing. At most a year.
[[nodiscard]] std::optional<std::chrono::seconds> freshness_lifetime(std::string_view cache_control,
                                                                     std::string_view expires,
                                                                     std::string_view date,
                                                                     TimePoint now);

}  // namespace alluvium::gateway
