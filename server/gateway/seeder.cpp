#include "seeder.hpp"

#include <alluvium/swarm_settings.hpp>

#include "spread_policy.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <libtorrent/add_torrent_params.hpp>
#include <libtorrent/alert_types.hpp>
#include <libtorrent/ip_filter.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/settings_pack.hpp>
#include <libtorrent/torrent_handle.hpp>
#include <libtorrent/torrent_info.hpp>
#include <libtorrent/torrent_status.hpp>
#include <mutex>
#include <optional>
#include <thread>

namespace alluvium::gateway {

namespace lt = libtorrent;

struct Seeder::Impl {
    std::unique_ptr<lt::session> session;
    std::mutex mutex;
    std::map<std::string, lt::torrent_handle> torrents;  // raw info-hash -> handle
    std::thread alerts;
    std::atomic<std::uint16_t> port{0};  // listen_port(), once known

    // The alert thread sleeps until libtorrent has alerts, bytes sent beside the swarm
    // leave the last second (the seed may take more again), or the seeder stops.
    std::mutex wake_mutex;  // guards the three below
    std::condition_variable wake;
    bool alerts_waiting = false;
    bool beside_added = false;
    bool stopping = false;

    void poke(bool Impl::*what) {
        {
            std::lock_guard lock(wake_mutex);
            this->*what = true;
        }
        wake.notify_one();
    }

    // The upload limit shared with what is sent beside the swarm (sent_beside).
    std::int64_t upload_limit = 0;
    std::mutex beside_mutex;  // guards beside, applied_limit
    std::deque<std::pair<std::chrono::steady_clock::time_point, std::uint64_t>> beside;
    std::int64_t applied_limit = 0;

    // The seed's limit: what the last second's bytes beside it left of the upload limit, and
    // at least a quarter of it.
    void share_upload_limit() {
        if (upload_limit <= 0)
            return;
        const auto now = std::chrono::steady_clock::now();
        std::lock_guard lock(beside_mutex);
        while (!beside.empty() && now - beside.front().first > std::chrono::seconds(1))
            beside.pop_front();
        std::int64_t recent = 0;
        for (const auto& [when, bytes] : beside)
            recent += static_cast<std::int64_t>(bytes);
        // (Never 0, which libtorrent takes for no limit at all: a limit under 4 bytes/s has
        // no quarter.)
        const std::int64_t limit =
            std::max(upload_limit - recent, std::max<std::int64_t>(upload_limit / 4, 1));
        if (limit == applied_limit)
            return;
        applied_limit = limit;
        lt::settings_pack s;
        s.set_int(lt::settings_pack::upload_rate_limit, static_cast<int>(limit));
        session->apply_settings(std::move(s));
    }

    // When the oldest byte beside the swarm stops counting; none: no deadline.
    std::optional<std::chrono::steady_clock::time_point> beside_expiry() {
        std::lock_guard lock(beside_mutex);
        if (beside.empty())
            return std::nullopt;
        return beside.front().first + std::chrono::seconds(1) + std::chrono::milliseconds(1);
    }

    void drain_alerts() {
        std::unique_lock lock(wake_mutex);
        while (!stopping) {
            const auto ready = [this] { return alerts_waiting || beside_added || stopping; };
            if (const auto expiry = beside_expiry())
                wake.wait_until(lock, *expiry, ready);
            else
                wake.wait(lock, ready);
            alerts_waiting = false;
            beside_added = false;
            lock.unlock();
            share_upload_limit();
            log_alerts();
            lock.lock();
        }
    }

