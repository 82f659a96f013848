// What needs FFmpeg's libraries: probing and indexing media files, encoding silence,
// remuxing video items into one MPEG-TS stream, and transcoding the audio items a stream
// cannot take byte for byte into its format. Private to the core.
//
// These live in a module of their own, liballuvium-codec.so (core/src/codec/libav/), which
// the core loads the first time one of them is needed. libavformat and libavcodec pull in
// about a hundred codec and network libraries: loading them cost each listener 30 ms of CPU
// at start and about 20 MiB of resident memory, while a listener of an audio station without
// gaps never uses them.
//
// Threads: codecs() may be called from any thread; it loads the module once. The Codecs
// object is thread-safe; a Remuxer is used as Converter says (stream/remux.hpp).
#pragma once

#include <alluvium/media.hpp>

#include "../stream/framing.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

namespace alluvium::detail {

// The format silence is encoded in: the stream's.
struct AudioParams {
    StreamFormat format = StreamFormat::none;
    std::string codec;  // "mp3", "aac", "vorbis", "opus"
    int sample_rate = 44100;
    int channels = 2;
    std::int64_t bit_rate = 128000;
};

struct TsChunk {
    std::string bytes;     // whole 188-byte transport packets
    Milliseconds from{0};  // item time of the first packet muxed
    Milliseconds to{0};    // item time after the last one
    bool sync = false;     // starts on a video keyframe (any packet when there is no video)
    bool tables = false;   // starts with the PAT and PMT as well (before each keyframe)
};

// An item's bytes as the remuxer reads them (the swarm's Item behind them).
struct ItemSource {
    std::function<std::size_t(std::uint64_t offset, char* out, std::size_t max)> read;
    // Playback reads from `offset` on at `rate` bytes/s, starting in `starts_in`.
    std::function<void(std::uint64_t offset, std::uint64_t rate, Milliseconds starts_in)> need;
    std::function<std::uint64_t()> size;                  // 0 while unknown
    std::function<std::optional<std::string>()> failure;  // why the item cannot come, if so
    // Called on the airing's thread when output is ready after none was, and when the
    // airing ends (the stream may be waiting for either); may be empty. Must not block.
    std::function<void()> made;
};

// An item turned into the stream's format, airing by airing: remuxed into MPEG-TS (video)
// or transcoded into an audio stream's format. See Converter (stream/remux.hpp), which wraps
// it.
class Remuxer {
  public:
    enum class Take { chunk, not_due, waiting, end, error };
    virtual ~Remuxer() = default;
    virtual void start(ItemSource item, Milliseconds offset, std::uint64_t bytes_per_second,
                       std::function<Milliseconds()> item_now, std::string name) = 0;
    virtual void stop() = 0;
    virtual void poke() = 0;
    virtual Take take(Milliseconds until, Milliseconds base, TsChunk& out) = 0;
    [[nodiscard]] virtual std::string error() const = 0;
    [[nodiscard]] virtual std::shared_ptr<const std::string> tables() const = 0;
};

class Codecs {
  public:
    virtual ~Codecs() = default;
    virtual std::optional<MediaInfo> probe(const std::string& path_or_url, std::error_code& ec,
                                           std::string* detail, const ProbeOptions& options) = 0;
    virtual std::optional<MediaLayout> index(const std::string& path, std::error_code& ec,
                                             std::string* detail) = 0;
    // Silence of `length` in `params`' format; "" when it cannot be encoded.
    virtual std::string encode_silence(const AudioParams& params, Milliseconds length) = 0;
    virtual std::unique_ptr<Remuxer> remuxer() = 0;
    // Decodes items and re-encodes them in `into`'s format (its chunks are whole frames or
    // pages; tables() gives an Ogg stream's header pages).
    virtual std::unique_ptr<Remuxer> transcoder(const AudioParams& into) = 0;
};

// The module, loaded on first use; null when it cannot be (codecs_error() says why).
[[nodiscard]] Codecs* codecs();
[[nodiscard]] std::string codecs_error();

}  // namespace alluvium::detail

// The module's entry point: its Codecs, or null when `core_version` is not the version it
// was built with.
extern "C" alluvium::detail::Codecs* alluvium_codecs(const char* core_version);
