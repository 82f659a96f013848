// The listener's web page (alluvium-tune's "/") in headless Chromium: it plays the station,
// follows the schedule, charts the swarm, loads nothing from elsewhere, and shows hostile
// titles as text. Screenshots go to the build's artefacts/ folder, beside the player's.
#include <alluvium/text.hpp>
#include <alluvium/time.hpp>

#include "chromium.hpp"
#include "station.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <thread>

namespace alluvium::test {
namespace {

using namespace std::chrono;

const Binaries binaries{ALLUVIUM_BROADCASTER, ALLUVIUM_GATEWAY, ALLUVIUM_TUNE};

const std::string hostile_station = "<script>window.pwned = 1</script>Test Station";
const std::string hostile_item = "<img src=x onerror=\"window.pwned = 2\">Tone 900";

// Replaces the first `from` in the file with `to`.
void replace_in(const std::filesystem::path& file, const std::string& from, const std::string& to) {
    std::ifstream in(file);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    const auto at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from << " in " << file;
    text.replace(at, from.size(), to);
    std::ofstream(file) << text;
}

class Page : public ::testing::Test {
  protected:
    // The station, a listener and the browser; `hostile`: the station and the second item
    // titled with markup.
    void start(bool hostile) {
        ASSERT_TRUE(have_program("chromium")) << "the chromium package is not installed";
        // Two 30 s items, the first on air for 8 s when the page opens: its end comes while
        // the test watches.
        station_ = std::make_unique<TestStation>(
            binaries, std::vector<ToneItem>{{"a.mp3", 500, 30}, {"b.mp3", 900, 30}},
            std::vector<std::string>{"-c:a", "libmp3lame", "-b:a", "128k"});
        station_->publish();
        station_->write_playlist(now_ms() - seconds(8));
        if (hostile) {
            const auto rss = station_->dir().path() / "www/station.rss";
            replace_in(rss, "<title>Test Station</title>",
                       "<title>" + html_escape(hostile_station) + "</title>");
            replace_in(rss, "<title>Tone 900</title>",
                       "<title>" + html_escape(hostile_item) + "</title>");
        }
        tune_ = station_->tune({"--no-gateway"});
        browser_ = std::make_unique<Chromium>(station_->dir().path() / "chromium");
    }

    void TearDown() override {
        if (browser_ && HasFailure()) {
            std::cerr << "the page's console:\n";
            for (const auto& line : browser_->console())
                std::cerr << "  " << line << "\n";
        }
        browser_.reset();
        tune_.reset();
        station_.reset();
    }

    void screenshot(const std::string& name) {
        const std::filesystem::path dir = ALLUVIUM_ARTEFACT_DIR;
        std::filesystem::create_directories(dir);
        browser_->screenshot(dir / ("page-" + name + ".png"));
    }

    std::string text_of(const std::string& id) {
        return browser_->evaluate("document.getElementById('" + id + "').textContent")
            .get<std::string>();
    }

    // Checks `expression` every 50 ms until it is true or `timeout` passes.
    bool page_eventually(const std::string& expression, milliseconds timeout) {
        return eventually([&] { return browser_->evaluate(expression) == true; }, timeout);
    }

