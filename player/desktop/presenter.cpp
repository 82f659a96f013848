#include "presenter.hpp"

#include <alluvium/media.hpp>

#include <QDateTime>

namespace alluvium::player {
namespace {

QString local_time(TimePoint t) {
    return QDateTime::fromMSecsSinceEpoch(t.time_since_epoch().count())
        .toLocalTime()
        .toString("HH:mm:ss");
}

QString duration(Milliseconds d) {
    return QString::fromStdString(format_duration(std::chrono::floor<std::chrono::seconds>(d)));
}

ScheduleRow row(const ItemSummary& item, ScheduleRow::Kind kind) {
    return {kind, local_time(item.start), QString::fromStdString(item.title),
            duration(item.end - item.start)};
}

constexpr Milliseconds stall_threshold{1000};

}  // namespace

QString format_rate(std::int64_t bytes_per_second) {
    const double b = static_cast<double>(std::max<std::int64_t>(bytes_per_second, 0));
    if (b >= 1024.0 * 1024.0)
        return QString::number(b / (1024.0 * 1024.0), 'f', 1) + " MB/s";
    return QString::number(b / 1024.0, 'f', 1) + " KB/s";
}

bool on_stream(const QString& mime_type, const QString& stream_type) {
    return plays_on_stream(mime_type.toStdString(), stream_type.toStdString());
}

namespace {

void present_swarm(const TunerStatus& s, ViewState& v) {
    const std::uint64_t from_servers = s.bytes_from_gateway + s.bytes_from_origin;
    const std::uint64_t total = s.bytes_from_peers + from_servers;
    v.peers = QString::number(s.peers) + (s.gateway_connected ? " + gateway" : "");
    v.download = format_rate(s.download_rate);
    v.upload = format_rate(s.upload_rate);
    v.share = total == 0 ? "no bytes yet"
                         : QString("%1% from peers, %2% from servers")
                               .arg(static_cast<int>(100 * s.bytes_from_peers / total))
                               .arg(100 - static_cast<int>(100 * s.bytes_from_peers / total));
    v.buffer = QString::number(static_cast<double>(s.buffer.count()) / 1000.0, 'f', 1) + " s";
    v.forwarding = QString::fromStdString(port_forwarding(s));
}

// What plays, how far in, and the URL the player opens for it.
void present_now(const TunerStatus& s, const QString& base_url, ViewState& v) {
    if (!s.now)
        return;
    const auto length = s.now->end - s.now->start;
    v.title = QString::fromStdString(s.now->title);
    v.position = duration(s.offset) + " / " + duration(length);
    v.progress = length.count() > 0 ? std::clamp(static_cast<double>(s.offset.count()) /
                                                     static_cast<double>(length.count()),
                                                 0.0, 1.0)
                                    : 0;
    const QString mime = QString::fromStdString(s.now->mime_type);
    v.video = mime.startsWith("video/");
    if (on_stream(mime, QString::fromStdString(s.content_type))) {
        v.media_url = QString::fromStdString(s.stream_url);
    } else {
        v.media_url = base_url + "/items/" + QString::number(s.now->index);
        v.start_ms = s.offset.count();
    }
}

void present_state(const TunerStatus& s, ViewState& v) {
    // Behind the schedule by more than a moment: the bytes are not coming (a busy machine
    // can fall a few hundred milliseconds behind and catch up unheard).
    if (s.buffer < -stall_threshold && s.now) {
        v.mode = Mode::stalled;
        v.banner = "Waiting for the network: the stream is " + duration(-s.buffer) + " behind";
        v.banner_is_problem = true;
    } else if (s.state == AirState::playing) {
        v.mode = Mode::playing;
        v.banner = "On air";
    } else if (s.state == AirState::gap) {
        v.mode = Mode::gap;
        v.banner = s.next.empty() ? QString("Silence")
                                  : "Silence until " + local_time(s.next.front().start);
        v.title = "(silence)";
    } else {
        v.mode = Mode::off_air;
        v.banner = s.state == AirState::before_start && !s.next.empty()
                       ? "Off air: the station starts at " + local_time(s.next.front().start)
                       : QString("Off air: the schedule has ended");
        v.title = "(off air)";
    }
}

}  // namespace

ViewState present(const PresenterInput& in) {
    ViewState v;
    const TunerStatus& s = in.status;
    v.station = QString::fromStdString(s.station);
    if (!in.tune_error.isEmpty()) {
        v.mode = Mode::error;
        v.banner = "Cannot tune: " + in.tune_error;
        v.banner_is_problem = true;
        return v;
    }
    if (in.tuning) {
        v.mode = Mode::tuning;
        v.banner = "Tuning in…";
        return v;
    }
    if (!s.tuned) {
        v.banner = "Open a station (Ctrl+O) or pick one from the list.";
        return v;
    }
    for (const ItemSummary& p : s.previous)
        v.schedule.push_back(row(p, ScheduleRow::Kind::played));
    if (s.now)
        v.schedule.push_back(row(*s.now, ScheduleRow::Kind::now));
    for (const ItemSummary& n : s.next)
        v.schedule.push_back(row(n, ScheduleRow::Kind::next));

    present_swarm(s, v);
    present_now(s, in.base_url, v);
    present_state(s, v);
    if (!s.swarm_error.empty()) {
        v.banner += " — " + QString::fromStdString(s.swarm_error);
        v.banner_is_problem = true;
    }
    if (!s.playlist_error.empty()) {
        v.banner += " — playlist update failed (the schedule stays): " +
                    QString::fromStdString(s.playlist_error);
        v.banner_is_problem = true;
    }
    return v;
}

}  // namespace alluvium::player
