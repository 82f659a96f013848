// The origin share: with no gateway copy to rescue from, the listeners of a swarm read each
// piece from the origin about once between them, without talking about it.
//
// Every listener wants the same pieces at about the same time. If each waited until a piece
// came within the rescue margin and then read it from the origin, a cold audience would read
// every piece once per listener. Instead each missing piece gets, at each listener, a time
// drawn in a window before that margin; when its time comes and no connected peer has the
// piece, the listener reads that one piece from the origin and offers it to libtorrent,
// whose HAVE tells its peers. A peer whose own time comes later sees the piece at a
// neighbour and takes it through BitTorrent instead: the first reader suppresses the rest,
// as in the feedback suppression of reliable multicast (Nonnenmacher and Biersack, 1998).
//
// The times are drawn from a truncated exponential distribution: most listeners draw late
// in the window, a few early, so that with N listeners about one reads before the others
// can hear of it, whatever N is. N comes from the tracker's counts, or the peers connected.
// Each draw is fixed per listener and piece (a hash of a random token), so looking again
// gives the same time. What is still missing at the margin is read as before
// (lookup_rescue.cpp): the share only adds early reads, never takes the safety net away.
// docs/ARCHITECTURE.md ("The swarm policy") says why; docs/SCALING.md ("No gateway") has
// the runs.
#include "../common/log.hpp"
#include "item_state.hpp"

#include <cmath>
#include <libtorrent/torrent_status.hpp>
#include <random>

namespace alluvium::detail {

namespace {

// A piece's window opens this long before its margin rescue: the longer, the more time a
// piece one listener read has to reach the others before their own times come. Pieces
// beyond the deadline window come from peers by rarest-first.
constexpr Milliseconds share_window{20000};
// And not before the swarm has been joined this long: the tracker's first answer says how
// large the audience is, and the first peers connect.
constexpr Milliseconds share_hold{250};

std::uint64_t splitmix64(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30U)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27U)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31U);
}

// Where in [0, 1) of its window a listener whose draw is `u` (uniform in [0, 1)) reads a
// piece, for an audience of `n`: the truncated exponential with lambda = ln n + 1.
double share_fraction(double u, double n) {
    const double lambda = std::log(std::max(n, 1.0)) + 1.0;
    return std::log1p(u * std::expm1(lambda)) / lambda;
}

}  // namespace

std::uint64_t random_share_token() {
    std::random_device device;
    return (static_cast<std::uint64_t>(device()) << 32U) ^ device();
}

// The audience: the seeds and downloaders trackers count in their announce replies, or
// the peers this listener knows of (from trackers, the DHT, peer exchange; the connected
// ones among them), itself included, whichever is larger. Not known (0) until a tracker has
// answered or a peer is known: a listener that has heard from no one is not alone, it is
// early, and in a cold start the ones that drew as if alone read the pieces of the next
// twenty seconds from the origin in their first half second (docs/SCALING.md). Once known,
// the share looks again.
void Item::State::note_audience(const lt::torrent_status& st) {
    const bool counted_known = st.num_complete >= 0 || st.num_incomplete >= 0;
    if (!counted_known && st.list_peers == 0)
        return;
    const std::int64_t counted = std::max(st.num_complete, 0) + std::max(st.num_incomplete, 0);
    const bool first = swarm_.audience == 0;
    swarm_.audience = std::max<std::int64_t>(counted, st.list_peers + 1);
    if (first)
        schedule_rescue();
}

// With mutex_ held: the pieces whose time has come (nearest first), and when the next
// one's comes.
Item::State::ShareTimes Item::State::share_times(Steady::time_point now) const {
    ShareTimes out;
    const std::uint64_t piece = pieces_.piece_size;
    const std::uint64_t total = known_size();
    if (!need_.set || need_.rate == 0 || piece == 0 || total == 0 || swarm_.audience == 0)
        return out;  // need() or note_audience() looks again
    const auto n = static_cast<double>(swarm_.audience);
    const auto first = static_cast<std::size_t>(need_.offset / piece);
    for (std::size_t p = first; p < pieces_.have.size(); ++p) {
        const std::uint64_t begin = std::max(p * piece, need_.offset);
        const std::uint64_t end = std::min((p + 1) * piece, total);
        if (pieces_.have[p] || available_end(begin) >= end ||
            fetching_.shared.count(static_cast<int>(p)) > 0)
            continue;  // here, or its time came already: no wake-up for it
        const auto plays_in =
            Milliseconds{static_cast<std::int64_t>((begin - need_.offset) * 1000 / need_.rate)};
        const auto plays_at = need_.at + need_.starts_in + plays_in;
        // Read as before once within the margin (not before the swarm had its grace).
        const auto margin = std::max<Steady::time_point>(plays_at - options_.rescue_margin,
                                                         swarm_.since + swarm_grace);
        const auto opens =
            std::max<Steady::time_point>(margin - share_window, swarm_.since + share_hold);
        if (opens > now) {
            out.next = out.next ? std::min(*out.next, opens) : opens;
            break;  // later pieces open later still
        }
        if (margin <= now)
            continue;  // the margin rescue reads it (lookup_rescue.cpp)
        const std::uint64_t draw =
            splitmix64(share_token_ ^ splitmix64(static_cast<std::uint64_t>(p)));
        const double u = static_cast<double>(draw >> 11U) * 0x1.0p-53;
        const auto at = opens + std::chrono::duration_cast<Steady::duration>((margin - opens) *
                                                                             share_fraction(u, n));
        if (at <= now)
            out.due.push_back(static_cast<int>(p));
        else
            out.next = out.next ? std::min(*out.next, at) : at;
    }
    return out;
}

std::optional<Item::State::Steady::time_point> Item::State::share_origin(Steady::time_point now) {
    ShareTimes times;
    {
        std::lock_guard lock(mutex_);
        times = share_times(now);
    }
    if (times.due.empty())
        return times.next;
    std::vector<int> availability;
    try {
        handle_.piece_availability(availability);
    } catch (const lt::system_error&) {
        return times.next;
    }
    for (const int p : times.due) {
        fetching_.shared.insert(p);  // its time came: read now, or a peer had it
        const auto i = static_cast<std::size_t>(p);
        if (i < availability.size() && availability[i] > 0)
            continue;  // a neighbour has it: BitTorrent brings it (deadlines.cpp)
        std::uint64_t from = 0;
        std::uint64_t to = 0;
        {
            std::lock_guard lock(mutex_);
            from = i * pieces_.piece_size;
            to = std::min(from + pieces_.piece_size, known_size());
            log().debug("{}: origin share: piece {} (of an audience of about {})", url, p,
                        swarm_.audience);
        }
        rescue_range(from, to, true);
        return std::nullopt;  // rescue_done() looks again
    }
    return times.next;
}

}  // namespace alluvium::detail
