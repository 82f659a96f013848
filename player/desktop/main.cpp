// alluvium-player: the desktop player (Qt 6 Widgets + libVLC).
#include <alluvium/dht.hpp>
#include <alluvium/log.hpp>
#include <alluvium/version.hpp>

#include "main_window.hpp"

#include <QApplication>
#include <QCommandLineParser>
#include <QFileInfo>
#include <QIcon>
#include <QUrl>
#include <cstdio>

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setOrganizationName("Alluvium");
    QApplication::setApplicationName("Alluvium Player");
    QApplication::setApplicationVersion(alluvium::version_string());
    QApplication::setDesktopFileName("alluvium-player");
    QApplication::setWindowIcon(QIcon::fromTheme("alluvium-player"));

    QCommandLineParser cli;
    cli.setApplicationDescription("Listen to and watch Alluvium stations.");
    cli.addHelpOption();
    cli.addVersionOption();
    cli.addPositionalArgument("playlist", "Station playlist: an http(s) URL or an .rss file",
                              "[playlist]");
    const QCommandLineOption gateway(
        {"g", "gateway"}, "Gateway URL (repeatable; default http://127.0.0.1:8767)", "url");
    const QCommandLineOption no_gateway(
        "no-gateway", "Ask no gateway: the playlist's swarm metadata, else the origin");
    const QCommandLineOption port({"p", "port"}, "Local stream port (0: any free port)", "port",
                                  "0");
    const QCommandLineOption cache("cache-dir", "Media cache (default ~/.cache/alluvium)", "dir");
    const QCommandLineOption bt("bt-listen", "BitTorrent listen interfaces", "interfaces",
                                "0.0.0.0:6882");
    const QCommandLineOption dht("dht-bootstrap",
                                 "DHT nodes to join through, host:port,... (none: only "
                                 "gateways' seeds)",
                                 "nodes", alluvium::public_dht_routers);
    const QCommandLineOption no_dht("no-dht", "Stay out of the DHT (peers from trackers only)");
    const QCommandLineOption no_port_mapping(
        "no-port-mapping",
        "Do not ask the home router to forward the BitTorrent port (UPnP, NAT-PMP)");
    const QCommandLineOption dark("dark", "Dark theme");
    const QCommandLineOption vlc("vlc-option", "A libVLC option (repeatable), e.g. --aout=pulse",
                                 "option");
    const QCommandLineOption level("log-level", "trace, debug, info, warn, error, off", "level",
                                   "warn");
    cli.addOptions(
        {gateway, no_gateway, port, cache, bt, dht, no_dht, no_port_mapping, dark, vlc, level});
    cli.process(app);

    alluvium::player::PlayerOptions options;
    if (cli.isSet(gateway) && cli.isSet(no_gateway)) {
        std::fprintf(stderr, "alluvium-player: --gateway and --no-gateway exclude each other\n");
        return 2;
    }
    if (cli.isSet(no_gateway))
        options.tuner.gateways.clear();
    if (cli.isSet(gateway)) {
        options.tuner.gateways.clear();
        for (const QString& g : cli.values(gateway))
            options.tuner.gateways.push_back(g.toStdString());
    }
    options.tuner.stream_port = static_cast<std::uint16_t>(cli.value(port).toUInt());
    if (cli.isSet(cache))
        options.tuner.cache_dir = cli.value(cache).toStdString();
    options.tuner.bt_listen = cli.value(bt).toStdString();
    options.tuner.dht = !cli.isSet(no_dht);
    options.tuner.port_mapping = !cli.isSet(no_port_mapping);
    options.tuner.dht_bootstrap = alluvium::dht_bootstrap_nodes(cli.value(dht).toStdString());
    options.dark = cli.isSet(dark);
    options.vlcArgs = cli.values(vlc);
    if (const auto l = alluvium::parse_log_level(cli.value(level).toStdString()))
        alluvium::set_log_level(*l);

    alluvium::player::MainWindow window(options);
    window.show();
    if (!cli.positionalArguments().isEmpty()) {
        QString playlist = cli.positionalArguments().first();
        // The desktop hands over a file (application/x-alluvium) as a path, maybe relative,
        // or as a file:// URL.
        if (const QUrl url(playlist); url.isLocalFile())
            playlist = url.toLocalFile();
        if (!playlist.contains("://") && QFileInfo::exists(playlist))
            playlist = QFileInfo(playlist).absoluteFilePath();
        window.openStation(playlist);
    }
    return QApplication::exec();
}
