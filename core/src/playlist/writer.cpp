// RSS 1.0 playlist writer on libxml2's xmlTextWriter (which does all escaping).
#include <alluvium/playlist.hpp>

#include "namespaces.hpp"

#include <libxml/xmlwriter.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>

namespace alluvium {
namespace {

const xmlChar* x(const char* s) {
    return reinterpret_cast<const xmlChar*>(s);
}

const char* period_name(UpdatePeriod p) {
    switch (p) {
        case UpdatePeriod::hourly:
            return "hourly";
        case UpdatePeriod::daily:
            return "daily";
        case UpdatePeriod::weekly:
            return "weekly";
        case UpdatePeriod::monthly:
            return "monthly";
        case UpdatePeriod::yearly:
            return "yearly";
    }
    return "daily";
}

class Writer {
  public:
    Writer() : buffer_(xmlBufferCreate(), xmlBufferFree) {
        if (!buffer_) {
            throw std::bad_alloc();
        }
        w_ = xmlNewTextWriterMemory(buffer_.get(), 0);
        if (w_ == nullptr) {
            throw std::bad_alloc();
        }
        xmlTextWriterSetIndent(w_, 1);
        xmlTextWriterSetIndentString(w_, x("  "));
    }
    ~Writer() {
        if (w_ != nullptr) {
            xmlFreeTextWriter(w_);
        }
    }
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;

    std::string write(const Playlist& p) {
        xmlTextWriterStartDocument(w_, "1.0", "UTF-8", nullptr);
        xmlTextWriterStartElementNS(w_, x("rdf"), x("RDF"), x(ns::rdf));
        xmlTextWriterWriteAttribute(w_, x("xmlns"), x(ns::rss));
        xmlTextWriterWriteAttribute(w_, x("xmlns:dc"), x(ns::dc));
        xmlTextWriterWriteAttribute(w_, x("xmlns:sy"), x(ns::sy));
        xmlTextWriterWriteAttribute(w_, x("xmlns:ev"), x(ns::ev));
        xmlTextWriterWriteAttribute(w_, x("xmlns:mm"), x(ns::mm));
        xmlTextWriterWriteAttribute(w_, x("xmlns:enc"), x(ns::enc));
        if (std::any_of(p.items.begin(), p.items.end(),
                        [](const Item& i) { return i.torrent.has_value(); }))
            xmlTextWriterWriteAttribute(w_, x("xmlns:torrent"), x(ns::torrent));
        const auto abouts = item_abouts(p);
        channel(p, abouts);
        for (std::size_t i = 0; i < p.items.size(); ++i) {
            item(p.items[i], abouts[i]);
        }
        xmlTextWriterEndElement(w_);
        xmlTextWriterEndDocument(w_);
        xmlTextWriterFlush(w_);
        std::string out(reinterpret_cast<const char*>(xmlBufferContent(buffer_.get())),
                        static_cast<std::size_t>(xmlBufferLength(buffer_.get())));
        if (out.empty() || out.back() != '\n') {
            out += '\n';
        }
        return out;
    }

  private:
    // RDF names each item by its rdf:about, and one name is one resource. A station that
    // plays the same file twice gets "#2", "#3"... on the later names; the media URL itself
    // stays in <link> and the enclosure.
    static std::vector<std::string> item_abouts(const Playlist& p) {
        std::vector<std::string> abouts;
        std::map<std::string, int> seen;
        for (const Item& item : p.items) {
            const int n = ++seen[item.media_url];
            abouts.push_back(n == 1
                                 ? item.media_url
                                 : item.media_url +
                                       (item.media_url.find('#') == std::string::npos ? "#" : "-") +
                                       std::to_string(n));
        }
        return abouts;
    }

    void text(const char* prefix, const char* name, const std::string& value) {
        if (prefix == nullptr) {
            xmlTextWriterWriteElement(w_, x(name), x(value.c_str()));
        } else {
            xmlTextWriterWriteElementNS(w_, x(prefix), x(name), nullptr, x(value.c_str()));
        }
    }

