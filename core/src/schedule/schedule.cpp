#include <alluvium/schedule.hpp>

#include "../playlist/timeline.hpp"

#include <algorithm>

namespace alluvium {

std::optional<Schedule> Schedule::build(const Playlist& playlist, Diagnostics* diagnostics) {
    Diagnostics found;
    const auto placed = detail::place_items(playlist, playlist.about, found);
    if (diagnostics != nullptr) {
        diagnostics->insert(diagnostics->end(), found.begin(), found.end());
    }
    if (has_errors(found)) {
        return std::nullopt;
    }
    Schedule s;
    s.loops_ = playlist.loops();
    for (std::size_t i = 0; i < placed.size(); ++i) {
        TimePoint end = placed[i].end;
        // Overlaps cut the earlier item.
        if (i + 1 < placed.size() && placed[i + 1].start < end) {
            end = std::max(placed[i].start, placed[i + 1].start);
        }
        if (end > placed[i].start) {
            s.slots_.push_back({i, placed[i].start, end, 0});
        }
    }
    if (!s.slots_.empty()) {
        const TimePoint origin =
            s.loops_ ? playlist.anchor.value_or(TimePoint{}) : s.slots_.front().start;
        s.cycle_ = s.slots_.back().end - origin;
    }
    return s;
}

TimePoint Schedule::begin() const {
    return slots_.empty() ? TimePoint{} : slots_.front().start;
}

std::optional<TimePoint> Schedule::end() const {
    if (loops_ || slots_.empty()) {
        return std::nullopt;
    }
    return slots_.back().end;
}

Slot Schedule::shifted(std::size_t base, std::uint64_t pass) const {
    Slot s = slots_[base];
    const auto shift = cycle_ * static_cast<std::int64_t>(pass);
    s.start += shift;
    s.end += shift;
    s.pass = pass;
    return s;
}

std::vector<Slot> Schedule::following(std::size_t base, std::uint64_t pass,
                                      std::size_t count) const {
    std::vector<Slot> out;
    while (out.size() < count) {
        if (base >= slots_.size()) {
            if (!loops_) {
                break;
            }
            base = 0;
            ++pass;
        }
        out.push_back(shifted(base, pass));
        ++base;
    }
    return out;
}

OnAir Schedule::at(TimePoint t, std::size_t next_count) const {
    OnAir air;
    if (slots_.empty()) {
        return air;
    }
    if (t < slots_.front().start) {
        air.state = AirState::before_start;
        air.next = following(0, 0, next_count);
        return air;
    }
    std::uint64_t pass = 0;
    TimePoint local = t;
    if (loops_) {
        const auto elapsed = t - (slots_.back().end - cycle_);
        pass = static_cast<std::uint64_t>(elapsed / cycle_);
        local = t - cycle_ * static_cast<std::int64_t>(pass);
    }
    // The last slot that starts at or before `local`.
    const auto after = std::upper_bound(slots_.begin(), slots_.end(), local,
                                        [](TimePoint v, const Slot& s) { return v < s.start; });
    const auto index = static_cast<std::size_t>(std::distance(slots_.begin(), after)) - 1;
    if (local < slots_[index].end) {
        air.state = AirState::playing;
        air.current = shifted(index, pass);
        air.offset = local - slots_[index].start;
        air.next = following(index + 1, pass, next_count);
        return air;
    }
    air.state = (index + 1 == slots_.size() && !loops_) ? AirState::ended : AirState::gap;
    air.next = following(index + 1, pass, next_count);
    return air;
}

std::vector<Slot> Schedule::between(TimePoint from, TimePoint to, std::size_t limit) const {
    std::vector<Slot> out;
    if (slots_.empty() || to <= from) {
        return out;
    }
    std::size_t base = 0;
    std::uint64_t pass = 0;
    if (loops_ && from > slots_.front().start) {
        pass = static_cast<std::uint64_t>((from - slots_.front().start) / cycle_);
    }
    // Walk forward from the first airing of that pass; stop at `to` or after one full pass
    // past the end of a finite schedule.
    while (out.size() < limit) {
        if (base >= slots_.size()) {
            if (!loops_) {
                break;
            }
            base = 0;
            ++pass;
        }
        const Slot s = shifted(base, pass);
        if (s.start >= to) {
            break;
        }
        if (s.end > from) {
            out.push_back(s);
        }
        ++base;
    }
    return out;
}

std::optional<Milliseconds> live_segment_length(const Playlist& playlist, const Schedule& schedule,
                                                TimePoint now) {
    const auto end = schedule.end();
    if (schedule.loops() || !end || playlist.items.empty())
        return std::nullopt;
    if (*end < now - std::chrono::minutes(5) || *end > now + std::chrono::minutes(1))
        return std::nullopt;
    if (playlist.update && playlist.update->interval() <= std::chrono::minutes(1))
        return playlist.update->interval();
    std::vector<Milliseconds> recent;
    for (auto it = playlist.items.rbegin(); it != playlist.items.rend() && recent.size() < 10;
         ++it) {
        if (it->duration)
            recent.push_back(*it->duration);
    }
    if (recent.empty())
        return std::nullopt;
    std::sort(recent.begin(), recent.end());
    return recent[recent.size() / 2];
}

}  // namespace alluvium
