// What is known of media without decoding them (MIME types, what goes on a stream), and the
// public probing calls, which the codec module answers (codec/codec.hpp).
#include <alluvium/error.hpp>
#include <alluvium/media.hpp>

#include "../codec/codec.hpp"

#include <set>

namespace alluvium {

bool remuxable_video(const std::string& mime_type) {
    return mime_type == "video/mp4" || mime_type == "video/mp2t" ||
           mime_type == "video/x-matroska" || mime_type == "video/quicktime" ||
           mime_type == "video/mpeg";
}

bool plays_on_stream(const std::string& mime_type, const std::string& stream_type) {
    if (stream_type == "video/mp2t") {
        return remuxable_video(mime_type) || mime_type == "audio/mpeg" ||
               mime_type == "audio/aac" || mime_type == "audio/aacp" || mime_type == "audio/mp4" ||
               mime_type.empty();
    }
    return mime_type == "audio/mpeg" || mime_type == "audio/aac" || mime_type == "audio/ogg" ||
           mime_type == "application/ogg" || mime_type.empty();
}

std::string mime_type_for(const MediaInfo& info) {
    const std::string& c = info.container;
    const bool video = info.has_video;
    if (c == "mp3")
        return "audio/mpeg";
    if (c == "ogg")
        return video ? "video/ogg" : "audio/ogg";
    if (c == "flac")
        return "audio/flac";
    if (c == "wav")
        return "audio/wav";
    if (c == "aac")
        return "audio/aac";
    if (c == "aiff")
        return "audio/aiff";
    if (c == "mpegts")
        return "video/mp2t";
    if (c == "mpeg")
        return "video/mpeg";
    if (c == "flv")
        return "video/x-flv";
    if (c == "avi")
        return "video/x-msvideo";
    if (c == "asf")
        return video ? "video/x-ms-asf" : "audio/x-ms-wma";
    if (c.rfind("mov,mp4", 0) == 0)
        return video ? "video/mp4" : "audio/mp4";
    if (c == "matroska,webm") {
        // A Matroska file whose codecs are all WebM codecs is a WebM file.
        static const std::set<std::string> webm = {"vp8", "vp9", "av1", "vorbis", "opus"};
        const bool is_webm = (info.audio_codec.empty() || webm.count(info.audio_codec) > 0) &&
                             (info.video_codec.empty() || webm.count(info.video_codec) > 0);
        if (is_webm)
            return video ? "video/webm" : "audio/webm";
        return video ? "video/x-matroska" : "audio/x-matroska";
    }
    return "application/octet-stream";
}

std::optional<MediaInfo> probe_media(const std::string& path_or_url, std::error_code& ec,
                                     std::string* detail, const ProbeOptions& options) {
    if (auto* c = detail::codecs())
        return c->probe(path_or_url, ec, detail, options);
    ec = errc::unsupported_media;
    if (detail != nullptr)
        *detail = detail::codecs_error();
    return std::nullopt;
}

std::optional<MediaLayout> index_media(const std::string& path, std::error_code& ec,
                                       std::string* detail) {
    if (auto* c = detail::codecs())
        return c->index(path, ec, detail);
    ec = errc::unsupported_media;
    if (detail != nullptr)
        *detail = detail::codecs_error();
    return std::nullopt;
}

}  // namespace alluvium
