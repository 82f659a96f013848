// One media item: its lifetime, what the stream reads, and its swarm (pieces, figures).
// Its piece deadlines are in deadlines.cpp; the lookups and the rescue path in
// lookup_rescue.cpp.
#include <alluvium/swarm_settings.hpp>

#include "../common/log.hpp"
#include "cache.hpp"
#include "item_state.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <libtorrent/peer_info.hpp>
#include <libtorrent/torrent_info.hpp>
#include <libtorrent/torrent_status.hpp>
#include <string_view>

namespace alluvium::detail {

namespace fs = std::filesystem;

namespace {

// Whether libtorrent has the piece written to its file (a removed torrent has nothing).
bool on_disk(const lt::torrent_handle& h, lt::piece_index_t piece) {
    try {
        return h.is_valid() && h.have_piece(piece);
    } catch (const lt::system_error&) {
        return false;
    }
}

}  // namespace

Item::State::State(const ItemRequest& request, const SwarmOptions& options, EventLoop& loop,
                   std::weak_ptr<ItemHost> host)
    : url(request.media_url),
      playlist(request.playlist_url),
      size_hint_(request.size),
      duration_hint_(request.duration),
      torrent_(request.torrent),
      options_(options),
      loop_(loop),
      host_(std::move(host)),
      swarm_(loop.context()),
      fetching_(loop.context()) {}

Item::State::~State() {
    std::lock_guard lock(mutex_);
    if (pieces_.fd >= 0)
        ::close(pieces_.fd);
    if (pieces_.rescue_fd >= 0)
        ::close(pieces_.rescue_fd);
}

// ---- lifetime ------------------------------------------------------------------------------

void Item::State::handle_added() {
    if (handles_++ == 0)
        loop_.post([self = shared_from_this()] { self->start(); });
}

void Item::State::handle_dropped() {
    if (--handles_ == 0) {
        {
            std::lock_guard lock(mutex_);
            idle_since_ = Steady::now();
        }
        loop_.post([self = shared_from_this()] {
            if (self->handles_ == 0)
                self->park();  // nobody plays it: no more lookups or rescues
        });
    }
}

Item::State::Steady::time_point Item::State::idle_since() const {
    std::lock_guard lock(mutex_);
    return idle_since_;
}

void Item::State::start() {
    if (closed_ || handles_ == 0)
        return;
    if (!started_) {
        std::error_code ec;
        fs::create_directories(options_.cache_dir / "rescue", ec);
        rescue_path_ = options_.cache_dir / "rescue" / (url_key(url) + ".part");
        fs::remove(rescue_path_, ec);  // unverified bytes are not reused across runs
        std::lock_guard lock(mutex_);
        pieces_.rescue_fd = ::open(rescue_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        started_ = true;
    }
    cancel_ = std::make_shared<std::atomic<bool>>(false);
    fetching_.looking_since = Steady::now();
    if (!handle_.is_valid()) {
        // need() follows the open() that started this item; give it a moment, so that an
        // item that plays later knows it before its first lookup.
        fetching_.lookup_timer.expires_after(std::chrono::milliseconds(200));
        fetching_.lookup_timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
            if (auto self = weak.lock(); self && !ec)
                self->begin_lookup();
        });
    }
    schedule_rescue();
}

void Item::State::park() {
    cancel_->store(true);  // a lookup or range in progress gives up
    fetching_.lookup_timer.cancel();
    fetching_.rescue_timer.cancel();
    fetching_.looking = false;
    fetching_.deferred = false;
    fetching_.rescuing = false;
}

void Item::State::shutdown() {
    park();
    if (closed_)
        return;
    closed_ = true;
    std::lock_guard lock(mutex_);
    if (pieces_.fd >= 0)
        ::close(pieces_.fd);
    if (pieces_.rescue_fd >= 0)
        ::close(pieces_.rescue_fd);
    pieces_.fd = pieces_.rescue_fd = -1;
    std::error_code ec;
    if (started_)
        fs::remove(rescue_path_, ec);
}

// ---- the swarm -------------------------------------------------------------------------------

