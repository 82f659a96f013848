// The desktop player as a user sees it, under Xvfb: a local test station (nginx, the
// gateway, another listener), the window tuned to it, libVLC decoding the stream to a WAV
// file, and screenshots of the whole window saved as test artefacts.
#include "main_window.hpp"
#include "station.hpp"
#include "swarm_chart.hpp"
#include "temp_dir.hpp"

#include <fcntl.h>
#include <glib.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <QApplication>
#include <QEventLoop>
#include <QImage>
#include <QLabel>
#include <QProcess>
#include <QScreen>
#include <QSet>
#include <QSlider>
#include <QStatusBar>
#include <QTableWidget>
#include <QTime>
#include <QTimer>
#include <QUrl>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>

namespace alluvium::test {
namespace {

using namespace std::chrono;
using player::MainWindow;
using player::PlayerOptions;

const Binaries binaries{ALLUVIUM_BROADCASTER, ALLUVIUM_GATEWAY, ALLUVIUM_TUNE};
const std::filesystem::path artefacts = ALLUVIUM_ARTEFACT_DIR;

// Runs the event loop (as the player's own does, asleep between events) for `length`.
void run_event_loop(milliseconds length) {
    QEventLoop loop;
    QTimer::singleShot(length, &loop, &QEventLoop::quit);
    loop.exec();
}

// Runs the event loop until `done` holds or `timeout` passes; `done` is looked at after
// every 20 ms (processEvents with a time limit returns at once when nothing is pending, so
// a loop of it would keep the GUI thread busy).
bool wait_for(const std::function<bool()>& done, milliseconds timeout) {
    if (done())
        return true;
    QEventLoop loop;
    QTimer look;
    QObject::connect(&look, &QTimer::timeout, &loop, [&] {
        if (done())
            loop.quit();
    });
    look.start(20);
    QTimer::singleShot(timeout, &loop, &QEventLoop::quit);
    loop.exec();
    return done();
}

// The calling thread's time as the kernel's scheduler counts it, from
// /proc/thread-self/schedstat ("ns on cpu, ns waiting on the run queue, slices"): on a core,
// and runnable but waiting for one (another process, libVLC's decoder). A gap between two
// ticks is then on a core (the window's own work), waiting for a core (not the window's
// doing), or neither (the thread asleep: blocked on a lock, I/O or a late wake-up). Zeros
// where the kernel has no schedstat, so a gap then counts whole. The kernel brings the
// figures up to date at its own ticks and switches, so a split is good to a few ms.
class SchedStat {
  public:
    struct Times {
        double on_cpu_ms = 0;
        double waiting_ms = 0;
    };
    SchedStat() : fd_(::open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC)) {}
    ~SchedStat() {
        if (fd_ >= 0)
            ::close(fd_);
    }
    SchedStat(const SchedStat&) = delete;
    SchedStat& operator=(const SchedStat&) = delete;

    bool available() const { return fd_ >= 0; }
    Times now() const {
        char buf[128] = {};
        unsigned long long on_cpu = 0;
        unsigned long long waiting = 0;
        if (fd_ < 0 || ::pread(fd_, buf, sizeof buf - 1, 0) <= 0 ||
            std::sscanf(buf, "%llu %llu", &on_cpu, &waiting) != 2)
            return {};
        return {static_cast<double>(on_cpu) / 1e6, static_cast<double>(waiting) / 1e6};
    }

  private:
    int fd_;
};

// Time the GUI thread spent asleep in its event loop's wait for events: the poll() of the
// GLib main context that Qt's event loop runs on (Qt's own aboutToBlock/awake signals do not
// bracket that wait on GLib). A thread asleep there is free: any event wakes it at once;
// only a timer can be late, and on this kind of machine the kernel wakes a plain poll()
// with a 10 ms timeout up to 20 ms late (a C loop of 3000 such polls on an idle machine:
// worst 20.7 ms late), so a timer's gap alone measures the machine, not the window. Also
// how much of the run-queue wait fell inside those polls (woken, waiting for a core).
class IdleClock {
  public:
    explicit IdleClock(const SchedStat& sched) {
        instance_ = this;
        sched_ = &sched;
        context_ = g_main_context_default();
        previous_ = g_main_context_get_poll_func(context_);
        g_main_context_set_poll_func(context_, &IdleClock::timed_poll);
    }
    ~IdleClock() {
        g_main_context_set_poll_func(context_, previous_);
        instance_ = nullptr;
    }
    IdleClock(const IdleClock&) = delete;
    IdleClock& operator=(const IdleClock&) = delete;

