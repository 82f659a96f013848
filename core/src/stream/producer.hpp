// The producer: turns the schedule into the station's stream. It follows the playlist's
// schedule on the (corrected) clock, opens each item in the swarm ahead of its time, maps
// play time to bytes with the item's layout, fills gaps with silence, and keeps the
// broadcast `lead` ahead of the schedule. An audio stream takes the format most of the
// station's items have (station_format.hpp); items of another codec are transcoded into it
// (remux.hpp). Private to the core.
//
// Threads: one of its own, which sleeps until its next deadline (the stream's head needs
// more, the schedule moves to another item, a stall would begin) or until wake() says bytes
// it waits for came. Every public call is thread-safe. The change callback runs on the
// producer's thread and must not block or call back into the producer.
#pragma once

#include <alluvium/playlist.hpp>
#include <alluvium/schedule.hpp>

#include "../swarm/engine.hpp"
#include "broadcast.hpp"
#include "remux.hpp"
#include "silence.hpp"

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

namespace alluvium::detail {

struct Program {
    Playlist playlist;
    Schedule schedule;
    std::string playlist_url;  // for the gateway's allow-list; empty for local files
    // A live station: its segment length (live_segment_length()). Its segments are
    // published only just ahead of when they play: the stream may not run further ahead of
    // the schedule than max_lead.
    std::optional<Milliseconds> live_segment;
    std::optional<Milliseconds> max_lead;
    // Some item carries video: the stream is MPEG-TS, every item remuxed (remux.hpp).
    bool video = false;
};

// Whether a playlist has video that MPEG-TS can carry (remuxable_video()).
[[nodiscard]] bool has_video(const Playlist& playlist);

struct ProducerOptions {
    Milliseconds lead{4000};    // at least; more for low bit rates (a 64 KB burst)
    std::size_t prefetch = 2;   // following items opened ahead of their time
    Milliseconds resync{5000};  // a head this far behind jumps back onto the schedule
    // A fresh stream starts once this much playback is in hand, so that the bytes after it
    // have time to come from the swarm rather than a stall at once.
    Milliseconds preroll{1500};
    // The stream's head is topped up once it has this much less than `lead` in hand: how
    // often the producer wakes while all plays well.
    Milliseconds granularity{500};
};

struct ProducerStatus {
    OnAir air;                 // at now
    std::string title;         // what the stream carries now
    Milliseconds buffer{0};    // head - now
    std::uint64_t stalls = 0;  // times the head fell behind the schedule
    Milliseconds stalled{0};   // total time behind
    bool stalled_now = false;
    StreamFormat format = StreamFormat::none;
    std::string warning;  // e.g. an item that cannot go on this stream
};

class Producer {
  public:
    Producer(SwarmEngine& engine, Broadcast& broadcast, std::function<TimePoint()> clock,
             ProducerOptions options);
    ~Producer();  // stops the thread
    Producer(const Producer&) = delete;
    Producer& operator=(const Producer&) = delete;

    void set_program(std::shared_ptr<const Program> program);
    void wake();  // new bytes may be readable
    // Called (on the producer's thread) when what is on air or the stall state changed.
    void set_change_callback(std::function<void()> changed);
    [[nodiscard]] ProducerStatus status() const;
    // The swarm item for a playlist index, opening it if needed (for /items/<n>).
    [[nodiscard]] std::shared_ptr<Item> item(std::size_t index);
    [[nodiscard]] std::shared_ptr<const Program> program() const;

  private:
    struct Cursor {
        bool active = false;
        Slot slot;
        std::shared_ptr<Item> item;
        MediaLayout layout;
        std::uint64_t byte = 0;  // next item byte to append
        std::uint64_t end = 0;   // item byte where this airing ends
        bool first = true;       // the next chunk is the first of this airing
        bool exact = false;      // layout is indexed: index points are frame starts
        std::shared_ptr<const std::string> headers;
        std::string title;
        StreamFormat format = StreamFormat::none;
        // Played to its end, not cut at the slot's (a live segment: its audio may run a
        // frame past the keyframe that ends it, and the next one carries on from there).
        bool whole = false;
        // Decoded and re-encoded into the stream's format (transcode_), not taken byte for
        // byte.
        bool transcoded = false;
        // Made by a Converter (remuxed or transcoded): no preroll, no frame search.
        [[nodiscard]] bool converted() const { return transcoded || format == StreamFormat::ts; }
    };

