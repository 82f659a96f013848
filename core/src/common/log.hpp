// The core's logger (private header).
#pragma once

#include <spdlog/spdlog.h>

namespace alluvium::detail {

// The "alluvium" logger, created on first use with the default sink and level. Inline: the
// codec module (codec/codec.hpp) logs through the same registered logger.
inline spdlog::logger& log() {
    static std::shared_ptr<spdlog::logger> logger = [] {
        if (auto existing = spdlog::get("alluvium"))
            return existing;
        // Share the default logger's sinks so that the core writes where the program does.
        auto created =
            std::make_shared<spdlog::logger>("alluvium", spdlog::default_logger()->sinks().begin(),
                                             spdlog::default_logger()->sinks().end());
        created->set_level(spdlog::default_logger()->level());
        try {
            spdlog::register_logger(created);
        } catch (const spdlog::spdlog_ex&) {
            return spdlog::get("alluvium");  // another module registered it meanwhile
        }
        return created;
    }();
    return *logger;
}

}  // namespace alluvium::detail
