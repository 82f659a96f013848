// An idle listener: what alluvium-tune costs when nothing happens.
//
// A station of --items MP3 tone items (3; nginx, the gateway primed), one alluvium-tune, no
// player.
// Once the item on air is here (its bytes in /status no longer grow, the download rate is 0,
// and all but the seconds before the join came), /status is left alone for --seconds and the bench
// reads /proc: each thread's name and voluntary context switches (the times it went to sleep and
// was woken), and the process's CPU time and resident memory. libtorrent's threads carry the name
// "libtorrent" (the core makes its session under that name); the others are the core's.
// Prints and writes to --out: wake-ups per second in all and per thread, the number of the
// core's threads and of libtorrent's, CPU % and RSS.
#include "figures.hpp"
#include "station.hpp"

#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

namespace {

using namespace alluvium;
using namespace alluvium::test;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

struct ThreadSample {
    std::string name;
    long voluntary = 0;
};

std::string first_line(const fs::path& p) {
    std::ifstream in(p);
    std::string line;
    std::getline(in, line);
    return line;
}

// Every thread of `pid` by thread id.
std::map<long, ThreadSample> sample_threads(pid_t pid) {
    std::map<long, ThreadSample> out;
    std::error_code ec;
    for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
        ThreadSample t;
        t.name = first_line(task.path() / "comm");
        std::ifstream status(task.path() / "status");
        std::string line;
        while (std::getline(status, line)) {
            if (line.rfind("voluntary_ctxt_switches:", 0) == 0)
                t.voluntary = std::stol(line.substr(24));
        }
        out[std::stol(task.path().filename().string())] = t;
    }
    return out;
}

long rss_kib(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0)
            return std::stol(line.substr(6));
    }
    return -1;
}

// The bytes of the item on air that are here (it was joined 2 s in, so the first seconds
// may never come), and the item's size; both 0 when unknown.
std::pair<std::uint64_t, std::uint64_t> on_air_bytes(const nlohmann::json& st,
                                                     const fs::path& www) {
    if (st.is_null() || !st["playing"].is_object())
        return {0, 0};
    const std::string url = st["playing"].value("url", "");
    const fs::path file = www / url.substr(url.rfind('/') + 1);
    std::error_code ec;
    const auto size = fs::file_size(file, ec);
    if (ec)
        return {0, 0};
    for (const auto& item : st["items"]) {
        if (item.value("url", "") != url)
            continue;
        const auto have = item.value("peers", std::uint64_t{0}) +
                          item.value("gateway", std::uint64_t{0}) +
                          item.value("origin", std::uint64_t{0});
        return {have, size};
    }
    return {0, 0};
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"An idle listener's wake-ups, threads, CPU and memory, from /proc"};
    double seconds = 30;
    double item_seconds = 120;
    unsigned count = 3;
    std::string out = "bench-results/idle.txt";
    app.add_option("--seconds", seconds, "How long to watch the idle listener")
        ->capture_default_str();
    app.add_option("--items", count, "Items in the station (a listener opens the next ones)")
        ->capture_default_str()
        ->check(CLI::Range(1u, 40u));
    app.add_option("--item-seconds", item_seconds, "Length of each item")->capture_default_str();
    app.add_option("--out", out)->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    const Binaries bin{ALLUVIUM_BROADCASTER, ALLUVIUM_GATEWAY, ALLUVIUM_TUNE};
    std::vector<ToneItem> items;
    for (unsigned i = 0; i < count; ++i)
        items.push_back(
            {"item" + std::to_string(i) + ".mp3", 300 + 100 * static_cast<int>(i), item_seconds});
    std::fprintf(stderr, "bench: making %u items of %.0f s\n", count, item_seconds);
    auto station =
        primed_station(bin, items, {"-c:a", "libmp3lame", "-b:a", "128k"}, Milliseconds{2000});
    auto tune = station->tune();
    const fs::path www = station->dir().path() / "www";
    const auto give_up = Clock::now() + std::chrono::seconds(60);
    nlohmann::json st;
    std::uint64_t had = 0;
    // Settled: nothing coming, nothing new since the last look, and all but the seconds
    // before the join here.
    const auto settled = [&] {
        st = tune->status();
        const auto [have, size] = on_air_bytes(st, www);
        const bool done =
            size > 0 && have == had && have >= size * 95 / 100 && st.value("download_rate", 1) == 0;
        had = have;
        return done;
    };
    while (!settled()) {
        if (Clock::now() > give_up) {
            std::fprintf(stderr, "bench: the item on air is not all here after 60 s:\n%s\n",
                         st.dump(2).c_str());
            return 1;
        }
        std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    std::fprintf(stderr, "bench: the item on air is here; watching for %.0f s\n", seconds);
    // Let the last /status and its answer pass before the first sample.
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const auto before = sample_threads(tune->pid());
    const double cpu_before = bench::cpu_seconds(tune->pid());
    const auto t0 = Clock::now();
    // A look each second, for the plot: wake-ups a second by thread name over the run.
    std::map<std::string, bench::Series> by_name;
    auto last = before;
    for (int second = 1; second <= static_cast<int>(seconds); ++second) {
        std::this_thread::sleep_until(t0 + std::chrono::seconds(second));
        const auto now = sample_threads(tune->pid());
        std::map<std::string, long> woke;
        for (const auto& [tid, a] : now) {
            const auto b = last.find(tid);
            woke[a.name] += a.voluntary - (b != last.end() ? b->second.voluntary : 0);
        }
        for (const auto& [name, n] : woke) {
            by_name[name].title = name;
            by_name[name].points.emplace_back(second, static_cast<double>(n));
        }
        last = now;
    }
    std::this_thread::sleep_until(t0 + std::chrono::duration<double>(seconds));
    const auto after = sample_threads(tune->pid());
    const double cpu = bench::cpu_seconds(tune->pid()) - cpu_before;
    const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();

    std::ostringstream report;
    report << "# idle listener: " << count << " items of " << item_seconds
           << " s (128 kbit/s MP3), the item on air all here, no player, " << seconds << " s\n";
    long total = 0;
    unsigned ours = 0;
    unsigned libtorrent = 0;
    std::ostringstream per_thread;
    for (const auto& [tid, a] : after) {
        const auto b = before.find(tid);
        const long woke = a.voluntary - (b != before.end() ? b->second.voluntary : 0);
        total += woke;
        (a.name == "libtorrent" ? libtorrent : ours) += 1;
        per_thread << "  " << tid << " " << a.name << ": " << static_cast<double>(woke) / elapsed
                   << " /s\n";
    }
    report << "wake-ups per second (voluntary context switches, all threads): "
           << static_cast<double>(total) / elapsed << "\n"
           << "threads: " << ours << " of the core and the program, " << libtorrent
           << " of libtorrent\n"
           << per_thread.str() << "CPU: " << 100.0 * cpu / elapsed << " % of one core\n"
           << "RSS KiB: " << rss_kib(tune->pid()) << "\n";
    bench::publish_report(report.str(), out);
    std::vector<bench::Series> lines;
    for (auto& [name, line] : by_name)
        lines.push_back(std::move(line));
    bench::plot_svg(bench::beside(out, ""),
                    {"An idle listener's wake-ups, by thread name", "time (s)",
                     "wake-ups in that second", false, "linespoints"},
                    lines);
    return 0;
}
