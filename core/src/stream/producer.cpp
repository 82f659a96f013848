#include "producer.hpp"

#include "../common/event_loop.hpp"
#include "../common/log.hpp"
#include "station_format.hpp"

#include <algorithm>
#include <utility>
#include <vector>

namespace alluvium::detail {

namespace {

constexpr auto silence_piece = std::chrono::milliseconds(500);
constexpr std::size_t burst_bytes = 72 * 1024;  // a little over Icecast's 64 KB burst

}  // namespace

bool has_video(const Playlist& playlist) {
    return std::any_of(playlist.items.begin(), playlist.items.end(),
                       [](const alluvium::Item& i) { return remuxable_video(i.mime_type); });
}

std::uint64_t byte_rate(const MediaLayout& layout) {
    if (layout.duration.count() > 0 && layout.data_end > layout.data_start) {
        return std::max<std::uint64_t>(1000,
                                       (layout.data_end - layout.data_start) * 1000 /
                                           static_cast<std::uint64_t>(layout.duration.count()));
    }
    return layout.bit_rate > 0 ? static_cast<std::uint64_t>(layout.bit_rate / 8) : 16000;
}

Producer::Producer(SwarmEngine& engine, Broadcast& broadcast, std::function<TimePoint()> clock,
                   ProducerOptions options)
    : engine_(engine), broadcast_(broadcast), clock_(std::move(clock)), options_(options) {
    thread_ = std::thread([this] { run(); });
}

Producer::~Producer() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
    // Their threads read items and wake this producer: stopped while the rest is whole.
    remux_.reset();
    transcode_.reset();
}

void Producer::set_program(std::shared_ptr<const Program> program) {
    {
        std::lock_guard lock(mutex_);
        program_ = std::move(program);
        woken_ = true;
    }
    cv_.notify_all();
}

std::shared_ptr<const Program> Producer::program() const {
    std::lock_guard lock(mutex_);
    return program_;
}

void Producer::wake() {
    bool waiting = false;
    {
        std::lock_guard lock(mutex_);
        waiting = waiting_for_bytes_;
        woken_ = woken_ || waiting;
    }
    if (waiting)
        cv_.notify_all();
    Converter* remux = nullptr;
    Converter* transcode = nullptr;
    {
        std::lock_guard lock(mutex_);
        // Made once, on the producer's thread; gone only with it.
        remux = remux_.get();
        transcode = transcode_.get();
    }
    if (remux != nullptr)
        remux->poke();
    if (transcode != nullptr)
        transcode->poke();
}

void Producer::output_ready() {
    {
        std::lock_guard lock(mutex_);
        if (!waiting_for_bytes_)
            return;
        woken_ = true;
    }
    cv_.notify_all();
}

void Producer::set_change_callback(std::function<void()> changed) {
    std::lock_guard lock(mutex_);
    changed_ = std::move(changed);
}

ProducerStatus Producer::status() const {
    std::lock_guard lock(mutex_);
    return status_;
}

std::shared_ptr<Item> Producer::item(std::size_t index) {
    const auto program = this->program();
    if (!program || index >= program->playlist.items.size()) {
        return nullptr;
    }
    return open(*program, index);
}

std::shared_ptr<Item> Producer::open(const Program& program, std::size_t index) {
    const alluvium::Item& entry = program.playlist.items[index];
    {
        std::lock_guard lock(mutex_);
        if (auto found = open_.find(entry.media_url); found != open_.end()) {
            return found->second;
        }
    }
    ItemRequest request;
    request.media_url = entry.media_url;
    request.playlist_url = program.playlist_url;
    request.size = entry.length_bytes;
    request.duration = entry.duration.value_or(Milliseconds{0});
    request.torrent = entry.torrent;
    auto item = engine_.open(request);
    std::shared_ptr<Item> replaced;  // let go after the lock (see step())
    std::lock_guard lock(mutex_);
    auto& slot = open_[entry.media_url];
    replaced = std::exchange(slot, item);
    return item;
}

MediaLayout Producer::layout_for(const Program& program, std::size_t index,
                                 const std::shared_ptr<Item>& item) const {
    if (auto known = item->layout()) {
        return *known;
    }
    const alluvium::Item& entry = program.playlist.items[index];
    return guessed_layout(entry, item->size(), entry.duration.value_or(Milliseconds{0}));
}

