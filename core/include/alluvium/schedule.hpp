// The schedule: which item of a playlist is on at an instant, and how far into it.
//
// Rules (docs/PLAYLIST-FORMAT.md): an explicit ev:startdate wins; an item without one
// follows the previous item's end, the first item starts at the channel's dc:date (the
// anchor) or, without one, at the Unix epoch. ev:enddate, when given, ends an item,
// otherwise its mm:duration does. A gap between items is silence; when an item starts
// before the previous one ends, the previous one is cut. A playlist in which no item has an
// explicit start loops: it repeats from the anchor forever, so every client computes the
// same answer for the same instant.
//
// A Schedule is an immutable value; its methods are pure and callable from any thread.
// Time is always passed in, so tests drive a 24-hour schedule in microseconds.
#pragma once

#include <alluvium/error.hpp>
#include <alluvium/export.hpp>
#include <alluvium/playlist.hpp>
#include <alluvium/time.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace alluvium {

// One airing of an item.
struct ALLUVIUM_EXPORT Slot {
    std::size_t item = 0;  // index into Playlist::items
    TimePoint start;
    TimePoint end;           // exclusive
    std::uint64_t pass = 0;  // looping stations: how many times the cycle has wrapped

    [[nodiscard]] Milliseconds length() const { return end - start; }
    friend bool operator==(const Slot&, const Slot&) = default;
};

enum class AirState {
    before_start,  // the first item has not started yet
    playing,       // `current` is on
    gap,           // between two items: silence
    ended,         // after the last item of a non-looping station
    empty,         // the station has no items
};

struct ALLUVIUM_EXPORT OnAir {
    AirState state = AirState::empty;
    std::optional<Slot> current;  // set when state == playing
    Milliseconds offset{0};       // how far into `current`
    std::vector<Slot> next;       // the airings after `current` (or after the instant)
};

class ALLUVIUM_EXPORT Schedule {
  public:
    // Builds the schedule of a playlist. Fails (nullopt) only for a playlist that
    // check_playlist() rejects; the reasons are appended to `diagnostics` if given.
    [[nodiscard]] static std::optional<Schedule> build(const Playlist& playlist,
                                                       Diagnostics* diagnostics = nullptr);

    // What is on at `t`, with up to `next_count` following airings.
    [[nodiscard]] OnAir at(TimePoint t, std::size_t next_count = 3) const;

    // Every airing that overlaps [from, to), in order (at most `limit`).
    [[nodiscard]] std::vector<Slot> between(TimePoint from, TimePoint to,
                                            std::size_t limit = 1000) const;

    [[nodiscard]] bool loops() const noexcept { return loops_; }
    [[nodiscard]] bool empty() const noexcept { return slots_.empty(); }
    // Start of the first airing.
    [[nodiscard]] TimePoint begin() const;
    // End of the last airing; nullopt for a looping station.
    [[nodiscard]] std::optional<TimePoint> end() const;
    // Length of one pass of a looping station (including gaps), else of the whole schedule.
    [[nodiscard]] Milliseconds cycle() const noexcept { return cycle_; }

  private:
    Schedule() = default;
    [[nodiscard]] Slot shifted(std::size_t base, std::uint64_t pass) const;
    [[nodiscard]] std::vector<Slot> following(std::size_t base, std::uint64_t pass,
                                              std::size_t count) const;

    std::vector<Slot> slots_;  // one pass, in play order
    bool loops_ = false;
    Milliseconds cycle_{0};
};

// The segment length of a live station, or nullopt when `playlist` is not one. A live
// station is a playlist that grows: it does not loop and its last item ends around `now`
// (within the last five minutes, or within a minute ahead). The length is the re-read
// interval the playlist asks for (a segmenter sets it to its segment length) when that is
// at most a minute, else the median duration of the last ten items.
[[nodiscard]] ALLUVIUM_EXPORT std::optional<Milliseconds> live_segment_length(
    const Playlist& playlist, const Schedule& schedule, TimePoint now);

}  // namespace alluvium