void Item::State::initial_priorities(int pieces, std::uint64_t piece_size,
                                     const lt::typed_bitfield<lt::piece_index_t>& have,
                                     std::vector<lt::download_priority_t>& priorities,
                                     int& sentinel) const {
    priorities.assign(static_cast<std::size_t>(pieces), lt::default_priority);
    int first = 0;
    {
        std::lock_guard lock(mutex_);
        // Pieces before the scheduled offset play for nobody: every listener is at the same
        // point of the same schedule.
        if (need_.set && piece_size > 0)
            first = static_cast<int>(std::min<std::uint64_t>(need_.offset / piece_size,
                                                             static_cast<std::uint64_t>(pieces)));
    }
    for (int i = 0; i < first; ++i)
        priorities[static_cast<std::size_t>(i)] = lt::dont_download;
    // The sentinel: the last wanted piece not yet here, held back while deadlines are in use.
    // Only worth it with a few more pieces to fetch.
    sentinel = -1;
    int missing = 0;
    for (int i = pieces - 1; i >= first; --i) {
        if (have.size() > i && have.get_bit(lt::piece_index_t{i}))
            continue;
        if (sentinel < 0)
            sentinel = i;
        ++missing;
    }
    if (missing < 4)
        sentinel = -1;
    if (sentinel >= 0)
        priorities[static_cast<std::size_t>(sentinel)] = lt::dont_download;
}

void Item::State::joined(const lt::torrent_handle& handle, const std::string& info_hash,
                         const lt::torrent_info& info,
                         const lt::typed_bitfield<lt::piece_index_t>& have,
                         const SwarmMetadata& meta, int sentinel, const fs::path& file) {
    handle_ = handle;
    swarm_.info_hash = info_hash;
    swarm_.sentinel = sentinel;
    swarm_.urgent.clear();
    swarm_.seed_endpoint = meta.seed;
    swarm_.since = Steady::now();
    swarm_.deadlines_dirty = true;
    {
        std::lock_guard lock(mutex_);
        pieces_.piece_size = static_cast<std::uint64_t>(info.piece_length());
        pieces_.size = meta.size;
        pieces_.have.assign(static_cast<std::size_t>(info.num_pieces()), false);
        auto hashes = std::make_shared<std::vector<lt::sha1_hash>>();
        for (const lt::piece_index_t p : info.piece_range())
            hashes->push_back(info.hash_for_piece(p));
        pieces_.hashes = std::move(hashes);
        pieces_.state = ItemState::swarming;
        pieces_.file = file;
        if (meta.layout)
            pieces_.layout = meta.layout;
        add_readable(have);
        if (need_.set)
            swarm_.lowest_wanted_piece = static_cast<int>(need_.offset / pieces_.piece_size);
    }
    // Deadlines now, before the first peer connects: libtorrent's picker would otherwise
    // start on random pieces and ask for the ones playback needs a second later.
    apply_deadlines(true);
    fetching_.lookup_timer.cancel();
    schedule_rescue();
    wake_stream();
}

void Item::State::left() {
    handle_ = lt::torrent_handle{};
    swarm_.unflushed.clear();
    std::lock_guard lock(mutex_);
    pieces_.have.clear();
}

template <typename Bitfield>
void Item::State::add_readable(const Bitfield& readable) {
    for (int i = 0; i < readable.size() && static_cast<std::size_t>(i) < pieces_.have.size(); ++i) {
        if (readable.get_bit(lt::piece_index_t{i})) {
            pieces_.have[static_cast<std::size_t>(i)] = true;
            swarm_.unflushed.erase(i);
        }
    }
    if (all_pieces())
        pieces_.state = ItemState::complete;
}

void Item::State::piece_finished(int piece) {
    {
        std::lock_guard lock(mutex_);
        if (piece < 0 || static_cast<std::size_t>(piece) >= pieces_.have.size())
            return;
    }
    swarm_.unflushed.insert(piece);
    log().trace("{}: piece {} finished", url, piece);
    settle();
}

void Item::State::settle() {
    if (swarm_.unflushed.empty())
        return;
    lt::typed_bitfield<lt::piece_index_t> written;
    for (const int p : swarm_.unflushed) {
        if (on_disk(handle_, lt::piece_index_t{p})) {
            if (written.size() <= p)
                written.resize(p + 1, false);
            written.set_bit(lt::piece_index_t{p});
        }
    }
    if (!written.none_set()) {
        {
            std::lock_guard lock(mutex_);
            add_readable(written);
        }
        wake_stream();
    }
    if (!swarm_.unflushed.empty() && !swarm_.settle_armed) {
        // Hashed from libtorrent's store buffer while the write is on its way: look again
        // once the disk thread has had a moment (a deadline of its own, not a poll).
        swarm_.settle_armed = true;
        swarm_.settle_timer.expires_after(std::chrono::milliseconds(25));
        swarm_.settle_timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
            if (auto self = weak.lock(); self && !ec) {
                self->swarm_.settle_armed = false;
                self->settle();
            }
        });
    }
}

