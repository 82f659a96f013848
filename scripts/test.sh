#!/usr/bin/env bash
# The README's test command: installs what is needed, builds from scratch with warnings as
# errors (preset ci), and runs every test suite through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
rm -rf build/ci
bash scripts/build.sh ci
ctest --preset ci -j"$(nproc)"
