// Replacing a file whole: what a web server, a tracker or the next run reads is either the
// old file or the new one, never half of either. Callable from any thread; blocks on disk.
#pragma once

#include <alluvium/export.hpp>

#include <filesystem>
#include <string>
#include <string_view>

namespace alluvium {

// Writes `bytes` to a hidden file beside `target`, then renames it over `target`.
// On failure returns false, leaves `target` as it was and, when `error` is given, says
// which file and why.
ALLUVIUM_EXPORT bool replace_file(const std::filesystem::path& target, std::string_view bytes,
                                  std::string* error = nullptr);

}  // namespace alluvium