    void log_alerts() {
        std::vector<lt::alert*> batch;
        session->pop_alerts(&batch);
        for (const lt::alert* a : batch) {
            if (lt::alert_cast<lt::listen_failed_alert>(a) != nullptr ||
                lt::alert_cast<lt::file_error_alert>(a) != nullptr ||
                lt::alert_cast<lt::torrent_error_alert>(a) != nullptr) {
                spdlog::error("seeder: {}", a->message());
            } else if (lt::alert_cast<lt::listen_succeeded_alert>(a) != nullptr) {
                spdlog::info("seeder: {}", a->message());
            } else {
                spdlog::debug("seeder: {}", a->message());
            }
        }
    }
};

Seeder::Seeder(const SeederOptions& options) : impl_(std::make_unique<Impl>()) {
    lt::settings_pack s;
    apply_swarm_settings(s, options.listen_interfaces);
    s.set_str(lt::settings_pack::user_agent, "Alluvium-gateway");
    set_peer_id_prefix(s, true);
    s.set_int(lt::settings_pack::alert_mask,
              lt::alert_category::error | lt::alert_category::status | lt::alert_category::tracker);
    s.set_int(lt::settings_pack::min_announce_interval, options.announce_interval_seconds);
    s.set_int(lt::settings_pack::upload_rate_limit, static_cast<int>(options.upload_rate_limit));
    if (options.dht)
        apply_dht_settings(s, options.dht_bootstrap);
    impl_->session = std::make_unique<lt::session>(lt::session_params(std::move(s)));
    impl_->upload_limit = options.upload_rate_limit;
    impl_->applied_limit = options.upload_rate_limit;
    if (options.upload_rate_limit > 0)
        rate_limit_every_peer(*impl_->session);
    if (options.spread) {
        add_spread_policy(*impl_->session);
    }
    // Called on a libtorrent thread: only wakes the alert thread.
    impl_->session->set_alert_notify([impl = impl_.get()] { impl->poke(&Impl::alerts_waiting); });
    impl_->alerts = std::thread([impl = impl_.get()] { impl->drain_alerts(); });
}

Seeder::~Seeder() {
    impl_->session->set_alert_notify([] {});
    impl_->poke(&Impl::stopping);
    impl_->alerts.join();
}

void Seeder::seed(const Metainfo& meta, const std::vector<std::string>& trackers,
                  const std::filesystem::path& cache_dir) {
    std::lock_guard lock(impl_->mutex);
    if (impl_->torrents.count(meta.info_hash) > 0) {
        return;
    }
    const std::string torrent = meta.torrent(trackers);
    lt::error_code ec;
    auto info = std::make_shared<lt::torrent_info>(torrent, ec, lt::from_span);
    if (ec) {
        spdlog::error("seeder: cannot load the metainfo of {}: {}", meta.info_hash_hex(),
                      ec.message());
        return;
    }
    lt::add_torrent_params p;
    p.ti = std::move(info);
    p.save_path = cache_dir.string();
    // The gateway just hashed this file (or hashed it before a restart): libtorrent checks
    // each piece lazily on first request instead of reading everything up front.
    p.flags |= lt::torrent_flags::seed_mode;
    p.flags &= ~lt::torrent_flags::auto_managed;
    p.flags &= ~lt::torrent_flags::paused;
    impl_->torrents.emplace(meta.info_hash, impl_->session->add_torrent(std::move(p), ec));
    if (ec) {
        impl_->torrents.erase(meta.info_hash);
        spdlog::error("seeder: cannot seed {}: {}", meta.info_hash_hex(), ec.message());
    }
}

void Seeder::remove(const std::string& info_hash) {
    std::lock_guard lock(impl_->mutex);
    const auto found = impl_->torrents.find(info_hash);
    if (found != impl_->torrents.end()) {
        impl_->session->remove_torrent(found->second);
        impl_->torrents.erase(found);
    }
}

void Seeder::sent_beside(std::uint64_t bytes) {
    if (impl_->upload_limit <= 0)
        return;
    bool first = false;
    {
        std::lock_guard lock(impl_->beside_mutex);
        first = impl_->beside.empty();
        impl_->beside.emplace_back(std::chrono::steady_clock::now(), bytes);
    }
    impl_->share_upload_limit();
    if (first)  // the alert thread learns when these stop counting
        impl_->poke(&Impl::beside_added);
}

std::int64_t Seeder::upload_limit_now() {
    impl_->share_upload_limit();
    std::lock_guard lock(impl_->beside_mutex);
    return impl_->applied_limit;
}

std::map<std::string, SeedStats> Seeder::stats() {
    std::lock_guard lock(impl_->mutex);
    std::map<std::string, SeedStats> out;
    for (const auto& [hash, handle] : impl_->torrents) {
        const lt::torrent_status st = handle.status();
        out[hash] = SeedStats{st.total_payload_upload, st.num_peers};
    }
    return out;
}

std::uint16_t Seeder::listen_port() const {
    // Asked of libtorrent's thread once it listens, then remembered: the port does not move,
    // and the gateway's loop asks on every answer.
    if (const std::uint16_t known = impl_->port.load(); known != 0)
        return known;
    const std::uint16_t port = impl_->session->listen_port();
    impl_->port = port;
    return port;
}

}  // namespace alluvium::gateway
