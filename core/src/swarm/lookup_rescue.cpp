// One item's gateway lookups and its rescue path: the bytes playback needs soon that the
// swarm did not bring in time, from the gateway's copy, else from the origin. Both decide on
// the loop and fetch on the loop's blocking threads (item_state.hpp).
#include <alluvium/fetch.hpp>
#include <alluvium/metainfo.hpp>
#include <alluvium/swarm_settings.hpp>
#include <alluvium/text.hpp>
#include <alluvium/url.hpp>

#include "../common/log.hpp"
#include "item_state.hpp"

#include <unistd.h>

#include <algorithm>
#include <libtorrent/hasher.hpp>
#include <libtorrent/peer_info.hpp>
#include <libtorrent/torrent_info.hpp>
#include <libtorrent/torrent_status.hpp>
#include <optional>
#include <string_view>

namespace alluvium::detail {

namespace {

// Without metadata, the origin is read this far ahead of playback.
constexpr auto origin_lead = std::chrono::seconds(15);
// How long the gateway's first answer is awaited before the origin gives what is due.
constexpr auto lookup_grace = std::chrono::seconds(1);
// After a range that brought nothing, the rescue path waits this long.
constexpr auto rescue_retry = std::chrono::seconds(1);

// "bytes 100-199/5000" -> 5000
std::uint64_t total_from_content_range(const std::string& header) {
    const auto slash = header.rfind('/');
    if (slash == std::string::npos)
        return 0;
    try {
        return std::stoull(header.substr(slash + 1));
    } catch (...) {
        return 0;
    }
}

// What libtorrent is doing about `piece` (for the debug log of a rescue): blocks asked for
// and here, and how many connected peers have it.
std::string piece_report(const lt::torrent_handle& h, int piece) {
    const lt::piece_index_t index{piece};
    std::string state = "not asked for";
    std::vector<lt::partial_piece_info> queue;
    std::vector<lt::peer_info> peers;
    try {
        h.get_download_queue(queue);
        h.get_peer_info(peers);
    } catch (const lt::system_error&) {
        return {};
    }
    for (const auto& q : queue) {
        if (q.piece_index != index)
            continue;
        state = fmt::format("{} of {} blocks asked for, {} here", q.requested, q.blocks_in_piece,
                            q.finished + q.writing);
        for (int b = 0; b < q.blocks_in_piece; ++b) {
            if (q.blocks[b].state != lt::block_info::requested)
                continue;
            for (const auto& p : peers) {
                if (p.ip != q.blocks[b].peer())
                    continue;
                const bool gateway = std::string_view(p.pid.data(), p.pid.size())
                                         .starts_with(gateway_peer_id_prefix);
                state += fmt::format(" (from {}{}: {} B/s, {} blocks queued)",
                                     p.ip.address().to_string(), gateway ? ", the gateway" : "",
                                     p.payload_down_speed, p.download_queue_length);
            }
        }
    }
    if (h.have_piece(index))
        state = "hashed, not yet on disk";
    const auto holders = std::count_if(peers.begin(), peers.end(), [&](const lt::peer_info& p) {
        return p.pieces.size() > piece && p.pieces.get_bit(index);
    });
    // Connections still being made count against the item's limit, and say nothing yet.
    const auto connecting = std::count_if(peers.begin(), peers.end(), [](const lt::peer_info& p) {
        return (p.flags & (lt::peer_info::connecting | lt::peer_info::handshake)) != 0;
    });
    return fmt::format(" (piece {}: {}; {} of {} peers have it, {} still connecting)", piece, state,
                       holders, peers.size(), connecting);
}

// A gateway's bytes held until each whole piece is checked against its hash from the
// metainfo: a gateway that serves other bytes in /v1/media puts none of them on the stream.
class PieceChecker {
  public:
    PieceChecker(std::shared_ptr<const std::vector<lt::sha1_hash>> hashes, std::uint64_t piece_size,
                 std::uint64_t size, std::uint64_t from)
        : hashes_(std::move(hashes)), piece_size_(piece_size), size_(size), start_(from) {}

