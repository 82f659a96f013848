#include "policy.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace alluvium::gateway {
namespace {

AddressClass classify_v4(const unsigned char a[4]) {
    const auto in = [&](unsigned char b0, unsigned char mask0, unsigned char b1 = 0,
                        unsigned char mask1 = 0) {
        return (a[0] & mask0) == b0 && (a[1] & mask1) == b1;
    };
    if (in(127, 0xff))
        return AddressClass::loopback;
    if (in(10, 0xff) || in(172, 0xff, 16, 0xf0) || in(192, 0xff, 168, 0xff) ||
        in(100, 0xff, 64, 0xc0)) {
        return AddressClass::private_net;  // RFC 1918 and carrier-grade NAT
    }
    if (in(169, 0xff, 254, 0xff))
        return AddressClass::link_local;
    if (in(224, 0xf0))
        return AddressClass::multicast;
    if (in(0, 0xff) || in(240, 0xf0) || in(198, 0xff, 18, 0xfe) ||
        (a[0] == 192 && a[1] == 0 && (a[2] == 0 || a[2] == 2)) ||
        (a[0] == 198 && a[1] == 51 && a[2] == 100) || (a[0] == 203 && a[1] == 0 && a[2] == 113)) {
        return AddressClass::reserved;  // this network, future use, benchmarking, documentation
    }
    return AddressClass::global;
}

}  // namespace

AddressClass classify_address(const std::string& ip) {
    unsigned char a[16];
    if (inet_pton(AF_INET, ip.c_str(), a) == 1) {
        return classify_v4(a);
    }
    if (inet_pton(AF_INET6, ip.c_str(), a) != 1) {
        return AddressClass::invalid;
    }
    static constexpr unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(a, mapped, 12) == 0) {
        return classify_v4(a + 12);
    }
    static constexpr unsigned char zero[16] = {};
    if (std::memcmp(a, zero, 15) == 0) {
        return a[15] == 1 ? AddressClass::loopback : AddressClass::reserved;  // ::1, ::
    }
    if ((a[0] & 0xfe) == 0xfc)
        return AddressClass::private_net;  // fc00::/7 unique local
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
        return AddressClass::link_local;  // fe80::/10
    if (a[0] == 0xff)
        return AddressClass::multicast;
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8) {
        return AddressClass::reserved;  // 2001:db8::/32 documentation
    }
    return AddressClass::global;
}

const char* address_class_name(AddressClass c) {
    switch (c) {
        case AddressClass::global:
            return "global";
        case AddressClass::loopback:
            return "loopback";
        case AddressClass::private_net:
            return "private";
        case AddressClass::link_local:
            return "link-local";
        case AddressClass::multicast:
            return "multicast";
        case AddressClass::reserved:
            return "reserved";
        case AddressClass::invalid:
            return "invalid";
    }
    return "invalid";
}

Policy::Policy(PolicyOptions options) : options_(std::move(options)) {
    for (const std::string& origin : options_.allowed_origins) {
        if (const auto url = parse_url(origin)) {
            origins_.insert(url->origin());
        }
    }
}

bool Policy::origin_configured(const Url& url) const {
    return origins_.count(url.origin()) > 0;
}

void Policy::learn_playlist(const std::string& playlist_url,
                            const std::vector<std::string>& item_urls, bool trusted) {
    std::lock_guard lock(mutex_);
    KnownPlaylist& known = playlists_[playlist_url];
    known.trusted = known.trusted || trusted;
    known.items = item_urls;
    for (const std::string& item : item_urls) {
        bool& t = media_trust_[item];
        t = t || known.trusted;
    }
}

std::vector<std::string> Policy::items_of(const std::string& playlist_url) {
    std::lock_guard lock(mutex_);
    const auto found = playlists_.find(playlist_url);
    return found == playlists_.end() ? std::vector<std::string>{} : found->second.items;
}

bool Policy::knows_playlist(const std::string& playlist_url) {
    std::lock_guard lock(mutex_);
    return playlists_.count(playlist_url) > 0;
}

Decision Policy::check_media(const std::string& url) {
    const auto parsed = parse_url(url);
    if (!parsed) {
        return {false, false, "not an absolute http(s) URL"};
    }
    if (origin_configured(*parsed)) {
        return {true, true, {}};
    }
    std::lock_guard lock(mutex_);
    const auto found = media_trust_.find(url);
    if (found == media_trust_.end()) {
        return {false, false,
                "the URL is not on an allowed origin and not in a playlist this gateway knows"};
    }
    return {true, found->second || options_.allow_private_addresses, {}};
}

Decision Policy::check_playlist(const std::string& url, bool trusted) {
    const auto parsed = parse_url(url);
    if (!parsed) {
        return {false, false, "not an absolute http(s) URL"};
    }
    const bool configured = origin_configured(*parsed);
    if (!trusted && !configured && !options_.accept_listener_playlists) {
        return {false, false, "this gateway does not read playlists named by listeners"};
    }
    return {true, trusted || configured || options_.allow_private_addresses, {}};
}

bool Policy::address_ok(const Decision& decision, const std::string& ip) {
    const AddressClass c = classify_address(ip);
    if (c == AddressClass::invalid || c == AddressClass::multicast) {
        return false;
    }
    return c == AddressClass::global || decision.private_ok;
}

}  // namespace alluvium::gateway
