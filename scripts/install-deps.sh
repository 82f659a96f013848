#!/usr/bin/env bash
# Installs every Debian 12 package Alluvium needs to build, test and run its demo.
# Runs apt-get update then apt-get install (as root, or through sudo).
set -euo pipefail

packages=(
    # toolchain
    build-essential cmake ninja-build pkg-config
    # liballuvium-core and the CLIs
    libxml2-dev libcurl4-openssl-dev libssl-dev libspdlog-dev libfmt-dev libcli11-dev
    libavformat-dev libavcodec-dev libswresample-dev libavutil-dev libboost-dev libboost-system-dev
    libtorrent-rasterbar-dev libsqlite3-dev nlohmann-json3-dev
    # the desktop player
    qt6-base-dev libvlc-dev vlc-plugin-base vlc-plugin-video-output
    # tests
    libgtest-dev libgmock-dev
    # programs the demo and the tests drive: media tools, an XML checker and an RDF parser,
    # web servers (Python's is the station without a gateway), a BitTorrent tracker
    ffmpeg libxml2-utils raptor2-utils nginx-light apache2 lighttpd caddy aria2 curl opentracker
    python3
    # players the compatibility tests drive, and the browser that opens the web pages
    mpv vlc-bin sqlite3 chromium streamripper
    # the desktop player's test under a virtual display (GLib's headers: the test times
    # the GUI thread's waits in Qt's GLib event loop)
    xvfb xauth fonts-dejavu-core libglib2.0-dev
    # ... on a session bus of its own (MPRIS), asked as the desktop would ask
    dbus-daemon dbus-bin
    # man pages, Debian packages, and the packaging test's desktop integration checks
    help2man dpkg-dev xdg-utils desktop-file-utils shared-mime-info
    # xdg-mime asks File::MimeInfo (shared-mime-info's database) outside a desktop session;
    # without it, file(1), which knows no station playlist (xdg-utils only recommends it)
    libfile-mimeinfo-perl
    # the sanitizer build and the fuzzers (clang, libFuzzer)
    clang libclang-rt-14-dev
    # the simulated audience (bench/audience.sh): NAT routers, the delay line's netfilter
    # queues, ping to measure the links, and the benchmarks' plots
    iptables nftables libnetfilter-queue-dev iputils-ping gnuplot-nox
    # network namespaces (ip netns): the bench's, and the port-forwarding test's home router
    iproute2
)

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "install-deps: run as root (or install sudo)" >&2; exit 1; fi
}

# Installing web servers (and opentracker) must not start them (they would all want port 80). Debian's
# policy-rc.d hook says so for the length of this install, unless the machine has its own.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
    trap 'as_root rm -f "$policy"' EXIT
fi

echo "install-deps: apt-get update" >&2
as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
echo "install-deps: apt-get install ${#packages[@]} packages" >&2
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${packages[@]}" >/dev/null
