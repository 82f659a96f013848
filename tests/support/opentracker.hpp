// opentracker (Debian's package) on 127.0.0.1 only, for tests of swarms found through a
// tracker that is not the gateway's. It tracks only the info-hashes of its whitelist.
#pragma once

#include <alluvium/playlist.hpp>

#include "process.hpp"

#include <filesystem>
#include <memory>
#include <string>

namespace alluvium::test {

class Opentracker {
  public:
    explicit Opentracker(const std::filesystem::path& dir);
    // One info-hash (40 hex digits) a line; the gateway keeps it with --tracker-whitelist.
    [[nodiscard]] std::filesystem::path whitelist() const { return dir_ / "whitelist"; }
    [[nodiscard]] std::string announce_url() const {
        return "http://127.0.0.1:" + std::to_string(port_) + "/announce";
    }
    // Writes the info-hash of every item of `playlist` that has one into the whitelist.
    void allow(const Playlist& playlist) const;
    // Starts it: it reads the whitelist once, at start (SIGHUP reloads it).
    bool start();
    // Seeds and leechers opentracker knows for an info-hash (hex), from its scrape; -1 when
    // it does not answer.
    [[nodiscard]] int peers(const std::string& info_hash_hex) const;
    [[nodiscard]] std::string log() const { return process_ ? process_->log() : ""; }

  private:
    std::filesystem::path dir_;
    int port_;
    std::unique_ptr<Background> process_;
};

}  // namespace alluvium::test
