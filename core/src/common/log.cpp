#include "log.hpp"

#include <alluvium/log.hpp>

#include <mutex>

namespace alluvium {

namespace detail {

spdlog::logger& log() {
    static std::shared_ptr<spdlog::logger> logger = [] {
        if (auto existing = spdlog::get("alluvium")) {
            return existing;
        }
        // Share the default logger's sinks so that the core writes where the program does.
        auto created =
            std::make_shared<spdlog::logger>("alluvium", spdlog::default_logger()->sinks().begin(),
                                             spdlog::default_logger()->sinks().end());
        created->set_level(spdlog::default_logger()->level());
        spdlog::register_logger(created);
        return created;
    }();
    return *logger;
}

}  // namespace detail

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
