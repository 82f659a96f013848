// Building the deterministic metainfo (alluvium/metainfo.hpp), and reading the info-hash
// of a .torrent or a magnet URI from untrusted input.
#include <alluvium/bencode.hpp>
#include <alluvium/metainfo.hpp>
#include <alluvium/text.hpp>
#include <alluvium/url.hpp>

#include <openssl/evp.h>

#include <algorithm>
#include <bit>
#include <future>
#include <libtorrent/add_torrent_params.hpp>
#include <libtorrent/bdecode.hpp>
#include <libtorrent/magnet_uri.hpp>
#include <stdexcept>

namespace alluvium {
namespace {

struct DigestFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Digest = std::unique_ptr<EVP_MD_CTX, DigestFree>;

Digest new_digest(const EVP_MD* md) {
    Digest d(EVP_MD_CTX_new());
    if (!d || EVP_DigestInit_ex(d.get(), md, nullptr) != 1) {
        throw std::runtime_error("OpenSSL digest initialisation failed");
    }
    return d;
}

std::string final_digest(EVP_MD_CTX* d) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(d, out, &n);
    return std::string(reinterpret_cast<const char*>(out), n);
}

std::string sha1(std::string_view data) {
    const Digest d = new_digest(EVP_sha1());
    EVP_DigestUpdate(d.get(), data.data(), data.size());
    return final_digest(d.get());
}

}  // namespace

struct MetainfoBuilder::Hashers {
    Digest piece = new_digest(EVP_sha1());
    Digest whole = new_digest(EVP_sha256());
};

std::uint32_t piece_size_for(std::uint64_t size) {
    constexpr std::uint64_t min_piece = 16 * 1024;
    constexpr std::uint64_t max_piece = 1024 * 1024;
    const std::uint64_t wanted = std::bit_ceil(std::max<std::uint64_t>(size / 256, 1));
    return static_cast<std::uint32_t>(std::clamp(wanted, min_piece, max_piece));
}

std::string Metainfo::info_hash_hex() const {
    return to_hex(info_hash);
}

std::string Metainfo::torrent(const std::vector<std::string>& trackers,
                              const std::vector<std::string>& web_seeds) const {
    // Splice the stored info dictionary in verbatim so its hash cannot change.
    const auto string = [](const std::string& s) { return std::to_string(s.size()) + ":" + s; };
    std::string out = "d";
    if (!trackers.empty()) {
        out += "8:announce" + string(trackers.front());
    }
    if (trackers.size() > 1) {
        // BEP 12: one tier each; listeners announce to every tier.
        out += "13:announce-listl";
        for (const std::string& t : trackers)
            out += "l" + string(t) + "e";
        out += "e";
    }
    out += "4:info" + info;
    if (!web_seeds.empty()) {
        out += "8:url-listl";
        for (const std::string& w : web_seeds)
            out += string(w);
        out += "e";
    }
    return out + "e";
}

std::string Metainfo::magnet_uri(std::string_view display_name,
                                 const std::vector<std::string>& trackers,
                                 const std::vector<std::string>& web_seeds) const {
    std::string out = "magnet:?xt=urn:btih:" + info_hash_hex() + "&xl=" + std::to_string(size);
    if (!display_name.empty())
        out += "&dn=" + percent_encode(display_name);
    for (const std::string& t : trackers)
        out += "&tr=" + percent_encode(t);
    for (const std::string& w : web_seeds)
        out += "&ws=" + percent_encode(w);
    return out;
}

MetainfoBuilder::MetainfoBuilder(std::uint64_t size)
    : hashers_(std::make_unique<Hashers>()), size_(size), piece_size_(piece_size_for(size)) {}

MetainfoBuilder::~MetainfoBuilder() = default;

bool MetainfoBuilder::feed(std::string_view bytes) {
    if (fed_ + bytes.size() > size_) {
        return false;
    }
    // The two digests are independent: over a large run of bytes (a file read from disk)
    // SHA-256 runs on a second thread while this one hashes the pieces, which brings the
    // builder from the sum of the two hashes' times to the slower one's (bench/hash_bench.cpp).
    // Small runs (a network read) are not worth a thread.
    constexpr std::size_t parallel_from = 1u << 20;
    std::future<void> whole;
    if (bytes.size() >= parallel_from) {
        whole = std::async(std::launch::async, [d = hashers_->whole.get(), bytes] {
            EVP_DigestUpdate(d, bytes.data(), bytes.size());
        });
    } else {
        EVP_DigestUpdate(hashers_->whole.get(), bytes.data(), bytes.size());
    }
    hash_pieces(bytes);
    if (whole.valid())
        whole.get();
    return true;
}

void MetainfoBuilder::hash_pieces(std::string_view bytes) {
    while (!bytes.empty()) {
        const std::size_t take = static_cast<std::size_t>(
            std::min<std::uint64_t>(bytes.size(), piece_size_ - in_piece_));
        EVP_DigestUpdate(hashers_->piece.get(), bytes.data(), take);
        bytes.remove_prefix(take);
        in_piece_ += take;
        fed_ += take;
        if (in_piece_ == piece_size_) {
            pieces_ += final_digest(hashers_->piece.get());
            hashers_->piece = new_digest(EVP_sha1());
            in_piece_ = 0;
        }
    }
}

Metainfo MetainfoBuilder::finish() {
    Metainfo m;
    if (fed_ != size_ || size_ == 0) {
        return m;
    }
    if (in_piece_ > 0) {
        pieces_ += final_digest(hashers_->piece.get());
        in_piece_ = 0;
    }
    m.size = size_;
    m.piece_size = piece_size_;
    m.content_sha256 = to_hex(final_digest(hashers_->whole.get()));
    Bdict info;
    info.emplace("length", static_cast<std::int64_t>(size_));
    info.emplace("name", m.content_sha256);
    info.emplace("piece length", static_cast<std::int64_t>(piece_size_));
    info.emplace("pieces", pieces_);
    m.info = bencode(info);
    m.info_hash = sha1(m.info);
    return m;
}

// ---- reading untrusted metainfo ------------------------------------------------------------
// libtorrent's own decoder and magnet parser (bounded depth and token count), so a listener
// reads a .torrent the way its BitTorrent engine will.

std::string torrent_info_hash(std::string_view torrent, std::string* why) {
    const auto fail = [&](const std::string& what) {
        if (why != nullptr)
            *why = what;
        return std::string();
    };
    lt::error_code ec;
    const lt::bdecode_node doc = lt::bdecode(
        lt::span<char const>(torrent.data(), static_cast<std::ptrdiff_t>(torrent.size())), ec);
    if (ec)
        return fail(ec.message());
    if (doc.type() != lt::bdecode_node::dict_t)
        return fail("not a bencoded dictionary");
    const lt::bdecode_node info = doc.dict_find_dict("info");
    if (!info)
        return fail("no `info` dictionary");
    const auto section = info.data_section();
    return to_hex(sha1(std::string_view(section.data(), static_cast<std::size_t>(section.size()))));
}

std::string magnet_info_hash(std::string_view magnet) {
    lt::error_code ec;
    const lt::add_torrent_params p =
        lt::parse_magnet_uri(lt::string_view(magnet.data(), magnet.size()), ec);
    if (ec || !p.info_hashes.has_v1())
        return {};
    return to_hex(p.info_hashes.v1.to_string());
}

}  // namespace alluvium
