#!/bin/sh
# descent's threads on W1 (one Fashion-MNIST epoch through the CLI), idle
# and beside a busy loop, interleaved: in each round 1 thread, 2 threads,
# then with a shell busy loop running (started here, stopped here) 1 thread
# and the default count. No PyTorch: quick enough to repeat until the
# machine has a quiet minute. Prints each round's ratios and writes
# bench/results-threads.json.
#
#   bench/run_threads.sh [BUILD]    knobs: THREAD_ROUNDS (5), FMNIST_DIR,
#                                   QUIET_WAIT (seconds to wait before a round
#                                   for at most QUIET_RUNNING runnable threads
#                                   machine-wide, /proc/loadavg's 4th field;
#                                   default 0: do not wait), QUIET_RUNNING (2)
set -eu
cd "$(dirname "$0")/.."
B=${1:-build-bench}
ROUNDS=${THREAD_ROUNDS:-5}
OUT=bench/results-threads.json
FMNIST_DIR=${FMNIST_DIR:-/usr/share/datasets/fashion-mnist}
QUIET_WAIT=${QUIET_WAIT:-0}
QUIET_RUNNING=${QUIET_RUNNING:-2}
CLI=$B/descent
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dscthreads.XXXXXX")
SPIN_PID=""
spin_start() { sh -c 'while :; do :; done' & SPIN_PID=$!; sleep 0.2; }
spin_stop() { [ -n "$SPIN_PID" ] && kill "$SPIN_PID" 2>/dev/null; wait "$SPIN_PID" 2>/dev/null || true; SPIN_PID=""; }
trap 'spin_stop; rm -rf "$TMP"' EXIT INT TERM
LINES=$TMP/lines.jsonl
: > "$LINES"

# Runnable threads machine-wide (this script's own shell counts as one).
running() { cut -d' ' -f4 /proc/loadavg | cut -d/ -f1; }
wait_quiet() {
    t=0
    while [ "$t" -lt "$QUIET_WAIT" ] && [ "$(running)" -gt "$QUIET_RUNNING" ]; do
        sleep 1; t=$((t + 1))
    done
}
w1() { # THREADS LOAD
    before=$(running)
    out=$("$CLI" train --idx-images "$FMNIST_DIR/train-images-idx3-ubyte.gz" \
        --idx-labels "$FMNIST_DIR/train-labels-idx1-ubyte.gz" --layers 256:relu,128:relu \
        --epochs 1 --batch 128 --optimizer momentum --momentum 0.9 --lr 0.05 --json --quiet \
        --threads "$1")
    printf '{"round": %s, "load": "%s", "threads": %s, "running_before": %s, "loadavg": "%s", "result": %s}\n' \
        "$r" "$2" "$1" "$before" "$(cut -d' ' -f1-3 /proc/loadavg)" "$out" >> "$LINES"
    echo "$out" | sed -n 's/.*"samples_per_second": *\([0-9.]*\).*/\1/p'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }

# bench/twocores: what the two vCPUs give two threads right now (shared
# core? cross-die transfers?), printed after each round's idle runs.
[ -x "$B/bench/twocores" ] || sh bench/build_drivers.sh "$B" >&2 || true
"$CLI" --version | sed -n 2p >&2
grep -m1 'model name' /proc/cpuinfo >&2
for r in $(seq 1 "$ROUNDS"); do
    wait_quiet
    echo "== round $r: load average $(cut -d' ' -f1-3 /proc/loadavg), runnable $(running) ==" >&2
    s1=$(w1 1 idle); s2=$(w1 2 idle)
    [ -x "$B/bench/twocores" ] && "$B/bench/twocores" 100 | sed 's/^/  /' >&2
    spin_start
    b1=$(w1 1 busy); b0=$(w1 0 busy)
    spin_stop
    echo "samples/s idle: 1 thr $s1, 2 thr $s2 (2/1 speed $(ratio "$s2" "$s1"));" \
        "busy loop: 1 thr $b1, default $b0 (default/1 time $(ratio "$b1" "$b0"))" >&2
done
{
    printf '{\n  "date": "%s", "rounds": %s, "cpu": "%s",\n  "runs": [\n' \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$ROUNDS" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
    sed '$!s/$/,/' "$LINES" | sed 's/^/    /'
    printf '  ]\n}\n'
} > "$OUT"
echo "wrote $OUT" >&2
