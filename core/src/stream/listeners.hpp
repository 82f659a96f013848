// What the local stream server sends: the station's stream to a player (Icecast style),
// and one item progressively with Range support. Private to the core.
#pragma once

#include <alluvium/http_server.hpp>

#include "../swarm/engine.hpp"
#include "broadcast.hpp"
#include "icy.hpp"

#include <functional>
#include <optional>
#include <string_view>

namespace alluvium::detail {

struct StationInfo {
    std::string name;
    std::string description;
    std::string url;
    std::int64_t bit_rate = 0;
};

// The response head Icecast 2.4.4 sends (docs/ICECAST.md); `metaint` 0 leaves ICY out.
// `extra` are further headers (the Tuner's CORS policy), sent as given.
[[nodiscard]] std::string icecast_head(StreamFormat format, const StationInfo& station,
                                       std::size_t metaint, const HttpHeaders& extra = {});

class StationStream : public HttpStream {
  public:
    static constexpr std::size_t metaint = 16000;

    StationStream(Broadcast& broadcast, std::function<StationInfo()> station,
                  std::function<TimePoint()> clock, bool icy, std::string peer,
                  HttpHeaders extra_headers = {});
    Pull pull(std::string& out, std::size_t max) override;
    // Registers with the broadcast (after construction, as shared_from_this needs).
    void attach(const std::shared_ptr<StationStream>& self);

  private:
    Broadcast& broadcast_;
    std::function<StationInfo()> station_;
    std::function<TimePoint()> clock_;
    bool icy_;
    HttpHeaders extra_headers_;
    std::optional<IcyWriter> writer_;
    std::shared_ptr<ListenerSlot> slot_;
    bool head_sent_ = false;
    std::uint64_t position_ = 0;
    std::shared_ptr<const std::string> headers_;
    std::string title_;
};

// One item, progressively: bytes are sent as the swarm delivers them.
class ItemStream : public HttpStream {
  public:
    // `range` is the request's Range header ("" for the whole item).
    ItemStream(std::shared_ptr<Item> item, std::string mime_type, const std::string& range,
               std::uint64_t bytes_per_second, HttpHeaders extra_headers = {});
    Pull pull(std::string& out, std::size_t max) override;

  private:
    std::shared_ptr<Item> item_;
    HttpHeaders extra_headers_;
    std::string mime_;
    std::string range_;
    std::uint64_t rate_;
    bool head_sent_ = false;
    std::uint64_t position_ = 0;
    std::uint64_t end_ = 0;  // exclusive; 0 while the size is unknown
};

}  // namespace alluvium::detail
