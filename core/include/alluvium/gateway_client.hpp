// Client side of the gateway API: what a listener needs to join an item's swarm.
// Gateway answers are untrusted input: every field is checked before use.
#pragma once

#include <alluvium/export.hpp>
#include <alluvium/media.hpp>
#include <alluvium/time.hpp>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace alluvium {

struct ALLUVIUM_EXPORT SwarmMetadata {
    std::string media_url;
    std::uint64_t size = 0;
    std::uint32_t piece_size = 0;
    std::string info_hash;       // 40 lower-case hex digits (BitTorrent v1)
    std::string content_sha256;  // 64 hex digits
    std::string tracker_url;
    std::string torrent;                // bencoded metainfo, without a url-list
    std::vector<std::string> peers;     // "ip:port" / "[ip6]:port" the gateway's tracker knows
    std::string seed;                   // "ip:port" of the gateway's own seed, if it says
    bool dht = false;                   // the seed is a Mainline DHT node to bootstrap from
    std::optional<MediaLayout> layout;  // how play time maps to bytes, when the gateway could tell
};

enum class GatewayState {
    ready,        // metadata is in `metadata`
    pending,      // the gateway is fetching or hashing: ask again after `retry_after`
    refused,      // the gateway will not fetch this URL (allow-list, size)
    failed,       // the origin failed, or the answer was malformed
    unreachable,  // no answer from the gateway
};

struct ALLUVIUM_EXPORT GatewayAnswer {
    GatewayState state = GatewayState::unreachable;
    std::optional<SwarmMetadata> metadata;
    Milliseconds retry_after{1000};
    std::uint64_t received = 0;  // pending: bytes fetched or hashed so far
    std::uint64_t total = 0;     // pending: bytes expected (0: unknown)
    long http_status = 0;
    std::string message;  // why, for refused/failed/unreachable
};

// The gateway API's JSON form of a media layout (an object), and back. The index travels
// as differences between successive offsets. Parsing checks every field against `size`.
[[nodiscard]] ALLUVIUM_EXPORT std::string media_layout_to_json(const MediaLayout& layout);
[[nodiscard]] ALLUVIUM_EXPORT std::optional<MediaLayout> media_layout_from_json(
    std::string_view json, std::uint64_t size);

// Parses one answer of GET /v1/swarm. Pure; never throws.
[[nodiscard]] ALLUVIUM_EXPORT GatewayAnswer parse_gateway_answer(long http_status,
                                                                 std::string_view body,
                                                                 std::string_view media_url);

class ALLUVIUM_EXPORT GatewayClient {
  public:
    // `base_url`: "http://127.0.0.1:8767". `timeout` bounds each request beyond its wait.
    explicit GatewayClient(std::string base_url, Milliseconds timeout = Milliseconds{10000});

    // Asks for an item's metadata. `playlist_url` names the playlist the item comes from
    // (so the gateway may learn that it is allowed); `wait` lets the gateway hold the
    // answer that long for a fetch in progress. Blocks up to wait + timeout; thread-safe.
    // `cancel`, when set and true, ends the request within about a second.
    [[nodiscard]] GatewayAnswer lookup(const std::string& media_url,
                                       const std::string& playlist_url = {},
                                       Milliseconds wait = Milliseconds{0},
                                       const std::atomic<bool>* cancel = nullptr) const;

    [[nodiscard]] const std::string& base_url() const noexcept { return base_; }

  private:
    std::string base_;
    Milliseconds timeout_;
};

}  // namespace alluvium
