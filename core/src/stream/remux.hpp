// Items the stream cannot take byte for byte, converted airing by airing by the codec module
// (codec/codec.hpp). libavformat stays behind this header.
//
// Video: video items cannot follow each other byte for byte, so a station with video is
// remuxed, without re-encoding, into one MPEG-TS stream whose timestamps follow the
// schedule: players go from one item to the next as within one file. Each airing is demuxed
// on a thread of its own (reading an item waits for the swarm); the producer takes its
// packets as they fall due and muxes them into the stream's one MPEG-TS muxer, which lives
// as long as the items keep the same codecs (so continuity counters and tables run on).
//
// Audio: an item whose codec cannot follow an audio stream's (FLAC, WAV or Opus on an MP3
// station, MP3 on an Ogg one) is decoded and re-encoded into the stream's format, at its bit
// rate, on a thread of its own per airing; each chunk is whole frames (MP3, ADTS) or whole
// pages (Ogg, where each airing is a new logical stream with its own header pages).
#pragma once

#include <alluvium/time.hpp>

#include "../codec/codec.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace alluvium::detail {

class Item;

// Thread-safe as its calls say: start(), stop(), take() and tables() from the producer's
// thread; poke() from any thread. `made` is called on an airing's thread; it is not called
// once stop() (or the destructor) has returned.
class Converter {
  public:
    // A remuxer into MPEG-TS, or (with `into`) a transcoder into that audio format. `made`:
    // output is ready after none was, or the airing ended (the producer may be waiting for
    // either); may be empty.
    explicit Converter(std::optional<AudioParams> into = std::nullopt,
                       std::function<void()> made = {});
    ~Converter();  // stops the airing's thread
    Converter(const Converter&) = delete;
    Converter& operator=(const Converter&) = delete;

    // Starts an airing of `item` at item time `offset` (from the keyframe at or before it),
    // ending the previous one. `item_now` gives the item time playing now, so the swarm is
    // asked for each byte by when it plays, not by when it is read.
    void start(std::shared_ptr<Item> item, Milliseconds offset, std::uint64_t bytes_per_second,
               std::function<Milliseconds()> item_now, std::string name);
    void stop();
    void poke();  // new bytes of the item may be readable

    using Take = Remuxer::Take;
    // chunk: `out` holds the next chunk; not_due: the next packet plays at or after `until`;
    // waiting: the item's bytes are not here yet; end: every packet of the airing is out;
    // error: the airing cannot go on this stream (error() says why).
    // Muxes the packets due before item time `until` whose stream time is `base` + item
    // time (video). A chunk ends before each video keyframe, so that joiners can start on
    // one.
    Take take(Milliseconds until, Milliseconds base, TsChunk& out);
    [[nodiscard]] std::string error() const;

    // The stream's current PAT and PMT (video), or the airing's Ogg header pages, for a
    // listener joining mid-stream; null before the first chunk and for MP3 and ADTS.
    [[nodiscard]] std::shared_ptr<const std::string> tables() const;

  private:
    std::unique_ptr<Remuxer> impl_;  // null without the codec module
    std::function<void()> made_;
    bool transcodes_ = false;
};

}  // namespace alluvium::detail
