// "Spread, not feed": the gateway seed's request policy (a libtorrent plugin).
//
// A plain seed feeds every listener every piece (SWARM-NOTES.md: about N copies for N
// streaming listeners). This policy hands out a piece only while no other connected
// listener holds it: a request for a piece that a peer of the requester could give is
// rejected (BEP 6) and the piece is hidden from the requester (DONT_HAVE, BEP 54) so that
// its picker asks the listeners instead. If the requester still lacks the piece after
// `rescue_after`, the seed advertises it again and serves it: a listener that would stall
// is never left waiting. A client that asks again despite DONT_HAVE is served.
#pragma once

#include <chrono>

namespace libtorrent {
struct session;
}  // namespace libtorrent

namespace alluvium::gateway {

struct SpreadOptions {
    std::chrono::milliseconds rescue_after{1500};
    // Requests already on the wire when a piece was hidden (other blocks of it) are
    // rejected too for this long; a request after that counts as asking again.
    std::chrono::milliseconds crossing{1000};
    // A piece granted to one listener this recently is on its way into the swarm: the
    // others wait for it there (bounded by rescue_after) instead of each getting a copy.
    std::chrono::milliseconds in_flight{2000};
};

// Installs the policy for every torrent of the session.
void add_spread_policy(libtorrent::session& session, SpreadOptions options = {});

}  // namespace alluvium::gateway