void Item::State::all_checked() {
    lt::torrent_status st;
    try {
        st = handle_.status(lt::torrent_handle::query_pieces);
    } catch (const lt::system_error&) {
    }
    {
        std::lock_guard lock(mutex_);
        add_readable(st.pieces);
    }
    wake_stream();
}

void Item::State::hash_failed() {
    std::lock_guard lock(mutex_);
    ++pieces_.figures.hash_failures;
}

bool Item::State::downloading() const {
    if (!handle_.is_valid())
        return false;
    std::lock_guard lock(mutex_);
    const auto from = static_cast<std::size_t>(std::max(swarm_.lowest_wanted_piece, 0));
    return pieces_.state != ItemState::complete && from < pieces_.have.size() &&
           !all_here(from, pieces_.have.size());
}

void Item::State::status_update(const lt::torrent_status& st) {
    note_audience(st);
    std::lock_guard lock(mutex_);
    ItemFigures& f = pieces_.figures;
    f.sources.uploaded =
        static_cast<std::uint64_t>(std::max<std::int64_t>(0, st.total_payload_upload));
    f.sources.redundant =
        static_cast<std::uint64_t>(std::max<std::int64_t>(0, st.total_redundant_bytes));
    f.connections = st.num_peers;
    f.download_rate = st.download_payload_rate;
    f.upload_rate = st.upload_payload_rate;
}

void Item::State::update_figures() {
    if (!handle_.is_valid())
        return;
    std::vector<lt::peer_info> peers;
    lt::torrent_status st;
    try {
        handle_.get_peer_info(peers);
        st = handle_.status({});
    } catch (const lt::system_error&) {
        return;
    }
    note_audience(st);
    std::map<std::string, std::int64_t> seen;
    std::set<std::string> listeners;
    ItemFigures f;
    std::lock_guard lock(mutex_);
    f.sources = pieces_.figures.sources;
    f.hash_failures = pieces_.figures.hash_failures;
    f.refreshed = Steady::now();
    for (const lt::peer_info& p : peers) {
        const std::string endpoint = p.ip.address().to_string() + ":" + std::to_string(p.ip.port());
        const std::string_view pid(p.pid.data(), p.pid.size());
        const std::string key = endpoint + "/" + std::string(pid);
        const auto before = swarm_.peer_totals.find(key);
        const std::int64_t delta = std::max<std::int64_t>(
            0, p.total_download - (before == swarm_.peer_totals.end() ? 0 : before->second));
        // A gateway's seed, whoever connected (then its endpoint is not the one it gave).
        const bool gateway =
            endpoint == swarm_.seed_endpoint || pid.starts_with(gateway_peer_id_prefix);
        (gateway ? f.sources.gateway : f.sources.peers) += static_cast<std::uint64_t>(delta);
        seen[key] = p.total_download;
        if (gateway)
            f.gateway_connected = true;
        else if (listeners.insert(std::string(pid)).second && (p.source & lt::peer_info::dht))
            ++f.dht_listeners;
    }
    swarm_.peer_totals = std::move(seen);
    f.listeners = listeners.size();
    f.sources.uploaded =
        static_cast<std::uint64_t>(std::max<std::int64_t>(0, st.total_payload_upload));
    f.sources.redundant =
        static_cast<std::uint64_t>(std::max<std::int64_t>(0, st.total_redundant_bytes));
    f.connections = st.num_peers;
    f.download_rate = st.download_payload_rate;
    f.upload_rate = st.upload_payload_rate;
    pieces_.figures = f;
}

ItemFigures Item::State::figures() const {
    std::lock_guard lock(mutex_);
    return pieces_.figures;
}

// ---- what the stream reads -----------------------------------------------------------------

std::size_t Item::State::read(std::uint64_t offset, char* out, std::size_t max) {
    int source_fd = -1;
    std::size_t n = 0;
    {
        std::lock_guard lock(mutex_);
        Pieces& s = pieces_;
        if (s.piece_size > 0 && !s.have.empty()) {
            auto p = static_cast<std::size_t>(offset / s.piece_size);
            if (p < s.have.size() && s.have[p]) {
                while (p < s.have.size() && s.have[p] && p * s.piece_size < offset + max)
                    ++p;
                n = static_cast<std::size_t>(
                    std::min<std::uint64_t>({max, std::min(p * s.piece_size, s.size) - offset}));
                if (s.fd < 0)
                    s.fd = ::open(s.file.c_str(), O_RDONLY | O_CLOEXEC);
                source_fd = s.fd;
            }
        }
        if (source_fd < 0) {
            const std::uint64_t end = s.rescued.end_of(offset);
            if (end > offset && s.rescue_fd >= 0) {
                n = static_cast<std::size_t>(std::min<std::uint64_t>(max, end - offset));
                source_fd = s.rescue_fd;
            }
        }
    }
    if (source_fd < 0 || n == 0)
        return 0;
    const ssize_t got = ::pread(source_fd, out, n, static_cast<off_t>(offset));
    return got > 0 ? static_cast<std::size_t>(got) : 0;
}

