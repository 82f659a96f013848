// A small HTTP/1.1 server (Boost.Beast behind this header) for the gateway, the tracker and
// the local stream. One session per connection; every read has a timeout and every request
// a header and body limit; handlers answer asynchronously from any thread.
#pragma once

#include <alluvium/export.hpp>
#include <alluvium/time.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace alluvium {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct ALLUVIUM_EXPORT HttpServerRequest {
    std::string method;  // "GET", "HEAD", "POST"...
    std::string target;  // as sent: "/v1/swarm?url=..."
    std::string path;    // target up to '?', not decoded
    std::string query;   // after '?', not decoded
    HttpHeaders headers;
    std::string body;
    std::string remote_address;  // "127.0.0.1" or "::1"
    std::uint16_t remote_port = 0;

    [[nodiscard]] std::string header(std::string_view name) const;  // any case; "" if absent
    // The first value of a query parameter, percent-decoded; nullopt when absent.
    [[nodiscard]] std::optional<std::string> param(std::string_view name) const;
    // The raw (still percent-encoded) first value: for binary values like info_hash.
    [[nodiscard]] std::optional<std::string> raw_param(std::string_view name) const;
};

// What a Range header asks of a resource of `size` bytes. One range, "bytes=a-" or
// "bytes=a-b" (clipped to the resource), is honoured; anything else (several ranges, suffix
// ranges, garbage, a size not known yet) asks for the whole resource.
struct ALLUVIUM_EXPORT ByteRange {
    std::uint64_t first = 0;
    std::uint64_t last = 0;   // inclusive
    bool partial = false;     // 206 with Content-Range
    bool satisfiable = true;  // false: 416
};
[[nodiscard]] ALLUVIUM_EXPORT ByteRange parse_byte_range(std::string_view header,
                                                         std::uint64_t size);

// Whether a host, as a Host header or an address names it ("localhost:8000", "127.0.0.1",
// "[::1]:8000"), is this machine's loopback: localhost, 127.0.0.0/8 or ::1. A server on
// loopback refuses other names, which a page on another site could only reach through DNS
// rebinding.
[[nodiscard]] ALLUVIUM_EXPORT bool names_loopback(std::string_view host);

struct ALLUVIUM_EXPORT HttpServerResponse {
    int status = 200;
    HttpHeaders headers;  // Content-Length is set by the server
    std::string body;

    [[nodiscard]] static HttpServerResponse text(
        int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
    // 200 with a file of one of the programs' web pages (web/): sent with the pages' content
    // security policy (scripts, styles, images, media and connections only from the server
    // itself; no inline script or style; not framed) and no sniffing.
    [[nodiscard]] static HttpServerResponse page(std::string body, std::string content_type);
};

// A file built into a program by cmake/AlluviumEmbed.cmake: a web page's HTML, style,
// script or image, with the path it is served at.
struct ALLUVIUM_EXPORT EmbeddedFile {
    std::string_view path;  // "/page.js"
    std::string_view content_type;
    std::string_view body;
};

// The file of `files` at `path`, or null.
[[nodiscard]] ALLUVIUM_EXPORT const EmbeddedFile* find_embedded(std::span<const EmbeddedFile> files,
                                                                std::string_view path);

// The answer to a request for `path` among a page's `files` ("/" is "/index.html"), as
// HttpServerResponse::page; nullopt when it is none of them. In index.html each "@KEY@" that
// `fills` gives (asked only for index.html) is replaced by its value, which the caller has
// escaped for HTML.
using PageFills = std::vector<std::pair<std::string, std::string>>;
[[nodiscard]] ALLUVIUM_EXPORT std::optional<HttpServerResponse> embedded_page(
    std::span<const EmbeddedFile> files, std::string_view path,
    const std::function<PageFills()>& fills = {});

// A response produced over time: the bytes of the whole response, status line and headers
// included, pulled by the server whenever the connection can take more. Used for
// continuous streams (Icecast-style, no Content-Length) and progressive downloads.
class ALLUVIUM_EXPORT HttpStream {
  public:
    enum class Pull {
        data,  // `out` holds bytes to send
        wait,  // nothing now: the server waits for resume()
        end,   // done: the server closes the connection after what was sent
    };
    virtual ~HttpStream();

