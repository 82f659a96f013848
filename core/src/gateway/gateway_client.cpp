#include <alluvium/fetch.hpp>
#include <alluvium/gateway_client.hpp>
#include <alluvium/text.hpp>
#include <alluvium/url.hpp>

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace alluvium {
namespace {

using nlohmann::json;

constexpr std::size_t max_torrent_bytes = 16u * 1024u * 1024u;
constexpr std::size_t max_peers = 200;

std::optional<std::string> base64_decode(std::string_view text) {
    if (text.empty() || text.size() % 4 != 0 || text.size() / 4 * 3 > max_torrent_bytes) {
        return std::nullopt;
    }
    std::string out(text.size() / 4 * 3, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(text.data()),
                                  static_cast<int>(text.size()));
    if (n < 0) {
        return std::nullopt;
    }
    // EVP_DecodeBlock counts the bytes the '=' padding stands for.
    std::size_t padding = 0;
    for (auto it = text.rbegin(); it != text.rend() && *it == '='; ++it) {
        ++padding;
    }
    out.resize(static_cast<std::size_t>(n) - std::min<std::size_t>(padding, 2));
    return out;
}

GatewayAnswer failed(long status, std::string message) {
    GatewayAnswer a;
    a.state = GatewayState::failed;
    a.http_status = status;
    a.message = std::move(message);
    return a;
}

std::optional<std::string> string_field(const json& j, const char* key) {
    const auto it = j.find(key);
    if (it == j.end() || !it->is_string()) {
        return std::nullopt;
    }
    return it->get<std::string>();
}

std::optional<std::uint64_t> number_field(const json& j, const char* key) {
    const auto it = j.find(key);
    if (it == j.end() || !it->is_number_integer() || it->get<std::int64_t>() < 0) {
        return std::nullopt;
    }
    return it->get<std::uint64_t>();
}

std::optional<MediaLayout> layout_from(const json& j, std::uint64_t size) {
    if (!j.is_object())
        return std::nullopt;
    MediaLayout l;
    l.container = string_field(j, "container").value_or("");
    l.codec = string_field(j, "codec").value_or("");
    const auto number = [&](const char* key) { return number_field(j, key).value_or(0); };
    l.sample_rate = static_cast<int>(std::min<std::uint64_t>(number("sample_rate"), 1'000'000));
    l.channels = static_cast<int>(std::min<std::uint64_t>(number("channels"), 64));
    l.bit_rate =
        static_cast<std::int64_t>(std::min<std::uint64_t>(number("bit_rate"), 1'000'000'000));
    l.duration = Milliseconds{
        static_cast<std::int64_t>(std::min<std::uint64_t>(number("duration_ms"), 1ull << 40))};
    l.header_end = number("header_end");
    l.data_start = number("data_start");
    l.data_end = number("data_end");
    l.index_interval = Milliseconds{static_cast<std::int64_t>(
        std::clamp<std::uint64_t>(number("index_interval_ms"), 1, 3'600'000))};
    if (l.header_end > size || l.data_start > l.data_end || l.data_end > size ||
        l.container.size() > 64 || l.codec.size() > 64) {
        return std::nullopt;
    }
    if (const auto index = j.find("index"); index != j.end()) {
        if (!index->is_array() || index->size() > 10'000'000)
            return std::nullopt;
        std::uint64_t offset = 0;
        for (const auto& delta : *index) {
            if (!delta.is_number_unsigned())
                return std::nullopt;
            offset += delta.get<std::uint64_t>();
            if (offset > size)
                return std::nullopt;
            l.index.push_back(offset);
        }
    }
    return l;
}

GatewayAnswer parse_ready(long status, const json& j, std::string_view media_url) {
    SwarmMetadata m;
    m.media_url = std::string(media_url);
    const auto size = number_field(j, "size");
    const auto piece = number_field(j, "piece_size");
    const auto hash = string_field(j, "info_hash");
    const auto sha = string_field(j, "content_sha256");
    const auto tracker = string_field(j, "tracker");
    const auto torrent = string_field(j, "torrent");
    if (!size || *size == 0)
        return failed(status, "the answer has no valid size");
    if (!piece || *piece < 16384 || *piece > (16u << 20) || (*piece & (*piece - 1)) != 0) {
        return failed(status, "the answer has no valid piece_size");
    }
    if (!hash || !is_lower_hex(*hash, 40))
        return failed(status, "the answer has no valid info_hash");
    if (!sha || !is_lower_hex(*sha, 64))
        return failed(status, "the answer has no valid content_sha256");
    // No tracker (empty): peers come from the DHT, and the answer's peers and seed.
    if (tracker && !tracker->empty() && (tracker->size() > 2048 || !is_tracker_url(*tracker)))
        return failed(status, "the answer has no valid tracker URL");
    if (!torrent)
        return failed(status, "the answer has no torrent");
    auto decoded = base64_decode(*torrent);
    if (!decoded)
        return failed(status, "the answer's torrent is not valid base64");
    m.size = *size;
    m.piece_size = static_cast<std::uint32_t>(*piece);
    m.info_hash = *hash;
    m.content_sha256 = *sha;
    m.tracker_url = tracker ? *tracker : std::string();
    m.torrent = std::move(*decoded);
    if (const auto peers = j.find("peers"); peers != j.end() && peers->is_array()) {
        for (const auto& p : *peers) {
            if (m.peers.size() >= max_peers)
                break;
            if (p.is_string() && p.get<std::string>().size() <= 64) {
                m.peers.push_back(p.get<std::string>());
            }
        }
    }
    if (const auto seed = string_field(j, "seed"); seed && seed->size() <= 64) {
        m.seed = *seed;
    }
    if (const auto dht = j.find("dht"); dht != j.end() && dht->is_boolean()) {
        m.dht = dht->get<bool>();
    }
    if (const auto media = j.find("media"); media != j.end()) {
        m.layout = layout_from(*media, m.size);  // a malformed layout is dropped, not fatal
    }
    GatewayAnswer a;
    a.state = GatewayState::ready;
    a.http_status = status;
    a.metadata = std::move(m);
    return a;
}

}  // namespace

std::string media_layout_to_json(const MediaLayout& l) {
    json index = json::array();
    std::uint64_t previous = 0;
    for (const std::uint64_t offset : l.index) {
        index.push_back(offset - std::min(previous, offset));
        previous = offset;
    }
    return json{{"container", l.container},
                {"codec", l.codec},
                {"sample_rate", l.sample_rate},
                {"channels", l.channels},
                {"bit_rate", l.bit_rate},
                {"duration_ms", l.duration.count()},
                {"header_end", l.header_end},
                {"data_start", l.data_start},
                {"data_end", l.data_end},
                {"index_interval_ms", l.index_interval.count()},
                {"index", index}}
        .dump();
}

std::optional<MediaLayout> media_layout_from_json(std::string_view text, std::uint64_t size) {
    const json j = json::parse(text.begin(), text.end(), nullptr, false);
    return j.is_discarded() ? std::nullopt : layout_from(j, size);
}

GatewayAnswer parse_gateway_answer(long http_status, std::string_view body,
                                   std::string_view media_url) {
    const json j = json::parse(body.begin(), body.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        return failed(http_status, "the gateway's answer is not a JSON object (HTTP " +
                                       std::to_string(http_status) + ")");
    }
    const std::string error = string_field(j, "error").value_or("");
    if (http_status == 200) {
        return parse_ready(http_status, j, media_url);
    }
    if (http_status == 202) {
        GatewayAnswer a;
        a.state = GatewayState::pending;
        a.http_status = http_status;
        a.received = number_field(j, "received").value_or(0);
        a.total = number_field(j, "total").value_or(0);
        const auto retry = number_field(j, "retry_after_ms").value_or(1000);
        a.retry_after =
            Milliseconds{static_cast<std::int64_t>(std::clamp<std::uint64_t>(retry, 50, 60000))};
        a.message = string_field(j, "state").value_or("pending");
        return a;
    }
    GatewayAnswer a =
        failed(http_status, error.empty() ? "HTTP " + std::to_string(http_status) : error);
    if (http_status == 403 || http_status == 413 || http_status == 414) {
        a.state = GatewayState::refused;
    }
    return a;
}

GatewayClient::GatewayClient(std::string base_url, Milliseconds timeout)
    : base_(std::move(base_url)), timeout_(timeout) {
    while (!base_.empty() && base_.back() == '/') {
        base_.pop_back();
    }
}

GatewayAnswer GatewayClient::lookup(const std::string& media_url, const std::string& playlist_url,
                                    Milliseconds wait, const std::atomic<bool>* cancel) const {
    HttpRequest request;
    request.url = base_ + "/v1/swarm?url=" + percent_encode(media_url);
    if (!playlist_url.empty()) {
        request.url += "&playlist=" + percent_encode(playlist_url);
    }
    if (wait.count() > 0) {
        request.url += "&wait=" + std::to_string(wait.count());
    }
    request.max_body_bytes = max_torrent_bytes * 2;
    request.connect_timeout = std::min(timeout_, Milliseconds{5000});
    request.total_timeout = timeout_ + wait;
    request.cancel = cancel;
    std::error_code ec;
    std::string detail;
    const HttpResponse response = http_request(request, ec, &detail);
    if (ec) {
        GatewayAnswer a;
        a.state = GatewayState::unreachable;
        a.message = base_ + ": " + detail;
        return a;
    }
    return parse_gateway_answer(response.status, response.body, media_url);
}

}  // namespace alluvium
