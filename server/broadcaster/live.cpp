// `live`: cut a live source into segments and keep the station's playlist growing.
#include <alluvium/gateway_client.hpp>
#include <alluvium/log.hpp>

#include "commands.hpp"
#include "live_station.hpp"
#include "segmenter.hpp"
#include "stop_signal.hpp"
#include "swarm_metadata.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <future>
#include <list>
#include <mutex>
#include <thread>

namespace alluvium::broadcaster {
namespace {

namespace fs = std::filesystem;

StopSignal& stop_signal() {
    static StopSignal s;
    return s;
}

extern "C" void on_stop_signal(int) {
    stop_signal().request();
}

TimePoint wall_now() {
    return std::chrono::time_point_cast<Milliseconds>(std::chrono::system_clock::now());
}

// Tells the gateways about each new segment, so that its metadata is ready (fetched and
// hashed) before listeners ask. In the background: a slow gateway never holds the source.
class GatewayNotifier {
  public:
    explicit GatewayNotifier(std::vector<std::string> gateways) : gateways_(std::move(gateways)) {}
    ~GatewayNotifier() {
        for (auto& f : pending_)
            f.wait();
    }
    GatewayNotifier(const GatewayNotifier&) = delete;
    GatewayNotifier& operator=(const GatewayNotifier&) = delete;

    void tell(const std::string& media_url, const std::string& playlist_url) {
        pending_.remove_if([](const std::future<void>& f) {
            return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
        });
        for (const std::string& g : gateways_) {
            pending_.push_back(std::async(std::launch::async, [g, media_url, playlist_url] {
                const GatewayAnswer a =
                    GatewayClient(g, Milliseconds{10000}).lookup(media_url, playlist_url);
                if (a.state != GatewayState::ready && a.state != GatewayState::pending)
                    spdlog::warn("gateway {}: {}: {}", g, media_url, a.message);
            }));
        }
    }

  private:
    std::vector<std::string> gateways_;
    std::list<std::future<void>> pending_;
};

bool waits(Milliseconds d) {
    return stop_signal().sleep_until(std::chrono::steady_clock::now() + d);
}

struct Tally {
    unsigned segments = 0;
    std::uint64_t bytes = 0;
};

// Adds each segment the source gives to the playlist and tells the gateways, until the
// source ends or stalls.
void publish(Segmenter& segmenter, LiveStation& station, GatewayNotifier& gateways, Tally& tally,
             const LiveCommandOptions& options, bool tty) {
    const bool quiet = options.quiet;
    while (auto s = segmenter.next()) {
        PublishedSegment published{
            s->number,   s->file.filename().string(), s->mime_type, s->bytes, s->duration, s->start,
            std::nullopt};
        if (options.swarm) {
            // On this thread, between segments: one more read of a file just written.
            SwarmPublishOptions swarm;
            swarm.trackers = options.trackers;
            std::string error;
            published.torrent = publish_swarm_metadata(
                s->file, options.station.base_url + published.file_name, swarm, error);
            if (!published.torrent)
                spdlog::warn("live: segment #{} goes without swarm metadata: {}", s->number, error);
        }
        station.add(published, wall_now());
        gateways.tell(station.playlist().items.back().media_url, station.playlist_url());
        ++tally.segments;
        tally.bytes += s->bytes;
        if (quiet)
            continue;
        // On a terminal one line, rewritten; in a log file a line per segment.
        std::fprintf(stderr,
                     "%slive: %u segments, %.1f MB | last #%u %.2f s %llu B | window %zu "
                     "segments | source ok%s",
                     tty ? "\r\x1b[K" : "", tally.segments, static_cast<double>(tally.bytes) / 1e6,
                     s->number, static_cast<double>(s->duration.count()) / 1000.0,
                     static_cast<unsigned long long>(s->bytes), station.playlist().items.size(),
                     tty ? "" : "\n");
        std::fflush(stderr);
    }
}

}  // namespace

int live(const LiveCommandOptions& options) {
    (void)stop_signal();  // made before a handler can need it
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    std::error_code ec;
    fs::create_directories(options.station.dir, ec);
    if (ec) {
        std::fprintf(stderr, "%s: %s\n", options.station.dir.c_str(), ec.message().c_str());
        return 2;
    }
    LiveStation station(options.station);
    GatewayNotifier gateways(options.gateways);
    SegmenterOptions seg = options.segmenter;
    seg.dir = options.station.dir;
    seg.length = options.station.segment_length;
    seg.first_number = station.next_number();
    seg.cancel = &stop_signal();
    const bool file_source = seg.input != "-" && fs::is_regular_file(seg.input, ec);
    if (options.pace == "on" || (options.pace == "auto" && file_source))
        seg.pace = true;
    if (seg.first_number > 1)
        spdlog::info("live: {} holds {} segments; numbering goes on at {}",
                     station.playlist_path().string(), station.playlist().items.size(),
                     seg.first_number);

    const bool tty = isatty(STDERR_FILENO) == 1;
    Tally tally;
    bool had_source = false;
    while (!stop_signal().requested()) {
        std::unique_ptr<Segmenter> segmenter;
        try {
            segmenter = std::make_unique<Segmenter>(seg);
        } catch (const std::exception& e) {
            if (!had_source && file_source) {
                std::fprintf(stderr, "alluvium-broadcaster: %s\n", e.what());
                return 1;
            }
            spdlog::warn("live: {}; trying again in {} s", e.what(), options.retry.count() / 1000);
            station.expire(wall_now());
            if (!waits(options.retry))
                break;
            continue;
        }
        spdlog::log(had_source ? spdlog::level::warn : spdlog::level::info, "live: {} {}: {}",
                    had_source ? "source back," : "reading", seg.input, segmenter->describe());
        had_source = true;
        publish(*segmenter, station, gateways, tally, options, tty);
        seg.first_number = segmenter->next_number();
        if (stop_signal().requested())
            break;
        if (!options.quiet && tty)
            std::fprintf(stderr, "\n");
        const std::string reason = segmenter->stop_reason();
        if (file_source && !options.loop) {
            spdlog::info("live: {}: {}; the broadcast ends", seg.input, reason);
            break;
        }
        if (file_source) {
            spdlog::info("live: {}: {}; from the start again (--loop)", seg.input, reason);
            continue;
        }
        spdlog::warn("live: {}: {}; trying again in {} s", seg.input, reason,
                     options.retry.count() / 1000);
        station.expire(wall_now());
        if (!waits(options.retry))
            break;
    }
    if (!options.quiet && tty)
        std::fprintf(stderr, "\n");
    spdlog::info("live: {} segments written to {}", tally.segments, options.station.dir.string());
    return 0;
}

}  // namespace alluvium::broadcaster
