// What every benchmark needs to report its figures: percentiles, a process's memory and CPU
// time, printing the report and writing it to its file, and plotting it (gnuplot, SVG).
#pragma once

#include "process.hpp"

#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace alluvium::bench {

// The q-quantile (0..1) of `v` by nearest rank; -1 when `v` is empty.
inline double percentile(std::vector<double> v, double q) {
    if (v.empty())
        return -1;
    std::sort(v.begin(), v.end());
    const auto rank = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(rank, v.size() - 1)];
}

// Peak resident memory of a running process (VmHWM), in KiB; -1 if unknown.
inline long peak_rss_kib(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmHWM:", 0) == 0)
            return std::stol(line.substr(6));
    }
    return -1;
}

// User + system CPU time a running process has used so far, in seconds; -1 if unknown.
inline double cpu_seconds(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), {});
    const auto close = text.rfind(')');  // the command name may hold spaces
    if (close == std::string::npos)
        return -1;
    std::vector<std::string> fields;
    std::string field;
    for (char c : text.substr(close + 2)) {
        if (c == ' ') {
            fields.push_back(field);
            field.clear();
        } else {
            field += c;
        }
    }
    if (fields.size() < 13)
        return -1;
    // Fields 14 and 15 of stat (utime, stime); the list starts at field 3.
    const double ticks = std::stod(fields[11]) + std::stod(fields[12]);
    return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Prints the report and writes it to `out` (its folder is made if need be).
inline void publish_report(const std::string& report, const std::string& out) {
    std::printf("%s", report.c_str());
    const auto parent = std::filesystem::path(out).parent_path();
    if (!parent.empty())
        std::filesystem::create_directories(parent);
    std::ofstream(out) << report;
    std::fprintf(stderr, "bench: written to %s\n", out.c_str());
}

// `path` with its extension (".txt") replaced by `extension` (".svg").
inline std::string beside(const std::string& path, const std::string& extension) {
    return std::filesystem::path(path).replace_extension(extension).string();
}

// One line of a plot: (x, y) points and the key's label for them.
struct Series {
    std::string title;
    std::vector<std::pair<double, double>> points;
};

struct PlotLabels {
    std::string title;
    std::string x;
    std::string y;
    bool log_x = false;           // latencies that span decades
    std::string style = "lines";  // gnuplot's: "lines", "steps", "linespoints", "boxes"
};

// The empirical distribution of `v`: (value, share of values at or below it), for a CDF.
inline std::vector<std::pair<double, double>> cdf(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    std::vector<std::pair<double, double>> out;
    for (std::size_t i = 0; i < v.size(); ++i)
        out.emplace_back(v[i], static_cast<double>(i + 1) / static_cast<double>(v.size()));
    return out;
}

// Writes the series to <out>.dat (one block each) and a gnuplot script to <out>.gp, and
// draws <out>.svg with gnuplot (Debian's gnuplot-nox). A plot that cannot be drawn is
// reported, not fatal: the figures are in the text already.
inline void plot_svg(const std::string& out, const PlotLabels& labels,
                     const std::vector<Series>& series) {
    const auto quoted = [](std::string text) {
        std::string q = "\"";
        for (const char c : text)
            q += c == '"' ? std::string("\\\"") : std::string(1, c);
        return q + "\"";
    };
    std::ofstream data(out + ".dat");
    std::string plot;
    int index = 0;
    for (const Series& line : series) {
        if (line.points.empty())
            continue;  // gnuplot cannot draw an empty block
        data << "# " << line.title << "\n";
        for (const auto& [x, y] : line.points)
            data << x << " " << y << "\n";
        data << "\n\n";
        plot += std::string(index == 0 ? "plot " : ", ") + quoted(out + ".dat") + " index " +
                std::to_string(index) + " using 1:2 with " + labels.style + " lw 2 title " +
                quoted(line.title);
        ++index;
    }
    if (index == 0) {
        std::fprintf(stderr, "bench: nothing to plot in %s.svg\n", out.c_str());
        return;
    }
    data.close();
    std::ofstream(out + ".gp") << "set terminal svg size 760,420 font \"DejaVu Sans,11\" "
                                  "background \"#ffffff\"\nset output "
                               << quoted(out + ".svg") << "\nset title " << quoted(labels.title)
                               << "\nset xlabel " << quoted(labels.x) << "\nset ylabel "
                               << quoted(labels.y) << "\nset grid\nset key bottom right\n"
                               << (labels.log_x ? "set logscale x\n" : "")
                               << (labels.style == "boxes"
                                       ? "set style fill solid 0.8\nset boxwidth 0.6\n"
                                         "set yrange [0:*]\n"
                                       : "")
                               << plot << "\n";
    const auto r = test::run({"gnuplot", out + ".gp"}, std::chrono::seconds(60));
    if (r.exit_code != 0)
        std::fprintf(stderr, "bench: the plot %s.svg was not drawn: %s\n", out.c_str(),
                     r.err.c_str());
    else
        std::fprintf(stderr, "bench: plotted %s.svg\n", out.c_str());
}

}  // namespace alluvium::bench
