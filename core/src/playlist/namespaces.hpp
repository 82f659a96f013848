// XML namespaces of the Alluvium playlist (RSS 1.0 and its standard modules).
#pragma once

namespace alluvium::ns {

inline constexpr char rdf[] = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
inline constexpr char rss[] = "http://purl.org/rss/1.0/";
inline constexpr char dc[] = "http://purl.org/dc/elements/1.1/";
inline constexpr char sy[] = "http://purl.org/rss/1.0/modules/syndication/";
inline constexpr char ev[] = "http://purl.org/rss/1.0/modules/event/";
inline constexpr char mm[] = "http://musicbrainz.org/mm/mm-2.0#";
inline constexpr char enc[] = "http://purl.oclc.org/net/rss_2.0/enc#";
// The ezRSS torrent module: an item's info-hash, size, file name and magnet URI.
inline constexpr char torrent[] = "http://xmlns.ezrss.it/0.1/";

}  // namespace alluvium::ns
