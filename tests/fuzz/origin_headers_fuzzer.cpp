// libFuzzer target: what the gateway reads from an origin's answer headers, Cache-Control,
// Expires and Date (freshness) and Retry-After. Input: the header values, one per line.
#include "origin_fetch.hpp"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    std::string_view fields[4];
    for (auto& field : fields) {
        const auto end = input.find('\n');
        field = input.substr(0, end);
        input.remove_prefix(end == std::string_view::npos ? input.size() : end + 1);
    }
    const alluvium::TimePoint now = *alluvium::parse_http_date("Wed, 25 Nov 2026 10:00:00 GMT");
    if (const auto fresh =
            alluvium::gateway::freshness_lifetime(fields[0], fields[1], fields[2], now)) {
        if (fresh->count() < 0 || fresh->count() > 365LL * 24 * 3600)
            __builtin_trap();
    }
    const auto wait = alluvium::gateway::retry_after(fields[3], now);
    if (wait.count() < 1 || wait.count() > 3600)
        __builtin_trap();
    return 0;
}
