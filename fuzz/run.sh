#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 120) from the committed seeds and the
# growing corpus, and prints libFuzzer's final stats (executions, execs/s). Needs the nightly
# toolchain and cargo-fuzz (`cargo install cargo-fuzz`). A crash stops the run with a
# non-zero status; the input is in fuzz/artifacts/<target>/, the log in fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-120}"
mkdir -p fuzz/artifacts
for target in request rome_loader; do
    mkdir -p "fuzz/corpus/$target"
    log="fuzz/artifacts/$target.log"
    echo "== $target for ${seconds}s (log: $log)"
    status=0
    cargo +nightly fuzz run "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1 || status=$?
    grep -E "stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added|Done [0-9]+ runs" "$log" || true
    if [ "$status" -ne 0 ]; then
        grep -E "panicked|ERROR|SUMMARY|Test unit written" "$log" || tail -30 "$log"
        exit "$status"
    fi
done
