// What transcoding costs a listener: the CPU the codec module's transcoder (the one the
// local stream uses for items its format cannot take byte for byte) spends per second of
// audio, for each kind of item into a 128 kbit/s stream. The item is in memory, so only
// decoding, resampling, encoding and muxing are counted. Prints the share of one core that
// playing in real time costs (mean and range of the runs), writes
// bench-results/transcode.txt and plots bench-results/transcode.svg.
//
//   alluvium-bench-transcode [--seconds 60] [--runs 3] [--out bench-results/transcode]
#include "codec/codec.hpp"
#include "figures.hpp"
#include "process.hpp"
#include "temp_dir.hpp"
#include "transcode_run.hpp"

#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace alluvium;
using namespace alluvium::detail;

struct Case {
    std::string name;  // what the report calls it
    std::string file;  // the item, made by ffmpeg
    std::vector<std::string> codec;
    AudioParams into;
};

double cpu_now() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    const auto seconds = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return seconds(u.ru_utime) + seconds(u.ru_stime);
}

struct Result {
    double cpu = 0;    // seconds
    double wall = 0;   // seconds
    double audio = 0;  // seconds of stream made
    std::string error;
};

// Transcodes the whole of `item` as the stream would, as fast as it goes.
Result transcode(const std::string& item, const AudioParams& into) {
    Result result;
    const double cpu0 = cpu_now();
    const auto wall0 = std::chrono::steady_clock::now();
    const alluvium::test::Transcoded t =
        alluvium::test::transcode_in_memory(item, into, Milliseconds{0});
    result.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    result.cpu = cpu_now() - cpu0;
    result.error = t.error;
    if (!t.chunks.empty())
        result.audio = static_cast<double>(t.chunks.back().to.count()) / 1000;
    return result;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"What transcoding an item into the stream's format costs a listener"};
    int seconds = 60;
    int runs = 3;
    std::string out = "bench-results/transcode";
    app.add_option("--seconds", seconds, "length of each item")->check(CLI::Range(5, 3600));
    app.add_option("--runs", runs, "runs of each case")->check(CLI::Range(1, 20));
    app.add_option("--out", out, "figures to <out>.txt, the plot to <out>.svg");
    CLI11_PARSE(app, argc, argv);
    if (codecs() == nullptr) {
        std::fprintf(stderr, "bench: %s\n", codecs_error().c_str());
        return 1;
    }

    const AudioParams mp3{StreamFormat::mp3, "mp3", 44100, 2, 128000};
    const AudioParams ogg{StreamFormat::ogg, "vorbis", 44100, 2, 128000};
    const AudioParams adts{StreamFormat::adts, "aac", 44100, 2, 128000};
    const std::vector<Case> cases{
        {"FLAC -> MP3", "item.flac", {"-c:a", "flac"}, mp3},
        {"WAV -> MP3", "item.wav", {"-c:a", "pcm_s16le"}, mp3},
        {"Ogg Vorbis -> MP3", "item.ogg", {"-c:a", "libvorbis", "-b:a", "128k"}, mp3},
        {"AAC (ADTS) -> MP3", "item.aac", {"-c:a", "aac", "-b:a", "128k"}, mp3},
        {"Opus (48 kHz) -> MP3", "item.opus", {"-c:a", "libopus", "-b:a", "128k"}, mp3},
        {"MP3 -> Ogg Vorbis", "item.mp3", {"-c:a", "libmp3lame", "-b:a", "128k"}, ogg},
        {"MP3 -> AAC (ADTS)", "item.mp3", {"-c:a", "libmp3lame", "-b:a", "128k"}, adts},
    };
    alluvium::test::TempDir dir;
    std::string report =
        "transcoding " + std::to_string(seconds) +
        " s items into a 128 kbit/s stream (44.1 kHz stereo; " + std::to_string(runs) +
        " runs each): share of one core while playing in real time\n"
        "  case                      mean %   range %     speed (x real time, wall clock)\n";
    alluvium::bench::Series bars{"% of one core (mean)", {}};
    double worst = 0;
    for (std::size_t i = 0; i < cases.size(); ++i) {
        const Case& c = cases[i];
        const std::string path = (dir.path() / c.file).string();
        std::vector<std::string> make = {
            "ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
            // A tone over noise: music-like work for the encoders, not a pure sine.
            "sine=frequency=440:duration=" + std::to_string(seconds), "-f", "lavfi", "-i",
            "anoisesrc=amplitude=0.1:duration=" + std::to_string(seconds), "-filter_complex",
            "amix=inputs=2", "-ac", "2", "-ar", c.file == "item.opus" ? "48000" : "44100"};
        make.insert(make.end(), c.codec.begin(), c.codec.end());
        make.push_back(path);
        if (alluvium::test::run(make, std::chrono::minutes(5)).exit_code != 0) {
            std::fprintf(stderr, "bench: ffmpeg could not make %s\n", c.file.c_str());
            return 1;
        }
        const std::string item = read_file(path);
        std::vector<double> shares;
        double speed = 0;
        for (int r = 0; r < runs; ++r) {
            const Result res = transcode(item, c.into);
            if (!res.error.empty() || res.audio <= 0) {
                std::fprintf(stderr, "bench: %s: %s\n", c.name.c_str(),
                             res.error.empty() ? "nothing came out" : res.error.c_str());
                return 1;
            }
            shares.push_back(100 * res.cpu / res.audio);
            speed += res.audio / res.wall / runs;
        }
        const double mean =
            std::accumulate(shares.begin(), shares.end(), 0.0) / static_cast<double>(runs);
        const auto [lo, hi] = std::minmax_element(shares.begin(), shares.end());
        worst = std::max(worst, mean);
        char line[200];
        std::snprintf(line, sizeof line, "  %-24s %7.2f   %5.2f-%-5.2f %8.0f\n", c.name.c_str(),
                      mean, *lo, *hi, speed);
        report += line;
        bars.points.emplace_back(static_cast<double>(i + 1), mean);
    }
    char tail[120];
    std::snprintf(tail, sizeof tail, "  the most costly: %.2f %% of one core (target: <= 5 %%)\n",
                  worst);
    report += tail;
    alluvium::bench::publish_report(report, out + ".txt");
    alluvium::bench::plot_svg(out,
                              {"Transcoding into a 128 kbit/s stream: % of one core, by case "
                               "(1-7 in the order of the report)",
                               "", "% of one core", false, "boxes"},
                              {bars});
    return 0;
}
