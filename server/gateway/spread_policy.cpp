#include "spread_policy.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <libtorrent/bt_peer_connection.hpp>
#include <libtorrent/extensions.hpp>
#include <libtorrent/peer_connection_handle.hpp>
#include <libtorrent/peer_request.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/torrent_handle.hpp>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

namespace alluvium::gateway {

namespace lt = libtorrent;
using Clock = std::chrono::steady_clock;

namespace {

class SpreadTorrent;

class SpreadPeer final : public lt::peer_plugin {
  public:
    SpreadPeer(SpreadTorrent& torrent, lt::peer_connection_handle pc)
        : torrent_(torrent), pc_(std::move(pc)) {}

    bool on_request(const lt::peer_request& r) override;
    void on_disconnect(const lt::error_code&) override;

    // Once a second: advertise again what a listener still lacks after the rescue delay.
    void tick(Clock::time_point now, std::chrono::milliseconds rescue_after);

    [[nodiscard]] bool holds(lt::piece_index_t p) const { return !gone_ && pc_.has_piece(p); }
    [[nodiscard]] bool fetching(lt::piece_index_t p, Clock::time_point now,
                                std::chrono::milliseconds window) const {
        const auto g = granted_.find(p);
        return !gone_ && g != granted_.end() && now - g->second < window;
    }
    [[nodiscard]] bool gone() const { return gone_; }
    // When this listener was told it does not have `p` (nullopt: it was not).
    [[nodiscard]] std::optional<Clock::time_point> hidden_since(lt::piece_index_t p) const {
        const auto h = hidden_.find(p);
        if (gone_ || h == hidden_.end())
            return std::nullopt;
        return h->second;
    }
    // Advertise `p` again and serve it when asked; `why` is for the debug log.
    void offer(lt::piece_index_t p, Clock::time_point now, std::string_view why);

  private:
    [[nodiscard]] lt::bt_peer_connection* wire() const {
        if (pc_.type() != lt::connection_type::bittorrent)
            return nullptr;
        return lt::bt_peer_connection_handle(pc_).native_handle().get();
    }

    SpreadTorrent& torrent_;
    lt::peer_connection_handle pc_;
    bool gone_ = false;
    std::map<lt::piece_index_t, Clock::time_point> hidden_;   // piece -> when hidden
    std::map<lt::piece_index_t, Clock::time_point> granted_;  // served to this listener, since
};

class SpreadTorrent final : public lt::torrent_plugin {
  public:
    explicit SpreadTorrent(SpreadOptions options) : options_(options) {}

    std::shared_ptr<lt::peer_plugin> new_connection(const lt::peer_connection_handle& pc) override {
        auto peer = std::make_shared<SpreadPeer>(*this, pc);
        peers_.push_back(peer);
        return peer;
    }

    void tick() override {
        const auto now = Clock::now();
        peers_.erase(std::remove_if(peers_.begin(), peers_.end(),
                                    [](const std::weak_ptr<SpreadPeer>& w) {
                                        auto p = w.lock();
                                        return !p || p->gone();
                                    }),
                     peers_.end());
        for (auto& w : peers_) {
            if (auto p = w.lock())
                p->tick(now, options_.rescue_after);
        }
    }

    [[nodiscard]] const SpreadOptions& options() const { return options_; }

    // A listener went away before it had `piece`, which it was granted: unless another
    // holds or fetches it, the listener that was refused it first is offered it now.
    void grant_lost(const SpreadPeer* from, lt::piece_index_t piece) {
        const auto now = Clock::now();
        if (another_has(from, piece, now))
            return;
        std::shared_ptr<SpreadPeer> first;
        Clock::time_point since{};
        for (const auto& w : peers_) {
            auto p = w.lock();
            if (!p || p.get() == from)
                continue;
            if (const auto h = p->hidden_since(piece); h && (!first || *h < since)) {
                first = p;
                since = *h;
            }
        }
        if (first)
            first->offer(piece, now, "the listener it went to left");
    }

    // Whether a connected listener other than `asker` holds the piece.
    [[nodiscard]] bool another_holds(const SpreadPeer* asker, lt::piece_index_t piece) const {
        return any_other(asker, [&](const SpreadPeer& p) { return p.holds(piece); });
    }