    std::unique_ptr<TestStation> station_;
    std::unique_ptr<TuneProcess> tune_;
    std::unique_ptr<Chromium> browser_;
};

TEST_F(Page, PlaysFollowsTheScheduleChartsAndLoadsNothingFromElsewhere) {
    ASSERT_NO_FATAL_FAILURE(start(false));
    const auto opened = steady_clock::now();
    browser_->open(tune_->base() + "/");
    ASSERT_TRUE(page_eventually("document.getElementById('connection').textContent === 'live'",
                                seconds(10)));
    ASSERT_TRUE(page_eventually("document.getElementById('now-title').textContent === 'Tone 500'",
                                seconds(10)))
        << text_of("now-title");

    // It plays: the audio element's time advances at least 5 s in 6 s.
    ASSERT_EQ(browser_->evaluate("document.getElementById('player').play().then(() => true)",
                                 seconds(15)),
              true);
    ASSERT_TRUE(page_eventually("document.getElementById('player').currentTime > 0", seconds(15)));
    const double played_from =
        browser_->evaluate("document.getElementById('player').currentTime").get<double>();
    const auto from = steady_clock::now();
    // A window of wall time to measure in: the audio plays on its own meanwhile.
    std::this_thread::sleep_until(from + seconds(6));
    const double played_to =
        browser_->evaluate("document.getElementById('player').currentTime").get<double>();
    EXPECT_GE(played_to - played_from, 5.0) << played_from << " to " << played_to;
    screenshot("playing");

    // The title changes within 1 s of the item's end (the end by this machine's clock: the
    // station's, less the listener's correction of it).
    const auto status = answered_status(*tune_, "the listener");
    const auto end = parse_w3cdtf(status.at("playing").at("end").get<std::string>());
    ASSERT_TRUE(end.has_value());
    const auto boundary = *end - milliseconds(status.at("clock_offset_ms").get<std::int64_t>());
    ASSERT_GT(boundary, now_utc()) << "the item ended before the test could watch";
    ASSERT_TRUE(
        page_eventually("document.getElementById('now-title').textContent.endsWith('Tone 900')",
                        duration_cast<milliseconds>(boundary - now_utc()) + seconds(5)));
    const auto changed = now_utc();
    EXPECT_LE(std::chrono::abs(changed - boundary), milliseconds(1000))
        << "changed " << duration_cast<milliseconds>(changed - boundary).count()
        << " ms after the boundary";

    // The chart of the swarm has at least 30 points after 60 s.
    std::this_thread::sleep_until(opened + seconds(61));
    const int points = std::stoi(
        browser_->evaluate("document.getElementById('chart').dataset.points").get<std::string>());
    EXPECT_GE(points, 30);
    screenshot("after-60s");

    // Everything came from the listener's own server. (data: URLs carry their bytes in
    // themselves and go nowhere: Chromium's own icons for the audio element's controls.)
    const std::string origin = tune_->base() + "/";
    const auto urls = browser_->requested_urls();
    int own = 0;
    for (const std::string& url : urls) {
        if (url.starts_with("data:"))
            continue;
        EXPECT_TRUE(url.starts_with(origin)) << url << " is not on " << origin;
        ++own;
    }
    EXPECT_GE(own, 5) << "the page, its two scripts, its style and its events at least";
}

TEST_F(Page, ShowsHostileTitlesAsTextAndRunsNothing) {
    ASSERT_NO_FATAL_FAILURE(start(true));
    browser_->open(tune_->base() + "/");
    ASSERT_TRUE(page_eventually("document.getElementById('connection').textContent === 'live'",
                                seconds(10)));
    // The station's title, server-side and then from the event stream, is text.
    EXPECT_EQ(text_of("station"), hostile_station);
    // The next item's title is in the schedule, as text too.
    ASSERT_TRUE(page_eventually(
        "document.getElementById('schedule').textContent.includes('onerror')", seconds(10)));
    EXPECT_NE(text_of("schedule").find(hostile_item), std::string::npos) << text_of("schedule");
    screenshot("hostile-titles");
    EXPECT_EQ(browser_->evaluate("typeof window.pwned"), "undefined");
    EXPECT_EQ(browser_->evaluate("document.querySelectorAll('script').length"), 2);
    EXPECT_EQ(browser_->evaluate("document.querySelectorAll('img').length"), 0);
}

// The gateway's dashboard: its items and totals in human units, charts that fill as the
// seconds pass, live, and nothing loaded from elsewhere.
TEST(GatewayDashboard, ShowsItemsAndChartsLiveInHumanUnits) {
    ASSERT_TRUE(have_program("chromium")) << "the chromium package is not installed";
    auto station =
        primed_station(binaries, std::vector<ToneItem>{{"a.mp3", 500, 30}, {"b.mp3", 900, 30}},
                       std::vector<std::string>{"-c:a", "libmp3lame", "-b:a", "128k"}, seconds(2));
    auto listener = station->tune();
    Chromium browser(station->dir().path() / "chromium-dashboard");
    const std::string base = station->gateway().base();
    browser.open(base + "/");
    const auto page_true = [&](const std::string& expression, milliseconds timeout) {
        return eventually([&] { return browser.evaluate(expression) == true; }, timeout);
    };
    ASSERT_TRUE(
        page_true("document.getElementById('connection').textContent === 'live'", seconds(10)));
    // Both items, by their media URLs (as text), with their sizes in kB.
    ASSERT_TRUE(
        page_true("document.getElementById('item-rows').children.length === 2", seconds(10)));
    const std::string rows =
        browser.evaluate("document.getElementById('item-rows').textContent").get<std::string>();
    EXPECT_NE(rows.find(station->origin().url("a.mp3")), std::string::npos) << rows;
    EXPECT_NE(rows.find(" kB"), std::string::npos) << rows;
    EXPECT_EQ(rows.find("bytes"), std::string::npos) << rows;
    const std::string origin_total =
        browser.evaluate("document.getElementById('origin').textContent").get<std::string>();
    EXPECT_NE(origin_total.find(" kB"), std::string::npos) << origin_total;
    // The charts fill: a point a second.
    ASSERT_TRUE(page_true("Number(document.getElementById('chart-bytes').dataset.points) >= 5",
                          seconds(15)));
    EXPECT_GE(
        std::stoi(browser.evaluate("document.getElementById('chart-listeners').dataset.points")
                      .get<std::string>()),
        5);
    const std::filesystem::path dir = ALLUVIUM_ARTEFACT_DIR;
    std::filesystem::create_directories(dir);
    browser.screenshot(dir / "gateway-dashboard.png");
    for (const std::string& url : browser.requested_urls()) {
        if (!url.starts_with("data:")) {
            EXPECT_TRUE(url.starts_with(base + "/")) << url << " is not on " << base;
        }
    }
}

}  // namespace
}  // namespace alluvium::test
