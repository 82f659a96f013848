// libFuzzer target: what the core's HTTP servers parse themselves, beyond Beast's request
// parser: query parameters (percent-decoding, raw values) and the Range header (the
// listener's /items/<n>, the gateway's /v1/media).
#include <alluvium/http_server.hpp>

#include "stream/listeners.hpp"

#include <cstdint>
#include <cstring>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string input(reinterpret_cast<const char*>(data), size);
    alluvium::HttpServerRequest request;
    request.method = "GET";
    request.target = input;
    const auto q = input.find('?');
    request.path = input.substr(0, q);
    request.query = q == std::string::npos ? std::string() : input.substr(q + 1);
    request.headers = {{"Range", input}, {"Icy-MetaData", input}};
    for (const char* name : {"url", "playlist", "wait", "info_hash", ""}) {
        const auto decoded = request.param(name);
        const auto raw = request.raw_param(name);
        if (decoded.has_value() != raw.has_value() || (raw && decoded->size() > raw->size()))
            __builtin_trap();  // decoding never adds bytes, and finds what the raw lookup finds
    }
    (void)request.header("range");

    std::uint64_t item_size = 0;
    std::memcpy(&item_size, data, std::min(size, sizeof item_size));
    const auto r = alluvium::parse_byte_range(input, item_size);
    if (r.partial && r.satisfiable && (r.first > r.last || r.last >= item_size))
        __builtin_trap();  // a range served must lie inside the item
    return 0;
}
