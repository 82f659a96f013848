// The station's stream as it is produced: a buffer of recent chunks that every listener
// reads at its own position. The producer keeps it a few seconds ahead of the schedule;
// a listener joins at the chunk playing now, so its first bytes are what is scheduled now
// and the seconds ahead arrive at once (Icecast's burst on connect). Thread-safe.
#pragma once

#include <alluvium/http_server.hpp>
#include <alluvium/time.hpp>

#include "framing.hpp"

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace alluvium::detail {

struct Chunk {
    std::string bytes;
    TimePoint play_at;       // schedule time of the first byte
    Milliseconds length{0};  // play time the bytes cover
    // Offset in `bytes` of the first frame (Ogg page) start; npos when none starts here.
    std::size_t sync = std::string::npos;
    // Bytes begin with the item's own first byte, or (MPEG-TS) with the PAT and PMT: a
    // listener joining here needs no `headers`.
    bool starts_item = false;
    // Ogg: the item's header pages, which a listener joining mid-item must get first.
    std::shared_ptr<const std::string> headers;
    std::string title;           // what plays (ICY StreamTitle)
    int item = -1;               // playlist index; -1 for silence
    std::uint64_t position = 0;  // stream offset of bytes[0] (set by Broadcast::append)
};

// One listener's place in the stream, shared with the broadcast for lag checks.
struct ListenerSlot {
    std::atomic<std::uint64_t> position{0};
    // False until the listener has a place: waiting for the first frame start it can join
    // at (an MPEG-TS keyframe may be a GOP away), it cannot lag.
    std::atomic<bool> joined{false};
    std::weak_ptr<HttpStream> stream;
    std::string peer;  // "127.0.0.1:40000", for the log
};

class Broadcast {
  public:
    // Keeps at least `keep` of play time behind the head; drops a listener whose position
    // plays more than `max_lag` before now.
    Broadcast(Milliseconds keep, Milliseconds max_lag);

    void set_format(StreamFormat format);
    [[nodiscard]] StreamFormat format() const;

    // Producer side.
    void append(Chunk chunk, TimePoint now);
    [[nodiscard]] TimePoint head_time() const;  // play time right after the last byte
    [[nodiscard]] std::uint64_t head() const;   // stream offset after the last byte

    struct Join {
        std::uint64_t position = 0;
        std::shared_ptr<const std::string> headers;  // to send before position (Ogg)
        bool ok = false;                             // false: nothing to join yet
    };
    // Where a listener connecting at `now` starts: a frame start in the chunk playing now.
    [[nodiscard]] Join join(TimePoint now) const;

    enum class Read { data, wait, gone };
    // Copies up to `max` bytes from `position` into `out` (and advances it), stopping at a
    // chunk end so that `title` is right for all of them.
    [[nodiscard]] Read read(std::uint64_t& position, std::size_t max, std::string& out,
                            std::string& title) const;

    void add_listener(const std::shared_ptr<ListenerSlot>& slot);
    [[nodiscard]] std::size_t listeners() const;
    [[nodiscard]] std::uint64_t dropped() const noexcept { return dropped_; }

  private:
    [[nodiscard]] std::deque<Chunk>::const_iterator chunk_at(std::uint64_t position) const;
    [[nodiscard]] TimePoint time_at(std::uint64_t position) const;  // with mutex_ held
    void wake_and_check(TimePoint now);

    const Milliseconds keep_;
    const Milliseconds max_lag_;
    mutable std::mutex mutex_;
    StreamFormat format_ = StreamFormat::none;
    std::deque<Chunk> chunks_;
    std::uint64_t head_ = 0;
    std::vector<std::shared_ptr<ListenerSlot>> slots_;
    std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace alluvium::detail
