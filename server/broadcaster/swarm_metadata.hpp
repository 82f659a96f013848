// The swarm metadata the broadcaster publishes with each item: the item's deterministic
// metainfo (alluvium/metainfo.hpp, the same a gateway builds), a .torrent beside the media,
// and the ezRSS fields of the item (alluvium::TorrentLink). `generate` does this for every
// item, `live` for every segment as it is cut. Blocking file I/O; one call per thread.
#pragma once

#include <alluvium/playlist.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace alluvium::broadcaster {

struct SwarmPublishOptions {
    std::vector<std::string> trackers;  // announce URLs written into the .torrent and magnet
    // The media URL as a web seed (url-list) too: every listener may then read the origin
    // directly, as WebTorrent does. For comparison (docs/SWARM.md); not the default.
    bool web_seed = false;
    // Called now and then while hashing, with bytes hashed so far and the total.
    std::function<void(std::uint64_t done, std::uint64_t total)> progress;
};

// Hashes `media` (a local file) and writes `<media>.torrent` beside it; `media_url` is where
// the file is published, and the .torrent's URL is `media_url` + ".torrent". Nullopt, with
// `error` naming the file, when it cannot be read or the .torrent cannot be written.
[[nodiscard]] std::optional<TorrentLink> publish_swarm_metadata(const std::filesystem::path& media,
                                                                const std::string& media_url,
                                                                const SwarmPublishOptions& options,
                                                                std::string& error);

}  // namespace alluvium::broadcaster