    // Only the GUI thread reads these, and only it polls the default context.
    double idle_ms() const { return idle_ms_; }
    double idle_waiting_ms() const { return idle_waiting_ms_; }
    long waits() const { return waits_; }

  private:
    static gint timed_poll(GPollFD* fds, guint count, gint timeout) {
        IdleClock* self = instance_;
        const auto start = steady_clock::now();
        const SchedStat::Times before = self->sched_->now();
        const gint result = self->previous_(fds, count, timeout);
        self->idle_ms_ += duration<double, std::milli>(steady_clock::now() - start).count();
        self->idle_waiting_ms_ += self->sched_->now().waiting_ms - before.waiting_ms;
        ++self->waits_;
        return result;
    }

    static inline IdleClock* instance_ = nullptr;
    const SchedStat* sched_ = nullptr;
    GMainContext* context_ = nullptr;
    GPollFunc previous_ = nullptr;
    double idle_ms_ = 0;
    double idle_waiting_ms_ = 0;
    long waits_ = 0;
};

// The application, timing every event it delivers on the GUI thread: when the GUI thread
// is held up, the deliveries in that gap name what held it (receiver's class and name,
// event type), so a failure says where to look. Inside a window's paint (an UpdateRequest),
// each widget's paint event is timed too: what is left of the paint's time is the backing
// store's flush to the display.
class TimedApplication : public QApplication {
  public:
    using QApplication::QApplication;
    struct Delivery {
        steady_clock::time_point start;
        double ms = 0;
        const char* class_name = "";
        QString name;  // the receiver's object name ("refresh" for the window's timer)
        int type = 0;
        bool nested = false;  // a widget's paint event inside another delivery
    };

    bool notify(QObject* receiver, QEvent* event) override {
        if (!recording_ || (depth_ > 0 && event->type() != QEvent::Paint))
            return QApplication::notify(receiver, event);
        const bool nested = depth_ > 0;
        const auto start = steady_clock::now();
        const int type = event->type();  // the event may be gone after delivery
        const char* class_name = receiver->metaObject()->className();
        QString name = receiver->objectName();  // shared, not copied
        ++depth_;  // events sent while this one is delivered count in its time
        const bool result = QApplication::notify(receiver, event);
        --depth_;
        const double ms = duration<double, std::milli>(steady_clock::now() - start).count();
        deliveries_.push_back({start, ms, class_name, std::move(name), type, nested});
        return result;
    }
    void record(bool on) {
        recording_ = on;
        if (on)
            deliveries_.clear();
    }
    // The deliveries that overlapped [from, to], in the order they started (a paint inside
    // a delivery after it).
    std::vector<Delivery> during(steady_clock::time_point from, steady_clock::time_point to) const {
        std::vector<Delivery> out;
        for (const Delivery& d : deliveries_) {
            if (d.start <= to && d.start + duration<double, std::milli>(d.ms) >= from)
                out.push_back(d);
        }
        std::stable_sort(out.begin(), out.end(),
                         [](const Delivery& a, const Delivery& b) { return a.start < b.start; });
        return out;
    }