void Producer::choose_format(const Program& program, const MediaLayout& layout) {
    if (params_.format != StreamFormat::none) {
        return;
    }
    if (program.video) {
        // Remuxed, not framed: gaps carry no bytes (there is no silent video to send).
        params_.format = StreamFormat::ts;
        broadcast_.set_format(StreamFormat::ts);
        log().info("stream: {} (remuxed)", content_type_of(StreamFormat::ts));
        std::lock_guard lock(mutex_);
        status_.format = StreamFormat::ts;
        return;
    }
    // The format most items have; the first item of it on air says its rate and channels.
    params_ = station_format(program.playlist);
    if (stream_format_of(layout.container, layout.codec) == params_.format &&
        layout.sample_rate > 0 && layout.channels > 0) {
        params_ = AudioParams{params_.format, layout.codec, layout.sample_rate, layout.channels,
                              layout.bit_rate > 0 ? layout.bit_rate : params_.bit_rate};
    }
    broadcast_.set_format(params_.format);
    silence_block_.clear();  // encoded when first needed (silence())
    log().info("stream: {} ({} Hz, {} channels, {} kbit/s)", content_type_of(params_.format),
               params_.sample_rate, params_.channels, params_.bit_rate / 1000);
    std::lock_guard lock(mutex_);
    status_.format = params_.format;
}

void Producer::run() {
    name_this_thread("alluvium-stream");
    TimePoint next = clock_();
    while (true) {
        {
            std::unique_lock lock(mutex_);
            // The schedule's clock is the system's (corrected): waits are turned into the
            // steady clock's, so that a jump of the system clock cannot stretch one.
            const auto wait = std::max(Milliseconds{0},
                                       std::chrono::duration_cast<Milliseconds>(next - clock_()));
            cv_.wait_for(lock, wait, [this] { return stopping_ || woken_; });
            if (stopping_)
                return;
            woken_ = false;
        }
        try {
            next = step(clock_());
        } catch (const std::exception& e) {
            log().error("stream: {}", e.what());
            next = clock_() + std::chrono::seconds(1);
        }
    }
}

void Producer::prefetch(const Program& program, const OnAir& air, TimePoint now) {
    std::size_t n = 0;
    for (const Slot& next : air.next) {
        if (n++ >= options_.prefetch)
            break;
        if (cursor_.active && cursor_.item &&
            cursor_.item->media_url() == program.playlist.items[next.item].media_url) {
            continue;  // on air now (a short loop): its need is the airing's, not a later one
        }
        auto item = open(program, next.item);
        const MediaLayout layout = layout_for(program, next.item, item);
        const auto starts_in = std::chrono::duration_cast<Milliseconds>(next.start - now);
        item->need(layout.container == "ogg" ? 0 : layout.data_start, byte_rate(layout),
                   std::max(starts_in, Milliseconds{0}));
    }
}

bool Producer::enter(const Program& program, const Slot& slot, TimePoint now) {
    Cursor c;
    c.active = true;
    c.slot = slot;
    c.item = open(program, slot.item);
    c.layout = layout_for(program, slot.item, c.item);
    c.title = program.playlist.items[slot.item].display_title();
    c.format = stream_format_of(c.layout.container, c.layout.codec);
    choose_format(program, c.layout);
    c.exact = !c.layout.index.empty();
    const auto offset = std::max(Milliseconds{0}, cursor_time_ - slot.start);
    if (params_.format != StreamFormat::ts && c.format != params_.format) {
        start_transcoding(c, offset);
        cursor_ = std::move(c);
        return true;
    }
    if (params_.format == StreamFormat::ts) {
        // Every item is remuxed, from the keyframe at or before the offset. Less than a
        // second in is the previous airing's overrun or a fresh tune: from the start.
        c.format = StreamFormat::ts;
        c.whole = program.live_segment.has_value();
        const Milliseconds from = offset < std::chrono::seconds(1) ? Milliseconds{0} : offset;
        if (epoch_ == TimePoint{})
            epoch_ = std::min(slot.start, cursor_time_) - std::chrono::seconds(10);
        if (!remux_) {
            auto made = std::make_unique<Converter>();  // loads the codec module
            std::lock_guard lock(mutex_);
            remux_ = std::move(made);
        }
        remux_->start(c.item, from, byte_rate(c.layout), item_clock(slot.start), c.title);
        cursor_ = std::move(c);
        log().debug("stream: {} from {} (remuxed)", cursor_.title, format_duration(offset));
        return true;
    }
    if (c.exact && offset.count() > 0) {
        // Start on the index point at or before the offset: a frame start, exactly.
        const auto k = std::min<std::size_t>(
            static_cast<std::size_t>(offset / c.layout.index_interval), c.layout.index.size() - 1);
        c.byte = c.layout.index[k];
        cursor_time_ = slot.start + c.layout.index_interval * static_cast<std::int64_t>(k);
    } else {
        c.byte = offset.count() > 0 ? c.layout.byte_at(offset)
                                    : (c.layout.container == "ogg" ? 0 : c.layout.data_start);
    }
    c.end =
        slot.length() >= c.layout.duration ? c.layout.data_end : c.layout.byte_at(slot.length());
    if (c.format == StreamFormat::ogg && c.byte > 0) {
        c.item->need_header(c.layout.header_end > 0 ? c.layout.header_end : 64 * 1024);
    }
    c.item->need(c.byte, byte_rate(c.layout), plays_in(now));
    cursor_ = std::move(c);
    log().debug("stream: {} from {} (byte {})", cursor_.title, format_duration(offset),
                cursor_.byte);
    return true;
}

