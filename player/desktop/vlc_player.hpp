// libVLC behind a small Qt interface. libVLC calls back on its own threads; every signal
// here is emitted on the object's (GUI) thread.
#pragma once

#include <QObject>
#include <QString>
#include <QStringList>
#include <memory>

class QWidget;
struct libvlc_event_t;

namespace alluvium::player {

class VlcPlayer : public QObject {
    Q_OBJECT
  public:
    // `extraArgs` are libVLC options (tests pass "--aout=afile" ...). An unknown option
    // makes libVLC fail: ok() then says false and error() why.
    explicit VlcPlayer(const QStringList& extraArgs, QObject* parent = nullptr);
    ~VlcPlayer() override;  // detaches events, stops, releases (in that order)

    [[nodiscard]] bool ok() const;
    [[nodiscard]] QString error() const;

    // Video is drawn into this widget's native window.
    void setVideoWidget(QWidget* widget);
    // Plays `url`, from `startMs` into it (for items played directly).
    void play(const QString& url, qint64 startMs = 0);
    void stop();
    void setVolume(int percent);
    void setMuted(bool muted);
    [[nodiscard]] QString url() const;
    [[nodiscard]] bool isPlaying() const;

  signals:
    void started();
    void stopped();
    void ended();  // the media ended by itself (the stream closed, or an item's end)
    void failed(const QString& why);
    void nowPlaying(const QString& title);  // the stream's ICY title (or Ogg title)

  private:
    static void onPlayerEvent(const libvlc_event_t* event, void* self);
    static void onMetaChanged(const libvlc_event_t* event, void* self);
    struct Impl;
    std::unique_ptr<Impl> d_;
};

}  // namespace alluvium::player