void Item::State::need(std::uint64_t offset, std::uint64_t bytes_per_second,
                       Milliseconds starts_in) {
    {
        std::lock_guard lock(mutex_);
        const bool was_set = need_.set;
        need_.set = true;
        need_.offset = offset;
        need_.rate = std::max<std::uint64_t>(bytes_per_second, 1000);
        need_.at = Steady::now();
        need_.starts_in = starts_in;
        // Everything from here to the end is here: no deadline, rescue or lookup moves, so
        // the loop is left asleep (the producer says this twice a second).
        const std::uint64_t piece = pieces_.piece_size;
        if (was_set && piece > 0 && !pieces_.have.empty() &&
            all_here(std::min<std::size_t>(offset / piece, pieces_.have.size()),
                     pieces_.have.size()))
            return;
    }
    loop_.post([self = shared_from_this(), offset] {
        if (self->closed_)
            return;
        if (self->swarm_.lowest_wanted_piece < 0) {
            std::lock_guard lock(self->mutex_);
            if (self->pieces_.piece_size > 0)
                self->swarm_.lowest_wanted_piece =
                    static_cast<int>(offset / self->pieces_.piece_size);
        }
        self->swarm_.deadlines_dirty = true;
        self->apply_deadlines(true);
        if (self->fetching_.deferred)
            self->begin_lookup();  // it may play sooner now
        else if (!self->handle_.is_valid() && !self->fetching_.looking &&
                 self->fetching_.failures_in_row == 0 && self->started_)
            self->begin_lookup();  // need() came before the first lookup's moment
        self->schedule_rescue();
    });
}

void Item::State::need_header(std::uint64_t end) {
    {
        std::lock_guard lock(mutex_);
        if (end <= need_.header)
            return;
        need_.header = end;
    }
    loop_.post([self = shared_from_this(), end] {
        if (self->closed_)
            return;
        std::uint64_t piece = 0;
        std::size_t pieces = 0;
        std::vector<bool> have;
        {
            std::lock_guard lock(self->mutex_);
            piece = self->pieces_.piece_size;
            have = self->pieces_.have;
            pieces = have.size();
        }
        if (self->handle_.is_valid() && piece > 0) {
            if (self->swarm_.sentinel >= 0 &&
                static_cast<std::uint64_t>(self->swarm_.sentinel) * piece < end)
                self->release_sentinel();
            for (std::uint64_t p = 0; p * piece < end && p < pieces; ++p) {
                if (have[p])
                    continue;
                self->handle_.piece_priority(lt::piece_index_t{static_cast<int>(p)},
                                             lt::top_priority);
                self->make_urgent(static_cast<int>(p), 0);
            }
        }
        self->schedule_rescue();
    });
}

ItemState Item::State::state() const {
    std::lock_guard lock(mutex_);
    return pieces_.state;
}

std::uint64_t Item::State::size() const {
    std::lock_guard lock(mutex_);
    return known_size();
}

std::optional<MediaLayout> Item::State::layout() const {
    std::lock_guard lock(mutex_);
    return pieces_.layout;
}

ByteSources Item::State::sources() const {
    std::lock_guard lock(mutex_);
    return pieces_.figures.sources;
}

std::string Item::State::error() const {
    std::lock_guard lock(mutex_);
    return pieces_.error;
}

// ---- Item ------------------------------------------------------------------------------------

Item::Item(std::shared_ptr<State> state) : state_(std::move(state)) {
    state_->handle_added();
}

Item::~Item() {
    state_->handle_dropped();
}

std::size_t Item::read(std::uint64_t offset, char* out, std::size_t max) {
    return state_->read(offset, out, max);
}

void Item::need(std::uint64_t offset, std::uint64_t bytes_per_second, Milliseconds starts_in) {
    state_->need(offset, bytes_per_second, starts_in);
}

void Item::need_header(std::uint64_t end) {
    state_->need_header(end);
}

ItemState Item::state() const {
    return state_->state();
}

std::uint64_t Item::size() const {
    return state_->size();
}

std::optional<MediaLayout> Item::layout() const {
    return state_->layout();
}

ByteSources Item::sources() const {
    return state_->sources();
}

std::string Item::error() const {
    return state_->error();
}

const std::string& Item::media_url() const {
    return state_->url;
}

}  // namespace alluvium::detail
