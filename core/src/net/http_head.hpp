// Response heads written by hand for the server's streams (core/src/stream/listeners.cpp,
// event_stream.cpp): header values can come from a playlist, so none may break a line.
#pragma once

#include <alluvium/http_server.hpp>

#include <algorithm>
#include <string>

namespace alluvium::detail {

// `v` without CR, LF or NUL, and at most 512 bytes.
inline std::string header_value(std::string v) {
    v.erase(std::remove_if(v.begin(), v.end(),
                           [](char c) { return c == '\r' || c == '\n' || c == '\0'; }),
            v.end());
    return v.substr(0, 512);
}

// "Name: value\r\n" for each header.
inline std::string header_lines(const HttpHeaders& headers) {
    std::string out;
    for (const auto& [name, value] : headers)
        out += header_value(name) + ": " + header_value(value) + "\r\n";
    return out;
}

}  // namespace alluvium::detail
