#include "swarm_metadata.hpp"

#include <alluvium/file.hpp>
#include <alluvium/metainfo.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

namespace alluvium::broadcaster {

namespace fs = std::filesystem;

std::optional<TorrentLink> publish_swarm_metadata(const fs::path& media,
                                                  const std::string& media_url,
                                                  const SwarmPublishOptions& options,
                                                  std::string& error) {
    std::error_code ec;
    const std::uint64_t size = fs::file_size(media, ec);
    if (ec || size == 0) {
        error = media.string() + ": cannot hash: " + (ec ? ec.message() : "the file is empty");
        return std::nullopt;
    }
    std::ifstream in(media, std::ios::binary);
    if (!in) {
        error = media.string() + ": cannot open: " + std::strerror(errno);
        return std::nullopt;
    }
    // Reads of 4 MiB at a time; progress about every 64 MiB.
    constexpr std::size_t chunk = 4u << 20;
    std::vector<char> buffer(chunk);
    MetainfoBuilder builder(size);
    std::uint64_t since_progress = 0;
    while (builder.fed() < size) {
        in.read(buffer.data(), static_cast<std::streamsize>(chunk));
        const auto got = static_cast<std::size_t>(in.gcount());
        if (got == 0 || !builder.feed(std::string_view(buffer.data(), got))) {
            error = media.string() + ": the file changed size while it was hashed";
            return std::nullopt;
        }
        since_progress += got;
        if (options.progress && (since_progress >= (64u << 20) || builder.fed() == size)) {
            options.progress(builder.fed(), size);
            since_progress = 0;
        }
    }
    const Metainfo meta = builder.finish();
    if (meta.info_hash.empty()) {
        error = media.string() + ": the file changed size while it was hashed";
        return std::nullopt;
    }
    std::vector<std::string> web_seeds;
    if (options.web_seed)
        web_seeds.push_back(media_url);
    const std::string torrent = meta.torrent(options.trackers, web_seeds);
    fs::path torrent_path = media;
    torrent_path += ".torrent";
    if (!replace_file(torrent_path, torrent, &error))
        return std::nullopt;
    TorrentLink link;
    link.info_hash = meta.info_hash_hex();
    link.torrent_url = media_url + ".torrent";
    link.torrent_length = torrent.size();
    link.file_name = torrent_path.filename().string();
    link.content_length = size;
    link.magnet_uri = meta.magnet_uri(media.filename().string(), options.trackers, web_seeds);
    return link;
}

}  // namespace alluvium::broadcaster
