// `generate`: probe media, lay the items out in time and write the playlist.
#include <alluvium/fetch.hpp>
#include <alluvium/file.hpp>
#include <alluvium/media.hpp>
#include <alluvium/playlist.hpp>
#include <alluvium/url.hpp>

#include "commands.hpp"
#include "swarm_metadata.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

namespace alluvium::broadcaster {
namespace {

namespace fs = std::filesystem;

// Extensions `generate` picks up when given a folder.
const std::set<std::string> media_extensions = {".mp3",  ".ogg", ".oga", ".opus", ".flac",
                                                ".wav",  ".aac", ".m4a", ".mp4",  ".m4v",
                                                ".webm", ".mkv", ".ts",  ".mka"};

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::string with_slash(std::string url) {
    if (!url.empty() && url.back() != '/') {
        url += '/';
    }
    return url;
}

// Expands folders into their media files (sorted by name); keeps files and URLs as given.
std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs, bool& ok) {
    std::vector<std::string> out;
    for (const std::string& input : inputs) {
        std::error_code ec;
        if (!is_url(input) && fs::is_directory(input, ec)) {
            std::vector<std::string> found;
            for (const auto& entry : fs::directory_iterator(input, ec)) {
                if (entry.is_regular_file() &&
                    media_extensions.count(lower(entry.path().extension().string())) > 0) {
                    found.push_back(entry.path().string());
                }
            }
            if (found.empty()) {
                std::fprintf(stderr, "%s: no media files in this folder\n", input.c_str());
                ok = false;
            }
            std::sort(found.begin(), found.end());
            out.insert(out.end(), found.begin(), found.end());
        } else {
            out.push_back(input);
        }
    }
    return out;
}

class Progress {
  public:
    Progress(std::size_t total, bool quiet)
        : total_(total), quiet_(quiet), tty_(isatty(STDERR_FILENO) != 0) {}
    void step(std::size_t index, const std::string& name) {
        index_ = index;
        name_ = name;
        say("probing", "");
    }
    // Hashing the current item: how far, and at what speed.
    void hashing(std::uint64_t done, std::uint64_t total, double seconds) const {
        const double mb = static_cast<double>(done) / 1e6;
        char detail[96];
        std::snprintf(detail, sizeof detail, " %3.0f%% of %.1f MB, %.0f MB/s",
                      100.0 * static_cast<double>(done) / static_cast<double>(total),
                      static_cast<double>(total) / 1e6, seconds > 0 ? mb / seconds : 0.0);
        // Without a terminal, one line per file (at its end) is enough.
        if (tty_ || done == total)
            say("hashing", detail);
    }
    void say(const char* what, const char* detail) const {
        if (quiet_)
            return;
        std::fprintf(stderr, tty_ ? "\r\033[K%s [%zu/%zu] %s%s" : "%s [%zu/%zu] %s%s\n", what,
                     index_ + 1, total_, name_.c_str(), detail);
        std::fflush(stderr);
    }
    void done() const {
        if (!quiet_ && tty_) {
            std::fprintf(stderr, "\r\033[K");
        }
    }

