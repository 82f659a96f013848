// HTTP/1.1 server on Boost.Beast: listener + one session per connection on a strand,
// a timeout on every read and write, header and body limits on every request.
#include <alluvium/http_server.hpp>
#include <alluvium/text.hpp>
#include <alluvium/url.hpp>

#include "../common/event_loop.hpp"
#include "../common/log.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <charconv>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

namespace alluvium {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// Calls `visit(key, raw_value)` for each "key=value" of a query string until it returns true.
template <typename Visit>
void each_param(std::string_view query, Visit visit) {
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        const auto eq = pair.find('=');
        const std::string key = percent_decode(pair.substr(0, eq), true);
        if (visit(key, eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1))) {
            return;
        }
    }
}

class Session;

}  // namespace

std::string HttpServerRequest::header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
        if (iequals(k, name)) {
            return v;
        }
    }
    return {};
}

std::optional<std::string> HttpServerRequest::raw_param(std::string_view name) const {
    std::optional<std::string> found;
    each_param(query, [&](const std::string& key, std::string_view raw) {
        if (key == name) {
            found = std::string(raw);
            return true;
        }
        return false;
    });
    return found;
}

std::optional<std::string> HttpServerRequest::param(std::string_view name) const {
    const auto raw = raw_param(name);
    return raw ? std::optional<std::string>(percent_decode(*raw, true)) : std::nullopt;
}

HttpServerResponse HttpServerResponse::text(int status, std::string body,
                                            std::string content_type) {
    HttpServerResponse r;
    r.status = status;
    r.headers.emplace_back("Content-Type", std::move(content_type));
    r.body = std::move(body);
    return r;
}

struct HttpServer::Impl {
    HttpServerOptions options;
    HttpHandler handler;
    net::io_context ioc;
    tcp::acceptor acceptor{ioc};
    std::vector<std::thread> threads;
    std::atomic<bool> stopped{false};
    std::atomic<std::size_t> connections{0};   // sessions alive
    std::atomic<std::size_t> open_sockets{0};  // sessions whose socket is still open
    std::mutex closed_mutex;                   // with all_closed: stop() waits for the last
    std::condition_variable all_closed;

    void socket_closed() {
        if (--open_sockets == 0) {
            std::lock_guard lock(closed_mutex);
            all_closed.notify_all();
        }
    }
    std::mutex sessions_mutex;
    std::unordered_map<const Session*, std::weak_ptr<Session>> sessions;
    std::uint16_t port = 0;

    void accept(const std::shared_ptr<Impl>& self);
};

struct HttpResponder::State {
    std::shared_ptr<Session> session;  // kept alive until the answer is written
    std::atomic<bool> answered{false};
};

// Connects one HttpStream to its session: wake-ups and aborts cross threads through here.
struct HttpStream::Wiring {
    std::mutex mutex;
    std::function<void()> wake;   // set while the session waits; taken by resume()
    bool pending = false;         // resume() came while nobody waited
    std::function<void()> close;  // set once the stream is attached
    bool aborted = false;
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
  public:
    Session(tcp::socket&& socket, std::shared_ptr<HttpServer::Impl> server)
        : server_(std::move(server)), stream_(std::move(socket)) {
        ++server_->connections;
        ++server_->open_sockets;
    }
    ~Session() {
        if (!closed_) {
            server_->socket_closed();
        }
        {
            std::lock_guard lock(server_->sessions_mutex);
            server_->sessions.erase(this);
        }
        --server_->connections;
    }

    void start() {
        {
            std::lock_guard lock(server_->sessions_mutex);
            server_->sessions.emplace(this, weak_from_this());
        }
        net::dispatch(stream_.get_executor(),
                      beast::bind_front_handler(&Session::read, shared_from_this()));
    }

    void close_from_server() {
        net::post(stream_.get_executor(), [self = shared_from_this()] { self->close(); });
    }

    // From any thread.
    void answer_stream(std::shared_ptr<HttpStream> body, std::shared_ptr<HttpStream::Wiring> wiring,
                       HttpStreamOptions options) {
        if (server_->stopped)
            return;
        net::post(stream_.get_executor(), [self = shared_from_this(), body = std::move(body),
                                           wiring = std::move(wiring), options]() mutable {
            self->start_streaming(std::move(body), std::move(wiring), options);
        });
    }

