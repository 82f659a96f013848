// The libtorrent settings every Alluvium session shares: the listener's swarm engine, the
// gateway's seed, and the test clients. Measured on loopback (docs/SWARM.md). Header-only
// and internal: not installed, not part of liballuvium-core's API.
#pragma once

#include <alluvium/version.hpp>

#include <libtorrent/fingerprint.hpp>
#include <libtorrent/ip_filter.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/settings_pack.hpp>
#include <string>

namespace alluvium {

inline void apply_swarm_settings(libtorrent::settings_pack& s,
                                 const std::string& listen_interfaces) {
    namespace lt = libtorrent;
    s.set_str(lt::settings_pack::listen_interfaces, listen_interfaces);
    // Peers come from the gateway's tracker (and, when enabled, the DHT): no local
    // discovery. No port mapping here; a listener asked for it turns it on
    // (SwarmOptions::port_mapping).
    s.set_bool(lt::settings_pack::enable_dht, false);
    s.set_bool(lt::settings_pack::enable_lsd, false);
    s.set_bool(lt::settings_pack::enable_upnp, false);
    s.set_bool(lt::settings_pack::enable_natpmp, false);
    // Without these, late joiners stayed choked for 15-30 s and finished peers were dropped.
    s.set_bool(lt::settings_pack::allow_multiple_connections_per_ip, true);
    s.set_int(lt::settings_pack::unchoke_slots_limit, -1);
    s.set_bool(lt::settings_pack::close_redundant_connections, false);
    // uTP beside TCP: its congestion control yields to what else is on a home uplink, and
    // BEP 55 holepunching (through a peer both sides reach) needs it.
    s.set_bool(lt::settings_pack::enable_outgoing_utp, true);
    s.set_bool(lt::settings_pack::enable_incoming_utp, true);
    // Every item stays active: libtorrent's queueing would pause all but a few.
    s.set_int(lt::settings_pack::active_limit, -1);
    s.set_int(lt::settings_pack::active_downloads, -1);
    s.set_int(lt::settings_pack::active_seeds, -1);
    s.set_int(lt::settings_pack::stop_tracker_timeout, 1);  // quick shutdown
    // libtorrent connects to new peers and hands out upload quota once a tick (500 ms by
    // default): a tune-in waited up to a tick for its first connection, and a rate-limited
    // seed sent a tick's quota at once, a burst that queued everything behind it on a
    // capped uplink for 0.4 s (gateway answers included).
    s.set_int(lt::settings_pack::tick_interval, 100);
    // Requests kept outstanding at a peer: 1 s of what it sends us, not 3. A piece due soon
    // waits behind every block asked of that peer before it: with 3 s, in a cold start of 50
    // listeners on 1 Mbit/s uplinks, pieces asked for 3 s ahead came late and the origin
    // gave the first item 3.8 times (2.2 with 1 s; bench/audience.sh, one 90 s run each).
    s.set_int(lt::settings_pack::request_queue_time, 1);
    // Each tracker is a tier of its own (the gateway's and, say, opentracker): announce to
    // all, so a listener is found through any of them.
    s.set_bool(lt::settings_pack::announce_to_all_tiers, true);
    // A connection not made in 2 s is given up: an attempt at a listener behind NAT (most of
    // those a tracker lists) holds one of the item's few connection slots until then, and a
    // newcomer whose slots were all such attempts read what played next from the gateway or
    // the origin. uTP's first SYN is resent after 1 s (not 3), so that one lost SYN still
    // connects within the 2 s. 200 listeners, realistic profile, three runs each against
    // 4 s: a fifth fewer stalls, an eighth to a fifth less from the gateway; 3 points more
    // bytes received twice (docs/SCALING.md).
    s.set_int(lt::settings_pack::peer_connect_timeout, 2);
    s.set_int(lt::settings_pack::utp_connect_timeout, 1000);
}

// The Mainline DHT (libtorrent's), bootstrapped from `nodes` ("host:port,host:port"; empty:
// none, the first node of a private DHT). When every node is on a loopback, private or
// benchmarking address (RFC 2544's 198.18.0.0/15, never routed on the Internet) it is a lab
// DHT (tests, benchmarks, one LAN) whose nodes may share one address: libtorrent's limits on
// nodes per address are lifted there.
inline void apply_dht_settings(libtorrent::settings_pack& s, const std::string& nodes) {
    namespace lt = libtorrent;
    bool lab = true;
    std::size_t from = 0;
    while (from < nodes.size()) {
        std::size_t comma = nodes.find(',', from);
        if (comma == std::string::npos)
            comma = nodes.size();
        const std::string host = nodes.substr(from, comma - from);
        const bool local = host.rfind("127.", 0) == 0 || host.rfind("10.", 0) == 0 ||
                           host.rfind("192.168.", 0) == 0 || host.rfind("198.18.", 0) == 0 ||
                           host.rfind("198.19.", 0) == 0 || host.rfind("[::1]", 0) == 0 ||
                           host.rfind("localhost", 0) == 0;
        lab = lab && local;
        from = comma + 1;
    }
    s.set_bool(lt::settings_pack::enable_dht, true);
    s.set_str(lt::settings_pack::dht_bootstrap_nodes, nodes);
    s.set_bool(lt::settings_pack::dht_restrict_routing_ips, !lab);
    s.set_bool(lt::settings_pack::dht_restrict_search_ips, !lab);
    s.set_bool(lt::settings_pack::dht_prefer_verified_node_ids, !lab);
    s.set_bool(lt::settings_pack::dht_ignore_dark_internet, !lab);
}

// Peer ids start "-AG<version>-" for a gateway's seed and "-AL<version>-" for a listener
// (the BEP 20 convention), so that a listener tells a gateway's bytes from other listeners'
// whichever side opened the connection (a seed connects to the peers its tracker lists).
inline constexpr const char* gateway_peer_id_prefix = "-AG";
inline void set_peer_id_prefix(libtorrent::settings_pack& s, bool gateway) {
    namespace lt = libtorrent;
    s.set_str(lt::settings_pack::peer_fingerprint,
              lt::generate_fingerprint(gateway ? "AG" : "AL", ALLUVIUM_VERSION_MAJOR,
                                       ALLUVIUM_VERSION_MINOR, ALLUVIUM_VERSION_PATCH, 0));
}

// libtorrent exempts peers on local networks (10/8, 192.168/16, ...) from rate limits
// (its "local" peer class): an upload limit given by a user or an operator is meant for
// every peer, so every address goes in the global class.
inline void rate_limit_every_peer(libtorrent::session& session) {
    namespace lt = libtorrent;
    lt::ip_filter classes;
    const std::uint32_t global = 1u
                                 << static_cast<std::uint32_t>(lt::session::global_peer_class_id);
    classes.add_rule(lt::make_address("0.0.0.0"), lt::make_address("255.255.255.255"), global);
    classes.add_rule(lt::make_address("::"),
                     lt::make_address("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), global);
    session.set_peer_class_filter(classes);
}

}  // namespace alluvium
