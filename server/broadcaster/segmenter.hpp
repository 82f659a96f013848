// Cuts a live source into segments that each decode on their own, without re-encoding.
//
// The source is anything libavformat opens: a file (paced in real time when asked), an
// HTTP or Icecast stream, a capture device, or standard input ("-"). Audio is cut on frame
// boundaries (MP3, AAC as ADTS, Opus and Vorbis in Ogg), video on keyframes (H.264/HEVC with
// their audio in MPEG-TS, VP8/VP9 with Opus or Vorbis in WebM). Each segment is written
// under a hidden temporary name in the output folder and renamed when complete, so a web
// server never hands out half a segment.
#pragma once

#include <alluvium/time.hpp>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace alluvium::broadcaster {

class StopSignal;

struct SegmenterOptions {
    std::string input;                // path, URL, device, or "-" for standard input
    std::string input_format;         // libavformat demuxer name ("v4l2", "alsa"); empty: guess
    Milliseconds length{6000};        // target segment length; segments end on the next cut
    bool pace = false;                // read no faster than real time (a file as a live source)
    std::filesystem::path dir;        // where segments are published
    std::string prefix = "segment-";  // file names: prefix + 6-digit number + extension
    unsigned first_number = 1;
    Milliseconds stall_timeout{10000};   // a read that blocks this long: the source stalled
    const StopSignal* cancel = nullptr;  // once requested, a blocked read gives up at once
};

struct Segment {
    unsigned number = 0;
    std::filesystem::path file;  // published (renamed) file
    std::string mime_type;
    std::uint64_t bytes = 0;
    Milliseconds duration{0};  // exact: from the first timestamp of this segment to the next's
    TimePoint start{};         // capture time of its first sample
};

class Segmenter {
  public:
    // Opens the source and chooses the output format from its codecs. Throws
    // std::runtime_error naming the input when it cannot be opened or cut without
    // re-encoding.
    explicit Segmenter(SegmenterOptions options);
    ~Segmenter();
    Segmenter(const Segmenter&) = delete;
    Segmenter& operator=(const Segmenter&) = delete;

    // Reads until the current segment is complete and publishes it. Returns nothing when
    // the source ended or stalled (the last partial segment is published first if it has
    // any media: the next call then returns it); reopen() starts again.
    std::optional<Segment> next();

    // Opens the source again after an end or a stall (a new capture clock; numbering goes
    // on). Throws like the constructor.
    void reopen();

    // "mp3, 44100 Hz stereo, 128 kb/s -> .mp3", for the status line.
    [[nodiscard]] std::string describe() const;
    // Why the last next() returned nothing: "the source ended", "no data for 10 s".
    [[nodiscard]] std::string stop_reason() const;
    [[nodiscard]] unsigned next_number() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace alluvium::broadcaster
