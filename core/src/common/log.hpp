// The core's logger (private header).
#pragma once

#include <spdlog/spdlog.h>

namespace alluvium::detail {

// The "alluvium" logger, created on first use with the default sink and level.
spdlog::logger& log();

}  // namespace alluvium::detail
