// The subcommands of alluvium-broadcaster. Each returns the process exit status:
// 0 success, 1 the input is wrong (invalid playlist, wrong Content-Type, unreadable media),
// 2 the command could not run (bad arguments, network failure).
#pragma once

#include <alluvium/time.hpp>

#include "live_station.hpp"
#include "segmenter.hpp"

#include <optional>
#include <string>
#include <vector>

namespace alluvium::broadcaster {

struct GenerateOptions {
    std::vector<std::string> inputs;  // media files, directories of media, or http(s) URLs
    std::string base_url;             // where local files will be published
    std::string output;               // playlist path; empty: standard output
    std::string about;                // the playlist's own URL; default: base_url + file name
    std::string title = "Alluvium station";
    std::string link;
    std::string description;
    std::string creator;
    std::string start = "now";  // "now" or W3CDTF
    bool loop = false;
    unsigned refresh_seconds = 600;  // how often listeners re-read the playlist
    bool quiet = false;              // no progress on standard error
    // Hash each local item into its metainfo: a .torrent beside the file and the ezRSS
    // fields in the playlist, so listeners need no gateway (server/broadcaster/swarm_metadata.hpp).
    bool swarm = true;
    std::vector<std::string> trackers;  // announce URLs for the .torrent files
    bool web_seed = false;              // the media URL as the .torrent's web seed (url-list)
};

int generate(const GenerateOptions& options);

struct LiveCommandOptions {
    SegmenterOptions segmenter;  // input, input_format, stall_timeout
    LiveOptions station;         // folder, URLs, titles, lengths
    std::string pace = "auto";   // on, off, or auto: pace a file source in real time
    bool loop = false;           // a file source starts again when it ends
    std::vector<std::string> gateways;
    bool swarm = true;                  // a .torrent and its info-hash with each segment
    std::vector<std::string> trackers;  // announce URLs for those .torrent files
    Milliseconds retry{5000};           // between attempts to reopen a source that stalled or ended
    bool quiet = false;
};

// Runs until SIGINT/SIGTERM (or a file source ends without --loop).
int live(const LiveCommandOptions& options);
int validate(const std::string& file_or_url);
int now(const std::string& file_or_url, const std::string& at, unsigned next_count);
int webconfig(const std::string& server);
int check(const std::string& url);

// The snippet that makes `server` serve playlists and media with the right types.
std::optional<std::string> webconfig_snippet(const std::string& server);

}  // namespace alluvium::broadcaster
