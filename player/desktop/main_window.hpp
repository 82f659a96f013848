// The player's window: stations, the picture (video or cover), what plays and when, the
// swarm's health, and the controls. The Tuner runs in process; libVLC plays its local
// stream (or an item directly, for items that cannot go on the stream).
#pragma once

#include <alluvium/tuner.hpp>

#include "mpris.hpp"
#include "presenter.hpp"
#include "station_list.hpp"
#include "vlc_player.hpp"

#include <QMainWindow>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

class QAction;
class QLabel;
class QListView;
class QProgressBar;
class QSlider;
class QStackedWidget;
class QTableWidget;
class QThreadPool;
class QTimer;

namespace alluvium::player {

class CoverView;
class SwarmChart;

struct PlayerOptions {
    TunerOptions tuner;
    QStringList vlcArgs;
    bool dark = false;
};

class MainWindow : public QMainWindow {
    Q_OBJECT
  public:
    explicit MainWindow(PlayerOptions options, QWidget* parent = nullptr);
    ~MainWindow() override;  // stops playback and the Tuner cleanly

    // Tunes to a playlist URL or file, in the background.
    void openStation(const QString& playlist);
    [[nodiscard]] const ViewState& view() const { return view_; }
    [[nodiscard]] QString streamUrl() const;
    [[nodiscard]] VlcPlayer& vlc() { return *vlc_; }
    [[nodiscard]] int playbackRetries() const { return playbackRetries_; }
    [[nodiscard]] const Mpris& mpris() const { return *mpris_; }

  public slots:
    void refresh();
    void togglePlay();
    void toggleMute();
    void toggleFullscreen();
    void copyStreamUrl();
    void openWebPage();  // the local server's page, in the desktop's browser

  private:
    void buildUi();
    void buildStationsPanel(QWidget* top);
    void buildSwarmPanel(QWidget* top);
    void buildNowPanel(QWidget* central);
    void buildActions();
    void apply(const ViewState& v);
    void applySchedule(const std::vector<ScheduleRow>& rows);
    void setPosition(const QString& text);
    void setProgress(int value);  // 0..1000, painted with the rest of the window
    void onTuned(const QString& url, const QString& error);
    void openUrlDialog();
    void openFileDialog();
    void retryPlayback();
    // Tells MPRIS what plays (and draws the cover it shows as artwork when it changed).
    void updateMpris(const TunerStatus& st);
    // Cover number `n` was drawn into `file` (on the GUI thread).
    void coverDrawn(const QString& file, bool saved, int n);

    PlayerOptions options_;
    std::unique_ptr<Tuner> tuner_;
    std::unique_ptr<VlcPlayer> vlc_;
    StationList stations_;
    std::thread tuneThread_;
    std::atomic<bool> tuning_{false};
    QString tuneError_;
    QString playlist_;
    bool wantPlaying_ = true;
    bool muted_ = false;
    int playbackRetries_ = 0;
    ViewState view_;

    QTimer* timer_ = nullptr;
    QListView* stationView_ = nullptr;
    QStackedWidget* picture_ = nullptr;
    QWidget* video_ = nullptr;
    CoverView* cover_ = nullptr;
    QLabel* stationLabel_ = nullptr;
    QLabel* titleLabel_ = nullptr;
    QLabel* positionLabel_ = nullptr;
    QString positionShape_;  // the text the position label's fixed size was made for
    QProgressBar* progress_ = nullptr;
    QTableWidget* schedule_ = nullptr;
    std::vector<ScheduleRow> scheduleShown_;
    QLabel* banner_ = nullptr;
    bool bannerIsProblem_ = false;  // the banner's style sheet is the problem style
    // A refresh is queued to the GUI thread (set from the Tuner's threads).
    std::atomic<bool> refreshQueued_{false};
    QLabel* peersValue_ = nullptr;
    QLabel* downValue_ = nullptr;
    QLabel* upValue_ = nullptr;
    QLabel* shareValue_ = nullptr;
    QLabel* bufferValue_ = nullptr;
    QLabel* forwardingValue_ = nullptr;
    SwarmChart* swarmChart_ = nullptr;
    QWidget* sidePanel_ = nullptr;
    QWidget* swarmPanel_ = nullptr;
    QWidget* bottomPanel_ = nullptr;
    QSlider* volume_ = nullptr;
    QAction* playAction_ = nullptr;
    QAction* muteAction_ = nullptr;
    std::unique_ptr<Mpris> mpris_;
    QString coverKey_;   // station and title of the cover last drawn for MPRIS
    QString coverFile_;  // where it was drawn
    QString coverDir_;
    QThreadPool* coverPool_ = nullptr;  // one thread: the covers are drawn there
    int covers_ = 0;                    // covers asked for
    int coverShown_ = 0;                // the latest drawn
};

}  // namespace alluvium::player
