// What the gateway agrees to fetch. It is not an open proxy: a media URL is fetched only if
// it lies on a configured origin, or appears in a playlist the gateway was told about.
//
// Trust: configured origins and playlists told by the operator (configuration or `prime`
// from loopback) may point at private addresses. Playlists named by listeners, and the
// URLs found in them, are fetched only from public addresses unless
// allow_private_addresses is set. The address check runs on every connection the fetch
// makes (redirects included), on the address actually connected to.
#pragma once

#include <alluvium/url.hpp>

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace alluvium::gateway {

enum class AddressClass { global, loopback, private_net, link_local, multicast, reserved, invalid };

// Classifies a literal IPv4 or IPv6 address (IPv4-mapped IPv6 as its IPv4 address).
// link_local covers the cloud metadata address 169.254.169.254.
[[nodiscard]] AddressClass classify_address(const std::string& ip);
[[nodiscard]] const char* address_class_name(AddressClass c);

struct PolicyOptions {
    std::vector<std::string> allowed_origins;  // "http://host:port" (any path)
    bool allow_private_addresses = false;      // also for listener-named playlists
    bool accept_listener_playlists = true;
};

struct Decision {
    bool allowed = false;
    bool private_ok = false;  // may connect to non-global addresses
    std::string reason;       // why not, for the HTTP error and the log
};

class Policy {
  public:
    explicit Policy(PolicyOptions options);

    // Records the items of a playlist. `trusted`: told by the operator.
    void learn_playlist(const std::string& playlist_url, const std::vector<std::string>& item_urls,
                        bool trusted);
    [[nodiscard]] bool knows_playlist(const std::string& playlist_url);
    // The media URLs of a playlist as last read, in play order.
    [[nodiscard]] std::vector<std::string> items_of(const std::string& playlist_url);

    // May this media URL be fetched?
    [[nodiscard]] Decision check_media(const std::string& url);
    // May this playlist (named by a listener, or primed when `trusted`) be read?
    [[nodiscard]] Decision check_playlist(const std::string& url, bool trusted);
    // Whether a connection to `ip` is acceptable under `decision`.
    [[nodiscard]] static bool address_ok(const Decision& decision, const std::string& ip);

    [[nodiscard]] const PolicyOptions& options() const noexcept { return options_; }

  private:
    [[nodiscard]] bool origin_configured(const Url& url) const;

    PolicyOptions options_;
    std::set<std::string> origins_;
    std::mutex mutex_;
    std::map<std::string, bool> media_trust_;  // media URL -> from a trusted playlist
    struct KnownPlaylist {
        bool trusted = false;
        std::vector<std::string> items;
    };
    std::map<std::string, KnownPlaylist> playlists_;
};

}  // namespace alluvium::gateway
