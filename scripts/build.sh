#!/usr/bin/env bash
# Configures and builds one CMake preset (default: dev), all targets or the ones named.
# Usage: scripts/build.sh [preset [target...]]
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-dev}
shift || true
cmake --preset "$preset" >/dev/null
if [ $# -gt 0 ]; then
    cmake --build --preset "$preset" --target "$@" -- -j"$(nproc)"
else
    cmake --build --preset "$preset" -- -j"$(nproc)"
fi
