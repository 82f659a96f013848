#include <alluvium/metainfo.hpp>
#include <alluvium/playlist.hpp>
#include <alluvium/text.hpp>
#include <alluvium/url.hpp>

#include "timeline.hpp"

#include <algorithm>
#include <chrono>

namespace alluvium {

namespace {

// More than this in one item is a typo (milliseconds read as microseconds, say).
constexpr Milliseconds max_item_duration = std::chrono::days{366};

}  // namespace

std::string Item::display_title() const {
    if (!title.empty()) {
        return title;
    }
    std::string_view path = media_url;
    if (const auto q = path.find_first_of("?#"); q != std::string_view::npos) {
        path = path.substr(0, q);
    }
    while (!path.empty() && path.back() == '/') {
        path.remove_suffix(1);
    }
    const auto slash = path.rfind('/');
    return percent_decode(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

bool operator==(const Item& a, const Item& b) {
    return a.media_url == b.media_url && a.title == b.title && a.description == b.description &&
           a.creator == b.creator && a.mime_type == b.mime_type &&
           a.length_bytes == b.length_bytes && a.duration == b.duration && a.start == b.start &&
           a.end == b.end && a.torrent == b.torrent;
}

Milliseconds UpdateSchedule::interval() const {
    using namespace std::chrono;
    const Milliseconds per = [&]() -> Milliseconds {
        switch (period) {
            case UpdatePeriod::hourly:
                return hours{1};
            case UpdatePeriod::daily:
                return days{1};
            case UpdatePeriod::weekly:
                return weeks{1};
            case UpdatePeriod::monthly:
                return duration_cast<Milliseconds>(months{1});
            case UpdatePeriod::yearly:
                return duration_cast<Milliseconds>(years{1});
        }
        return days{1};
    }();
    return per / std::max(1u, frequency);
}

bool Playlist::loops() const {
    return !items.empty() && std::none_of(items.begin(), items.end(),
                                          [](const Item& i) { return i.start.has_value(); });
}

bool operator==(const Playlist& a, const Playlist& b) {
    return a.about == b.about && a.title == b.title && a.link == b.link &&
           a.description == b.description && a.creator == b.creator && a.anchor == b.anchor &&
           a.update == b.update && a.items == b.items;
}

namespace detail {

std::string item_field(std::size_t index, std::string_view child) {
    std::string out = "item[" + std::to_string(index + 1) + "]";
    if (!child.empty()) {
        out += '/';
        out += child;
    }
    return out;
}

namespace {

// The swarm metadata of item `i`: what a listener would refuse to use.
void check_torrent(const Item& item, std::size_t i, std::string_view source, Diagnostics& out) {
    if (!item.torrent)
        return;
    const TorrentLink& t = *item.torrent;
    const auto report = [&](std::string_view child, std::string message) {
        out.push_back({Severity::error, std::string(source), item.source_line, item_field(i, child),
                       std::move(message)});
    };
    if (!t.info_hash.empty() && !is_lower_hex(t.info_hash, 40))
        report("torrent:infoHash", "'" + t.info_hash + "' is not 40 lower-case hex digits");
    if (!t.torrent_url.empty() && !parse_url(t.torrent_url))
        report("enc:enclosure", "the .torrent URL '" + t.torrent_url +
                                    "' is not an absolute http:// or https:// URL");
    if (!t.magnet_uri.empty()) {
        const std::string named = magnet_info_hash(t.magnet_uri);
        if (named.empty())
            report("torrent:magnetURI", "the magnet URI names no BitTorrent info-hash");
        else if (!t.info_hash.empty() && named != t.info_hash)
            report("torrent:magnetURI", "the magnet URI names info-hash " + named +
                                            ", torrent:infoHash says " + t.info_hash);
    }
    if (t.info_hash.empty() && t.torrent_url.empty() && t.magnet_uri.empty())
        report("torrent:infoHash", "swarm metadata without an info-hash, a .torrent or a magnet");
}

}  // namespace

std::vector<Placed> place_items(const Playlist& playlist, std::string_view source,
                                Diagnostics& out) {
    std::vector<Placed> placed;
    placed.reserve(playlist.items.size());
    TimePoint cursor = playlist.anchor.value_or(TimePoint{});
    std::optional<TimePoint> previous_start;
    const auto report = [&](Severity severity, const Item& item, std::size_t index,
                            std::string_view child, std::string message) {
        out.push_back({severity, std::string(source), item.source_line, item_field(index, child),
                       std::move(message)});
    };
    for (std::size_t i = 0; i < playlist.items.size(); ++i) {
        const Item& item = playlist.items[i];
        if (item.media_url.empty()) {
            report(Severity::error, item, i, "link", "the item has no media URL");
        } else if (!parse_url(item.media_url)) {
            report(Severity::error, item, i, "link",
                   "'" + item.media_url + "' is not an absolute http:// or https:// URL");
        }
        check_torrent(item, i, source, out);
        const TimePoint start = item.start.value_or(cursor);
        if (previous_start && start < *previous_start) {
            report(Severity::error, item, i, "ev:startdate",
                   format_w3cdtf(start) + " is before the previous item's start " +
                       format_w3cdtf(*previous_start) + "; items must be in play order");
        }
        TimePoint end = start;
        if (item.duration && *item.duration < Milliseconds{0}) {
            report(Severity::error, item, i, "mm:duration", "the duration is negative");
        } else if (item.duration && *item.duration > max_item_duration) {
            report(Severity::error, item, i, "mm:duration",
                   "the duration " + std::to_string(item.duration->count()) +
                       " ms is over a year; mm:duration counts milliseconds");
        }
        if (item.end) {
            end = *item.end;
            if (end < start) {
                report(Severity::error, item, i, "ev:enddate",
                       format_w3cdtf(end) + " is before the item's start " + format_w3cdtf(start));
                end = start;
            } else if (item.duration &&
                       std::chrono::abs((end - start) - *item.duration) > std::chrono::seconds{1}) {
                report(Severity::warning, item, i, "ev:enddate",
                       "start + mm:duration and ev:enddate differ by more than a second; "
                       "ev:enddate wins");
            }
        } else if (item.duration) {
            if (*item.duration >= Milliseconds{0} && *item.duration <= max_item_duration) {
                end = start + *item.duration;
            }
        } else {
            report(Severity::error, item, i, "mm:duration",
                   "the item has neither mm:duration nor ev:enddate, so its length is unknown");
        }
        if (end == start && (item.duration || item.end) && !has_errors(out)) {
            report(Severity::warning, item, i, "mm:duration",
                   "the item lasts zero milliseconds and will never play");
        }
        placed.push_back({start, end});
        previous_start = start;
        cursor = end;
    }
    if (playlist.loops() && !placed.empty() && placed.back().end == placed.front().start &&
        !has_errors(out)) {
        out.push_back({Severity::error, std::string(source), 0, "channel",
                       "the station loops but its items last zero milliseconds in total"});
    }
    return placed;
}

}  // namespace detail

Diagnostics check_playlist(const Playlist& playlist, std::string_view source) {
    Diagnostics out;
    (void)detail::place_items(playlist, source, out);
    return out;
}

}  // namespace alluvium
