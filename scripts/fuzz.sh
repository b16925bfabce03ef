#!/usr/bin/env bash
# `make fuzz`: builds the libFuzzer targets of Fuzz/ (release, -sanitize=fuzzer,address) into
# .build-fuzz, writes their seed corpora from the conformance files, and runs each target for
# FUZZ_SECONDS (default 60). Each target first replays Fuzz/regressions/<target>/ (the inputs of
# past findings). Prints executions per second per target; a crash, hang or broken invariant
# fails the run and leaves the input in .build-fuzz/artifacts/<target>/.
#   FUZZ_SECONDS=600 make fuzz      FUZZ_TARGETS="fuzz-scanner" make fuzz
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
read -r -a targets <<<"${FUZZ_TARGETS:-fuzz-scanner fuzz-subscriptions fuzz-config fuzz-admin}"
scratch=.build-fuzz
# gold cannot link libFuzzer into SwiftPM executables; the toolchain's lld can.
build=(swift build --package-path Fuzz --scratch-path "$scratch" -c release
    -Xswiftc "-sanitize=fuzzer,address" -Xswiftc -use-ld=lld)
for target in "${targets[@]}"; do "${build[@]}" --product "$target"; done
bin=$("${build[@]}" --show-bin-path)

rm -rf "$scratch/seeds"
python3 scripts/fuzz-seeds.py "$scratch/seeds"

max_len() {
    case $1 in
        fuzz-config) echo 16384 ;;
        *) echo 8192 ;;
    esac
}

passed=0 failed=0
mkdir -p "$scratch/logs"
for target in "${targets[@]}"; do
    corpora=("$scratch/corpus/$target")
    [ -d "$scratch/seeds/$target" ] && corpora+=("$scratch/seeds/$target")
    [ -d "Fuzz/regressions/$target" ] && corpora+=("Fuzz/regressions/$target")
    mkdir -p "$scratch/corpus/$target" "$scratch/artifacts/$target"
    log="$scratch/logs/$target.log"
    # The Swift backtracer can hang after a first finding; leak checks would report the
    # runtime's caches.
    if SWIFT_BACKTRACE=enable=no "$bin/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
        -max_len="$(max_len "$target")" -detect_leaks=0 -print_final_stats=1 \
        -artifact_prefix="$scratch/artifacts/$target/" "${corpora[@]}" >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
        corpus=$(grep -o 'corp: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
        echo "$target: ${seconds}s, $runs executions, $rate exec/s, corpus $corpus inputs, no findings"
        passed=$((passed + 1))
    else
        echo "$target: FINDING (log $log, input in $scratch/artifacts/$target/)"
        grep -v '^"' "$log" | grep -B2 -A30 -m1 -E 'ERROR|invariant violated|Fatal error|deadly signal|timeout|out-of-memory' || tail -40 "$log"
        failed=$((failed + 1))
    fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
