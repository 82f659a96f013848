// The rolling playlist of a live station.
#include "live_station.hpp"

#include <alluvium/file.hpp>

#include <cctype>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace alluvium::broadcaster {

namespace fs = std::filesystem;

unsigned segment_number(const std::string& file_name) {
    const auto dot = file_name.find('.');
    const std::string stem = file_name.substr(0, dot);
    std::size_t i = stem.size();
    while (i > 0 && std::isdigit(static_cast<unsigned char>(stem[i - 1])))
        --i;
    if (i == stem.size() || stem.size() - i > 9)
        return 0;
    return static_cast<unsigned>(std::stoul(stem.substr(i)));
}

namespace {

std::string file_name_of(const std::string& url) {
    const auto slash = url.rfind('/');
    return slash == std::string::npos ? url : url.substr(slash + 1);
}

TimePoint end_of(const Item& item) {
    return item.start.value_or(TimePoint{}) + item.duration.value_or(Milliseconds{0});
}

}  // namespace

LiveStation::LiveStation(LiveOptions options) : options_(std::move(options)) {
    if (!options_.base_url.empty() && options_.base_url.back() != '/')
        options_.base_url += '/';
    playlist_.about = playlist_url();
    playlist_.title = options_.title;
    playlist_.link = options_.base_url;
    playlist_.description = options_.description;
    const auto every = std::max<std::int64_t>(options_.segment_length.count(), 1000);
    playlist_.update = UpdateSchedule{
        UpdatePeriod::hourly, static_cast<unsigned>(std::max<std::int64_t>(1, 3600000 / every))};
    const fs::path existing = playlist_path();
    std::error_code ec;
    if (!fs::exists(existing, ec))
        return;
    std::ifstream in(existing, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    const ReadResult read = read_playlist(text.str(), existing.string());
    if (!read.ok()) {
        throw std::runtime_error(read.diagnostics.empty() ? existing.string() + ": not a playlist"
                                                          : read.diagnostics.front().to_string());
    }
    // A restart: the segments published before stay (those still in the window).
    playlist_.items = read.playlist->items;
    for (const Item& item : playlist_.items)
        next_number_ = std::max(next_number_, segment_number(file_name_of(item.media_url)) + 1);
}

void LiveStation::add(const PublishedSegment& segment, TimePoint now) {
    Item item;
    item.media_url = options_.base_url + segment.file_name;
    item.title = options_.title + " " + std::to_string(segment.number);
    item.mime_type = segment.mime_type;
    item.length_bytes = segment.bytes;
    item.duration = segment.duration;
    item.start = segment.start;
    item.torrent = segment.torrent;
    // A start that would go back in time (a clock step, a restart that overlaps): follow on.
    if (!playlist_.items.empty() && *item.start < end_of(playlist_.items.back()))
        item.start = end_of(playlist_.items.back());
    playlist_.items.push_back(std::move(item));
    next_number_ = std::max(next_number_, segment.number + 1);
    expire(now);
}

void LiveStation::expire(TimePoint now) {
    auto& items = playlist_.items;
    while (items.size() > 1 && end_of(items.front()) < now - options_.window) {
        doomed_[file_name_of(items.front().media_url)] = now + options_.grace;
        items.erase(items.begin());
    }
    for (auto it = doomed_.begin(); it != doomed_.end();) {
        if (it->second <= now) {
            std::error_code ec;
            fs::remove(options_.dir / it->first, ec);
            fs::remove(options_.dir / (it->first + ".torrent"), ec);
            it = doomed_.erase(it);
        } else {
            ++it;
        }
    }
    write();
}

void LiveStation::write() const {
    // Whole: readers see the old playlist or the new one.
    std::string error;
    if (!replace_file(playlist_path(), write_playlist(playlist_), &error))
        throw std::runtime_error(error);
}

}  // namespace alluvium::broadcaster
