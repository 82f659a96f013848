// Deterministic BitTorrent v1 metainfo for one media file, built while the file streams in.
//
// Determinism is what lets several gateways agree without talking to each other: the info
// dictionary holds only `length`, `name`, `piece length` and `pieces`; the name is the
// SHA-256 of the content (so the URL does not matter) and the piece size comes from the size
// alone (piece_size_for). No creation date, comment, creator, url-list or private flag.
#pragma once

#include <alluvium/text.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace alluvium::gateway {

// Power of two near size/256, between 16 KiB and 1 MiB: about 256 pieces per item, small
// pieces for short audio (a 5 MB song gets 32 KiB pieces, two seconds of 128 kbit/s audio;
// a 6 s live segment gets 16 KiB), 256 KiB for a 64 MiB file.
[[nodiscard]] std::uint32_t piece_size_for(std::uint64_t size);

struct Metainfo {
    std::uint64_t size = 0;
    std::uint32_t piece_size = 0;
    std::string info_hash;       // 20 raw bytes (SHA-1 of the bencoded info dictionary)
    std::string info;            // the bencoded info dictionary
    std::string content_sha256;  // hex, also the file name inside the torrent

    [[nodiscard]] std::string info_hash_hex() const;
    // A complete .torrent: the info dictionary plus `announce` (outside the info, so it
    // does not change the info-hash).
    [[nodiscard]] std::string torrent(const std::vector<std::string>& trackers) const;
};

class MetainfoBuilder {
  public:
    // The size must be known up front (Content-Length); feed() refuses more bytes.
    explicit MetainfoBuilder(std::uint64_t size);
    ~MetainfoBuilder();
    MetainfoBuilder(const MetainfoBuilder&) = delete;
    MetainfoBuilder& operator=(const MetainfoBuilder&) = delete;

    // False once more bytes arrive than announced.
    bool feed(std::string_view bytes);
    [[nodiscard]] std::uint64_t fed() const noexcept { return fed_; }
    // Nullopt-like: empty info_hash when fewer bytes than announced arrived.
    [[nodiscard]] Metainfo finish();

  private:
    struct Hashers;
    std::unique_ptr<Hashers> hashers_;
    std::uint64_t size_;
    std::uint32_t piece_size_;
    std::uint64_t fed_ = 0;
    std::uint64_t in_piece_ = 0;
    std::string pieces_;
};

using alluvium::to_hex;
// 40 hex digits -> 20 bytes; empty string when malformed.
[[nodiscard]] std::string from_hex(std::string_view hex);

}  // namespace alluvium::gateway
