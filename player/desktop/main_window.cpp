#include "main_window.hpp"

#include "cover_view.hpp"
#include "swarm_chart.hpp"
#include "theme.hpp"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QCoreApplication>
#include <QDesktopServices>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QImage>
#include <QInputDialog>
#include <QLabel>
#include <QListView>
#include <QMenuBar>
#include <QPainter>
#include <QPointer>
#include <QProgressBar>
#include <QPushButton>
#include <QSlider>
#include <QSplitter>
#include <QStackedWidget>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTableWidget>
#include <QThreadPool>
#include <QTimer>
#include <QToolBar>
#include <QUrl>
#include <QVBoxLayout>

namespace alluvium::player {

namespace {

// A label for text that may come from a station (titles, errors): shown as it is, never
// read as HTML (QLabel's default guesses, and "<b>..." would be markup).
QLabel* text_label(QWidget* parent, const QString& text = {}) {
    auto* l = new QLabel(text, parent);
    l->setTextFormat(Qt::PlainText);
    return l;
}

}  // namespace

MainWindow::MainWindow(PlayerOptions options, QWidget* parent)
    : QMainWindow(parent),
      options_(std::move(options)),
      tuner_(std::make_unique<Tuner>(options_.tuner)) {
    applyTheme(options_.dark);
    vlc_ = std::make_unique<VlcPlayer>(options_.vlcArgs, this);
    // The cover is drawn on a thread of its own, for the window and as MPRIS's artwork
    // (cover_view.hpp). The thread starts now: starting it at the first title held the GUI
    // thread for milliseconds.
    coverPool_ = new QThreadPool(this);
    coverPool_->setMaxThreadCount(1);
    coverPool_->setExpiryTimeout(-1);
    coverPool_->start([] {});
    buildUi();
    buildActions();
    vlc_->setVideoWidget(video_);
    // Playback that fails or ends while the station plays is started again: a dropped
    // connection or a player that fell behind must not leave the window silent.
    connect(vlc_.get(), &VlcPlayer::failed, this, [this](const QString& why) {
        statusBar()->showMessage(why + " — retrying", 8000);
        retryPlayback();
    });
    connect(vlc_.get(), &VlcPlayer::ended, this, [this] { retryPlayback(); });
    // The Tuner's wake-up only queues a call; events are drained here, on the GUI thread.
    // A burst of events queues one refresh, not one each.
    tuner_->set_notify([this] {
        if (refreshQueued_.exchange(true))
            return;
        QMetaObject::invokeMethod(
            this,
            [this] {
                refreshQueued_ = false;
                refresh();
            },
            Qt::QueuedConnection);
    });
    // Media keys and the desktop's now-playing widget (MPRIS, on the session bus).
    MprisControls controls;
    controls.raise = [this] {
        showNormal();
        raise();
        activateWindow();
    };
    controls.quit = [] { QApplication::quit(); };
    controls.set_playing = [this](bool on) {
        if (on != wantPlaying_)
            togglePlay();
    };
    controls.set_volume = [this](double v) { volume_->setValue(static_cast<int>(v * 100 + 0.5)); };
    mpris_ = std::make_unique<Mpris>(std::move(controls));
    coverDir_ = QStandardPaths::writableLocation(QStandardPaths::CacheLocation);
    connect(volume_, &QSlider::valueChanged, this, [this] { updateMpris(tuner_->status()); });
    timer_ = new QTimer(this);
    timer_->setObjectName("refresh");
    connect(timer_, &QTimer::timeout, this, &MainWindow::refresh);
    timer_->start(500);
    if (!vlc_->ok())
        statusBar()->showMessage(vlc_->error());
    refresh();
}

MainWindow::~MainWindow() {
    timer_->stop();
    coverPool_->waitForDone();
    mpris_.reset();
    if (!coverFile_.isEmpty())
        QFile::remove(coverFile_);
    tuner_->set_notify(nullptr);
    vlc_.reset();  // detach events, stop, release
    // Stopping the Tuner makes a tune() still reading the playlist give up at once.
    tuner_->stop();
    if (tuneThread_.joinable())
        tuneThread_.join();
}

void MainWindow::buildUi() {
    setWindowTitle("Alluvium");
    resize(1280, 800);
    auto* central = new QWidget(this);
    auto* outer = new QVBoxLayout(central);

    // Top: stations | picture | swarm.
    auto* top = new QSplitter(Qt::Horizontal, central);
    buildStationsPanel(top);
    picture_ = new QStackedWidget(top);
    cover_ = new CoverView(*coverPool_, picture_);
    cover_->setObjectName("cover");
    video_ = new QWidget(picture_);
    video_->setObjectName("video");
    video_->setStyleSheet("background: black");
    picture_->addWidget(cover_);
    picture_->addWidget(video_);
    buildSwarmPanel(top);
    top->addWidget(sidePanel_);
    top->addWidget(picture_);
    top->addWidget(swarmPanel_);
    top->setStretchFactor(1, 1);
    top->setSizes({220, 800, 240});
    outer->addWidget(top, 3);

    // Bottom: what plays now, its progress, the schedule, the state.
    buildNowPanel(central);
    outer->addWidget(bottomPanel_, 2);
    setCentralWidget(central);
}

void MainWindow::buildStationsPanel(QWidget* top) {
    sidePanel_ = new QWidget(top);
    sidePanel_->setObjectName("stations-panel");
    auto* side = new QVBoxLayout(sidePanel_);
    side->setContentsMargins(0, 0, 0, 0);
    side->addWidget(new QLabel("<b>Stations</b>", sidePanel_));
    stationView_ = new QListView(sidePanel_);
    stationView_->setObjectName("stations");
    stationView_->setModel(&stations_);
    stationView_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    connect(stationView_, &QListView::activated, this,
            [this](const QModelIndex& i) { openStation(stations_.at(i.row()).url); });
    side->addWidget(stationView_);
    auto* buttons = new QHBoxLayout();
    auto* add = new QPushButton("Open…", sidePanel_);
    auto* remove = new QPushButton("Forget", sidePanel_);
    connect(add, &QPushButton::clicked, this, &MainWindow::openUrlDialog);
    connect(remove, &QPushButton::clicked, this,
            [this] { stations_.forget(stationView_->currentIndex().row()); });
    buttons->addWidget(add);
    buttons->addWidget(remove);
    side->addLayout(buttons);
}

void MainWindow::buildSwarmPanel(QWidget* top) {
    swarmPanel_ = new QWidget(top);
    swarmPanel_->setObjectName("swarm-panel");
    auto* swarm = new QFormLayout(swarmPanel_);
    swarm->addRow(new QLabel("<b>Swarm</b>", swarmPanel_));
    // Plain labels: a selectable one keeps a text document, laid out again with the panel at
    // each new value, which cost milliseconds of the GUI thread twice a second.
    peersValue_ = text_label(swarmPanel_, "–");
    downValue_ = text_label(swarmPanel_, "–");
    upValue_ = text_label(swarmPanel_, "–");
    shareValue_ = text_label(swarmPanel_, "–");
    shareValue_->setWordWrap(true);
    bufferValue_ = text_label(swarmPanel_, "–");
    forwardingValue_ = text_label(swarmPanel_, "–");
    forwardingValue_->setWordWrap(true);
    peersValue_->setObjectName("peers");
    downValue_->setObjectName("download");
    upValue_->setObjectName("upload");
    shareValue_->setObjectName("share");
    bufferValue_->setObjectName("buffer");
    forwardingValue_->setObjectName("forwarding");
    swarm->addRow("Peers", peersValue_);
    swarm->addRow("Download", downValue_);
    swarm->addRow("Upload", upValue_);
    swarm->addRow("Bytes", shareValue_);
    swarm->addRow("Buffer", bufferValue_);
    swarm->addRow("Router", forwardingValue_);
    swarmChart_ = new SwarmChart(swarmPanel_);
    swarmChart_->setObjectName("swarm-chart");
    swarm->addRow(swarmChart_);
}

void MainWindow::buildNowPanel(QWidget* central) {
    bottomPanel_ = new QWidget(central);
    bottomPanel_->setObjectName("now-panel");
    auto* bottom = new QVBoxLayout(bottomPanel_);
    bottom->setContentsMargins(0, 0, 0, 0);
    stationLabel_ = text_label(bottomPanel_);
    QFont sf = stationLabel_->font();
    sf.setPointSizeF(sf.pointSizeF() * 1.5);
    sf.setBold(true);
    stationLabel_->setFont(sf);
    titleLabel_ = text_label(bottomPanel_);
    QFont tf = titleLabel_->font();
    tf.setPointSizeF(tf.pointSizeF() * 1.25);
    titleLabel_->setFont(tf);
    auto* now = new QHBoxLayout();
    progress_ = new QProgressBar(bottomPanel_);
    progress_->setRange(0, 1000);
    progress_->setTextVisible(false);
    positionLabel_ = text_label(bottomPanel_);
    stationLabel_->setObjectName("station");
    titleLabel_->setObjectName("title");
    positionLabel_->setObjectName("position");
    now->addWidget(titleLabel_, 2);
    now->addWidget(progress_, 3);
    now->addWidget(positionLabel_);
    schedule_ = new QTableWidget(0, 4, bottomPanel_);
    schedule_->setHorizontalHeaderLabels({"", "Starts", "Title", "Length"});
    schedule_->horizontalHeader()->setSectionResizeMode(2, QHeaderView::Stretch);
    schedule_->verticalHeader()->hide();
    schedule_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    schedule_->setSelectionMode(QAbstractItemView::NoSelection);
    banner_ = text_label(bottomPanel_);
    schedule_->setObjectName("schedule");
    banner_->setObjectName("banner");
    banner_->setWordWrap(true);
    bottom->addWidget(stationLabel_);
    bottom->addLayout(now);
    bottom->addWidget(schedule_, 1);
    bottom->addWidget(banner_);
}

void MainWindow::buildActions() {
    auto* file = menuBar()->addMenu("&Station");
    auto* openUrl = file->addAction("Open &URL…", this, &MainWindow::openUrlDialog);
    openUrl->setShortcut(QKeySequence::Open);
    auto* openFile = file->addAction("Open &file…", this, &MainWindow::openFileDialog);
    openFile->setShortcut(QKeySequence("Ctrl+Shift+O"));
    auto* copy = file->addAction("&Copy stream URL", this, &MainWindow::copyStreamUrl);
    copy->setShortcut(QKeySequence("Ctrl+Shift+C"));
    file->addAction("Open the &web page", this, &MainWindow::openWebPage);
    file->addSeparator();
    file->addAction("&Quit", qApp, &QApplication::quit)->setShortcut(QKeySequence::Quit);

    auto* play = menuBar()->addMenu("&Play");
    playAction_ = play->addAction("&Stop", this, &MainWindow::togglePlay);
    playAction_->setShortcut(QKeySequence(Qt::Key_Space));
    muteAction_ = play->addAction("&Mute", this, &MainWindow::toggleMute);
    muteAction_->setShortcut(QKeySequence(Qt::Key_M));
    muteAction_->setCheckable(true);
    auto* louder =
        play->addAction("Louder", this, [this] { volume_->setValue(volume_->value() + 5); });
    louder->setShortcut(QKeySequence(Qt::Key_Plus));
    auto* softer =
        play->addAction("Softer", this, [this] { volume_->setValue(volume_->value() - 5); });
    softer->setShortcut(QKeySequence(Qt::Key_Minus));

    auto* view = menuBar()->addMenu("&View");
    auto* full = view->addAction("&Full screen", this, &MainWindow::toggleFullscreen);
    full->setShortcut(QKeySequence(Qt::Key_F));
    auto* dark = view->addAction("&Dark theme");
    dark->setCheckable(true);
    dark->setChecked(options_.dark);
    connect(dark, &QAction::toggled, this, [](bool on) { applyTheme(on); });
    auto* leave = new QAction(this);
    leave->setShortcut(QKeySequence(Qt::Key_Escape));
    connect(leave, &QAction::triggered, this, [this] {
        if (isFullScreen())
            toggleFullscreen();
    });
    addAction(leave);

    auto* bar = addToolBar("Controls");
    bar->setMovable(false);
    bar->addAction(openUrl);
    bar->addAction(playAction_);
    bar->addAction(muteAction_);
    volume_ = new QSlider(Qt::Horizontal, bar);
    volume_->setRange(0, 100);
    volume_->setValue(80);
    volume_->setMaximumWidth(160);
    volume_->setToolTip("Volume");
    connect(volume_, &QSlider::valueChanged, vlc_.get(), &VlcPlayer::setVolume);
    bar->addWidget(volume_);
    bar->addAction(full);
    bar->addAction(copy);
}

void MainWindow::openStation(const QString& playlist) {
    if (tuning_)
        return;  // one tune at a time
    if (tuneThread_.joinable())
        tuneThread_.join();
    playlist_ = playlist;
    tuneError_.clear();
    tuning_ = true;
    vlc_->stop();
    refresh();
    // tune() reads the playlist over the network: never on the GUI thread.
    tuneThread_ = std::thread([this, playlist] {
        std::error_code ec;
        std::string detail;
        const std::string url = tuner_->tune(playlist.toStdString(), ec, &detail);
        const QString u = QString::fromStdString(url);
        const QString e = url.empty() ? QString::fromStdString(detail) : QString();
        QMetaObject::invokeMethod(
            this, [this, u, e] { onTuned(u, e); }, Qt::QueuedConnection);
    });
}

void MainWindow::onTuned(const QString& url, const QString& error) {
    tuning_ = false;
    tuneError_ = error;
    if (error.isEmpty()) {
        stations_.remember(playlist_, QString::fromStdString(tuner_->status().station));
        statusBar()->showMessage("Stream: " + url, 8000);
    }
    refresh();
}

QString MainWindow::streamUrl() const {
    return QString::fromStdString(tuner_->stream_url());
}

void MainWindow::refresh() {
    (void)tuner_->take_events();  // the status below says all the window shows
    PresenterInput in;
    in.status = tuner_->status();
    in.tuning = tuning_;
    in.tune_error = tuneError_;
    const QString stream = QString::fromStdString(in.status.stream_url);
    in.base_url = stream.left(stream.lastIndexOf('/'));
    view_ = present(in);
    apply(view_);
    swarmChart_->add(in.status.bytes_from_peers, in.status.bytes_from_gateway,
                     in.status.bytes_from_origin);
    updateMpris(in.status);
    if (wantPlaying_ && !view_.media_url.isEmpty() && vlc_->url() != view_.media_url) {
        vlc_->play(view_.media_url, view_.start_ms);
    }
}

void MainWindow::apply(const ViewState& v) {
    setWindowTitle(v.station.isEmpty()
                       ? QString("Alluvium")
                       : "Alluvium — " + v.station + (v.title.isEmpty() ? "" : " — " + v.title));
    stationLabel_->setText(v.station.isEmpty() ? QString("No station") : v.station);
    titleLabel_->setText(v.title);
    setPosition(v.position);
    setProgress(static_cast<int>(v.progress * 1000));
    banner_->setText(v.banner);
    // A style sheet re-polishes the label and lays the window out again: only on a change.
    if (v.banner_is_problem != bannerIsProblem_) {
        bannerIsProblem_ = v.banner_is_problem;
        banner_->setStyleSheet(bannerIsProblem_ ? "color: #e05050; font-weight: bold" : "");
    }
    peersValue_->setText(v.peers.isEmpty() ? "–" : v.peers);
    downValue_->setText(v.download.isEmpty() ? "–" : v.download);
    upValue_->setText(v.upload.isEmpty() ? "–" : v.upload);
    shareValue_->setText(v.share.isEmpty() ? "–" : v.share);
    bufferValue_->setText(v.buffer.isEmpty() ? "–" : v.buffer);
    forwardingValue_->setText(v.forwarding.isEmpty() ? "–" : v.forwarding);
    cover_->setContent(v.station, v.title);
    picture_->setCurrentWidget(v.video ? video_ : static_cast<QWidget*>(cover_));
    applySchedule(v.schedule);
}

void MainWindow::setPosition(const QString& text) {
    // The position changes twice a second, and QLabel::setText lays the panel out again
    // unless the label's size is fixed. So its size is fixed, made for the text's shape
    // ("0:00 / 0:00", every digit a zero): it changes when an item of another length begins.
    QString shape = text;
    for (QChar& c : shape) {
        if (c.isDigit())
            c = u'0';
    }
    if (shape != positionShape_) {
        positionShape_ = shape;
        const QFontMetrics fm(positionLabel_->font());
        const QMargins m = positionLabel_->contentsMargins();
        positionLabel_->setFixedSize(
            fm.horizontalAdvance(shape) + fm.averageCharWidth() + m.left() + m.right(),
            fm.height() + m.top() + m.bottom());
    }
    positionLabel_->setText(text);
}

void MainWindow::setProgress(int value) {
    if (value == progress_->value())
        return;
    // QProgressBar::setValue repaints at once, which paints everything else that is due and
    // flushes the window to the display: several milliseconds on the GUI thread, twice a
    // second. With updates off it only stores the value; turning them on again schedules an
    // ordinary update, painted with the rest of the window in the next paint.
    progress_->setUpdatesEnabled(false);
    progress_->setValue(value);
    progress_->setUpdatesEnabled(true);
}

void MainWindow::updateMpris(const TunerStatus& st) {
    if (!mpris_ || !mpris_->registered())
        return;
    MprisState m;
    m.station = view_.station;
    m.title = view_.title;
    if (st.now) {
        m.item = static_cast<qint64>(st.now->index);
        m.length_us =
            std::chrono::duration_cast<std::chrono::microseconds>(st.now->end - st.now->start)
                .count();
        m.position_us = std::chrono::duration_cast<std::chrono::microseconds>(st.offset).count();
    }
    m.playing = wantPlaying_ && st.tuned;
    m.volume = volume_->value() / 100.0;
    // The artwork: the cover as the window draws it, drawn again when the title changes
    // (under a new name, which tells the desktop's widget to load it again). Drawing and
    // saving a PNG take tens of milliseconds: on a pool thread, not the GUI's.
    const QString key = m.station + '\n' + m.title;
    if (key != coverKey_ && !m.title.isEmpty()) {
        coverKey_ = key;
        const QString dir = coverDir_;
        const int n = ++covers_;
        const QString file =
            dir + QString("/mpris-cover-%1-%2.png").arg(QCoreApplication::applicationPid()).arg(n);
        coverPool_->start([self = QPointer<MainWindow>(this), dir, file, n, station = m.station,
                           title = m.title, base = font()] {
            QImage art(512, 512, QImage::Format_RGB32);
            QPainter p(&art);
            CoverView::paint(p, art.rect(), base, station, title);
            p.end();
            const bool saved = QDir().mkpath(dir) && art.save(file, "PNG");
            QMetaObject::invokeMethod(
                qApp,
                [self, file, saved, n] {
                    if (self)
                        self->coverDrawn(file, saved, n);
                    else
                        QFile::remove(file);
                },
                Qt::QueuedConnection);
        });
    }
    m.art_url = coverFile_.isEmpty() ? QString() : QUrl::fromLocalFile(coverFile_).toString();
    mpris_->update(m);
}

void MainWindow::coverDrawn(const QString& file, bool saved, int n) {
    if (!saved)
        return;
    if (n < coverShown_) {  // a later title's cover came first
        QFile::remove(file);
        return;
    }
    coverShown_ = n;
    if (!coverFile_.isEmpty())
        QFile::remove(coverFile_);
    coverFile_ = file;
    updateMpris(tuner_->status());
}

void MainWindow::applySchedule(const std::vector<ScheduleRow>& rows) {
    // The rows change when an item begins or the playlist is read again, not twice a second.
    if (rows == scheduleShown_)
        return;
    scheduleShown_ = rows;
    // Only the cells that changed are touched.
    schedule_->setRowCount(static_cast<int>(rows.size()));
    for (int r = 0; r < static_cast<int>(rows.size()); ++r) {
        const ScheduleRow& row = rows[static_cast<std::size_t>(r)];
        const QString kind = row.kind == ScheduleRow::Kind::played ? "played"
                             : row.kind == ScheduleRow::Kind::now  ? "▶ now"
                                                                   : "next";
        const QString cells[] = {kind, row.time, row.title, row.length};
        for (int c = 0; c < 4; ++c) {
            QTableWidgetItem* item = schedule_->item(r, c);
            if (item == nullptr) {
                item = new QTableWidgetItem();
                schedule_->setItem(r, c, item);
            }
            if (item->text() != cells[c])
                item->setText(cells[c]);
            QFont f = item->font();
            f.setBold(row.kind == ScheduleRow::Kind::now);
            item->setFont(f);
            item->setForeground(row.kind == ScheduleRow::Kind::played
                                    ? palette().color(QPalette::Disabled, QPalette::Text)
                                    : palette().color(QPalette::Text));
        }
    }
}

void MainWindow::retryPlayback() {
    ++playbackRetries_;
    QTimer::singleShot(1000, this, [this] {
        if (!wantPlaying_)
            return;
        vlc_->stop();  // forgets the URL: the next refresh plays what is on
        refresh();
    });
}

void MainWindow::togglePlay() {
    wantPlaying_ = !wantPlaying_;
    playAction_->setText(wantPlaying_ ? "&Stop" : "&Play");
    if (!wantPlaying_)
        vlc_->stop();
    refresh();
}

void MainWindow::toggleMute() {
    muted_ = !muted_;
    muteAction_->setChecked(muted_);
    vlc_->setMuted(muted_);
}

void MainWindow::toggleFullscreen() {
    const bool full = !isFullScreen();
    sidePanel_->setVisible(!full);
    swarmPanel_->setVisible(!full);
    bottomPanel_->setVisible(!full);
    menuBar()->setVisible(!full);
    full ? showFullScreen() : showNormal();
}

void MainWindow::copyStreamUrl() {
    const QString url = streamUrl();
    if (url.isEmpty())
        return;
    QGuiApplication::clipboard()->setText(url);
    statusBar()->showMessage("Copied " + url + " — open it in any player", 5000);
}

void MainWindow::openWebPage() {
    // The listener's page on the local server: the schedule and the swarm's chart, in the
    // desktop's browser (the stream URL's own server, path "/").
    QUrl page(streamUrl());
    if (page.isEmpty())
        return;
    page.setPath("/");
    if (!QDesktopServices::openUrl(page))
        statusBar()->showMessage("No browser opened " + page.toString(), 8000);
}

void MainWindow::openUrlDialog() {
    bool ok = false;
    const QString url = QInputDialog::getText(
        this, "Open station", "Playlist URL or file:", QLineEdit::Normal, "https://", &ok);
    if (ok && !url.trimmed().isEmpty())
        openStation(url.trimmed());
}

void MainWindow::openFileDialog() {
    const QString file = QFileDialog::getOpenFileName(this, "Open station", {},
                                                      "Alluvium playlists (*.rss);;All files (*)");
    if (!file.isEmpty())
        openStation(file);
}

}  // namespace alluvium::player
