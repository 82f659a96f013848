#include <alluvium/file.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace alluvium {

bool replace_file(const std::filesystem::path& target, std::string_view bytes, std::string* error) {
    namespace fs = std::filesystem;
    const fs::path temporary = target.parent_path() / ("." + target.filename().string() + ".part");
    const auto fail = [&](const fs::path& where, const std::string& why) {
        std::error_code ignored;
        fs::remove(temporary, ignored);
        if (error != nullptr)
            *error = where.string() + ": " + why;
        return false;
    };
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        out.flush();
        if (!out)
            return fail(temporary, std::string("cannot write: ") + std::strerror(errno));
    }
    std::error_code ec;
    fs::rename(temporary, target, ec);
    if (ec)
        return fail(target, "cannot replace: " + ec.message());
    return true;
}

}  // namespace alluvium
