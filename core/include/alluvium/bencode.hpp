// Bencoding (BEP 3) for metainfo and tracker answers: a small value type and a
// deterministic encoder (dictionary keys sorted as raw byte strings). Pure; any thread.
#pragma once

#include <alluvium/export.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace alluvium {

struct Bvalue;
using Blist = std::vector<Bvalue>;
using Bdict = std::map<std::string, Bvalue>;  // std::map keeps keys in byte order

struct Bvalue {
    std::variant<std::int64_t, std::string, Blist, Bdict> value;

    Bvalue(std::int64_t i) : value(i) {}              // NOLINT(google-explicit-constructor)
    Bvalue(std::string s) : value(std::move(s)) {}    // NOLINT(google-explicit-constructor)
    Bvalue(const char* s) : value(std::string(s)) {}  // NOLINT(google-explicit-constructor)
    Bvalue(Blist l) : value(std::move(l)) {}          // NOLINT(google-explicit-constructor)
    Bvalue(Bdict d) : value(std::move(d)) {}          // NOLINT(google-explicit-constructor)
};

[[nodiscard]] ALLUVIUM_EXPORT std::string bencode(const Bvalue& v);

}  // namespace alluvium
