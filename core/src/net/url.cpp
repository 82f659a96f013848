#include <alluvium/url.hpp>

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>

namespace alluvium {
namespace {

struct UrlFree {
    void operator()(CURLU* u) const { curl_url_cleanup(u); }
};

std::optional<std::string> part(CURLU* u, CURLUPart which, unsigned flags = 0) {
    char* value = nullptr;
    if (curl_url_get(u, which, &value, flags) != CURLUE_OK || value == nullptr) {
        return std::nullopt;
    }
    std::string out(value);
    curl_free(value);
    return out;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

}  // namespace

std::string Url::origin() const {
    const bool default_port =
        (scheme == "http" && port == 80) || (scheme == "https" && port == 443);
    // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) on "..." + std::string&&.
    std::string out = scheme + "://";
    if (host.find(':') != std::string::npos)
        out.append("[").append(host).append("]");
    else
        out.append(host);
    if (!default_port)
        out.append(":").append(std::to_string(port));
    return out;
}

std::optional<Url> parse_url(std::string_view text) {
    if (text.empty() || text.size() > 65536 ||
        std::any_of(text.begin(), text.end(),
                    [](unsigned char c) { return c <= 0x20 || c == 0x7f; })) {
        return std::nullopt;
    }
    std::unique_ptr<CURLU, UrlFree> u(curl_url());
    if (!u || curl_url_set(u.get(), CURLUPART_URL, std::string(text).c_str(), 0) != CURLUE_OK) {
        return std::nullopt;
    }
    Url url;
    url.scheme = lower(part(u.get(), CURLUPART_SCHEME).value_or(""));
    if (url.scheme != "http" && url.scheme != "https") {
        return std::nullopt;
    }
    if (part(u.get(), CURLUPART_USER) || part(u.get(), CURLUPART_PASSWORD)) {
        return std::nullopt;  // credentials in URLs leak into logs and caches
    }
    std::string host = lower(part(u.get(), CURLUPART_HOST).value_or(""));
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    if (host.empty()) {
        return std::nullopt;
    }
    url.host = host;
    const auto port = part(u.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT);
    try {
        const int p = std::stoi(port.value_or("0"));
        if (p <= 0 || p > 65535) {
            return std::nullopt;
        }
        url.port = static_cast<std::uint16_t>(p);
    } catch (...) {
        return std::nullopt;
    }
    url.path = part(u.get(), CURLUPART_PATH).value_or("/");
    url.query = part(u.get(), CURLUPART_QUERY).value_or("");
    return url;
}

bool is_tracker_url(std::string_view text) {
    constexpr std::string_view udp = "udp://";
    if (text.substr(0, udp.size()) != udp)
        return parse_url(text).has_value();
    const std::string_view rest = text.substr(udp.size());
    const auto host_end = rest.find('/');
    return rest.substr(0, host_end).find(':') != std::string_view::npos &&
           parse_url("http://" + std::string(rest)).has_value();
}

std::string percent_encode(std::string_view text, bool keep_slash) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~' ||
            (keep_slash && c == '/')) {
            out += ch;
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

std::string percent_decode(std::string_view text, bool plus_is_space) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
            hex_value(text[i + 2]) >= 0) {
            out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
            i += 2;
        } else if (plus_is_space && text[i] == '+') {
            out += ' ';
        } else {
            out += text[i];
        }
    }
    return out;
}

}  // namespace alluvium
