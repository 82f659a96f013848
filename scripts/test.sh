#!/usr/bin/env bash
# The README's test command: installs what is needed, builds from scratch and runs
#  1. every test suite through ctest, built with warnings as errors (preset ci);
#  2. the unit and integration tests again under AddressSanitizer + UBSan (preset asan);
#  3. the unit and integration tests again under ThreadSanitizer (preset tsan), with every
#     report of every process (the programs the tests start included) counted: zero pass;
#  4. every fuzzer for a bounded time (from the asan build).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
rm -rf build/ci build/asan build/tsan
bash scripts/build.sh ci
# This suite mostly waits on real time (streams play at their rate, a recording lasts five
# minutes), so it runs twice as many tests as cores. On 2 cores: 430 and 433 s instead of
# 601 s, the slow tests as long as at one a core, the load average at most 1.24 (one run,
# sampled every 45 s). The sanitizer runs below are busier and run one test a core.
ctest --preset ci -j"$(($(nproc) * 2))"
bash scripts/build.sh asan
ctest --preset asan -j"$(nproc)"
bash scripts/build.sh tsan
reports="$PWD/build/tsan/tsan-reports"
mkdir -p "$reports"
# A process stops at its first report (halt_on_error), so a test may fail because of one:
# the reports are printed whether the tests passed or not.
tsan_status=0
ALLUVIUM_TSAN_OPTIONS="log_path=$reports/report" ctest --preset tsan -j"$(nproc)" || tsan_status=$?
if compgen -G "$reports/report.*" >/dev/null; then
    cat "$reports"/report.*
    echo "ThreadSanitizer: $(ls "$reports" | wc -l) process(es) reported races (above)" >&2
    exit 1
fi
[ "$tsan_status" = 0 ] || exit "$tsan_status"
bash scripts/fuzz.sh "${FUZZ_SECONDS:-30}" build/asan
