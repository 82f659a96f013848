// Video on the local stream. Video items cannot follow each other byte for byte, so a
// station with video is remuxed, without re-encoding, into one MPEG-TS stream whose
// timestamps follow the schedule: players go from one item to the next as within one file.
//
// Each airing is demuxed with libavformat on a thread of its own (reading an item waits for
// the swarm); the producer takes its packets as they fall due and muxes them into the
// stream's one MPEG-TS muxer, which lives as long as the items keep the same codecs (so
// continuity counters and tables run on). libavformat stays behind this header.
#pragma once

#include <alluvium/time.hpp>

#include "../codec/codec.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace alluvium::detail {

class Item;

// Thread-safe as its calls say: start(), stop() and take() from the producer's thread;
// poke() from any thread.
class TsRemuxer {
  public:
    TsRemuxer();
    ~TsRemuxer();  // stops the airing's thread
    TsRemuxer(const TsRemuxer&) = delete;
    TsRemuxer& operator=(const TsRemuxer&) = delete;

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
    // time. A chunk ends before each video keyframe, so that joiners can start on one.
    Take take(Milliseconds until, Milliseconds base, TsChunk& out);
    [[nodiscard]] std::string error() const;

    // The stream's current PAT and PMT, for a listener joining mid-stream; null before the
    // first chunk.
    [[nodiscard]] std::shared_ptr<const std::string> tables() const;

  private:
    std::unique_ptr<Remuxer> impl_;  // null without the codec module
};

}  // namespace alluvium::detail
