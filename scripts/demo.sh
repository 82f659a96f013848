#!/usr/bin/env bash
# The README's station command: installs what is needed, builds, makes a sample station
# (media + playlist), publishes it on a local web server, starts its gateway and three
# listeners, and shows what plays and where the bytes come from until Ctrl-C. With a
# display (DISPLAY or WAYLAND_DISPLAY set), the desktop player opens on the station too.
# Everything stays under ./station and on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh dev alluvium-broadcaster alluvium-gateway alluvium-tune alluvium-player
exec bash scripts/station.sh
