// Media files made on the spot with the ffmpeg program, for tests that need real media.
#pragma once

#include "process.hpp"

#include <string>
#include <vector>

namespace alluvium::test {

struct MediaSpec {
    std::string file;               // name, extension chooses nothing: args do
    std::vector<std::string> args;  // ffmpeg arguments after the inputs
    double seconds;                 // length of the generated source
    bool video;
    std::string expected_mime;
    bool carries_tags = true;  // raw ADTS has nowhere to keep a title
};

// Ten files, one per format the broadcaster must support.
inline std::vector<MediaSpec> ten_formats() {
    return {
        {"01-tone.mp3", {"-c:a", "libmp3lame", "-b:a", "128k"}, 3.3, false, "audio/mpeg"},
        {"02-vorbis.ogg", {"-c:a", "libvorbis"}, 2.7, false, "audio/ogg"},
        {"03-voice.opus", {"-c:a", "libopus"}, 4.1, false, "audio/ogg"},
        {"04-lossless.flac", {"-c:a", "flac"}, 1.9, false, "audio/flac"},
        {"05-pcm.wav", {"-c:a", "pcm_s16le"}, 2.2, false, "audio/wav"},
        {"06-adts.aac", {"-c:a", "aac", "-f", "adts"}, 3.0, false, "audio/aac", false},
        {"07-itunes.m4a", {"-c:a", "aac"}, 2.4, false, "audio/mp4"},
        {"08-clip.mp4",
         {"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"},
         2.5,
         true,
         "video/mp4"},
        {"09-clip.webm",
         {"-c:v", "libvpx", "-deadline", "realtime", "-c:a", "libopus"},
         2.0,
         true,
         "video/webm"},
        {"10-clip.mkv",
         {"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "flac"},
         1.6,
         true,
         "video/x-matroska"},
    };
}

// Runs ffmpeg; returns its error output on failure, empty on success.
inline std::string make_media(const std::string& path, const MediaSpec& spec, int tone_hz = 440) {
    std::vector<std::string> argv = {"ffmpeg", "-nostdin", "-v", "error", "-y"};
    const std::string secs = std::to_string(spec.seconds);
    if (spec.video) {
        argv.insert(argv.end(),
                    {"-f", "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=" + secs});
    }
    argv.insert(argv.end(), {"-f", "lavfi", "-i",
                             "sine=frequency=" + std::to_string(tone_hz) + ":duration=" + secs,
                             "-metadata", "title=" + spec.file, "-metadata", "artist=Test Signal"});
    argv.insert(argv.end(), spec.args.begin(), spec.args.end());
    argv.push_back(path);
    const RunResult r = run(argv, std::chrono::seconds(60));
    return r.exit_code == 0 ? std::string() : "ffmpeg failed for " + spec.file + ": " + r.err;
}

}  // namespace alluvium::test
