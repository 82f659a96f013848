// One item's piece deadlines: what playback needs soon is asked of libtorrent with
// deadlines (time-critical pieces) or top priority, paced or focused at a tune-in.
#include "../common/log.hpp"
#include "item_state.hpp"

#include <algorithm>

namespace alluvium::detail {

// ---- deadlines -------------------------------------------------------------------------------

bool Item::State::all_pieces() const {
    return !pieces_.have.empty() && all_here(0, pieces_.have.size());
}

bool Item::State::all_here(std::size_t from, std::size_t to) const {
    return std::all_of(pieces_.have.begin() + static_cast<std::ptrdiff_t>(from),
                       pieces_.have.begin() + static_cast<std::ptrdiff_t>(to),
                       [](bool h) { return h; });
}

bool Item::State::next_seconds_missing() const {
    const auto& have = pieces_.have;
    const std::uint64_t piece = pieces_.piece_size;
    if (have.empty() || piece == 0 || need_.rate == 0)
        return false;
    const auto first = static_cast<std::size_t>(need_.offset / piece);
    const auto near = std::min<std::uint64_t>(
        have.size() - 1,
        (need_.offset + std::max(bytes_for(need_.rate, std::chrono::seconds(4)), piece)) / piece);
    return first <= near && !all_here(first, near + 1);
}

Milliseconds Item::State::lead(Steady::time_point now) const {
    return std::chrono::duration_cast<Milliseconds>(need_.at + need_.starts_in - now);
}

std::uint64_t Item::State::known_size() const {
    if (pieces_.size > 0)
        return pieces_.size;
    if (size_hint_)
        return *size_hint_;
    return pieces_.origin_size;
}

std::uint64_t Item::State::playback_position(Steady::time_point at) const {
    const auto elapsed = std::chrono::duration_cast<Milliseconds>(at - need_.at) - need_.starts_in;
    return need_.offset + bytes_for(need_.rate, elapsed);
}

std::uint64_t Item::State::available_end(std::uint64_t offset) const {
    std::uint64_t end = offset;
    const std::uint64_t piece = pieces_.piece_size;
    if (piece > 0 && !pieces_.have.empty()) {
        auto p = static_cast<std::size_t>(offset / piece);
        while (p < pieces_.have.size() && pieces_.have[p])
            ++p;
        end = std::max(end, std::min<std::uint64_t>(p * piece, pieces_.size));
    }
    return std::max(end, pieces_.rescued.end_of(offset));
}

bool Item::State::short_of_next_seconds() const {
    std::lock_guard lock(mutex_);
    // Before the swarm is joined `have` is empty, and a complete item misses nothing: both
    // are false through next_seconds_missing().
    return need_.set && lead(Steady::now()) <= options_.deadline_window && next_seconds_missing();
}

bool Item::State::on_air_unfinished() const {
    if (handles_ == 0)
        return false;  // nobody plays it
    std::lock_guard lock(mutex_);
    if (!need_.set || lead(Steady::now()) > options_.deadline_window)
        return false;
    if (!handle_.is_valid())
        return !fetching_.origin_allowed;  // a tune-in waiting for the gateway
    if (pieces_.piece_size == 0)
        return false;
    const auto first = static_cast<std::size_t>(need_.offset / pieces_.piece_size);
    return first < pieces_.have.size() && !all_here(first, pieces_.have.size());
}

void Item::State::release_sentinel() {
    if (swarm_.sentinel < 0 || !handle_.is_valid())
        return;
    const lt::piece_index_t held{swarm_.sentinel};
    swarm_.sentinel = -1;
    try {
        // Two round trips through libtorrent's thread: the second is queued after every
        // cancel_non_critical() our deadlines posted, so when it returns they have run and
        // the torrent may become a seed.
        (void)handle_.piece_priority(held);
        (void)handle_.piece_priority(held);
        handle_.piece_priority(held, lt::top_priority);
    } catch (const lt::system_error& e) {
        log().debug("{}: {}", url, e.what());
    }
}

void Item::State::make_urgent(int p, int ms) {
    if (swarm_.sentinel >= 0) {
        handle_.set_piece_deadline(lt::piece_index_t{p}, ms);
    } else if (swarm_.urgent.insert(p).second) {
        handle_.piece_priority(lt::piece_index_t{p}, lt::top_priority);
    }
}

void Item::State::apply_deadlines(bool force) {
    if (!handle_.is_valid())
        return;
    // What playback needs and what is here, copied: libtorrent is asked without the lock.
    std::vector<bool> have;
    Need need;
    std::uint64_t piece = 0;
    std::uint64_t size = 0;
    bool complete = false;
    bool missing = false;
    {
        std::lock_guard lock(mutex_);
        have = pieces_.have;
        need = need_;
        piece = pieces_.piece_size;
        size = pieces_.size;
        complete = pieces_.state == ItemState::complete;
        missing = next_seconds_missing();
    }
    if (swarm_.sentinel >= 0 && few_left(have))
        release_sentinel();  // near the end: the last few pieces come by priority
    if (!need.set || piece == 0 || need.rate == 0 || have.empty())
        return;
    if (!force && !swarm_.deadlines_dirty && complete)
        return;
    swarm_.deadlines_dirty = false;
    const auto now = Steady::now();
    const std::uint64_t pos = need.offset;  // the reader's next byte
    const auto first = static_cast<int>(pos / piece);
    // Pieces before the scheduled start were not wanted; playback may go back (a player
    // reading the item from its start), so want them again.
    if (swarm_.lowest_wanted_piece >= 0 && first < swarm_.lowest_wanted_piece) {
        for (int p = first; p < swarm_.lowest_wanted_piece; ++p)
            handle_.piece_priority(lt::piece_index_t{p}, lt::default_priority);
        swarm_.lowest_wanted_piece = first;
    }
    const std::uint64_t window =
        std::max(bytes_for(need.rate, options_.deadline_window), piece * 4);
    const auto last = static_cast<int>(std::min<std::uint64_t>(size - 1, pos + window) / piece);
    const auto lead = std::chrono::duration_cast<Milliseconds>(need.at + need.starts_in - now);
    const int pace = set_pace(lead, need.rate);
    if (swarm_.sentinel >= 0 && swarm_.sentinel <= last)
        release_sentinel();  // playback is about to need it
    if (lead > options_.deadline_window) {
        // An item that plays later is fetched as any torrent is, rarest piece first, until
        // it plays within the deadline window: an audience that asked for its first seconds
        // with deadlines all wanted the same few pieces at once, from the gateway's seed.
        if (swarm_.focused)
            focus(have, last, false);
        return;
    }
    if (pace == 0 && !swarm_.warmed && missing != swarm_.focused)
        focus(have, last, missing);
    for (int p = first; p <= last && static_cast<std::size_t>(p) < have.size(); ++p) {
        if (have[static_cast<std::size_t>(p)])
            continue;
        const std::uint64_t piece_start = static_cast<std::uint64_t>(p) * piece;
        const auto until = piece_start > pos ? (piece_start - pos) * 1000 / need.rate : 0;
        // `lead` is negative when the reader is late: its pieces are due sooner.
        const auto ms = static_cast<int>(
            std::max<std::int64_t>(0, static_cast<std::int64_t>(until) + lead.count()));
        make_urgent(p, ms);
    }
}

void Item::State::wake_stream() {
    if (auto host = host_.lock())
        host->data_arrived();
}

// Whether at most two pieces from the lowest wanted one on are missing (the sentinel and
// pieces waiting to be flushed aside).
bool Item::State::few_left(const std::vector<bool>& have) const {
    int others = 0;
    for (auto p = static_cast<std::size_t>(std::max(swarm_.lowest_wanted_piece, 0));
         p < have.size() && others <= 2; ++p) {
        if (!have[p] && static_cast<int>(p) != swarm_.sentinel &&
            swarm_.unflushed.count(static_cast<int>(p)) == 0)
            ++others;
    }
    return others <= 2;
}

// The item's download pace (0: none): returns it.
int Item::State::set_pace(Milliseconds lead, std::uint64_t rate) {
    // While an item on air is short of its next seconds, an item that starts beyond the
    // deadline window comes at a pace (half as fast again as it plays), not at once: at a
    // cold start a whole audience fetching its next items flat out filled every uplink, and
    // the item on air came late. Not otherwise: an audience paced in step asked the gateway
    // for each piece at the same moment, and it sent each item 2 to 3 times.
    const auto host = host_.lock();
    const int pace = host && host->on_air_short() && lead > options_.deadline_window
                         ? static_cast<int>(std::min<std::uint64_t>(rate * 3 / 2, INT32_MAX))
                         : 0;
    if (pace != swarm_.download_pace) {
        swarm_.download_pace = pace;
        handle_.set_download_limit(pace > 0 ? pace : -1);
    }
    return pace;
}

// A tune-in: until the next seconds are here, nothing beyond the deadline window (up to
// piece `last`) is asked for, so that peers' and the gateway's uplinks carry only what
// plays next.
void Item::State::focus(const std::vector<bool>& have, int last, bool missing) {
    std::vector<std::pair<lt::piece_index_t, lt::download_priority_t>> change;
    for (auto p = static_cast<std::size_t>(last) + 1; p < have.size(); ++p) {
        if (!have[p] && static_cast<int>(p) != swarm_.sentinel)
            change.emplace_back(lt::piece_index_t{static_cast<int>(p)},
                                missing ? lt::dont_download : lt::default_priority);
    }
    handle_.prioritize_pieces(change);
    swarm_.focused = missing;
    swarm_.warmed = !missing;
}

}  // namespace alluvium::detail
