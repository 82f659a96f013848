// alluvium-gateway: swarm metadata for any allowed media URL, a tracker, and a seed.
//
//   GET  /v1/swarm?url=U[&playlist=P][&wait=MS]   metadata (JSON) or 202 while fetching
//   GET  /v1/torrent?url=U[...]                   the same as a .torrent file
//   POST /v1/prime?playlist=P | ?url=U            fetch ahead of time (operator, loopback)
//   GET  /v1/media?url=U[&info_hash=H] + Range    bytes of a held item (a listener's rescue)
//   GET  /v1/status                               JSON: items, peers, bytes served
//   GET  /                                        the same for people
//   GET  /announce                                BitTorrent tracker
//
// Threads: the Gateway owns its threads (an event loop, HTTP, work and fetch pools, the
// seed's; docs/ARCHITECTURE.md). start() and stop() are for one controlling thread; port()
// and bt_port() are safe from any. It calls nothing back: it only answers HTTP requests,
// and once stop() returns no request is answered and no thread of it runs.
#pragma once

#include "config.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace alluvium::gateway {

class Gateway {
  public:
    // Opens the store, resumes seeding the cache, binds the HTTP port. Null and `error`
    // on failure.
    [[nodiscard]] static std::unique_ptr<Gateway> start(GatewayConfig config, std::string& error);
    ~Gateway();  // stop()s
    Gateway(const Gateway&) = delete;
    Gateway& operator=(const Gateway&) = delete;

    [[nodiscard]] std::uint16_t port() const;
    [[nodiscard]] std::uint16_t bt_port() const;
    // Stops serving, waits for fetches to notice, closes the store. Blocks.
    void stop();

    struct Impl;

  private:
    explicit Gateway(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace alluvium::gateway