    // Takes the next bytes; `ready` gets each piece they complete, checked, as (offset,
    // bytes). False at the first piece whose hash differs.
    bool add(std::string_view chunk, std::vector<std::pair<std::uint64_t, std::string>>& ready) {
        buffer_.append(chunk);
        while (start_ < size_) {
            const auto index = static_cast<std::size_t>(start_ / piece_size_);
            const std::uint64_t length = std::min(piece_size_, size_ - start_);
            if (index >= hashes_->size() || buffer_.size() < length)
                return true;
            lt::hasher h(buffer_.data(), static_cast<int>(length));
            if (h.final() != (*hashes_)[index]) {
                bad_piece_ = static_cast<int>(index);
                return false;
            }
            ready.emplace_back(start_, buffer_.substr(0, static_cast<std::size_t>(length)));
            buffer_.erase(0, static_cast<std::size_t>(length));
            start_ += length;
        }
        return true;
    }
    [[nodiscard]] int bad_piece() const { return bad_piece_; }

  private:
    std::shared_ptr<const std::vector<lt::sha1_hash>> hashes_;
    std::uint64_t piece_size_;
    std::uint64_t size_;
    std::uint64_t start_;  // where the buffer begins: a piece boundary
    std::string buffer_;
    int bad_piece_ = -1;
};

}  // namespace

// ---- lookups --------------------------------------------------------------------------------

Milliseconds Item::State::lookup_wait() const {
    // An item that plays beyond the deadline window waits while the item on air is
    // unfinished: at a cold start the gateway's answers for every listener's later items,
    // and the first copies of those items, filled its uplink while listeners were still
    // tuning in, and their answers for the item on air came 1.5 to 3 s late. It waits no
    // longer than until it plays within the swarm lead, unless the item on air is still short
    // of its next seconds (a tune-in): an item first looked up as it came on air met a swarm
    // still forming (docs/SCALING.md, "each item's first airing").
    const auto host = host_.lock();
    std::lock_guard lock(mutex_);
    if (!need_.set || !host || !host->on_air_busy())
        return Milliseconds{0};
    const auto before = host->on_air_short()
                            ? options_.deadline_window
                            : std::max(options_.deadline_window, options_.swarm_lead);
    return std::max(lead(Steady::now()) - before, Milliseconds{0});
}

void Item::State::on_air_changed() {
    if (fetching_.deferred)
        begin_lookup();  // looks again at how long to wait
}

void Item::State::begin_lookup() {
    fetching_.deferred = false;
    if (closed_ || handles_ == 0 || handle_.is_valid() || fetching_.looking)
        return;
    if (options_.gateways.empty()) {
        if (can_join_from_playlist())
            return join_from_playlist();
        fetching_.origin_allowed = true;  // no gateway: the origin gives what playback needs
        schedule_rescue();
        return;
    }
    if (const auto wait = lookup_wait(); wait > Milliseconds{0}) {
        // Taken up again by on_air_changed(), need(), or at the latest this timer.
        fetching_.deferred = true;
        fetching_.lookup_timer.expires_after(wait);
        fetching_.lookup_timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
            if (auto self = weak.lock(); self && !ec && self->fetching_.deferred)
                self->begin_lookup();
        });
        return;
    }
    if (fetching_.failures_in_row == 0 && fetching_.gateway == 0)
        fetching_.looking_since = Steady::now();
    fetching_.looking = true;
    const std::string base = options_.gateways[fetching_.gateway % options_.gateways.size()];
    auto answer = std::make_shared<GatewayAnswer>();
    loop_.blocking(
        [answer, base, url = url, playlist = playlist, cancel = cancel_] {
            *answer = GatewayClient(base).lookup(url, playlist, Milliseconds{2000}, cancel.get());
        },
        [weak = weak_from_this(), answer, base, cancel = cancel_] {
            auto self = weak.lock();
            if (!self || cancel->load())
                return;
            self->fetching_.looking = false;
            self->lookup_answered(base, *answer);
        });
}