    // Called on a server thread, never twice at once. Appends up to `max` bytes to `out`.
    // Must not block.
    virtual Pull pull(std::string& out, std::size_t max) = 0;

    // There may be more to pull: call from any thread (a wake-up is never lost).
    void resume();
    // Closes the connection now, even while a write is stuck (a listener that stopped
    // reading). From any thread.
    void abort();

    struct Wiring;  // how the server connects to this stream

  protected:
    HttpStream();

  private:
    std::shared_ptr<Wiring> wiring_;
    friend class HttpResponder;
};

// Server-Sent Events (the WHATWG HTML standard's text/event-stream): a response that stays
// open and carries events as they are sent, for pages that show live figures
// (`new EventSource(url)` in the page). send() queues from any thread and never blocks; a
// page that stops reading while more than `max_queued` bytes wait is disconnected (its
// EventSource connects again and starts afresh). Thread-safe: every call, from any thread.
class ALLUVIUM_EXPORT EventStream : public HttpStream {
  public:
    explicit EventStream(HttpHeaders extra_headers = {}, std::size_t max_queued = 1 << 20);
    ~EventStream() override;

    // Queues one event: `name` (its type, "status") and `data` (each line becomes a "data:"
    // line). False once the stream is closed (the page went away or fell behind).
    bool send(std::string_view name, std::string_view data);
    // Ends the stream after what is queued.
    void close();
    [[nodiscard]] bool closed() const;

    Pull pull(std::string& out, std::size_t max) override;

    // Sends an event to each of `streams` still open, and forgets those that are not.
    // Returns how many are open.
    static std::size_t send_to_open(std::vector<std::weak_ptr<EventStream>>& streams,
                                    std::string_view name, std::string_view data);

  private:
    struct State;
    std::unique_ptr<State> state_;
};

struct ALLUVIUM_EXPORT HttpStreamOptions {
    // The socket's send buffer (SO_SNDBUF); 0 keeps the system's. A small buffer keeps a
    // listener that stops reading from hiding megabytes in the kernel.
    int send_buffer_bytes = 0;
    // A write that makes no progress for this long closes the connection.
    Milliseconds write_timeout{60000};
};

// Answers one request. Call respond() or stream() once, from any thread; a responder
// dropped without answering sends 500. After the server stops, both do nothing.
class ALLUVIUM_EXPORT HttpResponder {
  public:
    struct State;
    explicit HttpResponder(std::shared_ptr<State> state);
    HttpResponder(HttpResponder&&) noexcept;
    HttpResponder& operator=(HttpResponder&&) noexcept;
    HttpResponder(const HttpResponder&) = delete;
    HttpResponder& operator=(const HttpResponder&) = delete;
    ~HttpResponder();

    void respond(HttpServerResponse response);
    void stream(std::shared_ptr<HttpStream> body, HttpStreamOptions options = {});

  private:
    std::shared_ptr<State> state_;
};

// Called on a server thread for every complete request. It must not block for long: hand
// slow work to another thread and respond from there.
using HttpHandler = std::function<void(HttpServerRequest&& request, HttpResponder responder)>;

struct ALLUVIUM_EXPORT HttpServerOptions {
    std::string bind_address = "127.0.0.1";
    std::uint16_t port = 0;  // 0: any free port (see HttpServer::port())
    unsigned threads = 1;
    std::size_t max_header_bytes = 8 * 1024;
    std::size_t max_body_bytes = 64 * 1024;
    Milliseconds read_timeout{10000};  // for a whole request, and between requests
    Milliseconds write_timeout{30000};
    std::size_t max_connections = 2048;  // more are closed at once
    std::string server_name = "Alluvium";
};

class ALLUVIUM_EXPORT HttpServer {
  public:
    // Binds and starts serving on its own threads. On failure returns null and sets `ec`.
    [[nodiscard]] static std::unique_ptr<HttpServer> start(const HttpServerOptions& options,
                                                           HttpHandler handler,
                                                           std::error_code& ec);
    ~HttpServer();  // stop()s
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    [[nodiscard]] std::uint16_t port() const noexcept;
    [[nodiscard]] std::string address() const;  // "127.0.0.1:7000"

    // Stops accepting, closes every connection and joins the server threads. Blocks.
    void stop();

    struct Impl;

  private:
    explicit HttpServer(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;  // shared with open sessions, which may outlive stop()
};

}  // namespace alluvium
