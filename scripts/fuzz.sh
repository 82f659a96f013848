#!/usr/bin/env bash
# Runs every libFuzzer target for a bounded time, each on a fresh copy of its seed corpus
# (tests/fuzz/corpus/); fails on any crash, leak, undefined behaviour, timeout (10 s for one
# input) or memory blow-up (2 GB). Crashing inputs are kept in BUILD/fuzz-artefacts/. The
# targets run side by side, one per core.
# Usage: scripts/fuzz.sh [seconds per target (60)] [build folder (build/fuzz)]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
build=${2:-build/fuzz}
targets=(
    "fuzz-playlist-reader playlist"
    "fuzz-gateway-answer gateway-answer"
    "fuzz-announce announce"
    "fuzz-http-request http-request"
    "fuzz-origin-headers origin-headers"
)
mkdir -p "$build/fuzz-artefacts"

# One target: fuzz a copy of its corpus, then print its outcome in one piece.
fuzz_one() {
    local target=$1 corpus=$2 work log runs
    work=$(mktemp -d)
    cp -r "tests/fuzz/corpus/$corpus/." "$work/"
    log="$build/fuzz-artefacts/$target.log"
    local status=0
    "$build/tests/fuzz/$target" "$work" -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$build/fuzz-artefacts/$target-" \
        >"$log" 2>&1 || status=$?
    rm -rf "$work"
    if [ "$status" != 0 ]; then
        echo "fuzz: $target FAILED; the input is in $build/fuzz-artefacts/, the log in $log:
$(tail -n 40 "$log")"
        return 1
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz: $target: ${runs:-?} runs in ${seconds} s, no failure"
}

# As many targets at once as there are cores: each is one single-threaded process.
parallel=$(nproc)
failed=0
running=()
for entry in "${targets[@]}"; do
    read -r target corpus <<<"$entry"
    if [ "${#running[@]}" -ge "$parallel" ]; then
        wait "${running[0]}" || failed=1
        running=("${running[@]:1}")
    fi
    fuzz_one "$target" "$corpus" &
    running+=("$!")
done
for pid in "${running[@]}"; do
    wait "$pid" || failed=1
done
exit $failed