void Item::State::lookup_answered(const std::string& base, GatewayAnswer answer) {
    if (answer.state == GatewayState::ready) {
        if (const std::string why = refusal(*answer.metadata); !why.empty()) {
            // A gateway that lies (or a man in the middle of a plain-HTTP one): its seed,
            // its tracker and its copy are not used either.
            log().error("{}: gateway {} refused: {}", url, base, why);
            fetching_.distrusted.insert(base);
            answer.state = GatewayState::failed;
            answer.message = "its answer was refused: " + why;
        } else {
            if (auto host = host_.lock())
                host->join(shared_from_this(), *answer.metadata);
            if (handle_.is_valid()) {
                fetching_.rescue_gateway = base;
                return;
            }
            answer.message = "its metadata could not be used";
            std::lock_guard lock(mutex_);
            pieces_.error = "the gateway's metadata could not be used";
        }
    }
    // Not hashed yet, or no answer: the origin is read until the swarm can be joined.
    fetching_.origin_allowed = true;
    schedule_rescue();
    if (answer.state == GatewayState::pending) {
        fetching_.failures_in_row = 0;
        begin_lookup();  // the gateway already held the answer up to two seconds
        return;
    }
    const std::size_t n = options_.gateways.size();
    if (++fetching_.failures_in_row <= n) {
        log().warn("{}: gateway {}: {}; {}", url, base, answer.message,
                   fetching_.failures_in_row < n ? "trying the next gateway"
                   : can_join_from_playlist()    ? "joining from the playlist's .torrent"
                                                 : "playing from the origin");
    }
    // Every gateway failed once: the playlist's own metadata serves (once the item has
    // joined that way, its gateways are not asked again).
    if (fetching_.failures_in_row >= n && can_join_from_playlist())
        join_from_playlist();
    ++fetching_.gateway;  // fail over to the next gateway
    const auto pause =
        fetching_.failures_in_row % n == 0 ? std::chrono::seconds(5) : std::chrono::seconds(0);
    fetching_.lookup_timer.expires_after(pause);
    fetching_.lookup_timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
        if (auto self = weak.lock(); self && !ec)
            self->begin_lookup();
    });
}

std::string Item::State::refusal(const SwarmMetadata& meta) const {
    std::string why;
    const std::string actual = torrent_info_hash(meta.torrent, &why);
    if (actual.empty())
        return "its .torrent is malformed (" + why + ")";
    if (actual != meta.info_hash)
        return "its .torrent has info-hash " + actual + ", not the " + meta.info_hash +
               " it states";
    if (torrent_ && !torrent_->info_hash.empty() && actual != torrent_->info_hash)
        return "info-hash " + actual + ", but the playlist publishes " + torrent_->info_hash;
    return {};
}

bool Item::State::can_join_from_playlist() const {
    return torrent_ && !torrent_->torrent_url.empty() && !fetching_.from_playlist &&
           !handle_.is_valid();
}

void Item::State::join_from_playlist() {
    fetching_.from_playlist = true;
    if (fetching_.failures_in_row == 0)
        fetching_.looking_since = Steady::now();
    fetching_.looking = true;
    struct Fetched {
        std::optional<SwarmMetadata> meta;
        std::string problem;
    };
    auto fetched = std::make_shared<Fetched>();
    loop_.blocking(
        [fetched, link = *torrent_, url = url, cancel = cancel_] {
            HttpRequest request;
            request.url = link.torrent_url;
            request.max_body_bytes = 8u << 20;  // 160,000 pieces: far beyond any item
            request.total_timeout = Milliseconds{10000};
            request.cancel = cancel.get();
            std::error_code ec;
            std::string detail;
            const HttpResponse r = http_request(request, ec, &detail);
            if (ec || r.status != 200) {
                fetched->problem = ec ? detail : "HTTP " + std::to_string(r.status);
                return;
            }
            lt::error_code lec;
            const lt::torrent_info info(r.body, lec, lt::from_span);
            if (lec) {
                fetched->problem = "malformed (" + lec.message() + ")";
                return;
            }
            SwarmMetadata m;
            m.media_url = url;
            m.torrent = r.body;
            m.info_hash = to_hex(info.info_hashes().v1.to_string());
            m.size = static_cast<std::uint64_t>(info.total_size());
            m.piece_size = static_cast<std::uint32_t>(info.piece_length());
            fetched->meta = std::move(m);
        },
        [weak = weak_from_this(), fetched, cancel = cancel_] {
            auto self = weak.lock();
            if (!self || cancel->load())
                return;
            self->fetching_.looking = false;
            self->joined_from_playlist(fetched->meta, fetched->problem);
        });
}

