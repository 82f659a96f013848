// The swarm's metadata as remembered in the cache folder, so that a restart joins without
// a gateway: <cache>/items/<url key>.torrent, .item (size, seed) and .layout. Loop only.
#pragma once

#include <alluvium/gateway_client.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace alluvium::detail {

struct Cache {
    std::filesystem::path media;
    std::filesystem::path items;

    [[nodiscard]] std::filesystem::path path(const std::string& url, const char* ext) const;
    void remember(const std::string& url, const SwarmMetadata& meta) const;
    [[nodiscard]] std::optional<SwarmMetadata> recall(const std::string& url,
                                                      std::optional<std::uint64_t> size) const;
};

// Stable file-name key of a media URL (SHA-1, hex): its files in the cache, its rescue file.
std::string url_key(const std::string& url);

// A whole file's bytes; empty when it cannot be read.
std::string slurp(const std::filesystem::path& p);

}  // namespace alluvium::detail
