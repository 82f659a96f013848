#include "origin_fetch.hpp"

#include <alluvium/fetch.hpp>
#include <alluvium/gateway_client.hpp>
#include <alluvium/media.hpp>
#include <alluvium/text.hpp>

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>

namespace alluvium::gateway {
namespace {

using Clock = std::chrono::steady_clock;

std::optional<std::chrono::seconds> freshness_of(const HttpResponse& response) {
    return freshness_lifetime(response.header("Cache-Control"), response.header("Expires"),
                              response.header("Date"), now_utc());
}

std::string_view trimmed(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

constexpr std::chrono::seconds longest_freshness{365LL * 24 * 3600};

// delta-seconds (RFC 9111 1.2.2), quoted or not; nullopt when not a number.
std::optional<std::chrono::seconds> delta_seconds(std::string_view v) {
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"')
        v = v.substr(1, v.size() - 2);
    if (v.empty() || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    if (v.size() > 10)
        return longest_freshness;
    return std::min(std::chrono::seconds(std::stoll(std::string(v))), longest_freshness);
}

std::string temp_name() {
    static std::atomic<unsigned> counter{0};
    return "fetch-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".part";
}

// Logs progress every 10% or 5 s, whichever comes later, so a big item shows movement
// without flooding the log.
class ProgressLog {
  public:
    ProgressLog(std::string what, std::string url) : what_(std::move(what)), url_(std::move(url)) {}
    void update(std::uint64_t done, std::uint64_t total) {
        const auto now = Clock::now();
        const int decile = total > 0 ? static_cast<int>(done * 10 / total) : 0;
        if (decile > last_decile_ && now - last_ >= std::chrono::seconds(5)) {
            last_decile_ = decile;
            last_ = now;
            spdlog::info("{} {}: {}% ({} of {} bytes)", what_, url_, decile * 10, done, total);
        }
    }

  private:
    std::string what_;
    std::string url_;
    int last_decile_ = 0;
    Clock::time_point last_ = Clock::now();
};

OriginResult failure(int status, std::string message) {
    OriginResult r;
    r.kind = OriginResult::Kind::failed;
    r.status = status;
    r.message = std::move(message);
    return r;
}

// Reads the downloaded file once more to hash it into pieces: the piece size depends on the
// total size, which a chunked answer only tells at its end.
bool hash_file(const std::filesystem::path& file, std::uint64_t size, const std::string& url,
               const OriginFetch& job, Metainfo& out) {
    MetainfoBuilder builder(size);
    std::ifstream in(file, std::ios::binary);
    std::vector<char> buf(1 << 20);
    ProgressLog progress("hashing", url);
    while (in && (job.cancel == nullptr || !*job.cancel)) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        const auto n = static_cast<std::size_t>(in.gcount());
        if (n == 0) {
            break;
        }
        if (!builder.feed(std::string_view(buf.data(), n))) {
            return false;
        }
        progress.update(builder.fed(), size);
        if (job.received != nullptr) {
            *job.received = builder.fed();
        }
    }
    out = builder.finish();
    return !out.info_hash.empty();
}

}  // namespace

namespace {

// One GET of the origin into an open file.
struct Download {
    HttpResponse response;
    std::error_code ec;
    std::string detail;
    std::uint64_t received = 0;
    bool write_failed = false;
};

Download download(const OriginFetch& job, std::FILE* out) {
    Download d;
    ProgressLog progress("fetching", job.url);
    HttpRequest request;
    request.url = job.url;
    request.if_none_match = job.etag;
    request.if_modified_since = job.last_modified;
    request.max_body_bytes = job.max_size;
    request.total_timeout = std::chrono::hours(6);
    request.stall_timeout = std::chrono::seconds(30);
    if (job.pacer)
        request.max_bytes_per_second = job.pacer->rate();  // smooth within one fetch too
    request.allow_address = job.allow_address;
    request.cancel = job.cancel;
    request.on_head = [&](const HttpResponse& head) {
        const std::string length = head.header("Content-Length");
        if (job.total != nullptr && !length.empty()) {
            try {
                *job.total = std::stoull(length);
            } catch (...) {
            }
        }
    };
    request.on_body = [&](std::string_view chunk) {
        if (job.cancel != nullptr && *job.cancel) {
            return false;
        }
        if (job.pacer && !job.pacer->take(chunk.size(), job.cancel)) {
            return false;
        }
        if (std::fwrite(chunk.data(), 1, chunk.size(), out) != chunk.size()) {
            d.write_failed = true;
            return false;
        }
        d.received += chunk.size();
        if (job.received != nullptr) {
            *job.received = d.received;
        }
        progress.update(d.received, job.total != nullptr ? job.total->load() : 0);
        return true;
    };
    d.response = http_request(request, d.ec, &d.detail);
    return d;
}

// What the listener is told when the download gave no new file; nothing when it did.
std::optional<OriginResult> unusable(const Download& d, const OriginFetch& job) {
    if (d.ec == errc::too_large) {
        return failure(413, "the item is larger than the configured limit of " +
                                std::to_string(job.max_size) + " bytes");
    }
    if (d.ec == errc::refused)
        return failure(403, "refused: " + d.detail);
    if (d.ec)
        return failure(502, "origin unreachable: " + d.detail);
    const long status = d.response.status;
    if (status == 304) {
        OriginResult same;
        same.kind = OriginResult::Kind::not_modified;
        same.fresh_for = freshness_of(d.response);
        return same;
    }
    if (status == 429 || status == 503) {
        OriginResult busy =
            failure(503, "the origin is overloaded (HTTP " + std::to_string(status) + ")");
        busy.retry_after = retry_after(d.response.header("Retry-After"), now_utc());
        return busy;
    }
    if (status < 200 || status > 299) {
        return failure(status == 404 || status == 410 ? 404 : 502,
                       "the origin answered HTTP " + std::to_string(status));
    }
    if (d.received == 0)
        return failure(502, "the origin sent an empty file");
    return std::nullopt;
}

}  // namespace

OriginResult fetch_from_origin(const OriginFetch& job) {
    std::error_code fs_ec;
    std::filesystem::create_directories(job.tmp_dir, fs_ec);
    std::filesystem::create_directories(job.cache_dir, fs_ec);
    const std::filesystem::path part = job.tmp_dir / temp_name();
    std::FILE* out = std::fopen(part.c_str(), "wb");
    if (out == nullptr) {
        return failure(500, "cannot write " + part.string());
    }
    const Download d = download(job, out);
    const bool closed = std::fclose(out) == 0;
    const auto cleanup = [&] { std::filesystem::remove(part, fs_ec); };
    if (d.write_failed || !closed) {
        cleanup();
        return failure(507, "the cache disk refused the write (full?)");
    }
    if (auto answer = unusable(d, job)) {
        cleanup();
        answer->origin_bytes = d.received;
        return *answer;
    }
    OriginResult result;
    result.origin_bytes = d.received;
    if (job.hashing != nullptr) {
        *job.hashing = true;
    }
    if (job.total != nullptr) {
        *job.total = d.received;
    }
    if (!hash_file(part, d.received, job.url, job, result.meta)) {
        cleanup();
        return failure(500, "hashing failed");
    }
    const std::filesystem::path final_path = job.cache_dir / result.meta.content_sha256;
    std::filesystem::rename(part, final_path, fs_ec);
    if (fs_ec) {
        cleanup();
        return failure(507, "cannot move into the cache: " + fs_ec.message());
    }
    // The time -> byte map listeners need to start mid-item on a frame: one more read of
    // the file, by libavformat.
    std::error_code media_ec;
    if (const auto layout = index_media(final_path.string(), media_ec)) {
        result.layout = media_layout_to_json(*layout);
    } else {
        spdlog::debug("{}: no media layout ({})", job.url, media_ec.message());
    }
    result.kind = OriginResult::Kind::fetched;
    result.fresh_for = freshness_of(d.response);
    result.etag = d.response.etag;
    result.last_modified = d.response.last_modified;
    return result;
}

std::chrono::seconds retry_after(std::string_view header, TimePoint now) {
    constexpr std::chrono::seconds fallback{30};
    constexpr std::chrono::seconds longest{3600};
    header = trimmed(header);
    if (header.empty())
        return fallback;
    if (std::all_of(header.begin(), header.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        if (header.size() > 9)
            return longest;
        const auto s = std::chrono::seconds(std::stol(std::string(header)));
        return std::clamp(s, std::chrono::seconds{1}, longest);
    }
    if (const auto when = parse_http_date(header)) {
        const auto wait = std::chrono::ceil<std::chrono::seconds>(*when - now);
        return std::clamp(wait, std::chrono::seconds{1}, longest);
    }
    return fallback;
}

std::optional<std::chrono::seconds> freshness_lifetime(std::string_view cache_control,
                                                       std::string_view expires,
                                                       std::string_view date, TimePoint now) {
    std::optional<std::chrono::seconds> max_age;
    std::optional<std::chrono::seconds> s_maxage;
    bool uncacheable = false;
    while (!cache_control.empty()) {
        const auto comma = cache_control.find(',');
        const std::string_view directive = trimmed(cache_control.substr(0, comma));
        cache_control.remove_prefix(comma == std::string_view::npos ? cache_control.size()
                                                                    : comma + 1);
        const auto eq = directive.find('=');
        const std::string_view name = trimmed(directive.substr(0, eq));
        const std::string_view value =
            eq == std::string_view::npos ? std::string_view{} : trimmed(directive.substr(eq + 1));
        if (iequals(name, "max-age") || iequals(name, "s-maxage")) {
            // An unreadable lifetime makes the response stale (RFC 9111 4.2.1).
            const auto lifetime = delta_seconds(value).value_or(std::chrono::seconds{0});
            (iequals(name, "max-age") ? max_age : s_maxage) = lifetime;
        } else if (iequals(name, "no-cache") || iequals(name, "no-store") ||
                   iequals(name, "private")) {
            uncacheable = true;
        }
    }
    if (uncacheable)
        return std::chrono::seconds{0};
    if (s_maxage)
        return s_maxage;
    if (max_age)
        return max_age;
    expires = trimmed(expires);
    if (!expires.empty()) {
        // An invalid date ("0") means already expired (RFC 9111 5.3).
        const auto until = parse_http_date(expires);
        if (!until)
            return std::chrono::seconds{0};
        const TimePoint from = parse_http_date(trimmed(date)).value_or(now);
        const auto lifetime = std::chrono::floor<std::chrono::seconds>(*until - from);
        return std::clamp(lifetime, std::chrono::seconds{0}, longest_freshness);
    }
    return std::nullopt;
}

}  // namespace alluvium::gateway
