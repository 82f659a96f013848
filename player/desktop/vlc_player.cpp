#include "vlc_player.hpp"

#include <vlc/vlc.h>

#include <QWidget>
#include <algorithm>
#include <vector>

namespace alluvium::player {

struct VlcPlayer::Impl {
    libvlc_instance_t* instance = nullptr;
    libvlc_media_player_t* player = nullptr;
    libvlc_media_t* media = nullptr;
    QString error;
    QString url;
    bool playing = false;
    int volume = 80;
    bool muted = false;
    WId window = 0;
};

namespace {

constexpr libvlc_event_e player_events[] = {libvlc_MediaPlayerPlaying, libvlc_MediaPlayerStopped,
                                            libvlc_MediaPlayerEncounteredError,
                                            libvlc_MediaPlayerEndReached};

}  // namespace

// libVLC threads: hop to the GUI thread at once. (Named functions: detaching needs the
// same callback pointer.)
void VlcPlayer::onPlayerEvent(const libvlc_event_t* event, void* self) {
    auto* p = static_cast<VlcPlayer*>(self);
    const int type = event->type;
    QMetaObject::invokeMethod(
        p,
        [p, type] {
            if (type == libvlc_MediaPlayerPlaying) {
                p->d_->playing = true;
                emit p->started();
            } else if (type == libvlc_MediaPlayerEncounteredError) {
                p->d_->playing = false;
                emit p->failed("libVLC could not play " + p->d_->url);
            } else if (type == libvlc_MediaPlayerEndReached) {
                p->d_->playing = false;
                emit p->ended();
            } else {
                p->d_->playing = false;
                emit p->stopped();
            }
        },
        Qt::QueuedConnection);
}

void VlcPlayer::onMetaChanged(const libvlc_event_t* event, void* self) {
    auto* p = static_cast<VlcPlayer*>(self);
    auto* m = static_cast<libvlc_media_t*>(event->p_obj);
    // The stream's ICY title arrives as NowPlaying; Ogg titles as Title.
    char* now = libvlc_media_get_meta(m, libvlc_meta_NowPlaying);
    if (now == nullptr)
        now = libvlc_media_get_meta(m, libvlc_meta_Title);
    const QString title = now != nullptr ? QString::fromUtf8(now) : QString();
    libvlc_free(now);
    if (!title.isEmpty()) {
        QMetaObject::invokeMethod(
            p, [p, title] { emit p->nowPlaying(title); }, Qt::QueuedConnection);
    }
}

VlcPlayer::VlcPlayer(const QStringList& extraArgs, QObject* parent)
    : QObject(parent), d_(std::make_unique<Impl>()) {
    // Measured under Xvfb (docs/ICECAST.md): these keep libVLC quiet and embeddable.
    QStringList args = {"--no-video-title-show", "--no-metadata-network-access", "--no-xlib",
                        "--quiet"};
    args += extraArgs;
    std::vector<QByteArray> storage;
    std::vector<const char*> argv;
    for (const QString& a : args)
        storage.push_back(a.toUtf8());
    for (const QByteArray& a : storage)
        argv.push_back(a.constData());
    d_->instance = libvlc_new(static_cast<int>(argv.size()), argv.data());
    if (d_->instance == nullptr) {
        d_->error = "libVLC did not start (an unknown option among: " + args.join(' ') + "?)";
        return;
    }
    d_->player = libvlc_media_player_new(d_->instance);
    libvlc_event_manager_t* events = libvlc_media_player_event_manager(d_->player);
    for (const libvlc_event_e e : player_events) {
        libvlc_event_attach(events, e, &VlcPlayer::onPlayerEvent, this);
    }
}

VlcPlayer::~VlcPlayer() {
    if (d_->player != nullptr) {
        libvlc_event_manager_t* events = libvlc_media_player_event_manager(d_->player);
        for (const libvlc_event_e e : player_events) {
            libvlc_event_detach(events, e, &VlcPlayer::onPlayerEvent, this);
        }
    }
    stop();
    if (d_->player != nullptr)
        libvlc_media_player_release(d_->player);
    if (d_->instance != nullptr)
        libvlc_release(d_->instance);
}

bool VlcPlayer::ok() const {
    return d_->instance != nullptr;
}
QString VlcPlayer::error() const {
    return d_->error;
}
QString VlcPlayer::url() const {
    return d_->url;
}
bool VlcPlayer::isPlaying() const {
    return d_->playing;
}

void VlcPlayer::setVideoWidget(QWidget* widget) {
    widget->setAttribute(Qt::WA_NativeWindow);
    d_->window = widget->winId();
    if (d_->player != nullptr)
        libvlc_media_player_set_xwindow(d_->player, static_cast<std::uint32_t>(d_->window));
}

void VlcPlayer::play(const QString& url, qint64 startMs) {
    if (!ok())
        return;
    stop();
    d_->url = url;
    d_->media = libvlc_media_new_location(d_->instance, url.toUtf8().constData());
    if (d_->media == nullptr) {
        emit failed("libVLC cannot open " + url);
        return;
    }
    if (startMs > 0) {
        const QByteArray start =
            ":start-time=" + QByteArray::number(static_cast<double>(startMs) / 1000.0, 'f', 3);
        libvlc_media_add_option(d_->media, start.constData());
    }
    libvlc_event_attach(libvlc_media_event_manager(d_->media), libvlc_MediaMetaChanged,
                        &VlcPlayer::onMetaChanged, this);
    libvlc_media_player_set_media(d_->player, d_->media);
    libvlc_audio_set_volume(d_->player, d_->volume);
    libvlc_audio_set_mute(d_->player, d_->muted ? 1 : 0);
    libvlc_media_player_play(d_->player);
}

void VlcPlayer::stop() {
    if (d_->player == nullptr)
        return;
    if (d_->media != nullptr) {
        libvlc_event_detach(libvlc_media_event_manager(d_->media), libvlc_MediaMetaChanged,
                            &VlcPlayer::onMetaChanged, this);
    }
    libvlc_media_player_stop(d_->player);
    if (d_->media != nullptr) {
        libvlc_media_release(d_->media);
        d_->media = nullptr;
    }
    d_->playing = false;
    d_->url.clear();
}

void VlcPlayer::setVolume(int percent) {
    d_->volume = std::clamp(percent, 0, 150);
    if (d_->player != nullptr)
        libvlc_audio_set_volume(d_->player, d_->volume);
}

void VlcPlayer::setMuted(bool muted) {
    d_->muted = muted;
    if (d_->player != nullptr)
        libvlc_audio_set_mute(d_->player, muted ? 1 : 0);
}

}  // namespace alluvium::player
