// The gateway's dashboard at "/": web/gateway/ and web/common/, built into the program
// (cmake/AlluviumEmbed.cmake); dashboard.cpp serves it and its event stream.
#pragma once

#include <alluvium/http_server.hpp>

#include <span>

namespace alluvium::gateway {

[[nodiscard]] std::span<const EmbeddedFile> dashboard_files();

}  // namespace alluvium::gateway
