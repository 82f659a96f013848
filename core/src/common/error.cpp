#include <alluvium/error.hpp>

#include <algorithm>

namespace alluvium {
namespace {

class Category final : public std::error_category {
  public:
    const char* name() const noexcept override { return "alluvium"; }
    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
            case errc::ok:
                return "success";
            case errc::invalid_argument:
                return "invalid argument";
            case errc::parse_error:
                return "invalid input";
            case errc::too_large:
                return "input exceeds the configured limit";
            case errc::not_found:
                return "not found";
            case errc::io_error:
                return "input/output error";
            case errc::network_error:
                return "network error";
            case errc::http_error:
                return "HTTP error status";
            case errc::unsupported_media:
                return "unsupported or unreadable media";
            case errc::refused:
                return "refused by policy";
        }
        return "unknown alluvium error";
    }
};

}  // namespace

const std::error_category& alluvium_category() noexcept {
    static const Category category;
    return category;
}

std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), alluvium_category()};
}

std::string Diagnostic::to_string() const {
    std::string out = source.empty() ? std::string("<input>") : source;
    if (line > 0) {
        out += ':' + std::to_string(line);
    }
    out += severity == Severity::error ? ": error: " : ": warning: ";
    if (!field.empty()) {
        out += field + ": ";
    }
    out += message;
    return out;
}

bool has_errors(const Diagnostics& diagnostics) noexcept {
    return std::any_of(diagnostics.begin(), diagnostics.end(),
                       [](const Diagnostic& d) { return d.severity == Severity::error; });
}

}  // namespace alluvium
