#!/usr/bin/env bash
# The README's test command: installs what is needed, builds from scratch and runs
#  1. every test suite through ctest, built with warnings as errors (preset ci);
#  2. the unit and integration tests again under AddressSanitizer + UBSan (preset asan);
#  3. every fuzzer for a bounded time (from the asan build).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
rm -rf build/ci build/asan
bash scripts/build.sh ci
ctest --preset ci -j"$(nproc)"
bash scripts/build.sh asan
ctest --preset asan -j"$(nproc)"
bash scripts/fuzz.sh "${FUZZ_SECONDS:-30}" build/asan
