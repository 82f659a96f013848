#!/usr/bin/env bash
# Builds the Debian packages (alluvium-core, liballuvium-core-dev, alluvium-player,
# alluvium-server): installs what is needed, builds the release preset, runs CPack.
# The .deb files land in build/release/packages/; install them with
#   sudo apt-get install ./build/release/packages/*.deb
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh release
(cd build/release && cpack)
ls -1 "$PWD"/build/release/packages/*.deb