// An item whose codec cannot follow the stream's: decoded from `offset` and re-encoded in
// the stream's format, on the transcoder's thread.
void Producer::start_transcoding(Cursor& c, Milliseconds offset) {
    c.transcoded = true;
    if (!transcode_) {
        auto made = std::make_unique<Converter>(params_, [this] { output_ready(); });
        std::lock_guard lock(mutex_);
        transcode_ = std::move(made);
    }
    transcode_->start(c.item, offset, byte_rate(c.layout), item_clock(c.slot.start), c.title);
    log().debug("stream: {} from {} (transcoded into {})", c.title, format_duration(offset),
                content_type_of(params_.format));
}

std::function<Milliseconds()> Producer::item_clock(TimePoint start) const {
    return [clock = clock_, start] {
        return std::chrono::duration_cast<Milliseconds>(clock() - start);
    };
}

Milliseconds Producer::plays_in(TimePoint now) const {
    return std::max(Milliseconds{0}, std::chrono::duration_cast<Milliseconds>(cursor_time_ - now));
}

// The whole of [from, from + count) that is readable now, from its start.
std::string Producer::read_item(std::uint64_t from, std::uint64_t count) const {
    std::string data(static_cast<std::size_t>(count), '\0');
    std::size_t got = 0;
    while (got < data.size()) {
        const std::size_t n = cursor_.item->read(from + got, data.data() + got, data.size() - got);
        if (n == 0)
            break;
        got += n;
    }
    data.resize(got);
    return data;
}

// An Ogg item started mid-way: its header pages, kept for the cursor; false while missing.
bool Producer::read_ogg_headers() {
    Cursor& c = cursor_;
    std::string head = read_item(0, c.layout.header_end > 0 ? c.layout.header_end : 64 * 1024);
    const auto end = c.layout.header_end > 0 ? std::optional<std::size_t>(c.layout.header_end)
                                             : ogg_header_end(head);
    if (!end || head.size() < *end)
        return false;
    head.resize(*end);
    c.headers = std::make_shared<const std::string>(std::move(head));
    return true;
}

// The chunk for `got` bytes read at the cursor, of which the first `skip` are left out.
Chunk Producer::make_chunk(const std::string& data, std::size_t got, std::size_t skip) const {
    const Cursor& c = cursor_;
    Chunk chunk;
    chunk.play_at = c.slot.start + c.layout.time_at(c.byte + skip);
    chunk.length = c.layout.time_at(c.byte + got) - c.layout.time_at(c.byte + skip);
    chunk.title = c.title;
    chunk.item = static_cast<int>(c.slot.item);
    chunk.headers = c.format == StreamFormat::ogg ? c.headers : nullptr;
    chunk.starts_item = c.byte + skip == (c.format == StreamFormat::ogg ? 0 : c.layout.data_start);
    const std::string_view body = std::string_view(data).substr(skip);
    if (c.first && c.headers && !chunk.starts_item) {
        chunk.bytes = *c.headers;
        chunk.bytes.append(body);
        chunk.sync = 0;
        chunk.starts_item = true;  // a joiner here gets the headers from the bytes themselves
    } else {
        chunk.bytes.assign(body);
        const bool aligned =
            c.first ||
            (c.exact && std::binary_search(c.layout.index.begin(), c.layout.index.end(), c.byte));
        const auto frame =
            aligned ? std::optional<std::size_t>(0) : find_frame(c.format, chunk.bytes);
        chunk.sync = frame ? *frame : std::string::npos;
    }
    if (chunk.length <= Milliseconds{0}) {
        chunk.length = Milliseconds{1};
    }
    return chunk;
}

