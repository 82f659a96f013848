#include "opentracker.hpp"

#include <alluvium/fetch.hpp>

#include <unistd.h>

#include <fstream>
#include <regex>

namespace alluvium::test {

namespace fs = std::filesystem;
using namespace std::chrono;

Opentracker::Opentracker(const fs::path& dir) : dir_(dir), port_(free_port()) {
    fs::create_directories(dir_);
    fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
}

bool Opentracker::start() {
    // -d: it chroots there when run as root; the whitelist is named inside it.
    process_ = std::make_unique<Background>(
        std::vector<std::string>{"opentracker", "-i", "127.0.0.1", "-p", std::to_string(port_),
                                 "-P", std::to_string(port_), "-d", dir_.string(), "-w",
                                 geteuid() == 0 ? "whitelist" : whitelist().string()},
        (dir_ / "opentracker.log").string());
    return process_->wait_until([&] { return port_open(port_); }, seconds(10));
}

int Opentracker::peers(const std::string& info_hash_hex) const {
    std::string escaped;
    for (std::size_t i = 0; i + 1 < info_hash_hex.size(); i += 2)
        escaped += "%" + info_hash_hex.substr(i, 2);
    HttpRequest r;
    r.url = "http://127.0.0.1:" + std::to_string(port_) + "/scrape?info_hash=" + escaped;
    std::error_code ec;
    const HttpResponse res = http_request(r, ec);
    if (ec)
        return -1;
    std::smatch complete;
    std::smatch incomplete;
    const std::regex c("8:completei([0-9]+)e");
    const std::regex i("10:incompletei([0-9]+)e");
    if (!std::regex_search(res.body, complete, c) || !std::regex_search(res.body, incomplete, i))
        return -1;
    return std::stoi(complete[1]) + std::stoi(incomplete[1]);
}

void Opentracker::allow(const Playlist& playlist) const {
    std::ofstream out(whitelist());
    for (const Item& item : playlist.items)
        if (item.torrent && !item.torrent->info_hash.empty())
            out << item.torrent->info_hash << "\n";
}

}  // namespace alluvium::test
