// The core's HTTP server over real loopback sockets.
#include <alluvium/fetch.hpp>
#include <alluvium/http_server.hpp>

#include "raw_http.hpp"

#include <gtest/gtest.h>

#include <future>
#include <thread>

namespace alluvium {
namespace {

class HttpServerTest : public ::testing::Test {
  protected:
    void start(HttpHandler handler, HttpServerOptions options = {}) {
        std::error_code ec;
        server_ = HttpServer::start(options, std::move(handler), ec);
        ASSERT_TRUE(server_) << ec.message();
        base_ = "http://127.0.0.1:" + std::to_string(server_->port());
    }
    HttpResponse get(const std::string& path, bool head = false) {
        HttpRequest r;
        r.url = base_ + path;
        r.head_only = head;
        std::error_code ec;
        auto response = http_request(r, ec);
        EXPECT_FALSE(ec) << ec.message();
        return response;
    }
    std::unique_ptr<HttpServer> server_;
    std::string base_;
};

TEST_F(HttpServerTest, DecodesPathAndQueryParameters) {
    start([](HttpServerRequest&& req, HttpResponder res) {
        res.respond(HttpServerResponse::text(
            200, req.method + " " + req.path + " url=" + req.param("url").value_or("-") +
                     " missing=" + req.param("nope").value_or("-") +
                     " from=" + req.remote_address));
    });
    const auto r = get("/v1/swarm?x=1&url=http%3A%2F%2Fh%2Fa+b.mp3%3Fq%3D1");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "GET /v1/swarm url=http://h/a b.mp3?q=1 missing=- from=127.0.0.1");
    EXPECT_EQ(r.header("Server"), "Alluvium");
}

TEST_F(HttpServerTest, AnswersFromAnotherThread) {
    std::vector<std::thread> workers;
    std::mutex m;
    start([&](HttpServerRequest&&, HttpResponder res) {
        std::lock_guard lock(m);
        workers.emplace_back([r = std::move(res)]() mutable {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            r.respond(HttpServerResponse::text(202, "later"));
        });
    });
    const auto r = get("/slow");
    EXPECT_EQ(r.status, 202);
    EXPECT_EQ(r.body, "later");
    server_->stop();
    for (auto& w : workers)
        w.join();
}

TEST_F(HttpServerTest, ADroppedResponderSends500) {
    start([](HttpServerRequest&&, HttpResponder) {});
    EXPECT_EQ(get("/").status, 500);
}

TEST_F(HttpServerTest, HeadHasLengthButNoBody) {
    start([](HttpServerRequest&&, HttpResponder res) {
        res.respond(HttpServerResponse::text(200, "0123456789"));
    });
    const std::string reply = test::raw_exchange(
        server_->port(), "HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_NE(reply.find("Content-Length: 10"), std::string::npos) << reply;
    EXPECT_EQ(reply.find("0123456789"), std::string::npos) << reply;
}

TEST_F(HttpServerTest, KeepsTheConnectionAliveAcrossRequests) {
    int count = 0;
    start([&](HttpServerRequest&&, HttpResponder res) {
        res.respond(HttpServerResponse::text(200, std::to_string(++count)));
    });
    const std::string reply =
        test::raw_exchange(server_->port(),
                           "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: "
                           "x\r\nConnection: close\r\n\r\n");
    EXPECT_NE(reply.find("\r\n\r\n1"), std::string::npos) << reply;
    EXPECT_NE(reply.find("\r\n\r\n2"), std::string::npos) << reply;
}

TEST_F(HttpServerTest, RefusesOversizedAndMalformedRequests) {
    HttpServerOptions options;
    options.max_header_bytes = 1024;
    options.max_body_bytes = 100;
    start([](HttpServerRequest&&,
             HttpResponder res) { res.respond(HttpServerResponse::text(200, "ok")); },
          options);
    const std::string long_header =
        "GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + std::string(4000, 'a') + "\r\n\r\n";
    EXPECT_EQ(test::raw_exchange(server_->port(), long_header).substr(0, 12), "HTTP/1.1 431");
    const std::string big_body =
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + std::string(1000, 'b');
    EXPECT_EQ(test::raw_exchange(server_->port(), big_body).substr(0, 12), "HTTP/1.1 413");
    EXPECT_EQ(test::raw_exchange(server_->port(), "NONSENSE\r\n\r\n").substr(0, 12),
              "HTTP/1.1 400");
    EXPECT_EQ(test::raw_exchange(server_->port(),
                                 "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                  .substr(0, 12),
              "HTTP/1.1 200");
}

TEST_F(HttpServerTest, ClosesIdleConnectionsAfterTheReadTimeout) {
    HttpServerOptions options;
    options.read_timeout = std::chrono::milliseconds(300);
    start([](HttpServerRequest&&,
             HttpResponder res) { res.respond(HttpServerResponse::text(200, "ok")); },
          options);
    const auto t0 = std::chrono::steady_clock::now();
    const std::string reply = test::raw_exchange(server_->port(), "GET / HTTP/1.1\r\nHost: x\r\n",
                                                 std::chrono::seconds(5));
    EXPECT_TRUE(reply.empty()) << reply;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4));
}

TEST_F(HttpServerTest, StopsWhileAHandlerStillHoldsItsResponder) {
    std::promise<HttpResponder> held;
    start([&](HttpServerRequest&&, HttpResponder res) { held.set_value(std::move(res)); });
    auto client = std::async(std::launch::async, [this] {
        HttpRequest r;
        r.url = base_ + "/";
        r.total_timeout = std::chrono::seconds(5);
        std::error_code ec;
        return http_request(r, ec).status;
    });
    HttpResponder responder = held.get_future().get();
    server_->stop();
    responder.respond(HttpServerResponse::text(200, "too late"));
    EXPECT_NE(client.get(), 200);
}

TEST(HttpServer, ReportsABindFailure) {
    std::error_code ec;
    HttpServerOptions options;
    options.bind_address = "not an address";
    EXPECT_FALSE(HttpServer::start(
        options, [](HttpServerRequest&&, HttpResponder) {}, ec));
    EXPECT_TRUE(ec);
}

}  // namespace
}  // namespace alluvium
