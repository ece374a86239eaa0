#!/bin/sh
# Benchmark smoke test: runs each workload briefly and fails only on a gross
# slowdown (default 5x) against bench/baseline.json. The baseline holds
# ratios, not times, so it transfers between machines:
#   w2      descent time / hand-written C loop time        (lower is better)
#   w3      GB/s streamed / this machine's STREAM read GB/s (higher is better)
#   w1synth training GFLOP/s / hand-written GEMM loop GFLOP/s (higher is better)
#   csv     hand-written fread+strtof time / descent time  (higher is better)
#   infer   descent samples/s / hand-written forward samples/s (higher is better)
#
#   bench/smoke.sh DSCBENCH [BASELINE] [FACTOR]
# DSCBENCH is the driver built by bench/build_drivers.sh (or CMake's
# bench/CMakeLists.txt). Not part of the default test run: see
# docs/PERFORMANCE.md for registering it under the CTest label bench-smoke.
set -eu
BIN=${1:?usage: smoke.sh DSCBENCH [BASELINE] [FACTOR]}
BASE=${2:-$(dirname "$0")/baseline.json}
FACTOR=${3:-${SMOKE_FACTOR:-5}}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dscsmoke.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
# The smoke test runs 1 thread only: on a busy machine 2 threads can be
# slowed by far more than 5x by the load alone.
export OMP_NUM_THREADS=1

num() { sed -n "s/.*\"$1\": *\([0-9.eE+-]*\).*/\1/p" | head -n1; }
base() { sed -n "s/.*\"$1\": *\([0-9.eE+-]*\).*/\1/p" "$BASE" | head -n1; }
fail=0
check() { # NAME MEASURED BASELINE lower|higher
    verdict=$(awk -v m="$2" -v b="$3" -v f="$FACTOR" -v dir="$4" 'BEGIN {
        if (m == "" || b == "") { print "ERROR"; exit }
        bad = (dir == "lower") ? (m > b * f) : (m < b / f)
        print bad ? "FAIL" : "ok" }')
    printf '%-8s measured %-10s baseline %-10s (%s is better, limit %sx)  %s\n' "$1" "$2" "$3" "$4" "$FACTOR" "$verdict"
    [ "$verdict" = ok ] || fail=1
}

check w2 "$("$BIN" w2 2000 3 | num ratio_to_ref)" "$(base w2_ratio_to_ref)" lower
check w3 "$("$BIN" w3 1 5 1 | num fraction_of_read)" "$(base w3_fraction_of_read)" higher
check w1synth "$("$BIN" w1synth 1 2048 1 | num ratio_to_ref)" "$(base w1synth_ratio_to_ref)" higher
check csv "$("$BIN" csv "$TMP/s.csv" 5 1 | num ratio_to_ref)" "$(base csv_ratio_to_ref)" higher
check infer "$("$BIN" infer 1 1024 | num ratio_to_ref)" "$(base infer_ratio_to_ref)" higher
[ $fail = 0 ] && echo "bench smoke: ok" || echo "bench smoke: FAILED (a workload is more than ${FACTOR}x off its baseline ratio)"
exit $fail