void Item::State::joined_from_playlist(const std::optional<SwarmMetadata>& meta,
                                       std::string problem) {
    const std::string& from = torrent_->torrent_url;
    if (meta) {
        problem = refusal(*meta);
        if (problem.empty()) {
            if (auto host = host_.lock())
                host->join(shared_from_this(), *meta);
            if (handle_.is_valid()) {
                log().info("{}: joined from the playlist's .torrent {}", url, from);
                schedule_rescue();
                return;
            }
            problem = "libtorrent could not use it";
        }
    }
    log().warn("{}: the playlist's .torrent {} is unusable: {}; playing from the origin", url, from,
               problem);
    fetching_.origin_allowed = true;
    schedule_rescue();
}

// ---- the rescue path -----------------------------------------------------------------------

void Item::State::schedule_rescue() {
    if (closed_ || handles_ == 0 || fetching_.rescuing)
        return;
    fetching_.rescue_timer.cancel();
    rescue_check();
}

void Item::State::rescue_at(Steady::time_point at) {
    fetching_.rescue_timer.expires_at(at);
    fetching_.rescue_timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
        if (auto self = weak.lock(); self && !ec)
            self->rescue_check();
    });
}

void Item::State::rescue_check() {
    if (closed_ || handles_ == 0 || fetching_.rescuing)
        return;
    const auto now = Steady::now();
    const bool swarm = handle_.is_valid();
    // While the gateway's first answer is on its way, only what plays within the margin
    // comes from the origin, and only after a second: a tune-in does not wait long, and an
    // audience tuning in at once does not each read the item from the origin.
    const bool asking = !swarm && !fetching_.origin_allowed;
    if (asking && now - fetching_.looking_since < lookup_grace)
        return rescue_at(fetching_.looking_since + lookup_grace);
    if (swarm && !fetching_.offered_earlier) {
        fetching_.offered_earlier = true;
        std::uint64_t held = 0;
        {
            std::lock_guard lock(mutex_);
            held = pieces_.rescued.total() > 0 ? pieces_.size : 0;
        }
        offer_rescued(0, held);
    }
    // No gateway copy: the origin share may read a piece early (origin_share.cpp).
    std::optional<Steady::time_point> share_next;
    if (swarm && rescue_gateway_now().empty()) {
        share_next = share_origin(now);
        if (fetching_.rescuing)
            return;
    }
    const auto wake = [&](Steady::time_point at) {
        rescue_at(share_next ? std::min(*share_next, at) : at);
    };
    // The swarm has only just been joined: let it deliver.
    if (swarm && now - swarm_.since < swarm_grace)
        return wake(swarm_.since + swarm_grace);
    RescueGap gap;
    {
        std::lock_guard lock(mutex_);
        if (!need_.set || pieces_.state == ItemState::failed ||
            pieces_.state == ItemState::complete)
            return;  // need() or a lookup's answer looks again
        gap = rescue_gap(now, swarm, swarm || asking);
    }
    if (gap.later)
        return wake(*gap.later);
    if (gap.from >= gap.until)
        return;  // everything to the end is here (and so nothing for the origin share)
    if (log().should_log(spdlog::level::debug)) {
        log().debug("{}: rescue: bytes {}-{}, {}{}", url, gap.from, gap.until, gap.why,
                    swarm && gap.piece >= 0 ? piece_report(handle_, gap.piece) : std::string());
    }
    rescue_range(gap.from, gap.until, swarm);
}