// Appends what is due of the current airing; false when the bytes are not here yet.
bool Producer::play(TimePoint now, TimePoint target) {
    Cursor& c = cursor_;
    if (c.format == StreamFormat::ts) {
        return play_converted(now, target, *remux_);
    }
    if (c.transcoded) {
        return play_converted(now, target, *transcode_);
    }
    if (c.format == StreamFormat::none || c.format != params_.format) {
        // This item cannot follow the stream's format byte for byte.
        cannot_play(now, target, "(" + c.layout.container + ")");
        return true;
    }
    if (c.byte >= c.end) {
        cursor_time_ = std::max(cursor_time_, c.slot.end);
        c.active = false;
        return true;
    }
    // Headers first when starting an Ogg item mid-way.
    if (c.first && c.format == StreamFormat::ogg && c.byte > 0 && !c.headers &&
        !read_ogg_headers()) {
        return false;  // the header pages are not here yet
    }
    const auto due = target - c.slot.start;
    const std::uint64_t want = std::min(c.end, c.layout.byte_at(due) + 1);
    if (want <= c.byte) {
        return true;
    }
    std::string data = read_item(c.byte, want - c.byte);
    const std::size_t got = data.size();
    if (got == 0) {
        return false;
    }
    if (!produced_ && c.byte + got < want &&
        c.slot.start + c.layout.time_at(c.byte + got) < now + options_.preroll) {
        return false;  // a fresh stream: not enough in hand yet
    }
    if (c.format == StreamFormat::ogg && c.byte == 0 && !c.headers) {
        // Played from its first byte: keep the header pages for listeners joining later.
        const auto end = c.layout.header_end > 0 ? std::optional<std::size_t>(c.layout.header_end)
                                                 : ogg_header_end(data);
        if (end && *end <= data.size()) {
            c.headers = std::make_shared<const std::string>(data.substr(0, *end));
        }
    }
    std::size_t skip = 0;
    if (c.first && !c.exact && c.byte > c.layout.data_start &&
        !(c.format == StreamFormat::ogg && c.byte <= c.layout.header_end)) {
        // An estimated start offset: begin at the first real frame.
        const auto frame = find_frame(c.format, data);
        if (!frame) {
            return data.size() < 64 * 1024 ? false : (c.byte += data.size(), true);
        }
        skip = *frame;
    }
    Chunk chunk = make_chunk(data, got, skip);
    if (!produced_ && broadcast_.head() == 0) {  // (produced_ is set once a step is over)
        log().debug("stream: first bytes out: {} from {}, {} in hand", c.title,
                    format_duration(chunk.play_at - c.slot.start), format_duration(chunk.length));
    }
    c.first = false;
    c.byte += got;
    cursor_time_ = chunk.play_at + chunk.length;
    broadcast_.append(std::move(chunk), now);
    // The next byte plays at the cursor, up to `lead` from now: its deadline (and the rescue
    // of what the swarm is late with) counts from then, not from now.
    c.item->need(c.byte, byte_rate(c.layout), plays_in(now));
    return true;
}

// Silence (nothing, on MPEG-TS) in place of an item that cannot go on the stream.
void Producer::cannot_play(TimePoint now, TimePoint target, const std::string& why) {
    Cursor& c = cursor_;
    {
        std::lock_guard lock(mutex_);
        status_.warning = c.title + " " + why + " cannot go on this " +
                          content_type_of(params_.format) + " stream; play it at /items/" +
                          std::to_string(c.slot.item);
    }
    silence(std::min(target, c.slot.end), c.title, now);
    if (cursor_time_ >= c.slot.end)
        c.active = false;
}

