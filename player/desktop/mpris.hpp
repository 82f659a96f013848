// MPRIS 2 (the freedesktop.org Media Player Remote Interfacing Specification): the player
// on the session bus as org.mpris.MediaPlayer2.alluvium, so that media keys, the desktop's
// now-playing widget and tools such as playerctl see what plays and control it.
//
// The window pushes what it shows (update()); the bus's calls come back as the callbacks
// given at construction. Everything runs on the GUI thread: Qt D-Bus delivers calls there.
// Without a session bus (a server, a test without one) the object does nothing and
// registered() is false. A live station has no seeking, no tracks to skip and no pause
// that keeps its place: Pause stops, as the window's Stop does.
#pragma once

#include <QObject>
#include <QString>
#include <functional>

namespace alluvium::player {

struct MprisState {
    QString station;
    QString title;
    QString art_url;   // file:// URL of the cover as the window draws it; empty: none
    qint64 item = -1;  // the playlist index on air, for the track id; -1: none
    qint64 length_us = 0;
    qint64 position_us = 0;
    bool playing = false;
    double volume = 1.0;  // 0..1
};

struct MprisControls {
    std::function<void()> raise;
    std::function<void()> quit;
    std::function<void(bool)> set_playing;   // true: play; false: stop
    std::function<void(double)> set_volume;  // 0..1
};

class MprisPlayerAdaptor;

class Mpris : public QObject {
    Q_OBJECT
  public:
    explicit Mpris(MprisControls controls, QObject* parent = nullptr);
    ~Mpris() override;

    [[nodiscard]] bool registered() const { return registered_; }
    [[nodiscard]] QString serviceName() const { return service_; }

    // What plays now; changed properties are signalled (PropertiesChanged).
    void update(const MprisState& state);
    [[nodiscard]] const MprisState& state() const { return state_; }
    [[nodiscard]] MprisControls& controls() { return controls_; }

  private:
    void changed(const QString& interface, const QVariantMap& properties);

    MprisControls controls_;
    MprisState state_;
    bool registered_ = false;
    QString service_;
};

}  // namespace alluvium::player
