// A whole station for tests: tone items made with ffmpeg, nginx as the origin, the gateway,
// and alluvium-tune listeners, all on 127.0.0.1 in a temporary folder.
#pragma once

#include <alluvium/playlist.hpp>
#include <alluvium/time.hpp>

#include "gateway_process.hpp"
#include "nginx_origin.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

#include <csignal>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace alluvium::test {

struct ToneItem {
    std::string file;  // "a.mp3"; "a.mp4", "a.ts" or "a.mkv" carry a test pattern too
    int hz;            // the sine tone it carries
    double seconds;
    std::vector<std::string> codec = {};  // ffmpeg's codec options; empty: the station's
};

struct Binaries {
    std::string broadcaster;
    std::string gateway;
    std::string tune;
};

class TuneProcess {
  public:
    TuneProcess(const Binaries& bin, const std::string& playlist, const std::filesystem::path& dir,
                const std::vector<std::string>& extra);
    [[nodiscard]] int port() const { return port_; }
    [[nodiscard]] std::string stream_url() const {
        return "http://127.0.0.1:" + std::to_string(port_) + "/stream";
    }
    [[nodiscard]] std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
    [[nodiscard]] nlohmann::json status() const;
    [[nodiscard]] std::string log() const { return process_->log(); }
    [[nodiscard]] pid_t pid() const { return process_->pid(); }
    int stop() { return process_->stop(); }
    // SIGKILL: no chance to save anything.
    void kill() { ::kill(process_->pid(), SIGKILL); }

  private:
    int port_ = 0;
    std::unique_ptr<Background> process_;
};

// A process's /status where the test needs an answer. status() gives null when the process
// does not answer (it died, or a sanitizer stopped it at a report); this throws instead,
// naming `who` with the process's log, so the test fails with the cause rather than a JSON
// type error. For a TuneProcess or a GatewayProcess.
template <class Process>
nlohmann::json answered_status(const Process& process, const char* who) {
    nlohmann::json status = process.status();
    if (!status.is_object())
        throw std::runtime_error(std::string(who) + " did not answer /status; its log:\n" +
                                 process.log());
    return status;
}

// A /status figure summed over listeners: `group`.`field`, e.g. bytes.peers or dht.peers.
// A listener that does not answer counts 0.
std::uint64_t status_sum(const std::vector<std::unique_ptr<TuneProcess>>& listeners,
                         const char* group, const char* field);

class TestStation {
  public:
    // `codec_args` are ffmpeg's, e.g. {"-c:a", "libmp3lame", "-b:a", "128k"}, for every item
    // that has none of its own.
    TestStation(Binaries bin, std::vector<ToneItem> items, std::vector<std::string> codec_args);

    void publish(const std::string& rate = "");  // starts nginx on the media folder
    void stop_origin() { origin_.reset(); }
    // Writes station.rss, looping from `start` (so that "now" falls where the test wants),
    // without swarm metadata (generate --no-swarm).
    void write_playlist(TimePoint start);
    // Writes station.rss with the swarm metadata (generate's default: each file hashed, its
    // .torrent beside it), published at `base` (empty: the origin), looping from `start`;
    // `extra` are more of generate's options (--tracker URL). Gives the playlist written.
    Playlist write_swarm_playlist(TimePoint start, const std::vector<std::string>& extra = {},
                                  const std::string& base = {});
    [[nodiscard]] std::string playlist_url() const { return origin_->url("station.rss"); }
    [[nodiscard]] NginxOrigin& origin() { return *origin_; }

    GatewayProcess& start_gateway(std::vector<std::string> extra = {});
    void stop_gateway() { gateway_.reset(); }
    [[nodiscard]] GatewayProcess& gateway() { return *gateway_; }
    // Fetches and hashes every item ahead (alluvium-gateway prime).
    bool prime();

    // Starts a listener; waits until its stream port answers.
    std::unique_ptr<TuneProcess> tune(std::vector<std::string> extra = {});

    [[nodiscard]] const std::vector<ToneItem>& items() const { return items_; }
    [[nodiscard]] const TempDir& dir() const { return dir_; }

  private:
    // alluvium-broadcaster generate over the station's files into www/station.rss.
    void generate(TimePoint start, const std::string& base, const std::vector<std::string>& extra);

    Binaries bin_;
    std::vector<ToneItem> items_;
    TempDir dir_;
    std::unique_ptr<NginxOrigin> origin_;
    std::unique_ptr<GatewayProcess> gateway_;
    int tunes_ = 0;
};

// The wall clock to the millisecond (what playlists carry).
TimePoint now_ms();

// A station published on nginx with its gateway primed, whose schedule is anchored `into`
// ago once the set-up is done (however long it took on a busy machine).
std::unique_ptr<TestStation> primed_station(const Binaries& bin, std::vector<ToneItem> items,
                                            std::vector<std::string> codec_args, Milliseconds into,
                                            std::vector<std::string> gateway_args = {});

// Decodes `seconds` of a stream with ffmpeg and names the tone of each `window` of audio:
// the candidate frequency with the most energy, or 0 for silence.
std::vector<int> tones_in(const std::string& url, double seconds,
                          const std::vector<int>& candidates, double window = 0.25);

// What a plain HTTP reader got from a loopback stream in `seconds` of wall time.
struct Recording {
    std::string head;    // status line and headers
    std::string body;    // the bytes after the headers
    TimePoint joined{};  // when the response headers arrived: the stream chose its position then
};
// `request_headers`: extra lines, each ending in CRLF ("Icy-MetaData: 1\r\n").
Recording record_stream(int port, const std::string& path, double seconds,
                        const std::string& request_headers = {});

// The tones of `seconds` of recorded audio.
std::vector<int> tones_in(const Recording& rec, double seconds, const std::vector<int>& candidates,
                          double window = 0.25);

// The video frames of a recorded MPEG-TS stream, in decoding order (ffprobe).
struct VideoTimeline {
    std::size_t frames = 0;
    bool starts_on_keyframe = false;
    double largest_step = 0;  // seconds between consecutive decoding times
    int steps_back = 0;       // decoding time not rising
    std::string error;        // ffprobe's, if it failed
};
// Writes the whole transport packets of `rec` to `file` and reads its video frames.
VideoTimeline video_timeline(const Recording& rec, const std::string& file);

// The index of the first window from `from` on with tone `hz`, or -1.
int first_window(const std::vector<int>& tones, int hz, std::size_t from = 0);

}  // namespace alluvium::test
