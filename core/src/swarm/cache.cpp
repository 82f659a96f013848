// Where the swarm engine remembers each item's metadata (cache.hpp).
#include "cache.hpp"

#include <alluvium/file.hpp>
#include <alluvium/text.hpp>

#include <openssl/sha.h>

#include <fstream>
#include <sstream>

namespace alluvium::detail {

namespace fs = std::filesystem;

std::string url_key(const std::string& url) {
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(url.data()), url.size(), digest);
    return to_hex(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

fs::path Cache::path(const std::string& url, const char* ext) const {
    return items / (url_key(url) + ext);
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

void Cache::remember(const std::string& url, const SwarmMetadata& meta) const {
    std::error_code ec;
    fs::create_directories(items, ec);
    replace_file(path(url, ".torrent"), meta.torrent);
    replace_file(path(url, ".item"),
                 "size " + std::to_string(meta.size) + "\nseed " + meta.seed + "\n");
    if (meta.layout)
        replace_file(path(url, ".layout"), media_layout_to_json(*meta.layout));
}

std::optional<SwarmMetadata> Cache::recall(const std::string& url,
                                           std::optional<std::uint64_t> size) const {
    const fs::path torrent = path(url, ".torrent");
    std::error_code ec;
    if (!fs::exists(torrent, ec))
        return std::nullopt;
    SwarmMetadata meta;
    meta.media_url = url;
    meta.torrent = slurp(torrent);
    std::istringstream record(slurp(path(url, ".item")));
    std::string word;
    while (record >> word) {
        if (word == "size")
            record >> meta.size;
        if (word == "seed")
            record >> meta.seed;
    }
    // A playlist that names another size means the origin file changed: ask again.
    if (meta.size == 0 || (size && *size != meta.size))
        return std::nullopt;
    meta.layout = media_layout_from_json(slurp(path(url, ".layout")), meta.size);
    fs::last_write_time(torrent, fs::file_time_type::clock::now(), ec);  // recently used
    return meta;
}

}  // namespace alluvium::detail