Item::State::RescueGap Item::State::rescue_gap(Steady::time_point now, bool swarm,
                                               bool near_only) const {
    RescueGap out;
    const std::uint64_t total = known_size();
    // Header bytes first (Ogg's, before a mid-item start).
    if (need_.header > 0 && available_end(0) < need_.header) {
        out.from = available_end(0);
        out.until = need_.header;
        return out;
    }
    // The first byte from the reader's on that is not here, and whether it plays within the
    // margin (or, without a swarm, within the origin's lead).
    const Milliseconds ahead = near_only ? options_.rescue_margin : Milliseconds{origin_lead};
    std::uint64_t gap = need_.offset;
    const std::uint64_t end = total > 0 ? total : UINT64_MAX;
    while (gap < end) {
        const std::uint64_t next = available_end(gap);
        if (next == gap)
            break;
        gap = next;
    }
    if (gap >= end)
        return out;  // everything to the end is here
    const std::uint64_t horizon = std::min(playback_position(now + ahead), end);
    const auto plays_in =
        Milliseconds{static_cast<std::int64_t>((gap - need_.offset) * 1000 / need_.rate)};
    if (gap >= horizon) {
        // Look again when that byte comes within the margin.
        out.later = std::max(now, need_.at + need_.starts_in + plays_in - ahead) + Milliseconds{1};
        return out;
    }
    out.from = gap;
    // Without a swarm, read a generous run; with one, only until the swarm has bytes.
    out.until = near_only ? horizon
                          : gap + std::max<std::uint64_t>(
                                      64 * 1024, bytes_for(need_.rate, std::chrono::seconds(10)));
    // Never a sliver: the margin's edge moves 16 bytes a millisecond at 128 kbit/s, and a
    // rescue that read only what had come within it was followed at once by another, one
    // request a millisecond. In the swarm, whole pieces (a piece rescued whole is offered to
    // libtorrent and shared); while the gateway's first answer is awaited, a second of
    // playback at least (a run without a swarm is already longer).
    if (swarm && pieces_.piece_size > 0) {
        const std::uint64_t piece = pieces_.piece_size;
        out.until = (out.until + piece - 1) / piece * piece;
        auto p = static_cast<std::size_t>(gap / piece);
        while (p < pieces_.have.size() && !pieces_.have[p] && p * piece < out.until)
            ++p;
        out.until = std::min(out.until, std::max<std::uint64_t>(gap + 1, p * piece));
    } else {
        out.until = std::max(out.until, gap + bytes_for(need_.rate, std::chrono::seconds(1)));
    }
    if (total > 0)
        out.until = std::min(out.until, total);
    if (log().should_log(spdlog::level::debug)) {
        out.piece = pieces_.piece_size > 0 ? static_cast<int>(gap / pieces_.piece_size) : -1;
        out.why = fmt::format("which play in {} ms", (lead(now) + plays_in).count());
        if (swarm)
            out.why +=
                fmt::format(", {} ms in the swarm",
                            std::chrono::duration_cast<Milliseconds>(now - swarm_.since).count());
    }
    return out;
}

std::string Item::State::rescue_gateway_now() const {
    if (!handle_.is_valid() || Steady::now() < fetching_.gateway_paused_until)
        return {};
    std::string gateway = !fetching_.rescue_gateway.empty() ? fetching_.rescue_gateway
                          : !options_.gateways.empty()      ? options_.gateways.front()
                                                            : std::string();
    if (fetching_.distrusted.count(gateway) > 0)
        gateway.clear();  // it lied about this item: its copy is not asked again
    return gateway;
}

