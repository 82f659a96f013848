// What every benchmark needs to report its figures: percentiles, a process's memory and CPU
// time, and printing the report and writing it to its file.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
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

}  // namespace alluvium::bench
