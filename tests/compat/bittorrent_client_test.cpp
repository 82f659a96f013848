// A real BitTorrent client from Debian (aria2c) downloads an item with nothing but the
// gateway's .torrent and tracker, from the gateway's seed, and gets the origin's bytes.
#include <alluvium/url.hpp>

#include "gateway_process.hpp"
#include "nginx_origin.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <fstream>

namespace alluvium::test {
namespace {

TEST(Aria2c, DownloadsAnItemUsingTheGatewaysMetadataAndTracker) {
    ASSERT_TRUE(have_program("aria2c")) << "install aria2";
    TempDir dir;
    std::filesystem::create_directories(dir.path() / "www");
    const std::string content = random_bytes(5'000'000, 42);
    std::ofstream(dir.path() / "www/program.ogg", std::ios::binary) << content;
    NginxOrigin origin(dir.path() / "www");
    GatewayProcess gateway(ALLUVIUM_GATEWAY, dir.path() / "gateway",
                           {"--allow-origin", origin.origin()});
    const std::string query =
        "/v1/swarm?wait=10000&url=" + percent_encode(origin.url("program.ogg"));
    ASSERT_EQ(gateway.get(query).status, 200);

    const RunResult fetch =
        run({"curl", "-sf", "-o", (dir.path() / "item.torrent").string(),
             gateway.base() + "/v1/torrent?url=" + percent_encode(origin.url("program.ogg"))});
    ASSERT_EQ(fetch.exit_code, 0) << fetch.err;
    const int port = free_port();
    const RunResult aria =
        run({"aria2c", "--dir", (dir.path() / "aria").string(), "--enable-dht=false",
             "--enable-dht6=false", "--bt-enable-lpd=false", "--enable-peer-exchange=false",
             "--seed-time=0", "--listen-port=" + std::to_string(port), "--bt-stop-timeout=60",
             "--console-log-level=warn", "--summary-interval=0", "--file-allocation=none",
             (dir.path() / "item.torrent").string()},
            std::chrono::seconds(90));
    ASSERT_EQ(aria.exit_code, 0) << aria.out << aria.err;
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir.path() / "aria"))
        files.push_back(e.path());
    ASSERT_EQ(files.size(), 1u);
    std::ifstream got(files[0], std::ios::binary);
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(got), {}), content);
    EXPECT_EQ(origin.count("GET", "/program.ogg", 200), 1u);
    EXPECT_GE(gateway.status()["totals"]["bytes_served"].get<std::uint64_t>(), content.size());
}

}  // namespace
}  // namespace alluvium::test
