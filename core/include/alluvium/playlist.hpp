// The Alluvium playlist: model, reader and writer.
//
// An Alluvium playlist is an RSS 1.0 document that uses standard modules only (Dublin Core,
// Syndication, Event, mod_enclosure and MusicBrainz' mm:duration); see docs/PLAYLIST-FORMAT.md.
// The reader is strict about safety (no network, no DTD, no entities) and lenient about
// history: it also reads the 2005 ACTLab form (items inside <channel>, no rdf:Seq, only
// <link> and <mm:duration>).
//
// Everything here is pure: no I/O, no threads, callable from any thread.
#pragma once

#include <alluvium/error.hpp>
#include <alluvium/export.hpp>
#include <alluvium/time.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace alluvium {

// Swarm metadata the broadcaster published with an item (the ezRSS torrent module,
// http://xmlns.ezrss.it/0.1/, and a second enclosure of type application/x-bittorrent; see
// docs/PLAYLIST-FORMAT.md). A listener joins the item's swarm from it without a gateway, and
// refuses a gateway's answer or a .torrent whose info-hash differs.
struct ALLUVIUM_EXPORT TorrentLink {
    std::string info_hash;    // torrent:infoHash: 40 lower-case hex digits; may be empty
    std::string torrent_url;  // the .torrent enclosure's URL; empty when none
    std::optional<std::uint64_t> torrent_length;  // its enc:length
    std::string magnet_uri;                       // torrent:magnetURI
    std::string file_name;                        // torrent:fileName: the .torrent's name
    std::optional<std::uint64_t> content_length;  // torrent:contentLength (the media's size)

    friend bool operator==(const TorrentLink&, const TorrentLink&) = default;
};

// The MIME type of a .torrent enclosure.
inline constexpr std::string_view torrent_mime_type = "application/x-bittorrent";

// One scheduled programme item.
struct ALLUVIUM_EXPORT Item {
    std::string media_url;  // rdf:about, enclosure and link of the item
    std::string title;      // empty in legacy playlists
    std::string description;
    std::string creator;                        // dc:creator
    std::string mime_type;                      // enc:type; empty when unknown
    std::optional<std::uint64_t> length_bytes;  // enc:length
    std::optional<Milliseconds> duration;       // mm:duration
    std::optional<TimePoint> start;             // ev:startdate; absent: follows the previous item
    std::optional<TimePoint> end;               // ev:enddate; absent: start + duration
    std::optional<TorrentLink> torrent;         // swarm metadata, when published

    // Where the item was read from (1-based line of its <item>), 0 for items built in code.
    // Not part of the item's identity: equality ignores it.
    int source_line = 0;

    // The title to show: the title, else the last path segment of the media URL.
    [[nodiscard]] std::string display_title() const;

    friend ALLUVIUM_EXPORT bool operator==(const Item& a, const Item& b);
};

// How often clients should re-read the playlist (RSS 1.0 Syndication module).
enum class UpdatePeriod { hourly, daily, weekly, monthly, yearly };

struct ALLUVIUM_EXPORT UpdateSchedule {
    UpdatePeriod period = UpdatePeriod::daily;
    unsigned frequency = 1;  // times per period, >= 1

    // The re-read interval these two values describe, e.g. hourly×600 = 6 s.
    [[nodiscard]] Milliseconds interval() const;
    friend bool operator==(const UpdateSchedule&, const UpdateSchedule&) = default;
};

// A station: the channel of the RSS document and its items in play order.
struct ALLUVIUM_EXPORT Playlist {
    std::string about;  // channel rdf:about: the playlist's own URL
    std::string title;
    std::string link;  // a web page about the station
    std::string description;
    std::string creator;                   // dc:creator of the channel
    std::optional<TimePoint> anchor;       // dc:date: where relative schedules start
    std::optional<UpdateSchedule> update;  // sy:updatePeriod / sy:updateFrequency
    std::vector<Item> items;

    // True when no item carries an explicit start: the items then follow each other from
    // the anchor (or the Unix epoch) and the schedule repeats forever.
    [[nodiscard]] bool loops() const;

    friend ALLUVIUM_EXPORT bool operator==(const Playlist& a, const Playlist& b);
};

struct ALLUVIUM_EXPORT ReadOptions {
    // Larger documents are refused before parsing. 16 MiB holds ~50,000 items.
    std::size_t max_bytes = 16u * 1024u * 1024u;
};

struct ALLUVIUM_EXPORT ReadResult {
    std::optional<Playlist> playlist;  // set unless an error was found
    Diagnostics diagnostics;           // errors and warnings, in document order

    [[nodiscard]] bool ok() const noexcept { return playlist.has_value(); }
};

// Parses a playlist. `source` names the file or URL in diagnostics. Never touches the
// network or the file system; refuses DOCTYPE declarations, entities and external
// references with an error that names the line.
[[nodiscard]] ALLUVIUM_EXPORT ReadResult read_playlist(std::string_view document,
                                                       std::string_view source,
                                                       const ReadOptions& options = {});

// Checks a model for what the writer and the scheduler need: a media URL and a duration
// (mm:duration or ev:enddate) on every item, non-negative lengths, starts that do not go
// back in time, well-formed swarm metadata (a 40-digit info-hash, an absolute .torrent URL,
// a magnet URI naming the same hash). The reader runs this too; its findings name lines when items
// have them.
[[nodiscard]] ALLUVIUM_EXPORT Diagnostics check_playlist(const Playlist& playlist,
                                                         std::string_view source);

// Serialises to RSS 1.0 (UTF-8, indented). The output reads back to an equal Playlist.
[[nodiscard]] ALLUVIUM_EXPORT std::string write_playlist(const Playlist& playlist);

// The MIME type Alluvium playlists are served with, and their file extension.
inline constexpr std::string_view playlist_mime_type = "application/x-alluvium";
inline constexpr std::string_view playlist_extension = ".rss";

}  // namespace alluvium
