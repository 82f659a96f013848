// The codec module's entry point (codec/codec.hpp): FFmpeg's libraries behind the Codecs
// interface.
#include <alluvium/version.hpp>

#include "../codec.hpp"
#include "libav.hpp"

#include <cstring>

namespace alluvium::detail {

std::optional<MediaInfo> libav_probe(const std::string& path_or_url, std::error_code& ec,
                                     std::string* detail, const ProbeOptions& options);
std::optional<MediaLayout> libav_index(const std::string& path, std::error_code& ec,
                                       std::string* detail);
std::string libav_silence(const AudioParams& params, Milliseconds length);
std::unique_ptr<Remuxer> libav_remuxer();
std::unique_ptr<Remuxer> libav_transcoder(const AudioParams& into);

namespace {

class LibavCodecs final : public Codecs {
  public:
    std::optional<MediaInfo> probe(const std::string& path_or_url, std::error_code& ec,
                                   std::string* detail, const ProbeOptions& options) override {
        return libav_probe(path_or_url, ec, detail, options);
    }
    std::optional<MediaLayout> index(const std::string& path, std::error_code& ec,
                                     std::string* detail) override {
        return libav_index(path, ec, detail);
    }
    std::string encode_silence(const AudioParams& params, Milliseconds length) override {
        return libav_silence(params, length);
    }
    std::unique_ptr<Remuxer> remuxer() override { return libav_remuxer(); }
    std::unique_ptr<Remuxer> transcoder(const AudioParams& into) override {
        return libav_transcoder(into);
    }
};

}  // namespace
}  // namespace alluvium::detail

extern "C" __attribute__((visibility("default"))) alluvium::detail::Codecs* alluvium_codecs(
    const char* core_version) {
    // Built with the core it serves, or not used: the interface is C++ and unversioned.
    if (core_version == nullptr || std::strcmp(core_version, ALLUVIUM_VERSION_STRING) != 0)
        return nullptr;
    alluvium::detail::init_libav();
    static alluvium::detail::LibavCodecs codecs;
    return &codecs;
}
