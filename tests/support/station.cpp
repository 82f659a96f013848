#include "station.hpp"

#include <alluvium/fetch.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <stdexcept>

namespace alluvium::test {

TimePoint now_ms() {
    return std::chrono::time_point_cast<Milliseconds>(std::chrono::system_clock::now());
}

std::unique_ptr<TestStation> primed_station(const Binaries& bin, std::vector<ToneItem> items,
                                            std::vector<std::string> codec_args, Milliseconds into,
                                            std::vector<std::string> gateway_args) {
    auto s = std::make_unique<TestStation>(bin, std::move(items), std::move(codec_args));
    s->publish();
    s->write_playlist(now_ms());
    s->start_gateway(std::move(gateway_args));
    if (!s->prime())
        throw std::runtime_error("the gateway could not prime the station: " + s->gateway().log());
    s->write_playlist(now_ms() - into);
    return s;
}

TuneProcess::TuneProcess(const Binaries& bin, const std::string& playlist,
                         const std::filesystem::path& dir, const std::vector<std::string>& extra) {
    std::filesystem::create_directories(dir);
    // A port found free may be taken by another test first: then the listener exits (it
    // cannot bind) and starts again on another. It prints its stream URL once bound.
    for (int attempt = 0; attempt < 3; ++attempt) {
        port_ = free_port();
        std::vector<std::string> argv = {
            bin.tune,      playlist,      "--port",      std::to_string(port_),
            "--bt-listen", "127.0.0.1:0", "--cache-dir", (dir / "cache").string()};
        if (std::find(extra.begin(), extra.end(), "--log-level") == extra.end())
            argv.insert(argv.end(), {"--log-level", "info"});
        // Tests reach no address outside the machine: not the public DHT's routers, which
        // are alluvium-tune's default.
        if (std::find(extra.begin(), extra.end(), "--dht-bootstrap") == extra.end())
            argv.insert(argv.end(), {"--dht-bootstrap", "none"});
        argv.insert(argv.end(), extra.begin(), extra.end());
        process_ = std::make_unique<Background>(argv, (dir / "tune.log").string());
        const std::string bound = "127.0.0.1:" + std::to_string(port_) + "/stream";
        if (process_->wait_until([&] { return process_->log().find(bound) != std::string::npos; },
                                 std::chrono::seconds(20)))
            return;
        if (process_->running())
            break;  // up, but never said so
    }
    throw std::runtime_error("alluvium-tune did not start: " + process_->log());
}

nlohmann::json TuneProcess::status() const {
    HttpRequest r;
    r.url = base() + "/status";
    std::error_code ec;
    const HttpResponse res = http_request(r, ec);
    return ec ? nlohmann::json() : nlohmann::json::parse(res.body, nullptr, false);
}

std::uint64_t status_sum(const std::vector<std::unique_ptr<TuneProcess>>& listeners,
                         const char* group, const char* field) {
    std::uint64_t sum = 0;
    for (const auto& l : listeners) {
        const nlohmann::json st = l->status();
        if (st.is_object() && st.contains(group) && (*st.find(group)).contains(field))
            sum += st[group][field].get<std::uint64_t>();
    }
    return sum;
}

TestStation::TestStation(Binaries bin, std::vector<ToneItem> items,
                         std::vector<std::string> codec_args)
    : bin_(std::move(bin)), items_(std::move(items)) {
    std::filesystem::create_directories(dir_.path() / "www");
    std::filesystem::permissions(dir_.path() / "www", std::filesystem::perms::all);
    for (const ToneItem& item : items_) {
        std::vector<std::string> argv = {"ffmpeg",
                                         "-nostdin",
                                         "-v",
                                         "error",
                                         "-y",
                                         "-f",
                                         "lavfi",
                                         "-i",
                                         "sine=frequency=" + std::to_string(item.hz) +
                                             ":duration=" + std::to_string(item.seconds),
                                         "-ac",
                                         "2",
                                         "-metadata",
                                         "title=Tone " + std::to_string(item.hz)};
        // Video containers get a test pattern as well (frame numbers drawn on it).
        const auto ext = std::filesystem::path(item.file).extension();
        if (ext == ".mp4" || ext == ".ts" || ext == ".mkv") {
            argv.insert(argv.begin() + 9,
                        {"-f", "lavfi", "-i",
                         "testsrc2=size=320x240:rate=25:duration=" + std::to_string(item.seconds)});
        }
        const auto& codec = item.codec.empty() ? codec_args : item.codec;
        argv.insert(argv.end(), codec.begin(), codec.end());
        argv.push_back((dir_.path() / "www" / item.file).string());
        const RunResult r = run(argv, std::chrono::minutes(2));
        if (r.exit_code != 0) {
            throw std::runtime_error("ffmpeg: " + r.err);
        }
    }
}

void TestStation::publish(const std::string& rate) {
    origin_ = std::make_unique<NginxOrigin>(dir_.path() / "www", rate);
}

void TestStation::generate(TimePoint start, const std::string& base,
                           const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {bin_.broadcaster,
                                     "generate",
                                     "-q",
                                     "--loop",
                                     "--title",
                                     "Test Station",
                                     "--base-url",
                                     base,
                                     "--start",
                                     format_w3cdtf(start),
                                     "-o",
                                     (dir_.path() / "www/station.rss").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    for (const ToneItem& item : items_)
        argv.push_back((dir_.path() / "www" / item.file).string());
    const RunResult r = run(argv);
    if (r.exit_code != 0)
        throw std::runtime_error("generate: " + r.err);
}

void TestStation::write_playlist(TimePoint start) {
    // Hashing each file again at every anchoring would eat into the tests' margins before an
    // item boundary (under ThreadSanitizer 0.4 s for two short items);
    // tests/integration/no_gateway_test.cpp covers it.
    generate(start, origin_->url(""), {"--refresh", "2", "--no-swarm"});
}

Playlist TestStation::write_swarm_playlist(TimePoint start, const std::vector<std::string>& extra,
                                           const std::string& base) {
    generate(start, base.empty() ? origin_->url("") : base, extra);
    const ReadResult r = read_playlist(dir_.read("www/station.rss"), "station.rss");
    if (!r.ok())
        throw std::runtime_error("the generated playlist does not read back");
    return *r.playlist;
}

GatewayProcess& TestStation::start_gateway(std::vector<std::string> extra) {
    extra.insert(extra.end(), {"--allow-origin", origin_->origin()});
    gateway_ = std::make_unique<GatewayProcess>(bin_.gateway, dir_.path() / "gateway", extra);
    return *gateway_;
}

bool TestStation::prime() {
    return run({bin_.gateway, "prime", playlist_url(), "--gateway", gateway_->base(), "--timeout",
                "60"},
               std::chrono::seconds(90))
               .exit_code == 0;
}

std::unique_ptr<TuneProcess> TestStation::tune(std::vector<std::string> extra) {
    if (gateway_ && std::find(extra.begin(), extra.end(), "--gateway") == extra.end()) {
        extra.insert(extra.end(), {"--gateway", gateway_->base()});
    }
    return std::make_unique<TuneProcess>(bin_, playlist_url(),
                                         dir_.path() / ("tune" + std::to_string(tunes_++)), extra);
}

namespace {

double goertzel(const std::int16_t* samples, std::size_t n, double hz, double rate) {
    const double w = 2.0 * M_PI * hz / rate;
    const double coeff = 2.0 * std::cos(w);
    double s1 = 0;
    double s2 = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double s = samples[i] + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

}  // namespace

namespace {

// Names the tone of each `window` of 8 kHz mono PCM.
std::vector<int> tones_of_pcm(const std::string& pcm_bytes, const std::vector<int>& candidates,
                              double window, int rate) {
    std::vector<int> out;
    const auto* pcm = reinterpret_cast<const std::int16_t*>(pcm_bytes.data());
    const std::size_t total = pcm_bytes.size() / 2;
    const auto per = static_cast<std::size_t>(window * rate);
    for (std::size_t at = 0; at + per <= total; at += per) {
        double energy = 0;
        for (std::size_t i = 0; i < per; ++i)
            energy += static_cast<double>(pcm[at + i]) * pcm[at + i];
        int best = 0;
        double best_power = 0;
        for (const int hz : candidates) {
            const double p = goertzel(pcm + at, per, hz, rate);
            if (p > best_power) {
                best_power = p;
                best = hz;
            }
        }
        // A tone holds most of the window's energy; silence has little of either.
        const double rms = std::sqrt(energy / static_cast<double>(per));
        out.push_back(rms > 500 && best_power > 0.2 * energy * static_cast<double>(per) / 2 ? best
                                                                                            : 0);
    }
    return out;
}

// Decodes `seconds` of `input` (a URL, or "pipe:0" with `media` on standard input).
std::vector<int> decode_tones(const std::string& input, const std::string& media, double seconds,
                              const std::vector<int>& candidates, double window) {
    constexpr int rate = 8000;
    const RunResult r =
        run({"ffmpeg", "-nostdin", "-v", "error", "-t", std::to_string(seconds), "-i", input, "-ac",
             "1", "-ar", std::to_string(rate), "-f", "s16le", "-"},
            std::chrono::milliseconds(static_cast<long>(seconds * 1000) + 30000), media);
    return tones_of_pcm(r.out, candidates, window, rate);
}

}  // namespace

std::vector<int> tones_in(const std::string& url, double seconds,
                          const std::vector<int>& candidates, double window) {
    return decode_tones(url, {}, seconds, candidates, window);
}

Recording record_stream(int port, const std::string& path, double seconds,
                        const std::string& request_headers) {
    Recording rec;
    const int fd = connect_loopback(port);
    if (fd < 0)
        return rec;
    const std::string req =
        "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + request_headers + "\r\n";
    send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    std::string data;
    bool head_done = false;
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::milliseconds(static_cast<long>(seconds * 1000));
    char buf[65536];
    while (std::chrono::steady_clock::now() < until) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        const ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        data.append(buf, static_cast<std::size_t>(n));
        if (!head_done) {
            const auto end = data.find("\r\n\r\n");
            if (end == std::string::npos)
                continue;
            // The stream position is chosen when the request is answered.
            rec.joined = time_point_cast<Milliseconds>(std::chrono::system_clock::now());
            rec.head = data.substr(0, end);
            data.erase(0, end + 4);
            head_done = true;
        }
    }
    close(fd);
    rec.body = std::move(data);
    return rec;
}

std::vector<int> tones_in(const Recording& rec, double seconds, const std::vector<int>& candidates,
                          double window) {
    return decode_tones("pipe:0", rec.body, seconds, candidates, window);
}

VideoTimeline video_timeline(const Recording& rec, const std::string& file) {
    VideoTimeline v;
    {
        std::ofstream out(file, std::ios::binary);
        out.write(rec.body.data(), static_cast<std::streamsize>(rec.body.size() / 188 * 188));
    }
    const RunResult probe = run({"ffprobe", "-v", "error", "-select_streams", "v", "-show_entries",
                                 "packet=dts_time,flags", "-of", "json", file},
                                std::chrono::seconds(60));
    const auto json = nlohmann::json::parse(probe.out, nullptr, false);
    if (probe.exit_code != 0 || json.is_discarded() || !json.contains("packets")) {
        v.error = probe.err.empty() ? "ffprobe failed" : probe.err;
        return v;
    }
    double last = -1;
    for (const auto& p : json["packets"]) {
        if (!p.contains("dts_time"))
            continue;
        const double t = std::stod(p["dts_time"].get<std::string>());
        if (v.frames++ == 0)
            v.starts_on_keyframe = p["flags"].get<std::string>().find('K') != std::string::npos;
        if (last >= 0) {
            v.largest_step = std::max(v.largest_step, t - last);
            v.steps_back += t <= last ? 1 : 0;
        }
        last = t;
    }
    return v;
}

int first_window(const std::vector<int>& tones, int hz, std::size_t from) {
    for (std::size_t i = from; i < tones.size(); ++i) {
        if (tones[i] == hz)
            return static_cast<int>(i);
    }
    return -1;
}

}  // namespace alluvium::test
