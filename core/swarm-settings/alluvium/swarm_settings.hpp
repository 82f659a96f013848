// The libtorrent settings every Alluvium session shares: the listener's swarm engine, the
// gateway's seed, and the test clients. Measured on loopback (SWARM-NOTES.md). Header-only
// and internal: not installed, not part of liballuvium-core's API.
#pragma once

#include <libtorrent/settings_pack.hpp>
#include <string>

namespace alluvium {

inline void apply_swarm_settings(libtorrent::settings_pack& s,
                                 const std::string& listen_interfaces) {
    namespace lt = libtorrent;
    s.set_str(lt::settings_pack::listen_interfaces, listen_interfaces);
    // Peers come from the gateway's tracker (and, when enabled, the DHT): no local
    // discovery or port mapping.
    s.set_bool(lt::settings_pack::enable_dht, false);
    s.set_bool(lt::settings_pack::enable_lsd, false);
    s.set_bool(lt::settings_pack::enable_upnp, false);
    s.set_bool(lt::settings_pack::enable_natpmp, false);
    // Without these, late joiners stayed choked for 15-30 s and finished peers were dropped.
    s.set_bool(lt::settings_pack::allow_multiple_connections_per_ip, true);
    s.set_int(lt::settings_pack::unchoke_slots_limit, -1);
    s.set_bool(lt::settings_pack::close_redundant_connections, false);
    // TCP rather than uTP (uTP's congestion control held loopback transfers back).
    s.set_bool(lt::settings_pack::enable_outgoing_utp, false);
    s.set_bool(lt::settings_pack::enable_incoming_utp, false);
    // Every item stays active: libtorrent's queueing would pause all but a few.
    s.set_int(lt::settings_pack::active_limit, -1);
    s.set_int(lt::settings_pack::active_downloads, -1);
    s.set_int(lt::settings_pack::active_seeds, -1);
    s.set_int(lt::settings_pack::stop_tracker_timeout, 1);  // quick shutdown
    // Each tracker is a tier of its own (the gateway's and, say, opentracker): announce to
    // all, so a listener is found through any of them.
    s.set_bool(lt::settings_pack::announce_to_all_tiers, true);
}

}  // namespace alluvium
