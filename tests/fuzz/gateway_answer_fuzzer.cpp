// libFuzzer target: a listener parsing whatever a gateway (or an impostor) answers, and the
// .torrent and magnet URI it checks against the playlist's info-hash.
#include <alluvium/gateway_client.hpp>
#include <alluvium/metainfo.hpp>

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) {
        return 0;
    }
    static constexpr long statuses[] = {200, 202, 403, 413, 502};
    const long status = statuses[data[0] % 5];
    const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
    const alluvium::GatewayAnswer a =
        alluvium::parse_gateway_answer(status, body, "http://h/a.mp3");
    if (a.state == alluvium::GatewayState::ready &&
        (!a.metadata || a.metadata->info_hash.size() != 40 || a.metadata->size == 0)) {
        __builtin_trap();  // "ready" must mean usable
    }
    // The same bytes as a .torrent (a gateway's or the playlist's) and as a magnet URI.
    std::string why;
    const std::string hash = alluvium::torrent_info_hash(body, &why);
    if (hash.empty() == why.empty() || (!hash.empty() && hash.size() != 40))
        __builtin_trap();  // a hash, or a reason, never both or neither
    const std::string named = alluvium::magnet_info_hash(body);
    if (!named.empty() && named.size() != 40)
        __builtin_trap();
    return 0;
}
