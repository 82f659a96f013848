#include <alluvium/version.hpp>

namespace alluvium {

const char* version_string() noexcept {
    return ALLUVIUM_VERSION_STRING;
}

}  // namespace alluvium
