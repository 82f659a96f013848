// Each `webconfig` snippet is accepted by the real server's own config check, and the
// server then sends playlists as application/x-alluvium (`check` agrees) and media with
// their types. Servers listen on 127.0.0.1 only.
#include <alluvium/fetch.hpp>

#include "media_fixtures.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace alluvium::test {
namespace {

const std::string broadcaster = ALLUVIUM_BROADCASTER;

struct ServerSetup {
    std::vector<std::string> syntax_check;  // exits 0 when the configuration is accepted
    std::vector<std::string> serve;         // runs in the foreground
};

class Webconfig : public ::testing::TestWithParam<std::string> {
  protected:
    void SetUp() override {
        std::filesystem::create_directories(dir_.path() / "www");
        std::filesystem::permissions(dir_.path() / "www", std::filesystem::perms::all);
        for (const auto& spec : ten_formats()) {
            if (spec.file == "01-tone.mp3" || spec.file == "04-lossless.flac") {
                ASSERT_EQ(make_media(dir_ / ("www/" + spec.file), spec), "");
            }
        }
        port_ = free_port();
        base_ = "http://127.0.0.1:" + std::to_string(port_) + "/";
        const RunResult gen = run({broadcaster, "generate", "-q", "--base-url", base_, "-o",
                                   dir_ / "www/station.rss", dir_ / "www/01-tone.mp3"});
        ASSERT_EQ(gen.exit_code, 0) << gen.err;
        const RunResult snippet = run({broadcaster, "webconfig", "--server", GetParam()});
        ASSERT_EQ(snippet.exit_code, 0) << snippet.err;
        dir_.write("alluvium.conf", snippet.out);
    }

    ServerSetup nginx() {
        const std::string d = dir_.path().string();
        dir_.write("nginx.conf",
                   "pid " + d + "/nginx.pid;\nerror_log " + d + "/nginx-error.log;\n" +
                       (geteuid() == 0 ? "user root;\n" : "") +
                       "events {}\nhttp {\n  include /etc/nginx/mime.types;\n  access_log off;\n"
                       "  client_body_temp_path " +
                       d + "/tmp;\n  proxy_temp_path " + d +
                       "/tmp;\n"
                       "  fastcgi_temp_path " +
                       d + "/tmp;\n  uwsgi_temp_path " + d +
                       "/tmp;\n"
                       "  scgi_temp_path " +
                       d +
                       "/tmp;\n"
                       "  server {\n    listen 127.0.0.1:" +
                       std::to_string(port_) +
                       ";\n"
                       "    root " +
                       d + "/www;\n    include " + d + "/alluvium.conf;\n  }\n}\n");
        std::filesystem::create_directories(dir_.path() / "tmp");
        return {{"nginx", "-t", "-p", d, "-c", d + "/nginx.conf"},
                {"nginx", "-p", d, "-c", d + "/nginx.conf", "-g", "daemon off;"}};
    }

    ServerSetup apache() {
        const std::string d = dir_.path().string();
        const std::string m = "/usr/lib/apache2/modules/";
        const std::string types =
            std::filesystem::exists("/etc/mime.types") ? "/etc/mime.types" : "/dev/null";
        dir_.write("apache.conf", "ServerRoot " + d +
                                      "\n"
                                      "LoadModule mpm_event_module " +
                                      m +
                                      "mod_mpm_event.so\n"
                                      "LoadModule authz_core_module " +
                                      m +
                                      "mod_authz_core.so\n"
                                      "LoadModule mime_module " +
                                      m +
                                      "mod_mime.so\n"
                                      "LoadModule headers_module " +
                                      m +
                                      "mod_headers.so\n"
                                      "ServerName 127.0.0.1\nListen 127.0.0.1:" +
                                      std::to_string(port_) +
                                      "\n"
                                      "PidFile " +
                                      d + "/apache.pid\nErrorLog " + d + "/apache-error.log\n" +
                                      (geteuid() == 0 ? "User nobody\nGroup nogroup\n" : "") +
                                      "TypesConfig " + types +
                                      "\n"
                                      "DocumentRoot " +
                                      d + "/www\n<Directory " + d +
                                      "/www>\n  Require all granted\n</Directory>\n"
                                      "Include " +
                                      d + "/alluvium.conf\n");
        return {{"apache2", "-t", "-f", d + "/apache.conf"},
                {"apache2", "-DFOREGROUND", "-f", d + "/apache.conf"}};
    }