    // From any thread.
    void answer(HttpServerResponse response) {
        if (server_->stopped)
            return;  // nobody runs the queue any more: posting would keep the session alive
        net::post(stream_.get_executor(),
                  [self = shared_from_this(), r = std::move(response)]() mutable {
                      self->write(std::move(r));
                  });
    }

  private:
    void read() {
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(server_->options.max_header_bytes));
        parser_->body_limit(server_->options.max_body_bytes);
        stream_.expires_after(server_->options.read_timeout);
        http::async_read(stream_, buffer_, *parser_,
                         beast::bind_front_handler(&Session::on_read, shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t /*bytes*/) {
        if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
            ec == net::error::operation_aborted || ec == net::error::connection_reset ||
            ec == net::error::eof) {
            return close();
        }
        if (ec) {
            keep_alive_ = false;
            version_ = 11;
            const int status = ec == http::error::body_limit     ? 413
                               : ec == http::error::header_limit ? 431
                                                                 : 400;
            detail::log().debug("http: {} from {}: {}", status, remote_address(), ec.message());
            return write(HttpServerResponse::text(status, ec.message() + "\n"));
        }
        auto& req = parser_->get();
        keep_alive_ = req.keep_alive();
        version_ = req.version();
        head_ = req.method() == http::verb::head;
        HttpServerRequest request;
        request.method = std::string(req.method_string());
        request.target = std::string(req.target());
        const auto q = request.target.find('?');
        request.path = request.target.substr(0, q);
        request.query = q == std::string::npos ? "" : request.target.substr(q + 1);
        for (const auto& field : req) {
            request.headers.emplace_back(std::string(field.name_string()),
                                         std::string(field.value()));
        }
        request.body = std::move(req.body());
        beast::error_code ignored;
        const auto remote = stream_.socket().remote_endpoint(ignored);
        request.remote_address = remote.address().to_string();
        request.remote_port = remote.port();
        // No read timeout while the handler works: the answer may take a while.
        stream_.expires_never();
        auto state = std::make_shared<HttpResponder::State>();
        state->session = shared_from_this();
        try {
            server_->handler(std::move(request), HttpResponder(std::move(state)));
        } catch (const std::exception& e) {
            detail::log().error("http: handler failed: {}", e.what());
        }
    }

    void write(HttpServerResponse r) {
        auto res = std::make_shared<http::response<http::string_body>>();
        res->result(static_cast<unsigned>(r.status));
        res->version(version_);
        res->set(http::field::server, server_->options.server_name);
        for (auto& [k, v] : r.headers) {
            res->insert(k, v);
        }
        const std::size_t length = r.body.size();
        res->body() = head_ ? std::string() : std::move(r.body);
        res->content_length(length);
        res->keep_alive(keep_alive_ && !server_->stopped);
        stream_.expires_after(server_->options.write_timeout);
        http::async_write(stream_, *res,
                          [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                              self->on_write(ec, res->keep_alive());
                          });
    }

    void start_streaming(std::shared_ptr<HttpStream> body,
                         std::shared_ptr<HttpStream::Wiring> wiring, HttpStreamOptions options) {
        body_ = std::move(body);
        wiring_ = std::move(wiring);
        stream_options_ = options;
        if (options.send_buffer_bytes > 0) {
            beast::error_code ignored;
            stream_.socket().set_option(
                net::socket_base::send_buffer_size(options.send_buffer_bytes), ignored);
        }
        std::weak_ptr<Session> weak = shared_from_this();
        {
            std::lock_guard lock(wiring_->mutex);
            wiring_->close = [weak] {
                if (auto self = weak.lock()) {
                    net::post(self->stream_.get_executor(), [self] { self->close(); });
                }
            };
            if (wiring_->aborted) {
                return close();
            }
        }
        pump();
    }

    // Pulls from the body and writes; on the session's strand.
    void pump() {
        if (closed_) {
            return finish_stream();
        }
        chunk_.clear();
        const HttpStream::Pull pull = body_->pull(chunk_, 64 * 1024);
        if (pull == HttpStream::Pull::end && chunk_.empty()) {
            return close_after_stream();
        }
        if (pull == HttpStream::Pull::wait && chunk_.empty()) {
            std::unique_lock lock(wiring_->mutex);
            if (wiring_->pending) {
                wiring_->pending = false;
                lock.unlock();
                return net::post(stream_.get_executor(),
                                 [self = shared_from_this()] { self->pump(); });
            }
            // The waker owns the session while it waits (nothing else does then); resume()
            // or the end of the stream releases it.
            wiring_->wake = [self = shared_from_this()] {
                net::post(self->stream_.get_executor(), [self] { self->pump(); });
            };
            // Waiting for data is not a stuck write: no timeout meanwhile.
            stream_.expires_never();
            return;
        }
        const bool last = pull == HttpStream::Pull::end;
        stream_.expires_after(stream_options_.write_timeout);
        net::async_write(stream_, net::buffer(chunk_),
                         [self = shared_from_this(), last](beast::error_code ec, std::size_t) {
                             if (ec || last) {
                                 return self->close_after_stream();
                             }
                             self->pump();
                         });
    }

