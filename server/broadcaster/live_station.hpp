// The playlist of a live station: a rolling window of segments, rewritten atomically.
//
// Each new segment is appended with its capture time (ev:startdate), exact duration and
// length; segments that ended more than `window` ago leave the playlist, and their files
// are deleted `grace` later (a listener may still be fetching one). Started again over an
// existing playlist, the station keeps its items and goes on numbering after the last.
#pragma once

#include <alluvium/playlist.hpp>

#include <filesystem>
#include <map>
#include <optional>
#include <string>

namespace alluvium::broadcaster {

struct LiveOptions {
    std::filesystem::path dir;  // publish folder: segments and the playlist
    std::string playlist_name = "live.rss";
    std::string base_url;  // URL of `dir`, ending in '/'
    std::string title = "Alluvium live";
    std::string description;
    Milliseconds segment_length{6000};    // sets how often listeners re-read the playlist
    Milliseconds window{10 * 60 * 1000};  // how far back the playlist reaches
    Milliseconds grace{60 * 1000};        // how long an expired segment's file stays
};

struct PublishedSegment {
    unsigned number = 0;
    std::string file_name;
    std::string mime_type;
    std::uint64_t bytes = 0;
    Milliseconds duration{0};
    TimePoint start{};
    std::optional<TorrentLink> torrent;  // its .torrent beside it (swarm_metadata.hpp), if made
};

class LiveStation {
  public:
    // Reads the playlist already in `dir` if there is one (a restart). Throws
    // std::runtime_error naming the file when it exists but is not a valid playlist.
    explicit LiveStation(LiveOptions options);

    // The number the next segment gets: one after the last one published.
    [[nodiscard]] unsigned next_number() const { return next_number_; }

    // Adds a segment, drops what left the window, deletes files past their grace and
    // rewrites the playlist (temporary file + rename, so a reader never sees half of it).
    void add(const PublishedSegment& segment, TimePoint now);

    // Only expiry (when no segment came for a while).
    void expire(TimePoint now);

    [[nodiscard]] const Playlist& playlist() const { return playlist_; }
    [[nodiscard]] std::filesystem::path playlist_path() const {
        return options_.dir / options_.playlist_name;
    }
    [[nodiscard]] std::string playlist_url() const {
        return options_.base_url + options_.playlist_name;
    }

  private:
    void write() const;

    LiveOptions options_;
    Playlist playlist_;
    unsigned next_number_ = 1;
    std::map<std::string, TimePoint> doomed_;  // file name -> when it may be deleted
};

// The number in a segment's file name ("segment-000042.mp3" -> 42), 0 if none.
[[nodiscard]] unsigned segment_number(const std::string& file_name);

}  // namespace alluvium::broadcaster
