// Building the deterministic metainfo (alluvium/metainfo.hpp), and reading the info-hash
// of a .torrent or a magnet URI from untrusted input.
#include <alluvium/bencode.hpp>
#include <alluvium/metainfo.hpp>
#include <alluvium/text.hpp>
#include <alluvium/url.hpp>

#include <openssl/evp.h>

#include <algorithm>
#include <bit>
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

std::string Metainfo::magnet_uri(std::string_view display_name,
                                 const std::vector<std::string>& trackers) const {
    std::string out = "magnet:?xt=urn:btih:" + info_hash_hex() + "&xl=" + std::to_string(size);
    if (!display_name.empty())
        out += "&dn=" + percent_encode(display_name);
    for (const std::string& t : trackers)
        out += "&tr=" + percent_encode(t);
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

// ---- reading untrusted metainfo ------------------------------------------------------------

namespace {

// Skips one bencoded value at `at`; false when malformed, truncated or nested deeper than
// `depth` allows.
bool skip_value(std::string_view doc, std::size_t& at, int depth) {
    if (at >= doc.size() || depth <= 0)
        return false;
    const char c = doc[at];
    if (c == 'i') {
        std::size_t i = at + 1;
        if (i < doc.size() && doc[i] == '-')
            ++i;
        const std::size_t digits = i;
        while (i < doc.size() && doc[i] >= '0' && doc[i] <= '9')
            ++i;
        if (i == digits || i >= doc.size() || doc[i] != 'e')
            return false;
        at = i + 1;
        return true;
    }
    if (c == 'l' || c == 'd') {
        ++at;
        while (at < doc.size() && doc[at] != 'e') {
            if (!skip_value(doc, at, depth - 1))
                return false;
        }
        if (at >= doc.size())
            return false;
        ++at;
        return true;
    }
    if (c < '0' || c > '9')
        return false;
    std::uint64_t length = 0;
    while (at < doc.size() && doc[at] >= '0' && doc[at] <= '9') {
        length = length * 10 + static_cast<std::uint64_t>(doc[at] - '0');
        if (length > doc.size())
            return false;
        ++at;
    }
    if (at >= doc.size() || doc[at] != ':' || length > doc.size() - at - 1)
        return false;
    at += 1 + length;
    return true;
}

// Reads a byte string at `at` (for a dictionary key).
bool read_string(std::string_view doc, std::size_t& at, std::string_view& out) {
    const std::size_t start = at;
    if (!skip_value(doc, at, 1))
        return false;
    const auto colon = doc.find(':', start);
    if (colon == std::string_view::npos || colon >= at)
        return false;
    out = doc.substr(colon + 1, at - colon - 1);
    return true;
}

int base32_value(char c) {
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= '2' && c <= '7')
        return c - '2' + 26;
    return -1;
}

}  // namespace

std::string torrent_info_hash(std::string_view torrent, std::string* why) {
    const auto fail = [&](const char* what) {
        if (why != nullptr)
            *why = what;
        return std::string();
    };
    if (torrent.empty() || torrent.front() != 'd')
        return fail("not a bencoded dictionary");
    std::size_t at = 1;
    std::string_view info;
    while (at < torrent.size() && torrent[at] != 'e') {
        std::string_view key;
        if (!read_string(torrent, at, key))
            return fail("a dictionary key is malformed");
        const std::size_t value_start = at;
        if (!skip_value(torrent, at, 64))
            return fail("a value is malformed, truncated or nested too deep");
        if (key == "info") {
            if (torrent[value_start] != 'd')
                return fail("`info` is not a dictionary");
            info = torrent.substr(value_start, at - value_start);
        }
    }
    if (at + 1 != torrent.size())
        return fail("the dictionary is not closed, or bytes follow it");
    if (info.empty())
        return fail("no `info` dictionary");
    return to_hex(sha1(info));
}

std::string magnet_info_hash(std::string_view magnet) {
    constexpr std::string_view prefix = "urn:btih:";
    if (!magnet.starts_with("magnet:?"))
        return {};
    std::string_view rest = magnet.substr(8);
    while (!rest.empty()) {
        const auto amp = rest.find('&');
        const std::string_view field = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
        if (!field.starts_with("xt="))
            continue;
        std::string_view urn = field.substr(3);
        if (urn.size() < prefix.size() || !iequals(urn.substr(0, prefix.size()), prefix))
            continue;
        urn.remove_prefix(prefix.size());
        if (urn.size() == 40) {
            const std::string raw = from_hex(urn);
            if (raw.size() == 20)
                return to_hex(raw);
        } else if (urn.size() == 32) {
            std::string raw;
            std::uint32_t bits = 0;
            int count = 0;
            for (const char c : urn) {
                const int v = base32_value(c);
                if (v < 0)
                    return {};
                bits = (bits << 5) | static_cast<std::uint32_t>(v);
                count += 5;
                if (count >= 8) {
                    count -= 8;
                    raw += static_cast<char>((bits >> count) & 0xff);
                }
            }
            if (raw.size() == 20)
                return to_hex(raw);
        }
    }
    return {};
}

}  // namespace alluvium
