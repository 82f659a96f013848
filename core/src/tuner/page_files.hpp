// The listener's page: web/listener/ and web/common/, built into the library
// (cmake/AlluviumEmbed.cmake).
#pragma once

#include <alluvium/http_server.hpp>

#include <span>

namespace alluvium::detail {

[[nodiscard]] std::span<const EmbeddedFile> page_files();

}  // namespace alluvium::detail