    // Whether a connected listener other than `asker` holds the piece, or was just given it.
    [[nodiscard]] bool another_has(const SpreadPeer* asker, lt::piece_index_t piece,
                                   Clock::time_point now) const {
        return any_other(asker, [&](const SpreadPeer& p) {
            return p.holds(piece) || p.fetching(piece, now, options_.in_flight);
        });
    }

  private:
    template <typename Predicate>
    [[nodiscard]] bool any_other(const SpreadPeer* asker, Predicate&& predicate) const {
        for (const auto& w : peers_) {
            const auto p = w.lock();
            if (p && p.get() != asker && predicate(*p))
                return true;
        }
        return false;
    }

    SpreadOptions options_;
    std::vector<std::weak_ptr<SpreadPeer>> peers_;
};

bool SpreadPeer::on_request(const lt::peer_request& r) {
    const auto now = Clock::now();
    if (granted_.count(r.piece) > 0) {
        return false;  // this piece was promised to this listener
    }
    const auto hidden = hidden_.find(r.piece);
    if (hidden != hidden_.end()) {
        lt::bt_peer_connection* w = wire();
        if (w != nullptr && now - hidden->second < torrent_.options().crossing) {
            w->write_reject_request(r);  // another block of it, requested before DONT_HAVE arrived
            return true;
        }
        // Asked again later: the client ignores DONT_HAVE. Serve it rather than ping-pong.
        hidden_.erase(hidden);
        granted_.emplace(r.piece, now);
        return false;
    }
    if (!torrent_.another_has(this, r.piece, now)) {
        granted_.emplace(r.piece, now);
        return false;  // first copy of this piece among the connected listeners: serve
    }
    lt::bt_peer_connection* w = wire();
    if (w == nullptr) {
        return false;
    }
    w->write_reject_request(r);
    w->write_dont_have(r.piece);
    hidden_.emplace(r.piece, now);
    spdlog::debug("spread: piece {} refused to {}: another listener has it or is fetching it",
                  static_cast<int>(r.piece), pc_.remote().address().to_string());
    return true;  // handled: not served
}

void SpreadPeer::on_disconnect(const lt::error_code&) {
    gone_ = true;
    // What it was granted and did not get would stay hidden from the listeners refused it
    // until their re-offer (a listener at its connection limit drops the seed for a newcomer
    // of higher rank: at a cold start of 50 listeners, 145 grants went so).
    const auto granted = std::move(granted_);
    granted_.clear();
    for (const auto& [piece, when] : granted) {
        if (!pc_.has_piece(piece))
            torrent_.grant_lost(this, piece);
    }
}

void SpreadPeer::offer(lt::piece_index_t p, Clock::time_point now, std::string_view why) {
    lt::bt_peer_connection* w = wire();
    if (w == nullptr)
        return;
    w->write_have(p);
    spdlog::debug("spread: piece {} offered again to {}: {}", static_cast<int>(p),
                  pc_.remote().address().to_string(), why);
    granted_.emplace(p, now);
    hidden_.erase(p);
}

void SpreadPeer::tick(Clock::time_point now, std::chrono::milliseconds rescue_after) {
    std::vector<std::pair<lt::piece_index_t, Clock::duration>> due;  // piece, refused for
    for (auto it = hidden_.begin(); it != hidden_.end();) {
        if (pc_.has_piece(it->first)) {
            it = hidden_.erase(it);  // it got it from the listeners: the policy worked
            continue;
        }
        // Once another listener holds it, the piece is in the swarm and on its way here: it is
        // offered again only after `in_swarm_wait` (what plays sooner the listener takes from
        // the gateway's copy, its rescue path).
        const auto waited = now - it->second;
        if (waited >= rescue_after && (waited >= torrent_.options().in_swarm_wait ||
                                       !torrent_.another_holds(this, it->first)))
            due.emplace_back(it->first, waited);  // about to stall: offer it again
        ++it;
    }
    for (const auto& [piece, waited] : due) {
        offer(piece, now,
              fmt::format("refused {} ms ago",
                          std::chrono::duration_cast<std::chrono::milliseconds>(waited).count()));
    }
}

}  // namespace

void add_spread_policy(lt::session& session, SpreadOptions options) {
    session.add_extension([options](const lt::torrent_handle&,
                                    lt::client_data_t) -> std::shared_ptr<lt::torrent_plugin> {
        return std::make_shared<SpreadTorrent>(options);
    });
}

}  // namespace alluvium::gateway
