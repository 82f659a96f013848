// Deterministic BitTorrent v1 metainfo for one media file, built while the file streams in.
// The gateway builds it from what it fetches, `alluvium-broadcaster generate` from the files
// it publishes (and writes it into the playlist); both give the same info-hash for the same
// bytes, so a listener can check a gateway's answer against the playlist.
//
// Determinism is what lets several gateways and the broadcaster agree without talking to
// each other: the info dictionary holds only `length`, `name`, `piece length` and `pieces`;
// the name is the SHA-256 of the content (so the URL does not matter) and the piece size
// comes from the size alone (piece_size_for). No creation date, comment, creator, url-list
// or private flag.
//
// Pure apart from hashing: callable from any thread; a MetainfoBuilder is used by one thread
// at a time (over a run of a MiB or more, feed() hashes on a second thread of its own and
// joins it before it returns).
#pragma once

#include <alluvium/export.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace alluvium {

// Power of two near size/256, between 16 KiB and 1 MiB: about 256 pieces per item, small
// pieces for short audio (a 5 MB song gets 32 KiB pieces, two seconds of 128 kbit/s audio;
// a 6 s live segment gets 16 KiB), 256 KiB for a 64 MiB file.
[[nodiscard]] ALLUVIUM_EXPORT std::uint32_t piece_size_for(std::uint64_t size);

struct ALLUVIUM_EXPORT Metainfo {
    std::uint64_t size = 0;
    std::uint32_t piece_size = 0;
    std::string info_hash;       // 20 raw bytes (SHA-1 of the bencoded info dictionary)
    std::string info;            // the bencoded info dictionary
    std::string content_sha256;  // hex, also the file name inside the torrent

    [[nodiscard]] std::string info_hash_hex() const;
    // A complete .torrent: the info dictionary plus `announce` / `announce-list`, and the
    // web seeds as `url-list` (BEP 19), all outside the info, so they do not change the
    // info-hash.
    [[nodiscard]] std::string torrent(const std::vector<std::string>& trackers,
                                      const std::vector<std::string>& web_seeds = {}) const;
    // "magnet:?xt=urn:btih:<hex>&xl=<size>&dn=<name>&tr=<tracker>...&ws=<web seed>..."
    // (BEP 9).
    [[nodiscard]] std::string magnet_uri(std::string_view display_name,
                                         const std::vector<std::string>& trackers,
                                         const std::vector<std::string>& web_seeds = {}) const;
};

class ALLUVIUM_EXPORT MetainfoBuilder {
  public:
    // The size must be known up front (Content-Length); feed() refuses more bytes.
    explicit MetainfoBuilder(std::uint64_t size);
    ~MetainfoBuilder();
    MetainfoBuilder(const MetainfoBuilder&) = delete;
    MetainfoBuilder& operator=(const MetainfoBuilder&) = delete;

    // False once more bytes arrive than announced.
    bool feed(std::string_view bytes);
    [[nodiscard]] std::uint64_t fed() const noexcept { return fed_; }
    // An empty info_hash when fewer bytes than announced arrived.
    [[nodiscard]] Metainfo finish();

  private:
    void hash_pieces(std::string_view bytes);

    struct Hashers;
    std::unique_ptr<Hashers> hashers_;
    std::uint64_t size_;
    std::uint32_t piece_size_;
    std::uint64_t fed_ = 0;
    std::uint64_t in_piece_ = 0;
    std::string pieces_;
};

// The info-hash (40 lower-case hex digits) of a bencoded .torrent: the SHA-1 of its `info`
// value as it stands in the file. Empty, with `why` set, when the document is not a
// dictionary with an `info` dictionary. Untrusted input: never throws, bounded recursion.
[[nodiscard]] ALLUVIUM_EXPORT std::string torrent_info_hash(std::string_view torrent,
                                                            std::string* why = nullptr);

// The info-hash a magnet URI names (xt=urn:btih:, 40 hex digits or 32 base32), as 40
// lower-case hex digits; empty when it names none.
[[nodiscard]] ALLUVIUM_EXPORT std::string magnet_info_hash(std::string_view magnet);

}  // namespace alluvium