void Item::State::rescue_range(std::uint64_t from, std::uint64_t to, bool swarm) {
    // Once the gateway has hashed the item it holds a copy: what the swarm did not bring in
    // time comes from there, and the origin is read only when the gateway cannot answer
    // (docs/ARCHITECTURE.md: the origin is the rescue path of an unreachable gateway).
    // Not while the gateway's first answer is on its way: at a cold start those answers came
    // late because the gateway's uplink was full, and ranges asked of it meanwhile filled
    // it further (1.37 copies of the first item, median join 2.48 s; docs/SCALING.md).
    const std::string gateway = swarm ? rescue_gateway_now() : std::string();
    const std::string at = gateway.empty() ? std::string()
                                           : gateway + "/v1/media?url=" + percent_encode(url) +
                                                 "&info_hash=" + swarm_.info_hash;
    fetching_.rescuing = true;
    struct Result {
        bool got = false;
        bool gateway_failed = false;
        bool gateway_lied = false;  // a piece of its copy failed its hash
    };
    auto result = std::make_shared<Result>();
    loop_.blocking(
        [self = shared_from_this(), result, at, gateway, from, to, cancel = cancel_] {
            if (!at.empty()) {
                if (self->fetch_range(at, gateway, from, to, *cancel, &result->gateway_lied)) {
                    result->got = true;
                    return;
                }
                result->gateway_failed = true;
            }
            result->got = self->fetch_range(self->url, {}, from, to, *cancel);
        },
        [weak = weak_from_this(), result, gateway, from, to, swarm, cancel = cancel_] {
            auto self = weak.lock();
            if (!self || cancel->load())
                return;
            if (result->gateway_lied)
                self->fetching_.distrusted.insert(gateway);
            if (result->gateway_failed)
                self->fetching_.gateway_paused_until = Steady::now() + std::chrono::seconds(30);
            self->rescue_done(result->got, from, to, swarm);
        });
}

void Item::State::rescue_done(bool got, std::uint64_t from, std::uint64_t to, bool swarm) {
    fetching_.rescuing = false;
    if (!got) {
        fetching_.rescue_timer.expires_after(rescue_retry);
        fetching_.rescue_timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
            if (auto self = weak.lock(); self && !ec)
                self->rescue_check();
        });
        return;
    }
    if (swarm)
        offer_rescued(from, to);
    rescue_check();
}

bool Item::State::fetch_range(const std::string& from_url, const std::string& gateway,
                              std::uint64_t from, std::uint64_t to, const std::atomic<bool>& cancel,
                              bool* lied) {
    const bool origin = gateway.empty();
    const std::string source = origin ? std::string("origin") : "gateway " + gateway;
    // A gateway's bytes are checked piece by piece once the swarm is joined: the range then
    // starts at a piece boundary (the whole first piece is needed to check it).
    std::optional<PieceChecker> checker;
    {
        std::lock_guard lock(mutex_);
        if (!origin && pieces_.piece_size > 0 && pieces_.hashes) {
            from = from / pieces_.piece_size * pieces_.piece_size;
            checker.emplace(pieces_.hashes, pieces_.piece_size, pieces_.size, from);
        }
    }
    std::uint64_t at = from;
    std::uint64_t skip = 0;  // a server that ignores Range sends from byte 0
    HttpRequest request;
    request.url = from_url;
    request.range_from = from;
    request.range_to = to > from ? to - 1 : 0;  // only what is missing
    request.max_body_bytes = std::uint64_t{1} << 40;
    // A gateway that does not answer at once is passed over: the origin is still there.
    request.connect_timeout = origin ? Milliseconds{5000} : Milliseconds{1000};
    request.total_timeout = origin ? std::chrono::seconds(60) : std::chrono::seconds(5);
    request.stall_timeout = origin ? std::chrono::seconds(10) : std::chrono::seconds(2);
    request.cancel = &cancel;
    request.on_head = [&](const HttpResponse& head) {
        if (head.status == 200)
            skip = from;
        if (origin)
            note_origin_size(head);
    };
    request.on_body = [&](std::string_view chunk) {
        if (skip > 0) {
            const auto n = std::min<std::uint64_t>(skip, chunk.size());
            chunk.remove_prefix(static_cast<std::size_t>(n));
            skip -= n;
        }
        if (chunk.empty())
            return true;
        if (!checker) {
            if (!store_rescued(at, chunk, origin))
                return false;
            at += chunk.size();
            return at < to;  // enough: stop the transfer
        }
        std::vector<std::pair<std::uint64_t, std::string>> ready;
        if (!checker->add(chunk, ready)) {
            log().error(
                "{}: gateway {} sent piece {} with the wrong hash; its copy is not "
                "used again for this item",
                url, gateway, checker->bad_piece());
            if (lied != nullptr)
                *lied = true;
            return false;
        }
        for (const auto& [offset, bytes] : ready) {
            if (!store_rescued(offset, bytes, origin))
                return false;
        }
        at += chunk.size();
        return at < to;
    };
    std::error_code ec;
    std::string detail;
    const HttpResponse response = http_request(request, ec, &detail);
    if (lied != nullptr && *lied)
        return false;
    if (at > from)
        return true;  // got something (a stop by us is not a failure)
    if (!cancel.load())
        range_failed(response.status, ec ? detail : std::string(), source, origin);
    return false;
}

