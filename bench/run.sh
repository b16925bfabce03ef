#!/usr/bin/env bash
# Issue 4 benchmark: the release worker side by side with the C pass-through of
# ../shared/bench, in one run, on the same machine, against identical mock brokers.
#
# usage: bench/run.sh [N_EVENTS] [ROUNDS]          (defaults: 400000 events, 3 rounds)
# env:   SHARED_BENCH   harness directory                 (default: ../shared/bench)
#        WORKER_ARGS    extra `consent-gate run` options   (e.g. "--lanes 1")
#        SKIP_BUILD=1   reuse .build-release/release/consent-gate as it is
#        OUT            results directory                 (default: bench/out/<timestamp>)
#        QUIET_IDLE     before each contender, wait (at most QUIET_WAIT s, default 180) until the
#                       machine was at least this % idle over 2 s (default 80; 0 disables), so
#                       other jobs (builds, tests) do not land in one contender's window only
#
# Each contender gets, per round, a fresh mock broker (the harness's mockbroker.c: one broker,
# 64 partitions per ingest/destination topic, consent.subscriptions with 64 partitions as the
# worker requires), the same preloaded events (gen_events.py, ~650 B each), the same five
# destinations (worker.yaml / bench_config.json), then watch.py measures events/s over the
# 10%..90% fill of dest.s3-archive and /proc/PID/stat gives the contender's CPU per event.
# Rounds alternate the order (odd: passthru first, even: worker first); the summary gives the
# median of each figure and the worker/passthru ratios. Compare only figures from one run.
# Keep N_EVENTS large (>= 300000): watch.py samples 64 partitions ~10 times a second, so a short
# run fills between samples and its rate reads 0 or is meaningless.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
N=${1:-400000}
ROUNDS=${2:-3}
SHARED=$(cd "${SHARED_BENCH:-../shared/bench}" && pwd)
P=64
DESTS="google-ads facebook-capi amplitude intercom s3-archive"
OUT=${OUT:-$ROOT/bench/out/$(date +%Y%m%d-%H%M%S)}
WORKER=$ROOT/.build-release/release/consent-gate

# The mock broker keeps ~5 MB per partition; the ingest topic must hold every event.
if (( N * 650 > P * 5 * 1000 * 1000 )); then
    echo "bench: $N events x 650 B do not fit in $P partitions x 5 MB of the mock broker" >&2; exit 2
fi
for f in gen_events.py preload.py watch.py passthru.c mockbroker.c worker.yaml; do
    [ -f "$SHARED/$f" ] || { echo "bench: $SHARED/$f not found (set SHARED_BENCH)" >&2; exit 2; }
done
python3 -c 'import confluent_kafka' 2>/dev/null || { echo "bench: pip install confluent-kafka (preload.py/watch.py need it)" >&2; exit 2; }

mkdir -p "$OUT"
W=$(mktemp -d)
MB=""; PID=""
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    [ -n "$MB" ] && kill "$MB" 2>/dev/null && wait "$MB" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT

if [ "${SKIP_BUILD:-0}" != 1 ]; then
    echo "bench: building the release worker (.build-release)" >&2
    swift build -c release --product consent-gate --scratch-path .build-release >&2
fi
[ -x "$WORKER" ] || { echo "bench: $WORKER missing" >&2; exit 2; }
read -ra RDK <<< "$(pkg-config --cflags --libs rdkafka)"
gcc -O2 -o "$W/mockbroker" "$SHARED/mockbroker.c" "${RDK[@]}"
gcc -O2 -o "$W/passthru" "$SHARED/passthru.c" "${RDK[@]}"
python3 "$SHARED/gen_events.py" "$N" > "$W/events.tsv"

