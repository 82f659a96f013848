// Loads the codec module (codec.hpp) the first time it is needed.
#include <alluvium/version.hpp>

#include "../common/log.hpp"
#include "codec.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <vector>

namespace alluvium::detail {
namespace {

constexpr const char* module_name = "liballuvium-codec.so";

std::once_flag once;
Codecs* loaded = nullptr;
std::string why;

// Where the module may be: named by ALLUVIUM_CODEC_MODULE; beside the core library, in
// alluvium/ (as installed: $libdir/alluvium/, and so in the build tree); where this build
// put it; where it installs it.
std::vector<std::string> places() {
    std::vector<std::string> out;
    if (const char* env = std::getenv("ALLUVIUM_CODEC_MODULE"); env != nullptr && *env != '\0')
        out.emplace_back(env);
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&codecs), &info) != 0 && info.dli_fname != nullptr) {
        out.push_back(
            (std::filesystem::path(info.dli_fname).parent_path() / "alluvium" / module_name)
                .string());
    }
#ifdef ALLUVIUM_CODEC_MODULE_BUILD
    out.emplace_back(ALLUVIUM_CODEC_MODULE_BUILD);
#endif
#ifdef ALLUVIUM_CODEC_MODULE_INSTALL
    out.emplace_back(ALLUVIUM_CODEC_MODULE_INSTALL);
#endif
    return out;
}

void load() {
    std::string tried;
    for (const std::string& place : places()) {
        std::error_code ec;
        if (!std::filesystem::exists(place, ec))
            continue;
        void* handle = dlopen(place.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (handle == nullptr) {
            why = place + ": " + dlerror();
            continue;
        }
        using Entry = Codecs* (*)(const char*);
        auto entry = reinterpret_cast<Entry>(dlsym(handle, "alluvium_codecs"));
        Codecs* c = entry != nullptr ? entry(ALLUVIUM_VERSION_STRING) : nullptr;
        if (c == nullptr) {
            why = place + ": not the codec module of Alluvium " ALLUVIUM_VERSION_STRING;
            dlclose(handle);
            continue;
        }
        loaded = c;  // stays loaded for the life of the process
        log().debug("codecs: {}", place);
        return;
    }
    if (why.empty())
        why = std::string(module_name) + " not found (set ALLUVIUM_CODEC_MODULE to its path)";
    log().error("codecs: {}: media cannot be probed, encoded or remuxed", why);
}

}  // namespace

Codecs* codecs() {
    std::call_once(once, load);
    return loaded;
}

std::string codecs_error() {
    std::call_once(once, load);
    return why;
}

}  // namespace alluvium::detail
