#include <alluvium/bencode.hpp>

namespace alluvium {
namespace {

void encode(const Bvalue& v, std::string& out) {
    if (const auto* i = std::get_if<std::int64_t>(&v.value)) {
        out += 'i' + std::to_string(*i) + 'e';
    } else if (const auto* s = std::get_if<std::string>(&v.value)) {
        out += std::to_string(s->size()) + ':' + *s;
    } else if (const auto* l = std::get_if<Blist>(&v.value)) {
        out += 'l';
        for (const Bvalue& item : *l) {
            encode(item, out);
        }
        out += 'e';
    } else {
        out += 'd';
        for (const auto& [key, item] : std::get<Bdict>(v.value)) {
            out += std::to_string(key.size()) + ':' + key;
            encode(item, out);
        }
        out += 'e';
    }
}

}  // namespace

std::string bencode(const Bvalue& v) {
    std::string out;
    encode(v, out);
    return out;
}

}  // namespace alluvium
