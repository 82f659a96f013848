// RSS 1.0 playlist reader on libxml2.
//
// Safety: the document is parsed from memory with XML_PARSE_NONET and without
// XML_PARSE_NOENT/DTDLOAD; on top of that a SAX hook stops the parser at the first DOCTYPE,
// so no entity can ever be declared, expanded or fetched (XXE, billion laughs).
#include <alluvium/metainfo.hpp>
#include <alluvium/playlist.hpp>
#include <alluvium/text.hpp>

#include "namespaces.hpp"
#include "timeline.hpp"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <map>
#include <memory>

namespace alluvium {
namespace {

struct DocFree {
    void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
struct CtxtFree {
    void operator()(xmlParserCtxt* c) const { xmlFreeParserCtxt(c); }
};

// Set by the SAX hook when the document declares a DTD.
struct Refusal {
    bool doctype = false;
    int line = 0;
};

void refuse_doctype(void* ctx, const xmlChar* /*name*/, const xmlChar* /*external_id*/,
                    const xmlChar* /*system_id*/) {
    auto* ctxt = static_cast<xmlParserCtxt*>(ctx);
    auto* refusal = static_cast<Refusal*>(ctxt->_private);
    refusal->doctype = true;
    refusal->line = ctxt->input != nullptr ? ctxt->input->line : 0;
    xmlStopParser(ctxt);
}

std::string_view trim(std::string_view s) {
    const auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    while (!s.empty() && ws(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && ws(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

const char* chars(const xmlChar* s) {
    return reinterpret_cast<const char*>(s);
}

bool in_ns(const xmlNode* node, const char* uri) {
    return node->ns != nullptr && node->ns->href != nullptr &&
           std::strcmp(chars(node->ns->href), uri) == 0;
}

bool is(const xmlNode* node, const char* uri, const char* local) {
    return node->type == XML_ELEMENT_NODE && std::strcmp(chars(node->name), local) == 0 &&
           in_ns(node, uri);
}

std::string ns_of(const xmlNode* node) {
    return node->ns != nullptr && node->ns->href != nullptr ? chars(node->ns->href) : "";
}

std::string qualified(const xmlNode* node) {
    std::string name;
    if (node->ns != nullptr && node->ns->prefix != nullptr) {
        name = chars(node->ns->prefix);
        name += ':';
    }
    return name + chars(node->name);
}

int line_of(const xmlNode* node) {
    return static_cast<int>(xmlGetLineNo(node));
}

std::string text_of(const xmlNode* node) {
    std::unique_ptr<xmlChar, decltype(xmlFree)> content(xmlNodeGetContent(node), xmlFree);
    return content ? std::string(trim(chars(content.get()))) : std::string();
}

std::string attr(const xmlNode* node, const char* local, const char* uri) {
    std::unique_ptr<xmlChar, decltype(xmlFree)> value(
        xmlGetNsProp(node, reinterpret_cast<const xmlChar*>(local),
                     reinterpret_cast<const xmlChar*>(uri)),
        xmlFree);
    return value ? std::string(trim(chars(value.get()))) : std::string();
}

class Reader {
  public:
    Reader(std::string_view source, Diagnostics& out) : source_(source), out_(out) {}

    std::optional<Playlist> read(const xmlNode* root);

  private:
    void report(Severity severity, const xmlNode* node, std::string field, std::string message) {
        out_.push_back({severity, source_, node != nullptr ? line_of(node) : 0, std::move(field),
                        std::move(message)});
    }
    bool check_root(const xmlNode* root);
    void read_channel(const xmlNode* channel, Playlist& playlist);
    void read_sequence(const xmlNode* items);
    Item read_item(const xmlNode* node, std::size_t index);
    void read_enclosure(const xmlNode* n, const std::string& field, Item& item,
                        std::string& enclosure);
    void read_torrent(const xmlNode* n, const std::string& field, TorrentLink& torrent);
    std::optional<std::uint64_t> read_count(const xmlNode* node, const std::string& field,
                                            const std::string& text, const char* what);
    std::optional<TimePoint> read_date(const xmlNode* node, const std::string& field);
    void warn_unknown(const xmlNode* node, const std::string& where);
    std::vector<Item> order_items(std::vector<std::pair<const xmlNode*, Item>> items);

    std::string source_;
    Diagnostics& out_;
    std::vector<std::pair<std::string, const xmlNode*>> sequence_;  // rdf:li resources
    bool has_sequence_ = false;
};

bool Reader::check_root(const xmlNode* root) {
    if (root == nullptr) {
        report(Severity::error, nullptr, "document", "the document has no root element");
        return false;
    }
    if (std::strcmp(chars(root->name), "rss") == 0 && root->ns == nullptr) {
        report(Severity::error, root, "rss",
               "this is an RSS 0.9x/2.0 feed (<rss>); Alluvium playlists are RSS 1.0 "
               "(<rdf:RDF>)");
        return false;
    }
    if (std::strcmp(chars(root->name), "RDF") != 0) {
        report(Severity::error, root, qualified(root),
               "the root element must be <rdf:RDF> (RSS 1.0), not <" + qualified(root) + ">");
        return false;
    }
    if (!in_ns(root, ns::rdf)) {
        report(Severity::error, root, qualified(root),
               std::string("<RDF> must be in the namespace ") + ns::rdf + ", not '" + ns_of(root) +
                   "'");
        return false;
    }
    return true;
}

std::optional<std::uint64_t> Reader::read_count(const xmlNode* node, const std::string& field,
                                                const std::string& text, const char* what) {
    if (text.empty()) {
        report(Severity::error, node, field, std::string("the ") + what + " is empty");
        return std::nullopt;
    }
    if (text.front() == '-') {
        report(Severity::error, node, field,
               std::string("the ") + what + " '" + text + "' is negative");
        return std::nullopt;
    }
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec == std::errc::result_out_of_range) {
        report(Severity::error, node, field,
               std::string("the ") + what + " '" + text + "' is too large");
        return std::nullopt;
    }
    if (ec != std::errc() || end != text.data() + text.size()) {
        report(Severity::error, node, field,
               std::string("the ") + what + " '" + text + "' is not a whole number");
        return std::nullopt;
    }
    return value;
}

std::optional<TimePoint> Reader::read_date(const xmlNode* node, const std::string& field) {
    const std::string text = text_of(node);
    std::string why;
    auto t = parse_w3cdtf(text, &why);
    if (!t) {
        report(Severity::error, node, field, "'" + text + "' is not a W3C date-time (" + why + ")");
    }
    return t;
}

void Reader::warn_unknown(const xmlNode* node, const std::string& where) {
    // Elements of other namespaces are extensions and pass silently; an unknown element of
    // a namespace we read is most likely a typo.
    static constexpr const char* known[] = {ns::rss, ns::dc,  ns::sy,     ns::ev,
                                            ns::mm,  ns::enc, ns::torrent};
    for (const char* uri : known) {
        if (in_ns(node, uri)) {
            report(Severity::warning, node, where + "/" + qualified(node),
                   "unknown element ignored");
            return;
        }
    }
    if (node->ns == nullptr) {
        report(Severity::warning, node, where + "/" + qualified(node),
               "element without a namespace ignored (RSS 1.0 elements are in " +
                   std::string(ns::rss) + ")");
    }
}

void Reader::read_sequence(const xmlNode* items) {
    for (const xmlNode* seq = items->children; seq != nullptr; seq = seq->next) {
        if (seq->type != XML_ELEMENT_NODE) {
            continue;
        }
        if (!is(seq, ns::rdf, "Seq")) {
            report(Severity::warning, seq, "channel/items/" + qualified(seq),
                   "expected <rdf:Seq>; ignored");
            continue;
        }
        has_sequence_ = true;
        for (const xmlNode* li = seq->children; li != nullptr; li = li->next) {
            if (li->type != XML_ELEMENT_NODE) {
                continue;
            }
            if (!is(li, ns::rdf, "li")) {
                report(Severity::warning, li, "rdf:Seq/" + qualified(li), "expected <rdf:li>");
                continue;
            }
            std::string resource = attr(li, "resource", ns::rdf);
            if (resource.empty()) {
                resource = attr(li, "resource", nullptr);
            }
            if (resource.empty()) {
                report(Severity::error, li, "rdf:li", "the list entry has no rdf:resource");
                continue;
            }
            sequence_.emplace_back(std::move(resource), li);
        }
    }
}

void Reader::read_channel(const xmlNode* channel, Playlist& playlist) {
    playlist.about = attr(channel, "about", ns::rdf);
    std::optional<UpdatePeriod> period;
    std::optional<unsigned> frequency;
    for (const xmlNode* n = channel->children; n != nullptr; n = n->next) {
        if (n->type != XML_ELEMENT_NODE || is(n, ns::rss, "item")) {
            continue;  // legacy items inside <channel> are collected by read()
        }
        const std::string field = "channel/" + qualified(n);
        if (is(n, ns::rss, "title")) {
            playlist.title = text_of(n);
        } else if (is(n, ns::rss, "link")) {
            playlist.link = text_of(n);
        } else if (is(n, ns::rss, "description")) {
            playlist.description = text_of(n);
        } else if (is(n, ns::dc, "creator")) {
            playlist.creator = text_of(n);
        } else if (is(n, ns::dc, "date")) {
            playlist.anchor = read_date(n, field);
        } else if (is(n, ns::sy, "updatePeriod")) {
            static const std::map<std::string, UpdatePeriod> names = {
                {"hourly", UpdatePeriod::hourly},
                {"daily", UpdatePeriod::daily},
                {"weekly", UpdatePeriod::weekly},
                {"monthly", UpdatePeriod::monthly},
                {"yearly", UpdatePeriod::yearly}};
            const std::string text = text_of(n);
            if (const auto it = names.find(text); it != names.end()) {
                period = it->second;
            } else {
                report(Severity::error, n, field,
                       "'" + text + "' is not one of hourly, daily, weekly, monthly, yearly");
            }
        } else if (is(n, ns::sy, "updateFrequency")) {
            const auto value = read_count(n, field, text_of(n), "update frequency");
            if (value && (*value == 0 || *value > 1000000)) {
                report(Severity::error, n, field, "the update frequency must be 1 to 1000000");
            } else if (value) {
                frequency = static_cast<unsigned>(*value);
            }
        } else if (is(n, ns::sy, "updateBase") || is(n, ns::rss, "image") ||
                   is(n, ns::rss, "textinput")) {
            // Valid RSS 1.0 that a station player has no use for.
        } else if (is(n, ns::rss, "items")) {
            read_sequence(n);
        } else {
            warn_unknown(n, "channel");
        }
    }
    if (period || frequency) {
        playlist.update =
            UpdateSchedule{period.value_or(UpdatePeriod::daily), frequency.value_or(1)};
    }
}

Item Reader::read_item(const xmlNode* node, std::size_t index) {
    Item item;
    item.source_line = line_of(node);
    const std::string about = attr(node, "about", ns::rdf);
    std::string link;
    std::string enclosure;
    for (const xmlNode* n = node->children; n != nullptr; n = n->next) {
        if (n->type != XML_ELEMENT_NODE) {
            continue;
        }
        const std::string field = detail::item_field(index, qualified(n));
        if (is(n, ns::rss, "title") || is(n, ns::dc, "title")) {
            item.title = text_of(n);
        } else if (is(n, ns::rss, "link")) {
            link = text_of(n);
        } else if (is(n, ns::rss, "description") || is(n, ns::dc, "description")) {
            item.description = text_of(n);
        } else if (is(n, ns::dc, "creator")) {
            item.creator = text_of(n);
        } else if (is(n, ns::mm, "duration")) {
            if (auto ms = read_count(n, field, text_of(n), "duration (milliseconds)")) {
                if (*ms > static_cast<std::uint64_t>(INT64_MAX)) {
                    report(Severity::error, n, field, "the duration is too large");
                } else {
                    item.duration = Milliseconds{static_cast<std::int64_t>(*ms)};
                }
            }
        } else if (is(n, ns::ev, "startdate")) {
            item.start = read_date(n, field);
        } else if (is(n, ns::ev, "enddate")) {
            item.end = read_date(n, field);
        } else if (is(n, ns::enc, "enclosure")) {
            read_enclosure(n, field, item, enclosure);
        } else if (in_ns(n, ns::torrent)) {
            read_torrent(n, field, item.torrent ? *item.torrent : item.torrent.emplace());
        } else {
            warn_unknown(n, detail::item_field(index));
        }
    }
    // The most specific statement of where the media is wins.
    item.media_url = !enclosure.empty() ? enclosure : !link.empty() ? link : about;
    if (item.torrent && item.torrent->info_hash.empty())
        item.torrent->info_hash = magnet_info_hash(item.torrent->magnet_uri);
    if (item.torrent && item.torrent->content_length && item.length_bytes &&
        *item.torrent->content_length != *item.length_bytes) {
        report(Severity::warning, node, detail::item_field(index, "torrent:contentLength"),
               "torrent:contentLength and the enclosure's enc:length differ");
    }
    if (!link.empty() && !enclosure.empty() && link != enclosure) {
        report(Severity::warning, node, detail::item_field(index, "link"),
               "<link> and the enclosure name different URLs; the enclosure is played");
    }
    return item;
}

// The media's enclosure, or the .torrent's (enc:type application/x-bittorrent).
void Reader::read_enclosure(const xmlNode* n, const std::string& field, Item& item,
                            std::string& enclosure) {
    const std::string type = attr(n, "type", ns::enc);
    const std::string length = attr(n, "length", ns::enc);
    if (iequals(type, torrent_mime_type)) {
        std::string url = attr(n, "resource", ns::rdf);
        if (url.empty()) {
            report(Severity::warning, n, field,
                   "a .torrent enclosure without rdf:resource; ignored");
            return;
        }
        TorrentLink& t = item.torrent ? *item.torrent : item.torrent.emplace();
        t.torrent_url = std::move(url);
        t.torrent_length.reset();
        if (!length.empty())
            t.torrent_length = read_count(n, field + "@enc:length", length, "length (bytes)");
        return;
    }
    enclosure = attr(n, "resource", ns::rdf);
    item.mime_type = type;
    if (!length.empty())
        item.length_bytes = read_count(n, field + "@enc:length", length, "length (bytes)");
}

// One element of the ezRSS torrent module. The info-hash is kept in lower case; a magnet
// URI that names another hash is an error (check_playlist).
void Reader::read_torrent(const xmlNode* n, const std::string& field, TorrentLink& torrent) {
    const std::string value = text_of(n);
    if (is(n, ns::torrent, "infoHash")) {
        torrent.info_hash = value;
        std::transform(torrent.info_hash.begin(), torrent.info_hash.end(),
                       torrent.info_hash.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    } else if (is(n, ns::torrent, "contentLength")) {
        torrent.content_length = read_count(n, field, value, "length (bytes)");
    } else if (is(n, ns::torrent, "fileName")) {
        torrent.file_name = value;
    } else if (is(n, ns::torrent, "magnetURI")) {
        torrent.magnet_uri = value;
    } else {
        report(Severity::warning, n, field, "unknown element ignored");
    }
}

std::vector<Item> Reader::order_items(std::vector<std::pair<const xmlNode*, Item>> items) {
    std::vector<Item> ordered;
    if (!has_sequence_) {
        for (auto& [node, item] : items) {
            ordered.push_back(std::move(item));
        }
        return ordered;
    }
    // RSS 1.0: rdf:Seq gives the order; items are named by rdf:about. A name listed twice
    // takes the next <item> of that name, or plays the last one again.
    std::map<std::string, std::vector<std::size_t>> by_about;
    for (std::size_t i = 0; i < items.size(); ++i) {
        by_about[attr(items[i].first, "about", ns::rdf)].push_back(i);
    }
    std::map<std::string, std::size_t> used;
    std::vector<bool> listed(items.size(), false);
    for (const auto& [resource, li] : sequence_) {
        const auto it = by_about.find(resource);
        if (it == by_about.end()) {
            report(Severity::error, li, "rdf:li",
                   "'" + resource + "' is listed but no <item rdf:about> has that URL");
            continue;
        }
        std::size_t& n = used[resource];
        const std::size_t index = it->second[std::min(n, it->second.size() - 1)];
        ++n;
        listed[index] = true;
        ordered.push_back(items[index].second);
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (!listed[i]) {
            report(Severity::warning, items[i].first, detail::item_field(i),
                   "the item is not listed in <items><rdf:Seq>; it plays after the listed ones");
            ordered.push_back(items[i].second);
        }
    }
    return ordered;
}

std::optional<Playlist> Reader::read(const xmlNode* root) {
    if (!check_root(root)) {
        return std::nullopt;
    }
    Playlist playlist;
    const xmlNode* channel = nullptr;
    std::vector<const xmlNode*> item_nodes;
    for (const xmlNode* n = root->children; n != nullptr; n = n->next) {
        if (n->type != XML_ELEMENT_NODE) {
            continue;
        }
        if (is(n, ns::rss, "channel")) {
            if (channel != nullptr) {
                report(Severity::error, n, "channel", "a playlist has exactly one <channel>");
                continue;
            }
            channel = n;
        } else if (is(n, ns::rss, "item")) {
            item_nodes.push_back(n);
        } else if (std::strcmp(chars(n->name), "channel") == 0 ||
                   std::strcmp(chars(n->name), "item") == 0) {
            report(Severity::error, n, qualified(n),
                   "<" + std::string(chars(n->name)) + "> must be in the RSS 1.0 namespace " +
                       ns::rss + ", not '" + ns_of(n) + "'");
        } else {
            warn_unknown(n, "rdf:RDF");
        }
    }
    if (channel == nullptr) {
        report(Severity::error, root, "channel",
               "no <channel> in the RSS 1.0 namespace " + std::string(ns::rss));
        return std::nullopt;
    }
    read_channel(channel, playlist);
    // The 2005 ACTLab form puts the items inside <channel>.
    for (const xmlNode* n = channel->children; n != nullptr; n = n->next) {
        if (is(n, ns::rss, "item")) {
            item_nodes.push_back(n);
        }
    }
    std::vector<std::pair<const xmlNode*, Item>> items;
    items.reserve(item_nodes.size());
    for (std::size_t i = 0; i < item_nodes.size(); ++i) {
        items.emplace_back(item_nodes[i], read_item(item_nodes[i], i));
    }
    playlist.items = order_items(std::move(items));
    if (playlist.items.empty()) {
        report(Severity::warning, channel, "channel", "the station has no items");
    }
    // Schedule checks only on fields that parsed: a bad mm:duration is reported once, not
    // again as a missing one.
    if (!has_errors(out_)) {
        const Diagnostics checks = check_playlist(playlist, source_);
        out_.insert(out_.end(), checks.begin(), checks.end());
    }
    if (has_errors(out_)) {
        return std::nullopt;
    }
    return playlist;
}

std::string libxml_message(const xmlError* error) {
    std::string message =
        error != nullptr && error->message != nullptr ? error->message : "malformed XML";
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
        message.pop_back();
    }
    return message;
}

}  // namespace

ReadResult read_playlist(std::string_view document, std::string_view source,
                         const ReadOptions& options) {
    ReadResult result;
    const std::string name(source);
    if (document.size() > options.max_bytes) {
        result.diagnostics.push_back({Severity::error, name, 0, "document",
                                      "the playlist is " + std::to_string(document.size()) +
                                          " bytes; the limit is " +
                                          std::to_string(options.max_bytes)});
        return result;
    }
    if (document.size() > static_cast<std::size_t>(INT32_MAX)) {
        result.diagnostics.push_back({Severity::error, name, 0, "document", "too large"});
        return result;
    }
    std::unique_ptr<xmlParserCtxt, CtxtFree> ctxt(xmlNewParserCtxt());
    if (!ctxt) {
        result.diagnostics.push_back({Severity::error, name, 0, "document", "out of memory"});
        return result;
    }
    Refusal refusal;
    ctxt->_private = &refusal;
    ctxt->sax->internalSubset = refuse_doctype;
    constexpr int parse_options = XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_NOERROR |
                                  XML_PARSE_NOWARNING | XML_PARSE_BIG_LINES;
    std::unique_ptr<xmlDoc, DocFree> doc(xmlCtxtReadMemory(ctxt.get(), document.data(),
                                                           static_cast<int>(document.size()),
                                                           nullptr, nullptr, parse_options));
    if (refusal.doctype) {
        result.diagnostics.push_back(
            {Severity::error, name, refusal.line, "DOCTYPE",
             "DOCTYPE declarations are refused: Alluvium playlists have no DTD, and entity "
             "declarations or external references (XXE, entity expansion) are not allowed"});
        return result;
    }
    if (!doc || ctxt->wellFormed == 0) {
        const xmlError* error = xmlCtxtGetLastError(ctxt.get());
        result.diagnostics.push_back({Severity::error, name, error != nullptr ? error->line : 0,
                                      "XML", libxml_message(error)});
        return result;
    }
    Reader reader(source, result.diagnostics);
    result.playlist = reader.read(xmlDocGetRootElement(doc.get()));
    return result;
}

}  // namespace alluvium
