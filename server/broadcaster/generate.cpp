// `generate`: probe media, lay the items out in time and write the playlist.
#include <alluvium/fetch.hpp>
#include <alluvium/media.hpp>
#include <alluvium/playlist.hpp>
#include <alluvium/url.hpp>

#include "commands.hpp"

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
    void step(std::size_t index, const std::string& name) const {
        if (quiet_) {
            return;
        }
        if (tty_) {
            std::fprintf(stderr, "\r\033[Kprobing [%zu/%zu] %s", index + 1, total_, name.c_str());
        } else {
            std::fprintf(stderr, "probing [%zu/%zu] %s\n", index + 1, total_, name.c_str());
        }
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
    // "now" is rounded to the second: start times are for people to read too.
    std::optional<TimePoint> start =
        options.start == "now"
            ? std::optional<TimePoint>(std::chrono::floor<std::chrono::seconds>(now_utc()))
            : std::nullopt;
    if (!start) {
        std::string why;
        start = parse_w3cdtf(options.start, &why);
        if (!start) {
            std::fprintf(stderr, "generate: --start '%s': %s\n", options.start.c_str(),
                         why.c_str());
            return 2;
        }
    }
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

    const Progress progress(inputs.size(), options.quiet);
    TimePoint cursor = *start;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const std::string& input = inputs[i];
        progress.step(i, input);
        std::error_code ec;
        std::string detail;
        const auto info = probe_media(input, ec, &detail);
        if (!info) {
            progress.done();
            std::fprintf(stderr, "%s: cannot read as media: %s (%s)\n", input.c_str(),
                         ec.message().c_str(), detail.c_str());
            ok = false;
            continue;
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
        if (!options.loop) {
            item.start = cursor;
        }
        cursor += info->duration;
        playlist.items.push_back(std::move(item));
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
    // Write beside the target and rename, so a web server never serves half a playlist.
    const fs::path target(options.output);
    const fs::path temporary = target.string() + ".tmp";
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        out.write(xml.data(), static_cast<std::streamsize>(xml.size()));
        if (!out) {
            std::fprintf(stderr, "%s: cannot write\n", temporary.c_str());
            return 2;
        }
    }
    std::error_code ec;
    fs::rename(temporary, target, ec);
    if (ec) {
        std::fprintf(stderr, "%s: cannot rename into place: %s\n", target.c_str(),
                     ec.message().c_str());
        return 2;
    }
    if (!options.quiet) {
        std::fprintf(stderr, "wrote %s: %zu items, %s%s\n", target.c_str(), playlist.items.size(),
                     format_duration(cursor - *start).c_str(), options.loop ? ", looping" : "");
    }
    return 0;
}

}  // namespace alluvium::broadcaster