    void close_after_stream() {
        close();
        finish_stream();
    }

    void finish_stream() {
        if (wiring_) {
            std::lock_guard lock(wiring_->mutex);
            wiring_->wake = nullptr;
            wiring_->close = nullptr;
        }
        body_.reset();  // the stream may hold resources (a listener slot) until released
    }

    void on_write(beast::error_code ec, bool keep_alive) {
        if (ec || !keep_alive) {
            return close();
        }
        read();
    }

    // Callers hold a reference to this session (a posted handler or an operation), so
    // dropping the waker's reference here cannot destroy it mid-call.
    void close() {
        if (wiring_) {
            std::lock_guard lock(wiring_->mutex);
            wiring_->wake = nullptr;
        }
        if (closed_) {
            return;
        }
        closed_ = true;
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream_.close();
        server_->socket_closed();
    }

    std::string remote_address() {
        beast::error_code ignored;
        return stream_.socket().remote_endpoint(ignored).address().to_string();
    }

    // Declared first so that it is destroyed last: the socket needs the server's io_context.
    std::shared_ptr<HttpServer::Impl> server_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    bool keep_alive_ = false;
    bool head_ = false;
    bool closed_ = false;
    std::shared_ptr<HttpStream> body_;
    std::shared_ptr<HttpStream::Wiring> wiring_;
    HttpStreamOptions stream_options_;
    std::string chunk_;
    unsigned version_ = 11;
};

}  // namespace

HttpResponder::HttpResponder(std::shared_ptr<State> state) : state_(std::move(state)) {}
HttpResponder::HttpResponder(HttpResponder&&) noexcept = default;
HttpResponder& HttpResponder::operator=(HttpResponder&&) noexcept = default;

HttpResponder::~HttpResponder() {
    if (state_ && !state_->answered.exchange(true)) {
        state_->session->answer(HttpServerResponse::text(500, "no answer\n"));
    }
}

HttpStream::HttpStream() : wiring_(std::make_shared<Wiring>()) {}
HttpStream::~HttpStream() = default;

void HttpStream::resume() {
    std::function<void()> wake;
    {
        std::lock_guard lock(wiring_->mutex);
        if (wiring_->wake) {
            wake = std::move(wiring_->wake);
            wiring_->wake = nullptr;
        } else {
            wiring_->pending = true;
        }
    }
    if (wake)
        wake();
}

void HttpStream::abort() {
    std::function<void()> close;
    {
        std::lock_guard lock(wiring_->mutex);
        wiring_->aborted = true;
        close = wiring_->close;
    }
    if (close)
        close();
}

void HttpResponder::stream(std::shared_ptr<HttpStream> body, HttpStreamOptions options) {
    if (state_ && !state_->answered.exchange(true)) {
        auto wiring = body->wiring_;
        state_->session->answer_stream(std::move(body), std::move(wiring), options);
        state_.reset();
    }
}

void HttpResponder::respond(HttpServerResponse response) {
    if (state_ && !state_->answered.exchange(true)) {
        state_->session->answer(std::move(response));
        state_.reset();
    }
}

void HttpServer::Impl::accept(const std::shared_ptr<Impl>& self) {
    acceptor.async_accept(net::make_strand(ioc), [self](beast::error_code ec, tcp::socket socket) {
        if (ec) {
            if (!self->stopped) {
                detail::log().warn("http: accept failed: {}", ec.message());
                self->accept(self);
            }
            return;
        }
        if (self->connections >= self->options.max_connections) {
            beast::error_code ignored;
            socket.close(ignored);
        } else {
            std::make_shared<Session>(std::move(socket), self)->start();
        }
        self->accept(self);
    });
}

HttpServer::HttpServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

