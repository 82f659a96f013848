// What the player shows, computed from the Tuner's status: pure logic (QtCore only), so
// that it is unit-tested without a display.
#pragma once

#include <alluvium/tuner.hpp>

#include <QString>
#include <QStringList>
#include <vector>

namespace alluvium::player {

enum class Mode {
    idle,     // no station
    tuning,   // reading the playlist, starting the stream
    playing,  // an item plays
    gap,      // silence between items
    off_air,  // before the first item, or after the last
    stalled,  // the stream fell behind (network trouble): shown until it recovers
    error,    // the station could not be tuned (bad playlist, unreachable)
};

struct ScheduleRow {
    enum class Kind { played, now, next } kind = Kind::next;
    QString time;  // local time of the start, "21:05:00"
    QString title;
    QString length;  // "3:00"
    bool operator==(const ScheduleRow&) const = default;
};

struct ViewState {
    Mode mode = Mode::idle;
    QString banner;  // one line saying what goes on
    bool banner_is_problem = false;
    QString station;
    QString title;
    QString position;     // "1:23 / 3:00"
    double progress = 0;  // 0..1 within the item
    std::vector<ScheduleRow> schedule;
    // Swarm health.
    QString peers;     // "12"
    QString download;  // "18.2 KB/s"
    QString upload;
    QString share;       // "87% from peers, 13% from servers"
    QString buffer;      // "4.6 s"
    QString forwarding;  // the home router's port forwarding: "port 6881 forwarded by UPnP"
    // Playback: what libVLC should open, and where (for items played directly).
    QString media_url;
    std::int64_t start_ms = 0;
    bool video = false;
};

struct PresenterInput {
    TunerStatus status;
    bool tuning = false;
    QString tune_error;  // set when tune() failed
    QString base_url;    // "http://127.0.0.1:8000" (stream_url without /stream)
};

[[nodiscard]] ViewState present(const PresenterInput& input);

// "18.2 KB/s", "1.3 MB/s"
[[nodiscard]] QString format_rate(std::int64_t bytes_per_second);
// Whether libVLC should play an item of `mime_type` from a /stream of `stream_type` (else
// /items/<n>).
[[nodiscard]] bool on_stream(const QString& mime_type, const QString& stream_type);

}  // namespace alluvium::player