HZ=$(getconf CLK_TCK)
# Idle % of all CPUs over 2 s, from /proc/stat.
idle_pct() {
    local a b
    a=$(awk '/^cpu /{ print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat); sleep 2
    b=$(awk '/^cpu /{ print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%d", 100 * (y[1] - x[1]) / (y[2] - x[2]) }'
}
wait_quiet() {
    local want=${QUIET_IDLE:-80} deadline=$((SECONDS + ${QUIET_WAIT:-180}))
    IDLE=$(idle_pct)
    (( want > 0 )) || return 0
    while (( IDLE < want && SECONDS < deadline )); do
        echo "bench: machine ${IDLE}% idle, waiting for ${want}%" >&2; sleep 3; IDLE=$(idle_pct)
    done
}
# CPU time (utime+stime) of a process, in microseconds per input event.
cpu_per_event() { awk -v hz="$HZ" -v n="$N" '{ printf "%.2f", ($14 + $15) / hz * 1e6 / n }' "/proc/$1/stat"; }

# run_one ROUND CONTENDER: sets LINE="round contender rate cpu_us broker_cpu_us elapsed idle_before"
run_one() {
    local round=$1 who=$2 d res
    local -a topics=("events.raw:$P" events.dlq:4 consent.suppressions:4 consent.regulations:4 "consent.subscriptions:$P")
    local -a dests=()
    wait_quiet
    for d in $DESTS; do topics+=("dest.$d:$P"); dests+=("dest.$d"); done
    "$W/mockbroker" 1 "${topics[@]}" > "$W/boot" 2>/dev/null & MB=$!
    for _ in $(seq 50); do [ -s "$W/boot" ] && break; sleep 0.1; done
    local boot; boot=$(cat "$W/boot")
    python3 "$SHARED/preload.py" "$boot" events.raw "$W/events.tsv" > /dev/null
    local broker_before; broker_before=$(awk '{ print $14 + $15 }' "/proc/$MB/stat")
    case $who in
        passthru)
            "$W/passthru" "$boot" events.raw "${dests[@]}" \
                > "$OUT/passthru-$round.log" 2>&1 & PID=$! ;;
        worker)
            # shellcheck disable=SC2086
            CONSENT_GATE_BROKERS=$boot "$WORKER" run --config "$SHARED/worker.yaml" ${WORKER_ARGS:-} \
                > "$OUT/worker-$round.log" 2>&1 & PID=$! ;;
    esac
    if ! res=$(python3 "$SHARED/watch.py" "$boot" dest.s3-archive "$P" "$N" 300); then
        echo "bench: $who did not finish in round $round: $res" >&2
        [ "$who" = worker ] && tail -5 "$OUT/worker-$round.log" >&2
    fi
    local cpu broker rate elapsed
    cpu=$(cpu_per_event "$PID")
    broker=$(awk -v b="$broker_before" -v hz="$HZ" -v n="$N" '{ printf "%.2f", ($14 + $15 - b) / hz * 1e6 / n }' "/proc/$MB/stat")
    rate=$(sed -n 's/.*rate=\([0-9]*\).*/\1/p' <<< "$res")
    elapsed=$(sed -n 's/.*elapsed=\([0-9.]*\).*/\1/p' <<< "$res")
    kill -TERM "$PID" 2>/dev/null; wait "$PID" 2>/dev/null || true; PID=""
    kill "$MB" 2>/dev/null; wait "$MB" 2>/dev/null || true; MB=""
    LINE="$round $who ${rate:-0} $cpu $broker ${elapsed:-0} $IDLE"
}

{
    echo "# bench/run.sh $N $ROUNDS  WORKER_ARGS='${WORKER_ARGS:-}'"
    echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) cores, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "# worker binary built $(date -u -r "$WORKER" +%Y-%m-%dT%H:%M:%SZ); tree now at $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet -- Sources || echo ' + uncommitted Sources edits')"
} | tee "$OUT/results.txt" >&2
echo "round contender events_per_s cpu_us_per_event broker_cpu_us_per_event elapsed_s idle_pct_before" >> "$OUT/results.txt"
for round in $(seq "$ROUNDS"); do
    if (( round % 2 )); then order="passthru worker"; else order="worker passthru"; fi
    for who in $order; do
        run_one "$round" "$who"
        echo "$LINE" >> "$OUT/results.txt"
        echo "bench: $LINE" >&2
    done
done
python3 "$ROOT/bench/summarize.py" "$OUT/results.txt" | tee "$OUT/summary.md"
