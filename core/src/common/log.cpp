#include "log.hpp"

#include <alluvium/log.hpp>

#include <mutex>

namespace alluvium {

void set_log_level(LogLevel level) {
    static constexpr spdlog::level::level_enum map[] = {spdlog::level::trace, spdlog::level::debug,
                                                        spdlog::level::info,  spdlog::level::warn,
                                                        spdlog::level::err,   spdlog::level::off};
    (void)detail::log();
    spdlog::set_level(map[static_cast<int>(level)]);
}

std::optional<LogLevel> parse_log_level(std::string_view name) {
    if (name == "trace")
        return LogLevel::trace;
    if (name == "debug")
        return LogLevel::debug;
    if (name == "info")
        return LogLevel::info;
    if (name == "warn" || name == "warning")
        return LogLevel::warn;
    if (name == "error")
        return LogLevel::error;
    if (name == "off")
        return LogLevel::off;
    return std::nullopt;
}

}  // namespace alluvium