// Appends what is due of a remuxed or transcoded airing; false when its bytes are not here
// yet.
bool Producer::play_converted(TimePoint now, TimePoint target, Converter& converter) {
    Cursor& c = cursor_;
    const Milliseconds length = c.slot.length();
    const auto due = std::chrono::duration_cast<Milliseconds>(target - c.slot.start);
    // A whole airing due to its end takes all that is left, however far it runs past.
    const Milliseconds until = !c.whole        ? std::min(due, length)
                               : due >= length ? Milliseconds::max()
                                               : due;
    const auto base = std::chrono::duration_cast<Milliseconds>(c.slot.start - epoch_);
    const auto finish = [&] {
        cursor_time_ = std::max(cursor_time_, c.slot.end);
        c.active = false;
        converter.stop();
    };
    for (;;) {
        TsChunk out;
        switch (converter.take(until, base, out)) {
            case Converter::Take::chunk: {
                Chunk chunk;
                chunk.bytes = std::move(out.bytes);
                // Play times only rise: a keyframe before the start of an airing is already
                // behind the head (head_time() is the epoch while nothing is out).
                chunk.play_at = std::max(c.slot.start + out.from, broadcast_.head_time());
                chunk.length =
                    std::max(Milliseconds{1}, std::chrono::duration_cast<Milliseconds>(
                                                  c.slot.start + out.to - chunk.play_at));
                chunk.sync = out.sync ? 0 : std::string::npos;
                // A joiner gets the tables first, unless the chunk starts with them.
                chunk.headers = converter.tables();
                chunk.starts_item = out.tables;
                chunk.title = c.title;
                chunk.item = static_cast<int>(c.slot.item);
                cursor_time_ = std::max(cursor_time_, chunk.play_at + chunk.length);
                broadcast_.append(std::move(chunk), now);
                continue;
            }
            case Converter::Take::not_due:
                if (until >= length) {
                    finish();
                } else {
                    cursor_time_ = std::max(cursor_time_, c.slot.start + until);
                }
                return true;
            case Converter::Take::waiting:
                return false;
            case Converter::Take::end:
                finish();
                return true;
            case Converter::Take::error:
                cannot_play(now, target, "(" + converter.error() + ")");
                return true;
        }
    }
}

void Producer::silence(TimePoint until, const std::string& title, TimePoint now) {
    if (silence_block_.empty() && params_.format != StreamFormat::none && !silence_tried_) {
        // The codec module is loaded for this only: a station without gaps never needs it.
        silence_tried_ = true;
        silence_block_ = encode_silence(params_, silence_piece);
        silence_length_ = silence_piece;
    }
    if (params_.format == StreamFormat::none || silence_block_.empty()) {
        cursor_time_ = until;  // nothing to fill with yet: listeners wait
        return;
    }
    while (cursor_time_ < until) {
        Chunk chunk;
        chunk.bytes = silence_block_;
        chunk.play_at = cursor_time_;
        chunk.length = silence_length_;
        chunk.sync = 0;
        chunk.starts_item = true;
        chunk.title = title;
        cursor_time_ += silence_length_;
        broadcast_.append(std::move(chunk), now);
    }
}

void Producer::track_stall(TimePoint now) {
    const TimePoint head = cursor_time_;
    produced_ = produced_ || broadcast_.head() > 0;
    const bool behind = produced_ && head + std::chrono::milliseconds(100) < now;
    std::lock_guard lock(mutex_);
    status_.buffer = std::chrono::duration_cast<Milliseconds>(head - now);
    if (behind && !status_.stalled_now) {
        status_.stalled_now = true;
        ++status_.stalls;
        stall_began_ = now;
        log().warn("stream: stalled: {} behind the schedule", format_duration(now - head));
    } else if (!behind && status_.stalled_now) {
        status_.stalled_now = false;
        status_.stalled += std::chrono::duration_cast<Milliseconds>(now - stall_began_);
    }
}

TimePoint Producer::step(TimePoint now) {
    const auto program = this->program();
    if (!program) {
        return now + std::chrono::hours(1);  // set_program() wakes it
    }
    if (!started_ || cursor_time_ + options_.resync < now) {
        if (started_) {
            log().warn("stream: {} behind; back onto the schedule",
                       format_duration(now - cursor_time_));
        }
        cursor_time_ = now;
        anchored_ = now;
        cursor_.active = false;
        started_ = true;
    } else if (!produced_ && cursor_.active && !cursor_.converted() &&
               anchored_ + std::chrono::milliseconds(250) < now) {
        // Still waiting for the preroll: the first byte out will be the one on air then,
        // not the one on air when the wait began. (Counted from when it was anchored: an
        // exact start begins on the index point before, which is not a reason to move.)
        cursor_time_ = now;
        anchored_ = now;
        cursor_.active = false;
    }
    const Milliseconds lead = lead_for(*program);
    const TimePoint target = now + lead;
    const bool waiting = fill(*program, now, target);
    track_stall(now);
    const OnAir here = program->schedule.at(now, 3);
    TimePoint next = next_deadline(here, waiting, lead, now);
    next = std::max(next, now + std::chrono::milliseconds(20));
    publish(*program, here, waiting);
    return next;
}