    void run();
    // Appends what is due; returns when to step again (the next deadline).
    TimePoint step(TimePoint now);
    bool enter(const Program& program, const Slot& slot, TimePoint now);
    bool play(TimePoint now, TimePoint target);
    [[nodiscard]] std::string read_item(std::uint64_t from, std::uint64_t count) const;
    bool read_ogg_headers();
    [[nodiscard]] Chunk make_chunk(const std::string& data, std::size_t got,
                                   std::size_t skip) const;
    [[nodiscard]] Milliseconds lead_for(const Program& program) const;
    bool fill(const Program& program, TimePoint now, TimePoint target);
    [[nodiscard]] TimePoint next_deadline(const OnAir& here, bool waiting, Milliseconds lead,
                                          TimePoint now) const;
    void publish(const Program& program, const OnAir& here, bool waiting);
    bool play_converted(TimePoint now, TimePoint target, Converter& converter);
    void start_transcoding(Cursor& c, Milliseconds offset);
    void output_ready();  // a Converter made output: wake() if waiting for it
    // The item time playing now, for an airing that starts at `start` (a Converter's).
    [[nodiscard]] std::function<Milliseconds()> item_clock(TimePoint start) const;
    void cannot_play(TimePoint now, TimePoint target, const std::string& why);
    void silence(TimePoint until, const std::string& title, TimePoint now);
    void prefetch(const Program& program, const OnAir& air, TimePoint now);
    std::shared_ptr<Item> open(const Program& program, std::size_t index);
    MediaLayout layout_for(const Program& program, std::size_t index,
                           const std::shared_ptr<Item>& item) const;
    void choose_format(const Program& program, const MediaLayout& layout);
    void track_stall(TimePoint now);
    // How long until the byte at the cursor plays (0 when it is due or late).
    [[nodiscard]] Milliseconds plays_in(TimePoint now) const;

    SwarmEngine& engine_;
    Broadcast& broadcast_;
    std::function<TimePoint()> clock_;
    ProducerOptions options_;

    mutable std::mutex mutex_;
    std::condition_variable cv_;
    bool stopping_ = false;
    bool woken_ = false;
    bool waiting_for_bytes_ = false;  // wake() matters only then
    bool reported_stall_ = false;     // the stall state the change callback last told of
    std::function<void()> changed_;
    std::shared_ptr<const Program> program_;
    std::map<std::string, std::shared_ptr<Item>> open_;  // by media URL

    // Producer thread only.
    Cursor cursor_;
    TimePoint cursor_time_{};  // schedule time of the next byte to append
    // When a stream that has produced nothing yet was last put onto the schedule (the
    // cursor may start a little before that, on an index point).
    TimePoint anchored_{};
    bool started_ = false;
    bool produced_ = false;  // the first bytes are out: from now on, falling behind is a stall
    AudioParams params_;
    std::string silence_block_;
    bool silence_tried_ = false;
    Milliseconds silence_length_{0};
    // An MPEG-TS stream's remuxer, made by the producer's thread at its first video airing;
    // an audio stream's transcoder, made at its first item of another codec (each set under
    // mutex_, which wake() reads them under).
    std::unique_ptr<Converter> remux_;
    std::unique_ptr<Converter> transcode_;
    TimePoint epoch_{};  // stream time 0 of an MPEG-TS stream

    ProducerStatus status_;  // guarded by mutex_
    TimePoint stall_began_{};

    std::thread thread_;
};

// Bytes per second of an item, from its layout (or a fallback).
[[nodiscard]] std::uint64_t byte_rate(const MediaLayout& layout);

}  // namespace alluvium::detail
