#include "metainfo.hpp"

#include "bencode.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <bit>
#include <stdexcept>

namespace alluvium::gateway {
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

std::string from_hex(std::string_view hex) {
    const auto value = [](char c) -> int {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
            return c - 'A' + 10;
        return -1;
    };
    if (hex.size() % 2 != 0) {
        return {};
    }
    std::string out;
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        const int hi = value(hex[i]);
        const int lo = value(hex[i + 1]);
        if (hi < 0 || lo < 0) {
            return {};
        }
        out += static_cast<char>(hi * 16 + lo);
    }
    return out;
}

std::string Metainfo::info_hash_hex() const {
    return to_hex(info_hash);
}

std::string Metainfo::torrent(const std::vector<std::string>& trackers) const {
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
    out += "4:info" + info + "e";
    return out;
}

MetainfoBuilder::MetainfoBuilder(std::uint64_t size)
    : hashers_(std::make_unique<Hashers>()), size_(size), piece_size_(piece_size_for(size)) {}

MetainfoBuilder::~MetainfoBuilder() = default;

bool MetainfoBuilder::feed(std::string_view bytes) {
    if (fed_ + bytes.size() > size_) {
        return false;
    }
    EVP_DigestUpdate(hashers_->whole.get(), bytes.data(), bytes.size());
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
    return true;
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

}  // namespace alluvium::gateway
