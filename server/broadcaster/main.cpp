// alluvium-broadcaster: the broadcaster's tools (generate, validate, now, webconfig, check,
// live).
#include <alluvium/cli_support.hpp>
#include <alluvium/log.hpp>
#include <alluvium/version.hpp>

#include "commands.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

int main(int argc, char** argv) {
    using namespace alluvium::broadcaster;
    CLI::App app{"alluvium-broadcaster: make and check Alluvium station playlists"};
    app.set_version_flag("--version",
                         std::string("alluvium-broadcaster ") + alluvium::version_string());
    app.require_subcommand(1);
    std::string log_level = "warn";
    app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
        ->capture_default_str();

    GenerateOptions gen;
    auto* generate_cmd = app.add_subcommand(
        "generate", "Write a playlist from media files and URLs (probed, never typed by hand)");
    generate_cmd->add_option("inputs", gen.inputs, "Media files, folders of media, or http(s) URLs")
        ->required();
    generate_cmd->add_option("-b,--base-url", gen.base_url,
                             "URL of the folder where the local files will be published");
    generate_cmd->add_option("-o,--output", gen.output, "Playlist file to write (default: stdout)");
    generate_cmd->add_option("--about", gen.about,
                             "The playlist's own URL (default: base URL + output file name)");
    generate_cmd->add_option("-t,--title", gen.title, "Station title")->capture_default_str();
    generate_cmd->add_option("--link", gen.link, "Web page of the station (default: base URL)");
    generate_cmd->add_option("--description", gen.description, "Station description");
    generate_cmd->add_option("--creator", gen.creator, "Who runs the station (dc:creator)");
    generate_cmd
        ->add_option("-s,--start", gen.start,
                     "When the first item starts: 'now' or a W3C date-time such as "
                     "2026-12-24T18:00:00+01:00")
        ->capture_default_str();
    generate_cmd->add_flag("-l,--loop", gen.loop,
                           "Repeat the items forever from the start (no per-item start times)");
    generate_cmd
        ->add_option("--refresh", gen.refresh_seconds,
                     "Seconds between listeners' re-reads of the playlist")
        ->capture_default_str()
        ->check(CLI::Range(1u, 31536000u));
    generate_cmd->add_flag("-q,--quiet", gen.quiet, "No progress on standard error");
    generate_cmd->add_flag("!--no-swarm", gen.swarm,
                           "Leave out the swarm metadata (by default each local file is hashed, "
                           "a .torrent is written beside it and its info-hash goes into the "
                           "playlist)");
    generate_cmd
        ->add_option("--tracker", gen.trackers,
                     "BitTorrent tracker announce URL for the .torrent files (repeatable)")
        ->allow_extra_args(false)  // one URL per --tracker: never the inputs after it
        ->check(alluvium::cli::tracker_url);
    generate_cmd->add_flag("--web-seed", gen.web_seed,
                           "Name each file's URL as a web seed (url-list) in its .torrent: "
                           "every listener may then read the origin directly, as WebTorrent "
                           "does (for comparison; it costs the origin more)");

    std::string source;
    auto* validate_cmd = app.add_subcommand(
        "validate", "Check a playlist; errors and warnings name their line (exit 1 on error)");
    validate_cmd->add_option("playlist", source, "Playlist file or URL")->required();

    std::string at = "now";
    unsigned next_count = 3;
    auto* now_cmd = app.add_subcommand("now", "What plays at an instant, and how far into it");
    now_cmd->add_option("playlist", source, "Playlist file or URL")->required();
    now_cmd->add_option("--at", at, "'now' or a W3C date-time")->capture_default_str();
    now_cmd->add_option("-n,--next", next_count, "How many following items to list")
        ->capture_default_str();

    std::string server;
    auto* webconfig_cmd = app.add_subcommand(
        "webconfig",
        "Print the web-server configuration that serves .rss as application/x-alluvium");
    webconfig_cmd->add_option("-s,--server", server, "apache, nginx, lighttpd or caddy")
        ->required()
        ->check(CLI::IsMember({"apache", "nginx", "lighttpd", "caddy"}));

    std::string url;
    auto* check_cmd = app.add_subcommand(
        "check", "Fetch a published playlist and check its Content-Type and contents");
    check_cmd->add_option("url", url, "Playlist URL")->required();

    LiveCommandOptions live_opts;
    double segment_seconds = 6;
    double window_minutes = 10;
    double grace_seconds = 60;
    double stall_seconds = 10;
    std::string live_dir;
    auto* live_cmd = app.add_subcommand(
        "live", "Cut a live source into segments (no re-encoding) and grow the playlist");
    live_cmd
        ->add_option("input", live_opts.segmenter.input,
                     "A media file (paced in real time), an HTTP or Icecast URL, a capture "
                     "device, or - for standard input")
        ->required();
    live_cmd->add_option("-o,--dir", live_dir, "Publish folder (segments and the playlist)")
        ->required();
    live_cmd->add_option("-b,--base-url", live_opts.station.base_url, "URL of the publish folder")
        ->required();
    live_cmd->add_option("--playlist", live_opts.station.playlist_name, "Playlist file name")
        ->capture_default_str();
    live_cmd->add_option("-t,--title", live_opts.station.title, "Station title")
        ->capture_default_str();
    live_cmd->add_option("--description", live_opts.station.description, "Station description");
    live_cmd->add_option("--segment-seconds", segment_seconds, "Target segment length")
        ->capture_default_str()
        ->check(CLI::Range(1.0, 60.0));
    live_cmd->add_option("--window-minutes", window_minutes, "How far back the playlist reaches")
        ->capture_default_str()
        ->check(CLI::Range(0.5, 1440.0));
    live_cmd
        ->add_option("--grace-seconds", grace_seconds,
                     "How long an expired segment's file stays for late fetches")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 3600.0));
    live_cmd->add_option("-f,--format", live_opts.segmenter.input_format,
                         "libavformat input format (v4l2, alsa, pulse, ...); default: guessed");
    live_cmd
        ->add_option("--pace", live_opts.pace,
                     "Read no faster than real time: on, off, or auto (files only)")
        ->capture_default_str()
        ->check(CLI::IsMember({"auto", "on", "off"}));
    live_cmd->add_flag("--loop", live_opts.loop, "A file source starts again when it ends");
    live_cmd
        ->add_option("--gateway", live_opts.gateways,
                     "Gateway to tell about each new segment (repeatable)")
        ->allow_extra_args(false);
    live_cmd->add_flag("!--no-swarm", live_opts.swarm,
                       "Leave out the swarm metadata (by default each segment is hashed as it "
                       "is cut, a .torrent is written beside it and its info-hash goes into "
                       "the playlist)");
    live_cmd
        ->add_option("--tracker", live_opts.trackers,
                     "BitTorrent tracker announce URL for the .torrent files (repeatable)")
        ->allow_extra_args(false)
        ->check(alluvium::cli::tracker_url);
    live_cmd
        ->add_option("--stall-seconds", stall_seconds,
                     "A source silent this long has stalled: it is opened again")
        ->capture_default_str()
        ->check(CLI::Range(1.0, 600.0));
    live_cmd->add_flag("-q,--quiet", live_opts.quiet, "No status line on standard error");

    alluvium::cli::add_standard_flags(app, "alluvium-broadcaster");
    CLI11_PARSE(app, argc, argv);

    const auto level = alluvium::parse_log_level(log_level);
    if (!level) {
        std::fprintf(stderr, "alluvium-broadcaster: unknown log level '%s'\n", log_level.c_str());
        return 2;
    }
    spdlog::set_default_logger(spdlog::stderr_color_mt("broadcaster"));
    alluvium::set_log_level(*level);
    spdlog::set_pattern("%^%l%$: %v");

    try {
        if (*generate_cmd)
            return generate(gen);
        if (*validate_cmd)
            return validate(source);
        if (*now_cmd)
            return now(source, at, next_count);
        if (*webconfig_cmd)
            return webconfig(server);
        if (*check_cmd)
            return check(url);
        if (*live_cmd) {
            const auto ms = [](double seconds) {
                return alluvium::Milliseconds{static_cast<std::int64_t>(seconds * 1000)};
            };
            live_opts.station.dir = live_dir;
            live_opts.station.segment_length = ms(segment_seconds);
            live_opts.station.window = ms(window_minutes * 60);
            live_opts.station.grace = ms(grace_seconds);
            live_opts.segmenter.stall_timeout = ms(stall_seconds);
            return live(live_opts);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "alluvium-broadcaster: %s\n", e.what());
        return 2;
    }
    return 2;
}
