// Logging. The core logs through spdlog's "alluvium" logger; programs that use spdlog
// themselves set levels and sinks there. Programs that do not can use these two calls.
// Default level: info (nothing is logged at info during normal operation except
// lifecycle events: a server bound, a station tuned).
#pragma once

#include <alluvium/export.hpp>

#include <optional>
#include <string_view>

namespace alluvium {

enum class LogLevel { trace, debug, info, warn, error, off };

// Sets the level of every spdlog logger in the process. Thread-safe.
ALLUVIUM_EXPORT void set_log_level(LogLevel level);

// "trace", "debug", "info", "warn"/"warning", "error", "off"; nullopt for anything else.
[[nodiscard]] ALLUVIUM_EXPORT std::optional<LogLevel> parse_log_level(std::string_view name);

}  // namespace alluvium
