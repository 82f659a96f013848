// The Mainline DHT as Alluvium's programs join it: the well-known bootstrap routers and the
// "none" an option may name instead. Header-only; no libtorrent.
#pragma once

#include <string>
#include <string_view>

namespace alluvium {

// BitTorrent's, uTorrent's, Transmission's and libtorrent's routers, which BitTorrent
// clients join the DHT through: the default of alluvium-tune, the desktop player and the
// gateway, so that listeners of a station with no gateway and no tracker still find each
// other. The library's TunerOptions default to none (a program linking it contacts no
// address it did not name).
inline constexpr const char* public_dht_routers =
    "router.bittorrent.com:6881,router.utorrent.com:6881,dht.transmissionbt.com:6881,"
    "dht.libtorrent.org:25401";

// The nodes a --dht-bootstrap option names ("host:port,..."); "none" names none.
[[nodiscard]] inline std::string dht_bootstrap_nodes(std::string_view option) {
    return option == "none" ? std::string() : std::string(option);
}

}  // namespace alluvium