std::unique_ptr<HttpServer> HttpServer::start(const HttpServerOptions& options, HttpHandler handler,
                                              std::error_code& ec) {
    auto impl = std::make_shared<Impl>();
    impl->options = options;
    impl->handler = std::move(handler);
    boost::system::error_code bec;
    const auto address = net::ip::make_address(options.bind_address, bec);
    if (bec) {
        ec = std::make_error_code(std::errc::invalid_argument);
        return nullptr;
    }
    const tcp::endpoint endpoint(address, options.port);
    auto& acceptor = impl->acceptor;
    acceptor.open(endpoint.protocol(), bec);
    if (!bec)
        acceptor.set_option(net::socket_base::reuse_address(true), bec);
    if (!bec)
        acceptor.bind(endpoint, bec);
    if (!bec)
        acceptor.listen(net::socket_base::max_listen_connections, bec);
    if (bec) {
        ec = std::error_code(bec.value(), std::system_category());
        return nullptr;
    }
    impl->port = acceptor.local_endpoint().port();
    impl->accept(impl);
    for (unsigned i = 0; i < std::max(1u, options.threads); ++i) {
        impl->threads.emplace_back([ioc = &impl->ioc] {
            detail::name_this_thread("alluvium-http");
            ioc->run();
        });
    }
    ec.clear();
    return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::~HttpServer() {
    stop();
}

std::uint16_t HttpServer::port() const noexcept {
    return impl_->port;
}

std::string HttpServer::address() const {
    return impl_->options.bind_address + ":" + std::to_string(impl_->port);
}

void HttpServer::stop() {
    if (impl_->stopped.exchange(true)) {
        return;
    }
    net::post(impl_->ioc, [impl = impl_] {
        beast::error_code ignored;
        impl->acceptor.close(ignored);
        std::vector<std::shared_ptr<Session>> open;
        {
            std::lock_guard lock(impl->sessions_mutex);
            for (auto& [raw, weak] : impl->sessions) {
                if (auto s = weak.lock()) {
                    open.push_back(std::move(s));
                }
            }
        }
        for (auto& s : open) {
            s->close_from_server();
        }
    });
    // Let the closes run, then stop whatever is left (handlers still working hold their
    // sessions; their answers are dropped).
    {
        std::unique_lock lock(impl_->closed_mutex);
        impl_->all_closed.wait_for(lock, std::chrono::seconds(2),
                                   [&] { return impl_->open_sockets == 0; });
    }
    impl_->ioc.stop();
    for (auto& t : impl_->threads) {
        t.join();
    }
    impl_->threads.clear();
    // Handlers left in the queue hold the server and its sessions (which hold the io_context
    // that holds the handlers): run them out, now that every socket is closed, so that
    // they see their operation aborted and let go.
    impl_->ioc.restart();
    for (int round = 0; round < 1000 && impl_->ioc.poll() > 0; ++round) {
    }
}

namespace {

// A decimal number filling the whole of `text`.
std::optional<std::uint64_t> decimal(std::string_view text) {
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size())
        return std::nullopt;
    return v;
}

}  // namespace

bool names_loopback(std::string_view host) {
    if (host.starts_with('[')) {
        const auto close = host.find(']');
        return close != std::string_view::npos && host.substr(1, close - 1) == "::1" &&
               (close + 1 == host.size() || host[close + 1] == ':');
    }
    if (host == "::1")
        return true;
    host = host.substr(0, host.find(':'));
    if (iequals(host, "localhost"))
        return true;
    boost::system::error_code ec;
    const auto address = net::ip::make_address_v4(std::string(host), ec);
    return !ec && address.is_loopback();
}

ByteRange parse_byte_range(std::string_view header, std::uint64_t size) {
    ByteRange r;
    r.last = size > 0 ? size - 1 : 0;
    if (size == 0 || header.substr(0, 6) != "bytes=")
        return r;
    const std::string_view spec = header.substr(6);
    const auto dash = spec.find('-');
    if (dash == std::string_view::npos || dash == 0 || spec.find(',') != std::string_view::npos)
        return r;
    const auto first = decimal(spec.substr(0, dash));
    const std::string_view tail = spec.substr(dash + 1);
    const auto last = tail.empty() ? std::optional<std::uint64_t>(r.last) : decimal(tail);
    if (!first || !last)
        return r;
    r.partial = true;
    r.first = *first;
    r.last = std::min(r.last, *last);
    r.satisfiable = *first < size && *first <= *last;
    return r;
}

}  // namespace alluvium
