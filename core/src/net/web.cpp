// What the server gives web pages (alluvium/http_server.hpp): their files with their
// security policy, and Server-Sent Events over the server's pulled streams.
#include <alluvium/http_server.hpp>
#include <alluvium/version.hpp>

#include "http_head.hpp"

#include <mutex>

namespace alluvium {

HttpServerResponse HttpServerResponse::page(std::string body, std::string content_type) {
    HttpServerResponse r = text(200, std::move(body), std::move(content_type));
    r.headers.emplace_back("Content-Security-Policy",
                           "default-src 'none'; script-src 'self'; style-src 'self'; "
                           "img-src 'self'; media-src 'self'; connect-src 'self'; "
                           "base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    r.headers.emplace_back("Referrer-Policy", "no-referrer");
    r.headers.emplace_back("Cache-Control", "no-cache");
    return r;
}

const EmbeddedFile* find_embedded(std::span<const EmbeddedFile> files, std::string_view path) {
    for (const EmbeddedFile& f : files) {
        if (f.path == path)
            return &f;
    }
    return nullptr;
}

std::optional<HttpServerResponse> embedded_page(std::span<const EmbeddedFile> files,
                                                std::string_view path,
                                                const std::function<PageFills()>& fills) {
    const bool index = path == "/" || path == "/index.html";
    const EmbeddedFile* file = find_embedded(files, index ? "/index.html" : path);
    if (file == nullptr)
        return std::nullopt;
    std::string body(file->body);
    if (index && fills) {
        for (const auto& [key, value] : fills()) {
            for (std::size_t at = body.find(key); at != std::string::npos;
                 at = body.find(key, at + value.size()))
                body.replace(at, key.size(), value);
        }
    }
    return HttpServerResponse::page(std::move(body), std::string(file->content_type));
}

struct EventStream::State {
    std::size_t max_queued;
    mutable std::mutex mutex;  // the fields below
    std::string queued;        // the head first, then events not yet pulled
    bool closing = false;      // close(): end once `queued` is out
    bool closed = false;       // nothing more is sent
};

EventStream::EventStream(HttpHeaders extra_headers, std::size_t max_queued)
    : state_(std::make_unique<State>()) {
    state_->max_queued = max_queued;
    // No Content-Length: the response ends when the connection does. "retry" tells the
    // page's EventSource how soon to connect again after that.
    state_->queued = std::string("HTTP/1.1 200 OK\r\nServer: Alluvium/") + version_string() +
                     "\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
                     "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
                     "Connection: close\r\n" +
                     detail::header_lines(extra_headers) + "\r\nretry: 2000\n\n";
}

EventStream::~EventStream() = default;

bool EventStream::send(std::string_view name, std::string_view data) {
    std::string event = "event: ";
    for (const char c : name) {
        if (c != '\r' && c != '\n')
            event += c;
    }
    event += '\n';
    // Each line of the data its own "data:" line (CR, LF and CRLF all end a line).
    std::size_t from = 0;
    while (true) {
        const std::size_t end = data.find_first_of("\r\n", from);
        event += "data: ";
        event += data.substr(from, end == std::string_view::npos ? end : end - from);
        event += '\n';
        if (end == std::string_view::npos)
            break;
        from = end + (data.compare(end, 2, "\r\n") == 0 ? 2 : 1);
    }
    event += '\n';
    bool behind = false;
    {
        std::lock_guard lock(state_->mutex);
        if (state_->closed || state_->closing)
            return false;
        behind = state_->queued.size() + event.size() > state_->max_queued;
        if (behind)
            state_->closed = true;  // the page stopped reading
        else
            state_->queued += event;
    }
    if (behind) {
        abort();
        return false;
    }
    resume();
    return true;
}

void EventStream::close() {
    {
        std::lock_guard lock(state_->mutex);
        state_->closing = true;
    }
    resume();
}

bool EventStream::closed() const {
    std::lock_guard lock(state_->mutex);
    return state_->closed;
}

std::size_t EventStream::send_to_open(std::vector<std::weak_ptr<EventStream>>& streams,
                                      std::string_view name, std::string_view data) {
    std::erase_if(streams, [&](const std::weak_ptr<EventStream>& s) {
        const auto stream = s.lock();
        return !stream || !stream->send(name, data);
    });
    return streams.size();
}

HttpStream::Pull EventStream::pull(std::string& out, std::size_t max) {
    std::lock_guard lock(state_->mutex);
    if (state_->closed)
        return Pull::end;
    if (state_->queued.empty()) {
        if (!state_->closing)
            return Pull::wait;
        state_->closed = true;
        return Pull::end;
    }
    const std::size_t n = std::min(max, state_->queued.size());
    out.append(state_->queued, 0, n);
    state_->queued.erase(0, n);
    return Pull::data;
}

}  // namespace alluvium
