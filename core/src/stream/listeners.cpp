#include "listeners.hpp"

#include <alluvium/version.hpp>

#include "../common/log.hpp"
#include "../net/http_head.hpp"

#include <algorithm>

namespace alluvium::detail {

std::string icecast_head(StreamFormat format, const StationInfo& station, std::size_t metaint,
                         const HttpHeaders& extra) {
    std::string h = "HTTP/1.0 200 OK\r\n";
    h += std::string("Server: Alluvium/") + version_string() + "\r\n";
    h += std::string("Content-Type: ") + content_type_of(format) + "\r\n";
    h += "Cache-Control: no-cache, no-store\r\nPragma: no-cache\r\n";
    h += "Connection: Close\r\n" + header_lines(extra);
    // VLC asks for ICY metadata only when these are present.
    h += "icy-name:" + header_value(station.name.empty() ? "Alluvium station" : station.name) +
         "\r\n";
    h += "icy-description:" + header_value(station.description) + "\r\n";
    h += "icy-genre:Alluvium\r\nicy-pub:0\r\n";
    if (!station.url.empty())
        h += "icy-url:" + header_value(station.url) + "\r\n";
    if (station.bit_rate > 0)
        h += "icy-br:" + std::to_string((station.bit_rate + 500) / 1000) + "\r\n";
    if (metaint > 0)
        h += "icy-metaint:" + std::to_string(metaint) + "\r\n";
    return h + "\r\n";
}

StationStream::StationStream(Broadcast& broadcast, std::function<StationInfo()> station,
                             std::function<TimePoint()> clock, bool icy, std::string peer,
                             HttpHeaders extra_headers)
    : broadcast_(broadcast),
      station_(std::move(station)),
      clock_(std::move(clock)),
      icy_(icy),
      extra_headers_(std::move(extra_headers)),
      slot_(std::make_shared<ListenerSlot>()) {
    slot_->peer = std::move(peer);
}

void StationStream::attach(const std::shared_ptr<StationStream>& self) {
    slot_->stream = self;
    broadcast_.add_listener(slot_);
}

HttpStream::Pull StationStream::pull(std::string& out, std::size_t max) {
    if (!head_sent_) {
        const StreamFormat format = broadcast_.format();
        const Broadcast::Join join = broadcast_.join(clock_());
        if (format == StreamFormat::none || !join.ok) {
            return Pull::wait;  // nothing on air yet: the broadcast wakes us
        }
        // Ogg carries titles in its own comment headers, not as ICY (as Icecast does).
        const bool icy = icy_ && format != StreamFormat::ogg;
        out = icecast_head(format, station_(), icy ? metaint : 0, extra_headers_);
        if (icy)
            writer_.emplace(metaint);
        position_ = join.position;
        log().debug("stream: {} joins at byte {}", slot_->peer, position_);
        slot_->position = position_;
        slot_->joined = true;
        headers_ = join.headers;
        head_sent_ = true;
        return Pull::data;
    }
    std::string audio;
    if (headers_) {
        audio = *headers_;
        headers_.reset();
    } else {
        switch (broadcast_.read(position_, max, audio, title_)) {
            case Broadcast::Read::wait:
                return Pull::wait;
            case Broadcast::Read::gone:
                return Pull::end;
            case Broadcast::Read::data:
                break;
        }
        slot_->position = position_;
    }
    if (writer_) {
        writer_->write(audio, title_, out);
    } else {
        out += audio;
    }
    return Pull::data;
}

ItemStream::ItemStream(std::shared_ptr<Item> item, std::string mime_type, const std::string& range,
                       std::uint64_t bytes_per_second, HttpHeaders extra_headers)
    : item_(std::move(item)),
      extra_headers_(std::move(extra_headers)),
      mime_(std::move(mime_type)),
      range_(range),
      rate_(bytes_per_second) {}

HttpStream::Pull ItemStream::pull(std::string& out, std::size_t max) {
    if (!head_sent_) {
        const std::uint64_t size = item_->size();
        const ByteRange range = parse_byte_range(range_, size);
        const std::uint64_t from = range.first;
        const std::uint64_t last = range.last;
        const bool partial = range.partial;
        if (!range.satisfiable) {
            out = "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */" +
                  std::to_string(size) + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            return Pull::end;
        }
        out = partial ? "HTTP/1.1 206 Partial Content\r\n" : "HTTP/1.1 200 OK\r\n";
        out += std::string("Server: Alluvium/") + version_string() + "\r\n";
        out += "Content-Type: " + header_value(mime_.empty() ? "application/octet-stream" : mime_) +
               "\r\n";
        out += "Accept-Ranges: bytes\r\nConnection: close\r\n" + header_lines(extra_headers_);
        if (size > 0) {
            out += "Content-Length: " + std::to_string(last - from + 1) + "\r\n";
            if (partial) {
                out += "Content-Range: bytes " + std::to_string(from) + "-" + std::to_string(last) +
                       "/" + std::to_string(size) + "\r\n";
            }
            end_ = last + 1;
        }
        out += "\r\n";
        position_ = from;
        head_sent_ = true;
        item_->need(position_, rate_);
        return Pull::data;
    }
    if (end_ > 0 && position_ >= end_) {
        return Pull::end;
    }
    const std::size_t want =
        static_cast<std::size_t>(end_ > 0 ? std::min<std::uint64_t>(max, end_ - position_) : max);
    const std::size_t at = out.size();
    out.resize(at + want);
    const std::size_t got = item_->read(position_, out.data() + at, want);
    out.resize(at + got);
    if (got == 0) {
        // Without a Content-Length (the size was unknown when the head went out), the end
        // is the item's size once known: never just "nothing to read right now".
        if (end_ == 0 && item_->state() == ItemState::complete) {
            const std::uint64_t size = item_->size();
            if (size > 0 && position_ >= size)
                return Pull::end;
        }
        item_->need(position_, rate_);
        return Pull::wait;
    }
    position_ += got;
    return Pull::data;
}

}  // namespace alluvium::detail