  private:
    bool recording_ = false;
    int depth_ = 0;
    std::vector<Delivery> deliveries_;
};

TimedApplication* timed_app() {
    return static_cast<TimedApplication*>(QCoreApplication::instance());
}

QString text_of(const MainWindow& w, const char* name) {
    const auto* label = w.findChild<QLabel*>(name);
    return label != nullptr ? label->text() : QString("<no label %1>").arg(name);
}

// Saves the whole window as the screen shows it (libVLC draws into a native child window,
// which QWidget::grab cannot see) and checks the picture is not blank.
void screenshot(MainWindow& w, const std::string& file) {
    QCoreApplication::processEvents();
    const QPixmap shot = w.screen()->grabWindow(w.winId());
    const std::filesystem::path path = artefacts / file;
    std::filesystem::create_directories(artefacts);
    ASSERT_TRUE(shot.save(QString::fromStdString(path.string()))) << path;
    const QImage image = shot.toImage();
    EXPECT_EQ(image.size(), w.size()) << file;
    QSet<QRgb> colours;
    for (int y = 0; y < image.height(); y += 4) {
        for (int x = 0; x < image.width(); x += 4)
            colours.insert(image.pixel(x, y));
    }
    EXPECT_GT(colours.size(), 50) << file << ": the window looks blank";
    std::printf("screenshot: %s\n", path.c_str());
}

// What a reader must be able to see without clipping at the current size.
void expect_readable(MainWindow& w) {
    for (const char* name : {"station", "title", "position", "peers", "download", "share"}) {
        const auto* label = w.findChild<QLabel*>(name);
        ASSERT_NE(label, nullptr) << name;
        EXPECT_TRUE(label->isVisible()) << name;
        EXPECT_FALSE(label->visibleRegion().isEmpty()) << name << " is hidden";
        if (!label->wordWrap()) {
            EXPECT_GE(label->width(), label->sizeHint().width())
                << name << " is clipped at " << w.width() << "x" << w.height();
        }
    }
    const auto* table = w.findChild<QTableWidget*>("schedule");
    ASSERT_NE(table, nullptr);
    ASSERT_GT(table->rowCount(), 0);
    EXPECT_GE(table->viewport()->height(), 3 * table->rowHeight(0))
        << "fewer than three schedule rows show at " << w.width() << "x" << w.height();
}

// A station of MP3 tones, primed on its gateway; now is 2 s into the first item (anchored
// again once the set-up is done, however long it took). By default three 40 s tones.
std::unique_ptr<TestStation> station_on_air(std::vector<ToneItem> items = {{"a.mp3", 500, 40},
                                                                           {"b.mp3", 700, 40},
                                                                           {"c.mp3", 900, 40}}) {
    return primed_station(binaries, std::move(items), {"-c:a", "libmp3lame", "-b:a", "128k"},
                          seconds(2));
}

// Seconds of sound libVLC has decoded into `wav` (mono, 16-bit, 44.1 kHz: options_for()).
double wav_seconds(const std::filesystem::path& wav) {
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(wav, ec);
    return ec ? 0.0 : static_cast<double>(bytes) / (44100.0 * 2);
}

// The player's options for a test: any free ports, a cache in the station's folder, decoded
// audio into `wav`; the gateway left at its default.
PlayerOptions test_options(const TestStation& s, const std::filesystem::path& wav) {
    PlayerOptions o;
    o.tuner.stream_port = 0;
    o.tuner.bt_listen = "127.0.0.1:0";
    o.tuner.cache_dir = s.dir().path() / "player-cache";
    // Decoded audio goes to a file: proof that sound came through, without a sound card.
    o.vlcArgs = {"--aout=afile", QString::fromStdString("--audiofile-file=" + wav.string()),
                 "--audiofile-format=s16", "--audiofile-channels=1"};
    return o;
}

// The same, with the station's gateway.
PlayerOptions options_for(TestStation& s, const std::filesystem::path& wav) {
    PlayerOptions o = test_options(s, wav);
    o.tuner.gateways = {s.gateway().base()};
    return o;
}

TEST(PlayerWindow, ShowsTheStationItsScheduleAndSwarmAndPlaysIt) {
    auto s = station_on_air();
    auto peer = s->tune();  // another listener, so that the swarm has someone to trade with
    // libVLC only writes the WAV into a folder that exists (a fresh build has none yet).
    std::filesystem::create_directories(artefacts);
    const std::filesystem::path wav = artefacts / "player-audio.wav";
    std::filesystem::remove(wav);
    {
        MainWindow w(options_for(*s, wav));
        w.resize(1280, 800);
        w.show();
        w.openStation(QString::fromStdString(s->playlist_url()));

        ASSERT_TRUE(wait_for([&] { return text_of(w, "title") == "Tone 500"; }, seconds(30)))
            << "title: " << text_of(w, "title").toStdString()
            << "; banner: " << text_of(w, "banner").toStdString();
        EXPECT_EQ(text_of(w, "station"), "Test Station");
        EXPECT_TRUE(w.windowTitle().contains("Test Station"));
        EXPECT_TRUE(text_of(w, "banner").contains("On air")) << text_of(w, "banner").toStdString();
        EXPECT_TRUE(w.streamUrl().startsWith("http://127.0.0.1:"));

        // The schedule: what plays now and what comes next, with start times.
        const auto* table = w.findChild<QTableWidget*>("schedule");
        ASSERT_NE(table, nullptr);
        ASSERT_GE(table->rowCount(), 3);
        int now_row = -1;
        for (int r = 0; r < table->rowCount(); ++r) {
            if (table->item(r, 0)->text().contains("now"))
                now_row = r;
        }
        ASSERT_GE(now_row, 0) << "no row is marked now";
        EXPECT_EQ(table->item(now_row, 2)->text(), "Tone 500");
        EXPECT_EQ(table->item(now_row + 1, 2)->text(), "Tone 700");
        EXPECT_TRUE(QTime::fromString(table->item(now_row + 1, 1)->text(), "HH:mm:ss").isValid());

        // The swarm panel with live figures: a peer, and bytes counted by source.
        ASSERT_TRUE(wait_for(
            [&] {
                return text_of(w, "peers").section(' ', 0, 0).toInt() >= 1 &&
                       text_of(w, "share").contains("% from peers");
            },
            seconds(20)))
            << "peers: " << text_of(w, "peers").toStdString()
            << "; bytes: " << text_of(w, "share").toStdString();
        EXPECT_TRUE(text_of(w, "download").endsWith("/s"));
        EXPECT_TRUE(text_of(w, "buffer").endsWith(" s"));
        // The router's port forwarding: not asked for here (the test's listener is on
        // loopback, and TunerOptions leaves it off).
        EXPECT_EQ(text_of(w, "forwarding"), "off");
        // Its chart gathers a point a second.
        const auto* chart = w.findChild<alluvium::player::SwarmChart*>("swarm-chart");
        ASSERT_NE(chart, nullptr);
        EXPECT_TRUE(wait_for([&] { return chart->points() >= 4; }, seconds(10))) << chart->points();

        // libVLC plays: wait for a few seconds of decoded audio.
        ASSERT_TRUE(
            wait_for([&] { return w.vlc().isPlaying() && wav_seconds(wav) > 4; }, seconds(20)))
            << "libVLC did not decode the stream: playing " << w.vlc().isPlaying() << ", url "
            << w.vlc().url().toStdString() << ", retries " << w.playbackRetries() << ", status '"
            << w.statusBar()->currentMessage().toStdString() << "'";
        EXPECT_EQ(w.vlc().url(), w.streamUrl()) << "audio plays from the local stream";

        screenshot(w, "player-1280x800.png");
        expect_readable(w);
        w.resize(800, 600);
        ASSERT_TRUE(wait_for([&] { return w.width() == 800 && w.height() == 600; }, seconds(5)))
            << "the window cannot be 800x600: " << w.width() << "x" << w.height();
        screenshot(w, "player-800x600.png");
        expect_readable(w);
    }  // closing the window stops libVLC and the Tuner, which finishes the WAV file

    // The decoded audio is the item on air: the first item's tone, not silence.
    const auto tones = tones_in(wav.string(), 4, {500, 700, 900});
    ASSERT_GE(tones.size(), 12u) << "less than 3 s of audio";
    std::size_t tone500 = 0;
    for (const int t : tones)
        tone500 += t == 500 ? 1 : 0;
    EXPECT_GE(tone500, tones.size() * 3 / 4) << "the decoded audio is not the 500 Hz item";
}

// A station on nothing but Python's static web server, its swarm metadata in the playlist,
// no gateway anywhere: the player, with its options left as they are (a gateway at
// 127.0.0.1:8767 that does not answer), joins from the playlist's .torrent and plays.
TEST(PlayerWindow, PlaysAStationOnAStaticWebServerWithNoGateway) {
    ASSERT_TRUE(have_program("python3"));
    TestStation s(binaries, {{"a.mp3", 500, 40}, {"b.mp3", 700, 40}},
                  {"-c:a", "libmp3lame", "-b:a", "128k"});
    const int port = free_port();
    const std::string base = "http://127.0.0.1:" + std::to_string(port) + "/";
    const std::filesystem::path www = s.dir().path() / "www";
    (void)s.write_swarm_playlist(time_point_cast<Milliseconds>(system_clock::now()) - seconds(2),
                                 {}, base);
    Background web({"python3", "-m", "http.server", std::to_string(port), "--bind", "127.0.0.1",
                    "--directory", www.string()},
                   (s.dir().path() / "http-server.log").string());
    ASSERT_TRUE(web.wait_until([&] { return port_open(port); }, seconds(10))) << web.log();
    std::filesystem::create_directories(artefacts);
    const std::filesystem::path wav = artefacts / "player-no-gateway.wav";
    std::filesystem::remove(wav);
    {
        MainWindow w(test_options(s, wav));  // the default gateway, which does not answer
        w.show();
        w.openStation(QString::fromStdString(base + "station.rss"));
        ASSERT_TRUE(wait_for([&] { return text_of(w, "title") == "Tone 500"; }, seconds(30)))
            << "banner: " << text_of(w, "banner").toStdString();
        EXPECT_EQ(text_of(w, "station"), "Test Station");
        ASSERT_TRUE(
            wait_for([&] { return w.vlc().isPlaying() && wav_seconds(wav) > 4; }, seconds(30)))
            << "libVLC did not decode the stream; status '"
            << w.statusBar()->currentMessage().toStdString() << "'";
        EXPECT_TRUE(text_of(w, "banner").contains("On air")) << text_of(w, "banner").toStdString();
    }
    const auto tones = tones_in(wav.string(), 4, {500, 700});
    ASSERT_GE(tones.size(), 12u) << "less than 3 s of audio";
    EXPECT_GE(static_cast<std::size_t>(std::count(tones.begin(), tones.end(), 500)),
              tones.size() * 3 / 4)
        << "the decoded audio is not the 500 Hz item";
}

// Nothing the window does while a station plays (the Tuner's events, the status snapshot,
// the schedule across an item boundary, libVLC) holds the GUI thread: a 10 ms timer never
// waits more than 20 ms between two ticks over a minute of playback. What the GUI thread
// spent waiting for a core (the kernel running another process or libVLC's decoder on a
// busy two-core machine) is not the window's doing; it is read from the kernel's schedstat
// and left out. The worst gap is printed split into time on a core, waiting and asleep.
TEST(PlayerWindow, TheGuiThreadIsNeverHeldUpWhileAStationPlays) {
    auto s = station_on_air();
    std::filesystem::create_directories(artefacts);
    const std::filesystem::path wav = artefacts / "player-gap-audio.wav";
    std::filesystem::remove(wav);
    MainWindow w(options_for(*s, wav));
    w.show();
    w.openStation(QString::fromStdString(s->playlist_url()));
    ASSERT_TRUE(wait_for([&] { return w.vlc().isPlaying() && wav_seconds(wav) > 2; }, seconds(30)))
        << "not playing: banner " << text_of(w, "banner").toStdString();

    const SchedStat sched;
    const IdleClock idle(sched);
    QTimer tick;
    tick.setObjectName("tick");
    tick.setTimerType(Qt::PreciseTimer);
    tick.setInterval(10);
    auto last = steady_clock::now();
    SchedStat::Times last_times;  // all set again as the timer starts
    double last_idle = 0;
    double last_idle_waiting = 0;
    struct Tick {
        steady_clock::time_point at;
        double gap = 0;           // ms since the previous tick
        double on_cpu = 0;        // of which on a core
        double waiting = 0;       // of which waiting for a core
        double idle = 0;          // of which in the event loop's wait for events
        double idle_waiting = 0;  // of the waiting, the part inside the event loop's wait
        // What the window held the thread for: neither free in its event loop nor waiting
        // for a core.
        [[nodiscard]] double held() const { return gap - idle - (waiting - idle_waiting); }
    };
    std::vector<Tick> ticks;
    ticks.reserve(8000);  // no reallocation inside the measured minute
    QObject::connect(&tick, &QTimer::timeout, [&] {
        const auto now = steady_clock::now();
        const SchedStat::Times t = sched.now();
        ticks.push_back({now, duration<double, std::milli>(now - last).count(),
                         t.on_cpu_ms - last_times.on_cpu_ms, t.waiting_ms - last_times.waiting_ms,
                         idle.idle_ms() - last_idle, idle.idle_waiting_ms() - last_idle_waiting});
        last = now;
        last_times = t;
        last_idle = idle.idle_ms();
        last_idle_waiting = idle.idle_waiting_ms();
    });
    const QString first_title = text_of(w, "title");
    last = steady_clock::now();
    last_times = sched.now();
    last_idle = idle.idle_ms();
    last_idle_waiting = idle.idle_waiting_ms();
    timed_app()->record(true);
    tick.start();
    run_event_loop(seconds(60));
    tick.stop();
    timed_app()->record(false);

    ASSERT_GT(ticks.size(), 3000u) << "the timer hardly ran";
    const Tick worst =
        *std::max_element(ticks.begin(), ticks.end(),
                          [](const Tick& a, const Tick& b) { return a.held() < b.held(); });
    const double longest = worst.held();
    std::vector<double> gaps;
    for (const Tick& t : ticks)
        gaps.push_back(t.gap);
    std::sort(gaps.begin(), gaps.end());
    std::printf(
        "GUI thread: %zu ticks, gap p50 %.2f ms, p99 %.2f ms, longest %.2f ms; longest held "
        "%.2f ms (that gap %.2f ms: %.2f in the event loop's poll, %.2f on a core, %.2f "
        "waiting for one, %.2f asleep; %ld polls; schedstat %s)\n",
        gaps.size(), gaps[gaps.size() / 2], gaps[gaps.size() * 99 / 100], gaps.back(), longest,
        worst.gap, worst.idle, worst.on_cpu, worst.waiting,
        worst.gap - worst.on_cpu - worst.waiting, idle.waits(),
        sched.available() ? "read" : "missing");
    ASSERT_GT(idle.waits(), 1000) << "the event loop's polls were not seen (not on GLib?)";
    const auto gap_start =
        worst.at - duration_cast<steady_clock::duration>(duration<double, std::milli>(worst.gap));
    const auto in_gap = timed_app()->during(gap_start, worst.at);
    double delivering = 0;
    std::size_t delivered = 0;
    for (const auto& d : in_gap) {
        if (!d.nested) {
            delivering += d.ms;
            ++delivered;
        }
    }
    std::printf(
        "in that gap: %zu events delivered in %.2f ms; those of 0.5 ms or more "
        "(and, indented, the widgets' paints of 0.3 ms or more inside them):\n",
        delivered, delivering);
    for (const auto& d : in_gap) {
        if (d.ms >= (d.nested ? 0.3 : 0.5)) {
            std::printf("  %s+%.2f ms: %.2f ms  %s \"%s\", event type %d\n", d.nested ? "  " : "",
                        duration<double, std::milli>(d.start - gap_start).count(), d.ms,
                        d.class_name, d.name.toStdString().c_str(), d.type);
        }
    }
    EXPECT_LE(longest, 20.0) << "the GUI thread was held up";
    // The minute crossed an item boundary and playback went on.
    EXPECT_NE(text_of(w, "title"), first_title) << "no item change was watched";
    EXPECT_TRUE(w.vlc().isPlaying());
}

TEST(PlayerWindow, PlaysAVideoStationFromItsStreamAcrossItems) {
    // Two 8 s H.264/AAC items; now is 2 s into the first.
    TestStation s(binaries, {{"a.mp4", 500, 8}, {"b.mp4", 900, 8}},
                  {"-c:v", "libx264", "-preset", "veryfast", "-g", "25", "-pix_fmt", "yuv420p",
                   "-c:a", "aac", "-b:a", "96k"});
    s.publish();
    s.write_playlist(time_point_cast<Milliseconds>(system_clock::now()));
    s.start_gateway();
    ASSERT_TRUE(s.prime());
    s.write_playlist(time_point_cast<Milliseconds>(system_clock::now()) - seconds(2));
    std::filesystem::create_directories(artefacts);
    const std::filesystem::path wav = artefacts / "player-video-audio.wav";
    std::filesystem::remove(wav);
    {
        MainWindow w(options_for(s, wav));
        w.resize(1280, 800);
        w.show();
        w.openStation(QString::fromStdString(s.playlist_url()));
        ASSERT_TRUE(
            wait_for([&] { return w.vlc().isPlaying() && wav_seconds(wav) > 2; }, seconds(30)))
            << "libVLC did not play: url " << w.vlc().url().toStdString() << ", banner "
            << text_of(w, "banner").toStdString();
        EXPECT_EQ(w.vlc().url(), w.streamUrl()) << "a video station plays from the local stream";
        screenshot(w, "player-video.png");
        // The next item comes on the same stream: libVLC is not restarted.
        ASSERT_TRUE(wait_for([&] { return text_of(w, "title") == "Tone 900"; }, seconds(20)))
            << text_of(w, "title").toStdString();
        ASSERT_TRUE(wait_for([&] { return wav_seconds(wav) > 10; }, seconds(15)));
        EXPECT_EQ(w.vlc().url(), w.streamUrl());
        EXPECT_EQ(w.playbackRetries(), 0);
    }
    // Both items' sound came through libVLC.
    const auto tones = tones_in(wav.string(), 10, {500, 900});
    EXPECT_GE(first_window(tones, 500), 0) << "the first item was not heard";
    EXPECT_GE(first_window(tones, 900), 0) << "the second item was not heard";
}

TEST(PlayerWindow, ABadPlaylistIsAClearStateNotAFreeze) {
    TempDir dir;
    const auto bad = dir.path() / "bad.rss";
    std::ofstream(bad) << "<?xml version=\"1.0\"?>\n<rdf:RDF>\n<item>\n";
    PlayerOptions o;
    o.tuner.stream_port = 0;
    o.tuner.bt_listen = "127.0.0.1:0";
    o.tuner.cache_dir = dir.path() / "cache";
    o.vlcArgs = {"--aout=adummy"};
    o.dark = true;
    MainWindow w(o);
    w.resize(1280, 800);
    w.show();
    w.openStation(QString::fromStdString(bad.string()));
    ASSERT_TRUE(
        wait_for([&] { return text_of(w, "banner").startsWith("Cannot tune"); }, seconds(10)))
        << text_of(w, "banner").toStdString();
    EXPECT_TRUE(text_of(w, "banner").contains("bad.rss")) << text_of(w, "banner").toStdString();
    EXPECT_FALSE(w.vlc().isPlaying());
    screenshot(w, "player-bad-playlist-dark.png");
}

TEST(PlayerWindow, RemoteTextIsShownAsTextNeverAsMarkup) {
    auto s = station_on_air();
    // The station and its items are titled with markup (XML-escaped in the playlist).
    const auto path = s->dir().path() / "www/station.rss";
    std::ifstream in(path);
    std::string xml(std::istreambuf_iterator<char>(in), {});
    in.close();
    const std::string hostile = "<b>bold</b><img src=x onerror=alert(1)>";
    std::ofstream(path) << std::regex_replace(
        xml, std::regex("<title>[^<]*</title>"),
        "<title>&lt;b&gt;bold&lt;/b&gt;&lt;img src=x onerror=alert(1)&gt;</title>");
    const std::filesystem::path wav = artefacts / "player-hostile.wav";
    MainWindow w(options_for(*s, wav));
    w.resize(1280, 800);
    w.show();
    w.openStation(QString::fromStdString(s->playlist_url()));
    ASSERT_TRUE(wait_for([&] { return text_of(w, "title") == QString::fromStdString(hostile); },
                         seconds(30)))
        << text_of(w, "title").toStdString();
    // The router's answer is remote text too (a UPnP router's error).
    for (const char* name : {"station", "title", "banner", "position", "forwarding"}) {
        const auto* label = w.findChild<QLabel*>(name);
        ASSERT_NE(label, nullptr) << name;
        EXPECT_EQ(label->textFormat(), Qt::PlainText) << name;
    }
    EXPECT_EQ(text_of(w, "station"), QString::fromStdString(hostile));
    screenshot(w, "player-hostile-titles.png");
}

// What another program on the session bus gets from dbus-send (as the desktop's
// now-playing widget asks): it runs while the GUI thread goes on serving the bus.
QString bus_call(const QStringList& args) {
    QProcess p;
    p.start("dbus-send", QStringList{"--session", "--print-reply", "--reply-timeout=5000"} + args);
    if (!p.waitForStarted(5000))
        return "<dbus-send did not start>";
    wait_for([&] { return p.state() == QProcess::NotRunning; }, seconds(10));
    return QString::fromUtf8(p.readAllStandardOutput() + p.readAllStandardError());
}

QString mpris_get(const QString& service, const QString& interface, const QString& property) {
    return bus_call({"--dest=" + service, "/org/mpris/MediaPlayer2",
                     "org.freedesktop.DBus.Properties.Get", "string:" + interface,
                     "string:" + property});
}

// MPRIS 2 on the session bus (the test runs under dbus-run-session): what plays, its change
// at an item boundary, the cover as artwork, and play / stop / volume from outside, as media
// keys and desktop widgets use it.
TEST(PlayerWindow, TellsTheDesktopWhatPlaysAndTakesItsCommandsOverMpris) {
    ASSERT_FALSE(qgetenv("DBUS_SESSION_BUS_ADDRESS").isEmpty()) << "no session bus";
    // Two 12 s items, the first on air for 2 s: its end comes while the test watches.
    auto s = station_on_air({{"a.mp3", 500, 12}, {"b.mp3", 700, 12}});
    const std::filesystem::path wav = artefacts / "player-mpris.wav";
    MainWindow w(options_for(*s, wav));
    w.resize(1280, 800);
    w.show();
    w.openStation(QString::fromStdString(s->playlist_url()));
    ASSERT_TRUE(wait_for([&] { return text_of(w, "title") == "Tone 500"; }, seconds(30)));
    ASSERT_TRUE(w.mpris().registered());
    const QString service = w.mpris().serviceName();
    EXPECT_EQ(service, "org.mpris.MediaPlayer2.alluvium");
    const QString player = "org.mpris.MediaPlayer2.Player";

    EXPECT_TRUE(mpris_get(service, "org.mpris.MediaPlayer2", "Identity").contains("\"Alluvium\""));
    // The cover is drawn off the GUI thread: its artUrl follows the title shortly.
    QString meta;
    EXPECT_TRUE(wait_for(
        [&] { return (meta = mpris_get(service, player, "Metadata")).contains("mpris:artUrl"); },
        seconds(10)))
        << meta.toStdString();
    EXPECT_TRUE(meta.contains("xesam:title") && meta.contains("\"Tone 500\""))
        << meta.toStdString();
    EXPECT_TRUE(meta.contains("\"Test Station\"")) << meta.toStdString();
    EXPECT_TRUE(meta.contains("/org/alluvium/item/0")) << meta.toStdString();
    // The artwork is the cover the window draws, as a PNG file.
    const auto art = meta.indexOf("file://");
    ASSERT_GE(art, 0) << meta.toStdString();
    const QString art_file = QUrl(meta.mid(art, meta.indexOf('"', art) - art)).toLocalFile();
    EXPECT_EQ(QImage(art_file).width(), 512) << art_file.toStdString();
    EXPECT_TRUE(mpris_get(service, player, "PlaybackStatus").contains("\"Playing\""));

    // The volume, set from outside, moves the window's slider.
    bus_call({"--dest=" + service, "/org/mpris/MediaPlayer2", "org.freedesktop.DBus.Properties.Set",
              "string:" + player, "string:Volume", "variant:double:0.3"});
    const auto* volume = w.findChild<QSlider*>();
    ASSERT_NE(volume, nullptr);
    EXPECT_TRUE(wait_for([&] { return volume->value() == 30; }, seconds(5))) << volume->value();
    EXPECT_TRUE(mpris_get(service, player, "Volume").contains("0.3"));

    // PlayPause (the media key) stops, and again plays.
    bus_call({"--dest=" + service, "/org/mpris/MediaPlayer2", player + ".PlayPause"});
    ASSERT_TRUE(wait_for([&] { return !w.vlc().isPlaying(); }, seconds(10)));
    EXPECT_TRUE(mpris_get(service, player, "PlaybackStatus").contains("\"Stopped\""));
    bus_call({"--dest=" + service, "/org/mpris/MediaPlayer2", player + ".PlayPause"});
    EXPECT_TRUE(wait_for([&] { return w.vlc().isPlaying(); }, seconds(15)));
    EXPECT_TRUE(mpris_get(service, player, "PlaybackStatus").contains("\"Playing\""));

    // At the item boundary the title in Metadata changes.
    EXPECT_TRUE(wait_for(
        [&] {
            meta = mpris_get(service, player, "Metadata");
            return meta.contains("\"Tone 700\"") && meta.contains("/org/alluvium/item/1");
        },
        seconds(20)))
        << meta.toStdString();
}

TEST(PlayerWindow, ClosingWhileAPlaylistIsUnreachableReturnsAtOnce) {
    // A server that takes the connection and never answers.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(fd, 8), 0);
    socklen_t len = sizeof a;
    ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
    TempDir dir;
    PlayerOptions o;
    o.tuner.stream_port = 0;
    o.tuner.bt_listen = "127.0.0.1:0";
    o.tuner.cache_dir = dir.path() / "cache";
    o.vlcArgs = {"--aout=adummy"};
    auto w = std::make_unique<MainWindow>(o);
    w->show();
    w->openStation(
        QString("http://127.0.0.1:%1/station.rss").arg(static_cast<int>(ntohs(a.sin_port))));
    wait_for([] { return false; }, milliseconds(500));  // the tune is under way
    const auto closing = steady_clock::now();
    w.reset();
    EXPECT_LT(steady_clock::now() - closing, seconds(3));
    ::close(fd);
}

}  // namespace
}  // namespace alluvium::test

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    // The remembered stations go to a throwaway folder, not the user's settings.
    const alluvium::test::TempDir config;
    qputenv("XDG_CONFIG_HOME", QByteArray::fromStdString(config.path().string()));
    alluvium::test::TimedApplication app(argc, argv);
    QApplication::setOrganizationName("Alluvium");
    QApplication::setApplicationName("Alluvium Player");
    return RUN_ALL_TESTS();
}
