// libFuzzer target: the tracker's announce parsing and answering, from a raw query string.
#include "tracker.hpp"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static alluvium::gateway::Tracker tracker;
    static const bool registered = [] {
        tracker.add_torrent(std::string(20, 'a'),
                            std::pair<std::string, std::uint16_t>{"127.0.0.1", 6881});
        return true;
    }();
    (void)registered;
    alluvium::HttpServerRequest request;
    request.method = "GET";
    request.path = "/announce";
    request.query.assign(reinterpret_cast<const char*>(data), size);
    request.remote_address = size % 2 == 0 ? "127.0.0.1" : "::ffff:10.1.2.3";
    const alluvium::HttpServerResponse answer = tracker.handle(request);
    if (answer.status != 200 && answer.status != 400 && answer.status != 404) {
        __builtin_trap();
    }
    return 0;
}