    void channel(const Playlist& p, const std::vector<std::string>& abouts) {
        xmlTextWriterStartElement(w_, x("channel"));
        xmlTextWriterWriteAttributeNS(w_, x("rdf"), x("about"), nullptr, x(p.about.c_str()));
        text(nullptr, "title", p.title);
        text(nullptr, "link", p.link);
        text(nullptr, "description", p.description);
        if (!p.creator.empty()) {
            text("dc", "creator", p.creator);
        }
        if (p.anchor) {
            text("dc", "date", format_w3cdtf(*p.anchor));
        }
        if (p.update) {
            text("sy", "updatePeriod", period_name(p.update->period));
            text("sy", "updateFrequency", std::to_string(p.update->frequency));
        }
        xmlTextWriterStartElement(w_, x("items"));
        xmlTextWriterStartElementNS(w_, x("rdf"), x("Seq"), nullptr);
        for (const std::string& about : abouts) {
            xmlTextWriterStartElementNS(w_, x("rdf"), x("li"), nullptr);
            xmlTextWriterWriteAttributeNS(w_, x("rdf"), x("resource"), nullptr, x(about.c_str()));
            xmlTextWriterEndElement(w_);
        }
        xmlTextWriterEndElement(w_);
        xmlTextWriterEndElement(w_);
        xmlTextWriterEndElement(w_);
    }

    void item(const Item& item, const std::string& about) {
        xmlTextWriterStartElement(w_, x("item"));
        xmlTextWriterWriteAttributeNS(w_, x("rdf"), x("about"), nullptr, x(about.c_str()));
        text(nullptr, "title", item.title);
        text(nullptr, "link", item.media_url);
        if (!item.description.empty()) {
            text(nullptr, "description", item.description);
        }
        if (!item.creator.empty()) {
            text("dc", "creator", item.creator);
        }
        if (item.duration) {
            text("mm", "duration", std::to_string(item.duration->count()));
        }
        if (item.start) {
            text("ev", "startdate", format_w3cdtf(*item.start));
        }
        if (item.end) {
            text("ev", "enddate", format_w3cdtf(*item.end));
        }
        if (!item.mime_type.empty() || item.length_bytes)
            enclosure(item.media_url, item.mime_type, item.length_bytes);
        if (item.torrent)
            torrent(*item.torrent);
        xmlTextWriterEndElement(w_);
    }

    void enclosure(const std::string& url, const std::string& type,
                   const std::optional<std::uint64_t>& length) {
        xmlTextWriterStartElementNS(w_, x("enc"), x("enclosure"), nullptr);
        xmlTextWriterWriteAttributeNS(w_, x("rdf"), x("resource"), nullptr, x(url.c_str()));
        if (!type.empty())
            xmlTextWriterWriteAttributeNS(w_, x("enc"), x("type"), nullptr, x(type.c_str()));
        if (length) {
            xmlTextWriterWriteAttributeNS(w_, x("enc"), x("length"), nullptr,
                                          x(std::to_string(*length).c_str()));
        }
        xmlTextWriterEndElement(w_);
    }

    // The ezRSS torrent module's elements, and the .torrent as a second enclosure.
    void torrent(const TorrentLink& t) {
        if (!t.torrent_url.empty())
            enclosure(t.torrent_url, std::string(torrent_mime_type), t.torrent_length);
        if (!t.file_name.empty())
            text("torrent", "fileName", t.file_name);
        if (t.content_length)
            text("torrent", "contentLength", std::to_string(*t.content_length));
        if (!t.info_hash.empty())
            text("torrent", "infoHash", t.info_hash);
        if (!t.magnet_uri.empty())
            text("torrent", "magnetURI", t.magnet_uri);
    }

    std::unique_ptr<xmlBuffer, decltype(&xmlBufferFree)> buffer_;
    xmlTextWriterPtr w_ = nullptr;
};

}  // namespace

std::string write_playlist(const Playlist& playlist) {
    Writer writer;
    return writer.write(playlist);
}

}  // namespace alluvium