  private:
    std::size_t total_;
    bool quiet_;
    bool tty_;
    std::size_t index_ = 0;
    std::string name_;
};

UpdateSchedule refresh_schedule(unsigned seconds) {
    // Smallest standard period that expresses the interval in whole re-reads.
    if (seconds <= 3600) {
        return {UpdatePeriod::hourly, std::max(1u, 3600u / seconds)};
    }
    if (seconds <= 86400) {
        return {UpdatePeriod::daily, std::max(1u, 86400u / seconds)};
    }
    return {UpdatePeriod::yearly, std::max(1u, 31536000u / seconds)};
}

// --start: "now" (rounded to the second: start times are for people to read too) or a
// W3C date-time.
std::optional<TimePoint> start_of(const std::string& start) {
    if (start == "now")
        return std::chrono::floor<std::chrono::seconds>(now_utc());
    std::string why;
    auto t = parse_w3cdtf(start, &why);
    if (!t)
        std::fprintf(stderr, "generate: --start '%s': %s\n", start.c_str(), why.c_str());
    return t;
}

// The item for one input, or nothing (said on stderr) when it cannot be read as media.
std::optional<Item> item_of(const std::string& input, const std::string& base) {
    std::error_code ec;
    std::string detail;
    const auto info = probe_media(input, ec, &detail);
    if (!info) {
        std::fprintf(stderr, "%s: cannot read as media: %s (%s)\n", input.c_str(),
                     ec.message().c_str(), detail.c_str());
        return std::nullopt;
    }
    Item item;
    item.media_url =
        is_url(input) ? input : base + percent_encode(fs::path(input).filename().string());
    item.title = !info->title.empty() ? info->title : fs::path(input).stem().string();
    item.creator = info->artist;
    item.mime_type = info->mime_type;
    if (info->size_bytes > 0) {
        item.length_bytes = info->size_bytes;
    }
    item.duration = info->duration;
    return item;
}

// Hashes a local input and publishes its .torrent beside it (an input given as a URL is
// not fetched for this: a gateway can add its metadata). False, said on stderr, on failure.
bool add_swarm_metadata(const std::string& input, const GenerateOptions& options,
                        const Progress& progress, Item& item) {
    if (is_url(input))
        return true;
    const auto began = std::chrono::steady_clock::now();
    SwarmPublishOptions publish;
    publish.trackers = options.trackers;
    publish.web_seed = options.web_seed;
    publish.progress = [&](std::uint64_t done, std::uint64_t total) {
        progress.hashing(
            done, total,
            std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
    };
    std::string error;
    auto link = publish_swarm_metadata(input, item.media_url, publish, error);
    if (!link) {
        std::fprintf(stderr, "%s\n", error.c_str());
        return false;
    }
    item.torrent = std::move(*link);
    return true;
}

}  // namespace

int generate(const GenerateOptions& options) {
    bool ok = true;
    const std::vector<std::string> inputs = expand_inputs(options.inputs, ok);
    const bool any_local =
        std::any_of(inputs.begin(), inputs.end(), [](const std::string& i) { return !is_url(i); });
    if (any_local && !is_url(options.base_url)) {
        std::fprintf(stderr,
                     "generate: local files need --base-url, the http(s) URL of the folder "
                     "where they will be published\n");
        return 2;
    }
    const std::optional<TimePoint> start = start_of(options.start);
    if (!start)
        return 2;
    const std::string base = with_slash(options.base_url);
    Playlist playlist;
    playlist.title = options.title;
    playlist.description = options.description;
    playlist.creator = options.creator;
    playlist.link = options.link.empty() ? base : options.link;
    const std::string file_name =
        options.output.empty() ? "playlist.rss" : fs::path(options.output).filename().string();
    playlist.about = !options.about.empty() ? options.about
                     : base.empty()         ? file_name
                                            : base + percent_encode(file_name);
    playlist.anchor = *start;
    playlist.update = refresh_schedule(options.refresh_seconds);

    Progress progress(inputs.size(), options.quiet);
    TimePoint cursor = *start;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        progress.step(i, inputs[i]);
        auto item = item_of(inputs[i], base);
        if (!item) {
            progress.done();
            ok = false;
            continue;
        }
        if (!options.loop) {
            item->start = cursor;
        }
        if (options.swarm && !add_swarm_metadata(inputs[i], options, progress, *item)) {
            progress.done();
            ok = false;
            continue;
        }
        cursor += *item->duration;  // item_of always sets it
        playlist.items.push_back(std::move(*item));
    }
    progress.done();
    if (!ok) {
        return 1;
    }
    const std::string xml = write_playlist(playlist);
    if (options.output.empty()) {
        std::fwrite(xml.data(), 1, xml.size(), stdout);
        return 0;
    }
    // Whole, so a web server never serves half a playlist.
    std::string error;
    if (!replace_file(options.output, xml, &error)) {
        std::fprintf(stderr, "%s\n", error.c_str());
        return 2;
    }
    if (!options.quiet) {
        std::fprintf(stderr, "wrote %s: %zu items, %s%s\n", options.output.c_str(),
                     playlist.items.size(), format_duration(cursor - *start).c_str(),
                     options.loop ? ", looping" : "");
    }
    return 0;
}

}  // namespace alluvium::broadcaster