void Item::State::note_origin_size(const HttpResponse& head) {
    std::uint64_t total = total_from_content_range(head.header("Content-Range"));
    if (total == 0 && head.status == 200) {
        try {
            total = std::stoull(head.header("Content-Length"));
        } catch (...) {
        }
    }
    std::lock_guard lock(mutex_);
    if (total > 0 && (head.status != 200 || pieces_.origin_size == 0))
        pieces_.origin_size = total;
}

void Item::State::range_failed(long status, const std::string& transport_error,
                               const std::string& source, bool origin) {
    if (!transport_error.empty()) {
        log().warn("{}: {}: {}", url, source, transport_error);
        return;
    }
    if (status == 206 || status == 200)
        return;
    log().warn("{}: {} answered HTTP {}", url, source, status);
    if (!origin || (status != 404 && status != 410 && status != 416))
        return;
    {
        std::lock_guard lock(mutex_);
        if (pieces_.piece_size != 0)
            return;  // the swarm to fall back on
        pieces_.state = ItemState::failed;
        pieces_.error = "the origin answered HTTP " + std::to_string(status);
    }
    wake_stream();  // a reader waiting for bytes learns that none will come
}

bool Item::State::store_rescued(std::uint64_t at, std::string_view bytes, bool origin) {
    {
        std::lock_guard lock(mutex_);
        if (pieces_.rescue_fd < 0 ||
            ::pwrite(pieces_.rescue_fd, bytes.data(), bytes.size(), static_cast<off_t>(at)) !=
                static_cast<ssize_t>(bytes.size()))
            return false;
        pieces_.rescued.add(at, at + bytes.size());
        (origin ? pieces_.figures.sources.origin : pieces_.figures.sources.gateway) += bytes.size();
    }
    wake_stream();
    return true;
}

void Item::State::offer_rescued(std::uint64_t from, std::uint64_t to) {
    if (!handle_.is_valid())
        return;
    std::vector<std::pair<int, std::vector<char>>> whole;
    {
        std::lock_guard lock(mutex_);
        const std::uint64_t piece = pieces_.piece_size;
        if (piece == 0 || pieces_.rescue_fd < 0)
            return;
        for (auto p = from / piece; p * piece < to && p < pieces_.have.size(); ++p) {
            const std::uint64_t start = p * piece;
            const std::uint64_t end = std::min(start + piece, pieces_.size);
            const auto index = static_cast<int>(p);
            if (pieces_.have[p] || index == swarm_.sentinel || fetching_.offered.count(index) > 0 ||
                pieces_.rescued.end_of(start) < end)
                continue;
            std::vector<char> bytes(static_cast<std::size_t>(end - start));
            if (::pread(pieces_.rescue_fd, bytes.data(), bytes.size(), static_cast<off_t>(start)) !=
                static_cast<ssize_t>(bytes.size()))
                continue;
            fetching_.offered.insert(index);
            whole.emplace_back(index, std::move(bytes));
        }
    }
    // Pieces the origin or the gateway gave whole, handed to libtorrent: it checks them
    // against their hash, stops asking peers for them, and serves them to other listeners.
    for (auto& [index, bytes] : whole) {
        try {
            handle_.add_piece(lt::piece_index_t{index}, std::move(bytes));
        } catch (const lt::system_error& e) {
            log().debug("{}: {}", url, e.what());
        }
    }
}

}  // namespace alluvium::detail
