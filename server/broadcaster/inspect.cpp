// `validate`, `now` and `check`: read a published or local playlist and report on it.
#include <alluvium/fetch.hpp>
#include <alluvium/playlist.hpp>
#include <alluvium/schedule.hpp>

#include "commands.hpp"

#include <cstdio>

namespace alluvium::broadcaster {
namespace {

struct Loaded {
    std::optional<Playlist> playlist;
    std::string content_type;
    bool fetched = false;  // false: the document could not be read at all
};

void print(const Diagnostics& diagnostics) {
    for (const Diagnostic& d : diagnostics) {
        std::fprintf(stderr, "%s\n", d.to_string().c_str());
    }
}

// Reads and parses; prints every diagnostic. Reads one byte past the limit so that an
// oversized document is reported by the reader, with the same words for files and URLs.
Loaded load(const std::string& file_or_url) {
    Loaded loaded;
    const ReadOptions limits;
    std::error_code ec;
    std::string detail;
    Document doc = load_document(file_or_url, limits.max_bytes + 1, ec, &detail);
    if (ec == errc::too_large) {
        print({{Severity::error, file_or_url, 0, "document",
                detail + " (playlists are limited to " + std::to_string(limits.max_bytes) +
                    " bytes)"}});
        loaded.fetched = true;
        return loaded;
    }
    if (ec) {
        std::fprintf(stderr, "%s: %s (%s)\n", file_or_url.c_str(), ec.message().c_str(),
                     detail.c_str());
        return loaded;
    }
    loaded.fetched = true;
    loaded.content_type = doc.content_type;
    ReadResult result = read_playlist(doc.body, file_or_url, limits);
    print(result.diagnostics);
    loaded.playlist = std::move(result.playlist);
    return loaded;
}

std::string media_type_of(const std::string& content_type) {
    HttpResponse r;
    r.content_type = content_type;
    return r.media_type();
}

void print_slot(const Playlist& playlist, const Slot& slot) {
    const Item& item = playlist.items[slot.item];
    std::printf("  %s  %-40s %9s  %s\n", format_w3cdtf(slot.start).c_str(),
                item.display_title().c_str(), format_duration(slot.length()).c_str(),
                item.media_url.c_str());
}

}  // namespace

int validate(const std::string& file_or_url) {
    const Loaded loaded = load(file_or_url);
    if (!loaded.fetched) {
        return 2;
    }
    if (!loaded.playlist) {
        return 1;
    }
    if (is_url(file_or_url) && media_type_of(loaded.content_type) != playlist_mime_type) {
        std::fprintf(stderr, "%s: warning: served as '%s', not %s (see `webconfig`)\n",
                     file_or_url.c_str(), loaded.content_type.c_str(),
                     std::string(playlist_mime_type).c_str());
    }
    const Playlist& p = *loaded.playlist;
    const auto schedule = Schedule::build(p);
    std::printf("%s: valid: \"%s\", %zu items, %s", file_or_url.c_str(), p.title.c_str(),
                p.items.size(), format_duration(schedule->cycle()).c_str());
    if (schedule->loops()) {
        std::printf(", loops from %s\n", format_w3cdtf(schedule->begin()).c_str());
    } else if (!schedule->empty()) {
        std::printf(", %s to %s\n", format_w3cdtf(schedule->begin()).c_str(),
                    format_w3cdtf(*schedule->end()).c_str());
    } else {
        std::printf("\n");
    }
    return 0;
}

int now(const std::string& file_or_url, const std::string& at, unsigned next_count) {
    TimePoint instant = now_utc();
    if (at != "now") {
        std::string why;
        const auto parsed = parse_w3cdtf(at, &why);
        if (!parsed) {
            std::fprintf(stderr, "now: --at '%s': %s\n", at.c_str(), why.c_str());
            return 2;
        }
        instant = *parsed;
    }
    const Loaded loaded = load(file_or_url);
    if (!loaded.playlist) {
        return loaded.fetched ? 1 : 2;
    }
    const Playlist& p = *loaded.playlist;
    const auto schedule = Schedule::build(p);
    const OnAir air = schedule->at(instant, next_count);
    std::printf("station: %s\n", p.title.empty() ? "(untitled)" : p.title.c_str());
    std::printf("at:      %s (%s)\n", format_w3cdtf(instant).c_str(),
                format_local(instant).c_str());
    switch (air.state) {
        case AirState::playing: {
            const Item& item = p.items[air.current->item];
            std::printf("on now:  %s\n", item.display_title().c_str());
            std::printf("url:     %s\n", item.media_url.c_str());
            std::printf("offset:  %s of %s (started %s)\n", format_duration(air.offset).c_str(),
                        format_duration(air.current->length()).c_str(),
                        format_w3cdtf(air.current->start).c_str());
            break;
        }
        case AirState::before_start:
            std::printf("on now:  nothing yet; the station starts later\n");
            break;
        case AirState::gap:
            std::printf("on now:  silence (a gap in the schedule)\n");
            break;
        case AirState::ended:
            std::printf("on now:  nothing; the schedule has ended\n");
            break;
        case AirState::empty:
            std::printf("on now:  nothing; the station has no items\n");
            break;
    }
    if (!air.next.empty()) {
        std::printf("next:\n");
        for (const Slot& slot : air.next) {
            print_slot(p, slot);
        }
    }
    return 0;
}

int check(const std::string& url) {
    if (!is_url(url)) {
        std::fprintf(stderr, "check: '%s' is not an http:// or https:// URL\n", url.c_str());
        return 2;
    }
    const Loaded loaded = load(url);
    if (!loaded.fetched) {
        return 2;
    }
    const std::string type = media_type_of(loaded.content_type);
    const bool type_ok = type == playlist_mime_type;
    if (type_ok) {
        std::printf("Content-Type: %s: correct\n", loaded.content_type.c_str());
    } else {
        std::printf(
            "Content-Type: %s: wrong, Alluvium playlists must be served as %s "
            "(`alluvium-broadcaster webconfig --server nginx|apache|lighttpd|caddy` "
            "prints the configuration)\n",
            loaded.content_type.empty() ? "(none)" : loaded.content_type.c_str(),
            std::string(playlist_mime_type).c_str());
    }
    if (loaded.playlist) {
        std::printf("playlist: valid, %zu items\n", loaded.playlist->items.size());
    } else {
        std::printf("playlist: invalid (see the errors above)\n");
    }
    return type_ok && loaded.playlist ? 0 : 1;
}

}  // namespace alluvium::broadcaster