    ServerSetup lighttpd() {
        const std::string d = dir_.path().string();
        // The snippet is appended after the usual global mimetype.assign, as its comment says.
        dir_.write("lighttpd.conf", "server.document-root = \"" + d +
                                        "/www\"\nserver.bind = \"127.0.0.1\"\n"
                                        "server.port = " +
                                        std::to_string(port_) +
                                        "\n"
                                        "mimetype.assign = (\".html\" => \"text/html\", \".rss\" "
                                        "=> \"application/rss+xml\", "
                                        "\".mp3\" => \"audio/x-mp3\")\n" +
                                        dir_.read("alluvium.conf"));
        return {{"lighttpd", "-tt", "-f", d + "/lighttpd.conf"},
                {"lighttpd", "-D", "-f", d + "/lighttpd.conf"}};
    }

    ServerSetup caddy() {
        const std::string d = dir_.path().string();
        dir_.write("Caddyfile", "{\n  admin off\n  auto_https off\n  storage file_system " + d +
                                    "/caddy\n}\nhttp://127.0.0.1:" + std::to_string(port_) +
                                    " {\n  root * " + d + "/www\n  import " + d +
                                    "/alluvium.conf\n  file_server\n}\n");
        const std::vector<std::string> env = {"env", "HOME=" + d, "XDG_DATA_HOME=" + d + "/xdg",
                                              "XDG_CONFIG_HOME=" + d + "/xdg"};
        auto with_env = [&](std::vector<std::string> cmd) {
            cmd.insert(cmd.begin(), env.begin(), env.end());
            return cmd;
        };
        return {
            with_env({"caddy", "validate", "--config", d + "/Caddyfile", "--adapter", "caddyfile"}),
            with_env({"caddy", "run", "--config", d + "/Caddyfile", "--adapter", "caddyfile"})};
    }

    TempDir dir_;
    int port_ = 0;
    std::string base_;
};

std::string content_type(const std::string& url) {
    std::error_code ec;
    HttpRequest request;
    request.url = url;
    const HttpResponse r = http_request(request, ec);
    return ec ? "error: " + ec.message() : r.media_type();
}

TEST_P(Webconfig, TheRealServerAcceptsTheSnippetAndServesTheRightTypes) {
    const std::string server = GetParam();
    const std::string program = server == "apache" ? "apache2" : server;
    ASSERT_TRUE(have_program(program)) << program << " is not installed";
    const ServerSetup setup = server == "nginx"      ? nginx()
                              : server == "apache"   ? apache()
                              : server == "lighttpd" ? lighttpd()
                                                     : caddy();
    const RunResult syntax = run(setup.syntax_check, std::chrono::seconds(30));
    ASSERT_EQ(syntax.exit_code, 0) << syntax.out << syntax.err;

    Background running(setup.serve, dir_ / "server.log");
    ASSERT_TRUE(running.wait_until([&] { return port_open(port_); }, std::chrono::seconds(20)))
        << running.log();

    const RunResult check = run({broadcaster, "check", base_ + "station.rss"});
    EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
    EXPECT_NE(check.out.find("application/x-alluvium: correct"), std::string::npos) << check.out;
    EXPECT_EQ(content_type(base_ + "01-tone.mp3"), "audio/mpeg");
    EXPECT_EQ(content_type(base_ + "04-lossless.flac"), "audio/flac");
}

INSTANTIATE_TEST_SUITE_P(Servers, Webconfig,
                         ::testing::Values("nginx", "apache", "lighttpd", "caddy"),
                         [](const auto& param_info) { return param_info.param; });

TEST(Check, AServerWithoutTheSnippetIsReportedWrong) {
    TempDir dir;
    std::filesystem::create_directories(dir.path() / "www");
    const int port = free_port();
    const std::string base = "http://127.0.0.1:" + std::to_string(port) + "/";
    dir.write(
        "www/station.rss",
        "<?xml version=\"1.0\"?><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" "
        "xmlns=\"http://purl.org/rss/1.0/\"><channel "
        "rdf:about=\"x\"><title>t</title></channel></rdf:RDF>");
    const std::string d = dir.path().string();
    dir.write("nginx.conf",
              "pid " + d + "/nginx.pid;\nerror_log " + d + "/e.log;\n" +
                  (geteuid() == 0 ? "user root;\n" : "") +
                  "events {}\nhttp {\n include /etc/nginx/mime.types;\n access_log off;\n"
                  " client_body_temp_path " +
                  d +
                  ";\n"
                  " server { listen 127.0.0.1:" +
                  std::to_string(port) + "; root " + d + "/www; }\n}\n");
    Background nginx({"nginx", "-p", d, "-c", d + "/nginx.conf", "-g", "daemon off;"}, dir / "log");
    ASSERT_TRUE(nginx.wait_until([&] { return port_open(port); }, std::chrono::seconds(20)))
        << nginx.log();
    const RunResult r = run({broadcaster, "check", base + "station.rss"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.out.find("application/rss+xml: wrong"), std::string::npos) << r.out;
    const RunResult missing = run({broadcaster, "check", base + "nothing.rss"});
    EXPECT_EQ(missing.exit_code, 2);
    EXPECT_NE(missing.err.find("404"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace alluvium::test
