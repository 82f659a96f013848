// Lays a playlist's items on the time axis. Shared by check_playlist() and Schedule::build()
// so that validation and scheduling can never disagree.
#pragma once

#include <alluvium/error.hpp>
#include <alluvium/playlist.hpp>

#include <string_view>
#include <vector>

namespace alluvium::detail {

struct Placed {
    TimePoint start;
    TimePoint end;  // before overlap cuts
};

// One entry per item, in play order. Problems are appended to `out` (errors make the
// result unusable); `source` names the input in those diagnostics.
std::vector<Placed> place_items(const Playlist& playlist, std::string_view source,
                                Diagnostics& out);

// "item[3]" — how diagnostics name the n-th item (0-based index in, 1-based out).
std::string item_field(std::size_t index, std::string_view child = {});

}  // namespace alluvium::detail
