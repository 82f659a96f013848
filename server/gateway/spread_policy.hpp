// "Spread, not feed": the gateway seed's request policy (a libtorrent plugin).
//
// A plain seed feeds every listener every piece (docs/SWARM.md: about N copies for N
// streaming listeners). This policy hands out a piece only while no other connected
// listener holds it: a request for a piece that a peer of the requester could give is
// rejected (BEP 6) and the piece is hidden from the requester (DONT_HAVE, BEP 54) so that
// its picker asks the listeners instead. If the requester still lacks the piece after
// `rescue_after` while no other listener holds it yet, or after `in_swarm_wait` when one
// does, the seed advertises it again and serves it. A listener that would stall meanwhile
// takes what plays next from the gateway's copy over HTTP (its rescue path, GET
// /v1/media). A client that asks again despite DONT_HAVE is served.
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
    // A refused piece that another listener holds is offered again only after this long.
    std::chrono::milliseconds in_swarm_wait{6000};
};

// Installs the policy for every torrent of the session.
void add_spread_policy(libtorrent::session& session, SpreadOptions options = {});

}  // namespace alluvium::gateway
