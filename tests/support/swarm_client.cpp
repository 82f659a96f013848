#include "swarm_client.hpp"

#include <alluvium/swarm_settings.hpp>

#include <fstream>
#include <libtorrent/add_torrent_params.hpp>
#include <libtorrent/create_torrent.hpp>
#include <libtorrent/peer_info.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/torrent_handle.hpp>
#include <libtorrent/torrent_info.hpp>
#include <libtorrent/torrent_status.hpp>
#include <sstream>
#include <thread>

namespace alluvium::test {

namespace lt = libtorrent;

struct SwarmClient::Impl {
    std::filesystem::path dir;
    lt::session session;
    lt::torrent_handle handle;

    static lt::session_params params() {
        lt::settings_pack s;
        apply_swarm_settings(s, "127.0.0.1:0");
        s.set_int(lt::settings_pack::min_announce_interval, 5);
        s.set_int(lt::settings_pack::alert_mask, 0);
        return lt::session_params(std::move(s));
    }
    explicit Impl(std::filesystem::path d) : dir(std::move(d)), session(params()) {}
};

SwarmClient::SwarmClient(const std::filesystem::path& save_dir)
    : impl_(std::make_unique<Impl>(save_dir)) {
    std::filesystem::create_directories(save_dir);
}

SwarmClient::~SwarmClient() = default;

bool SwarmClient::add(const std::string& torrent, std::string* error, int download_limit) {
    lt::error_code ec;
    auto info = std::make_shared<lt::torrent_info>(torrent, ec, lt::from_span);
    if (ec) {
        if (error != nullptr)
            *error = ec.message();
        return false;
    }
    lt::add_torrent_params p;
    p.ti = std::move(info);
    p.save_path = impl_->dir.string();
    p.download_limit = download_limit;
    impl_->handle = impl_->session.add_torrent(std::move(p), ec);
    if (ec && error != nullptr)
        *error = ec.message();
    return !ec;
}

bool SwarmClient::seed_unchecked(const std::string& torrent, const std::string& content) {
    lt::error_code ec;
    auto info = std::make_shared<lt::torrent_info>(torrent, ec, lt::from_span);
    if (ec)
        return false;
    const std::filesystem::path path = impl_->dir / info->files().file_path(lt::file_index_t{0});
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << content;
    lt::add_torrent_params p;
    p.ti = std::move(info);
    p.save_path = impl_->dir.string();
    // Trust the file: pieces are neither checked when added nor when uploaded.
    lt::settings_pack trust;
    trust.set_bool(lt::settings_pack::disable_hash_checks, true);
    impl_->session.apply_settings(std::move(trust));
    p.flags |= lt::torrent_flags::seed_mode;
    impl_->handle = impl_->session.add_torrent(std::move(p), ec);
    return !ec;
}

SwarmClientStats SwarmClient::stats() const {
    SwarmClientStats s;
    if (!impl_->handle.is_valid()) {
        return s;
    }
    const lt::torrent_status st = impl_->handle.status();
    s.progress = static_cast<double>(st.progress);
    s.complete = st.is_seeding || st.is_finished;
    s.downloaded = st.total_payload_download;
    s.uploaded = st.total_payload_upload;
    s.peers = st.num_peers;
    return s;
}

std::vector<std::string> SwarmClient::peer_ids() const {
    std::vector<std::string> ids;
    if (!impl_->handle.is_valid())
        return ids;
    std::vector<lt::peer_info> peers;
    impl_->handle.get_peer_info(peers);
    for (const auto& p : peers)
        ids.emplace_back(p.pid.data(), p.pid.size());
    return ids;
}

void SwarmClient::set_upload_limit(int bytes_per_second) {
    impl_->handle.set_upload_limit(bytes_per_second);
}

bool SwarmClient::wait_complete(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (stats().complete) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return stats().complete;
}

std::filesystem::path SwarmClient::file() const {
    const auto info = impl_->handle.torrent_file();
    return info ? impl_->dir / info->files().file_path(lt::file_index_t{0})
                : std::filesystem::path{};
}

std::uint16_t SwarmClient::port() const {
    return impl_->session.listen_port();
}

std::string SwarmClient::start_dht() {
    lt::settings_pack s;
    apply_dht_settings(s, "");
    impl_->session.apply_settings(std::move(s));
    return "127.0.0.1:" + std::to_string(port());
}

std::string libtorrent_info_hash(const std::filesystem::path& file, int piece_size) {
    lt::file_storage fs;
    lt::add_files(fs, file.string());
    lt::create_torrent t(fs, piece_size, lt::create_torrent::v1_only);
    lt::set_piece_hashes(t, file.parent_path().string());
    const std::vector<char> buffer = t.generate_buf();
    const lt::torrent_info info(buffer, lt::from_span);
    std::ostringstream hex;
    hex << info.info_hashes().v1;  // sha1_hash prints as hex
    return hex.str();
}

}  // namespace alluvium::test
