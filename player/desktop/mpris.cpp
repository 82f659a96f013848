#include "mpris.hpp"

#include <unistd.h>

#include <QDBusAbstractAdaptor>
#include <QDBusConnection>
#include <QDBusConnectionInterface>
#include <QDBusMessage>
#include <QDBusObjectPath>
#include <QStringList>
#include <QVariantMap>
#include <algorithm>

namespace alluvium::player {

namespace {

const QString object_path = "/org/mpris/MediaPlayer2";
const QString player_interface = "org.mpris.MediaPlayer2.Player";

QVariantMap metadata_of(const MprisState& s) {
    QVariantMap m;
    // A track id names the item on air; MPRIS's NoTrack when nothing is.
    m["mpris:trackid"] = QVariant::fromValue(
        QDBusObjectPath(s.item >= 0 ? "/org/alluvium/item/" + QString::number(s.item)
                                    : QString("/org/mpris/MediaPlayer2/TrackList/NoTrack")));
    if (!s.title.isEmpty())
        m["xesam:title"] = s.title;
    if (!s.station.isEmpty()) {
        m["xesam:artist"] = QStringList{s.station};
        m["xesam:album"] = s.station;
    }
    if (s.length_us > 0)
        m["mpris:length"] = s.length_us;
    if (!s.art_url.isEmpty())
        m["mpris:artUrl"] = s.art_url;
    return m;
}

}  // namespace

// org.mpris.MediaPlayer2: the application.
class MprisRootAdaptor : public QDBusAbstractAdaptor {
    Q_OBJECT
    Q_CLASSINFO("D-Bus Interface", "org.mpris.MediaPlayer2")
    Q_PROPERTY(bool CanQuit READ canQuit)
    Q_PROPERTY(bool CanRaise READ canRaise)
    Q_PROPERTY(bool HasTrackList READ hasTrackList)
    Q_PROPERTY(QString Identity READ identity)
    Q_PROPERTY(QString DesktopEntry READ desktopEntry)
    Q_PROPERTY(QStringList SupportedUriSchemes READ uriSchemes)
    Q_PROPERTY(QStringList SupportedMimeTypes READ mimeTypes)

  public:
    explicit MprisRootAdaptor(Mpris* owner) : QDBusAbstractAdaptor(owner), owner_(owner) {}
    [[nodiscard]] bool canQuit() const { return true; }
    [[nodiscard]] bool canRaise() const { return true; }
    [[nodiscard]] bool hasTrackList() const { return false; }
    [[nodiscard]] QString identity() const { return "Alluvium"; }
    [[nodiscard]] QString desktopEntry() const { return "alluvium-player"; }
    [[nodiscard]] QStringList uriSchemes() const { return {"http", "https", "file"}; }
    [[nodiscard]] QStringList mimeTypes() const { return {"application/x-alluvium"}; }

  public slots:
    void Raise() {
        if (owner_->controls().raise)
            owner_->controls().raise();
    }
    void Quit() {
        if (owner_->controls().quit)
            owner_->controls().quit();
    }

  private:
    Mpris* owner_;
};

// org.mpris.MediaPlayer2.Player: what plays, and play / stop / volume.
class MprisPlayerAdaptor : public QDBusAbstractAdaptor {
    Q_OBJECT
    Q_CLASSINFO("D-Bus Interface", "org.mpris.MediaPlayer2.Player")
    Q_PROPERTY(QString PlaybackStatus READ playbackStatus)
    Q_PROPERTY(double Rate READ rate WRITE setRate)
    Q_PROPERTY(QVariantMap Metadata READ metadata)
    Q_PROPERTY(double Volume READ volume WRITE setVolume)
    Q_PROPERTY(qlonglong Position READ position)
    Q_PROPERTY(double MinimumRate READ rate)
    Q_PROPERTY(double MaximumRate READ rate)
    Q_PROPERTY(bool CanGoNext READ no)
    Q_PROPERTY(bool CanGoPrevious READ no)
    Q_PROPERTY(bool CanPlay READ yes)
    Q_PROPERTY(bool CanPause READ yes)
    Q_PROPERTY(bool CanSeek READ no)
    Q_PROPERTY(bool CanControl READ yes)

  public:
    explicit MprisPlayerAdaptor(Mpris* owner) : QDBusAbstractAdaptor(owner), owner_(owner) {}
    [[nodiscard]] QString playbackStatus() const {
        return owner_->state().playing ? "Playing" : "Stopped";
    }
    [[nodiscard]] double rate() const { return 1.0; }
    void setRate(double) {}  // a station plays at its own pace
    [[nodiscard]] QVariantMap metadata() const { return metadata_of(owner_->state()); }
    [[nodiscard]] double volume() const { return owner_->state().volume; }
    void setVolume(double v) {
        if (owner_->controls().set_volume)
            owner_->controls().set_volume(std::clamp(v, 0.0, 1.0));
    }
    [[nodiscard]] qlonglong position() const { return owner_->state().position_us; }
    [[nodiscard]] bool yes() const { return true; }
    [[nodiscard]] bool no() const { return false; }

  public slots:
    void Play() { set_playing(true); }
    void Pause() { set_playing(false); }  // a live station has no pause that keeps its place
    void Stop() { set_playing(false); }
    void PlayPause() { set_playing(!owner_->state().playing); }
    void Next() {}
    void Previous() {}
    void Seek(qlonglong) {}
    void SetPosition(const QDBusObjectPath&, qlonglong) {}
    void OpenUri(const QString&) {}

  signals:
    void Seeked(qlonglong position);

  private:
    void set_playing(bool on) {
        if (owner_->controls().set_playing)
            owner_->controls().set_playing(on);
    }
    Mpris* owner_;
};

Mpris::Mpris(MprisControls controls, QObject* parent)
    : QObject(parent), controls_(std::move(controls)) {
    new MprisRootAdaptor(this);
    new MprisPlayerAdaptor(this);
    QDBusConnection bus = QDBusConnection::sessionBus();
    if (!bus.isConnected())
        return;  // no session bus: nothing to register with
    if (!bus.registerObject(object_path, this))
        return;
    // A second player on the same desktop takes a name of its own (the specification's
    // ".instance<pid>" suffix).
    service_ = "org.mpris.MediaPlayer2.alluvium";
    if (!bus.registerService(service_)) {
        service_ += ".instance" + QString::number(getpid());
        if (!bus.registerService(service_)) {
            bus.unregisterObject(object_path);
            service_.clear();
            return;
        }
    }
    registered_ = true;
}

Mpris::~Mpris() {
    if (!registered_)
        return;
    QDBusConnection bus = QDBusConnection::sessionBus();
    bus.unregisterService(service_);
    bus.unregisterObject(object_path);
}

void Mpris::update(const MprisState& state) {
    QVariantMap player;
    if (state.playing != state_.playing)
        player["PlaybackStatus"] = state.playing ? "Playing" : "Stopped";
    if (state.volume != state_.volume)
        player["Volume"] = state.volume;
    const QVariantMap before = metadata_of(state_);
    state_ = state;
    if (const QVariantMap now = metadata_of(state_); now != before)
        player["Metadata"] = now;
    if (!player.isEmpty())
        changed(player_interface, player);
}

void Mpris::changed(const QString& interface, const QVariantMap& properties) {
    if (!registered_)
        return;
    QDBusMessage signal = QDBusMessage::createSignal(object_path, "org.freedesktop.DBus.Properties",
                                                     "PropertiesChanged");
    signal << interface << properties << QStringList();
    QDBusConnection::sessionBus().send(signal);
}

}  // namespace alluvium::player

#include "mpris.moc"
