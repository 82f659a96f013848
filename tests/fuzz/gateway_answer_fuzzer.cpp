// libFuzzer target: a listener parsing whatever a gateway (or an impostor) answers.
#include <alluvium/gateway_client.hpp>

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
    return 0;
}