// At least `lead` ahead, and enough for Icecast's 64 KB burst at low bit rates.
Milliseconds Producer::lead_for(const Program& program) const {
    Milliseconds lead = options_.lead;
    if (cursor_.active) {
        lead = std::max(lead, Milliseconds{static_cast<std::int64_t>(burst_bytes * 1000 /
                                                                     byte_rate(cursor_.layout))});
        lead = std::min(lead, Milliseconds{15000});
    }
    if (program.max_lead)
        lead = std::min(lead, *program.max_lead);
    return lead;
}

// Appends up to `target`; true when it stopped waiting for bytes of the item on air.
bool Producer::fill(const Program& program, TimePoint now, TimePoint target) {
    bool waiting = false;  // for bytes of the item on air
    for (int guard = 0; guard < 64 && cursor_time_ < target; ++guard) {
        const OnAir air = program.schedule.at(cursor_time_, options_.prefetch);
        if (air.state == AirState::playing) {
            if (!cursor_.active || cursor_.slot.item != air.current->item ||
                cursor_.slot.start != air.current->start) {
                enter(program, *air.current, now);
                prefetch(program, air, now);
            }
            if (!play(now, target)) {
                waiting = true;
                break;  // waiting for bytes
            }
        } else {
            cursor_.active = false;
            const TimePoint next =
                air.next.empty() ? target : std::min(target, air.next.front().start);
            if (air.state == AirState::gap || air.state == AirState::before_start) {
                prefetch(program, air, now);
            }
            silence(next, air.state == AirState::gap ? "" : program.playlist.title, now);
            if (params_.format == StreamFormat::none)
                break;
        }
    }
    return waiting;
}

TimePoint Producer::next_deadline(const OnAir& here, bool waiting, Milliseconds lead,
                                  TimePoint now) const {
    // The next deadline: the head needs topping up, the schedule moves on, or (waiting for
    // bytes) a stall would begin or end in a jump back onto the schedule.
    TimePoint next = here.current        ? here.current->end
                     : here.next.empty() ? now + std::chrono::minutes(1)
                                         : here.next.front().start;
    if (waiting) {
        // (Read without the lock: only this thread writes stalled_now.)
        if (!produced_ && cursor_.active && !cursor_.converted())
            next = std::min(next, anchored_ + std::chrono::milliseconds(250));  // preroll
        else if (!status_.stalled_now)
            next = std::min(next, cursor_time_ + std::chrono::milliseconds(100));
        next = std::min(next, cursor_time_ + options_.resync);
    } else {
        next = std::min(next, cursor_time_ - lead + options_.granularity);
    }
    return next;
}

// Publishes what is on air, tells of a change, and lets go of items no longer near.
void Producer::publish(const Program& program, const OnAir& here, bool waiting) {
    // Items let go are destroyed after the lock: closing one may wait for work that wakes
    // this producer (a deadlock otherwise).
    std::vector<std::shared_ptr<Item>> released;
    std::function<void()> changed;
    std::unique_lock lock(mutex_);
    waiting_for_bytes_ = waiting;
    const bool air_changed = status_.air.state != here.state ||
                             (status_.air.current.has_value() != here.current.has_value()) ||
                             (here.current && (status_.air.current->item != here.current->item ||
                                               status_.air.current->start != here.current->start));
    if (air_changed || status_.stalled_now != reported_stall_) {
        reported_stall_ = status_.stalled_now;
        changed = changed_;
    }
    status_.air = here;
    status_.title = here.current ? program.playlist.items[here.current->item].display_title() : "";
    // Items no longer near the schedule are let go (the engine keeps seeding what it has).
    for (auto it = open_.begin(); it != open_.end();) {
        bool wanted = cursor_.active && cursor_.item && cursor_.item->media_url() == it->first;
        for (const Slot& s : here.next) {
            wanted = wanted || program.playlist.items[s.item].media_url == it->first;
        }
        if (here.current)
            wanted = wanted || program.playlist.items[here.current->item].media_url == it->first;
        if (wanted) {
            ++it;
        } else {
            released.push_back(std::move(it->second));
            it = open_.erase(it);
        }
    }
    lock.unlock();
    if (changed)
        changed();
}

}  // namespace alluvium::detail
