#!/bin/sh
# Runs descent's benchmark workloads once and writes bench/results.json,
# then prints the table (bench/report.py). Called by `make bench`, which has
# built the release library and CLI into BUILD (default build-bench).
#
#   bench/run_bench.sh [BUILD]
#
# Every workload runs twice: with the environment as it is, and with
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed for that command alone
# (env -u). Nothing here exports or changes them.
# Knobs (environment): BENCH_REPS (W1 repetitions, 3), FMNIST_DIR,
# BENCH_QUICK=1 (fewer repetitions, no 5-epoch run: a few minutes less).
set -eu
cd "$(dirname "$0")/.."
B=${1:-build-bench}
OUT=bench/results.json
FMNIST_DIR=${FMNIST_DIR:-/usr/share/datasets/fashion-mnist}
REPS=${BENCH_REPS:-3}
QUICK=${BENCH_QUICK:-0}
W3_REPS=3
[ "$QUICK" = 1 ] && { REPS=1; W3_REPS=1; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dscbench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
LINES=$TMP/lines.jsonl
: > "$LINES"

sh bench/build_drivers.sh "$B"
DSCBENCH=$B/bench/dscbench
GEMMBENCH=$B/bench/gemm_bench
CLI=$B/descent

log() { printf '%s\n' "$*" >&2; }
# emit ENV JSON: one result line, tagged with the environment it ran in.
emit() { printf '{"env": "%s", "result": %s}\n' "$1" "$2" >> "$LINES"; }
# in ENV CMD...: runs CMD as set, or with the two variables unset.
in_env() {
    e=$1; shift
    if [ "$e" = unset ]; then env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$@"; else "$@"; fi
}

have_time=0
[ -x /usr/bin/time ] && /usr/bin/time -v true >/dev/null 2>&1 && have_time=1

# A competing CPU-bound process (a shell busy loop) for the busy-machine
# runs: started before a measurement, stopped after it, and on exit.
SPIN_PID=""
spin_start() { sh -c 'while :; do :; done' & SPIN_PID=$!; sleep 0.2; }
spin_stop() { [ -n "$SPIN_PID" ] && kill "$SPIN_PID" 2>/dev/null; wait "$SPIN_PID" 2>/dev/null || true; SPIN_PID=""; }
trap 'spin_stop; rm -rf "$TMP"' EXIT INT TERM

w1_run() { # ENV THREADS REP [LOAD]
    load=${4:-idle}
    if [ $have_time = 1 ]; then
        in_env "$1" /usr/bin/time -v "$CLI" train --idx-images "$FMNIST_DIR/train-images-idx3-ubyte.gz" \
            --idx-labels "$FMNIST_DIR/train-labels-idx1-ubyte.gz" --layers 256:relu,128:relu \
            --epochs 1 --batch 128 --optimizer momentum --momentum 0.9 --lr 0.05 --json --quiet \
            --threads "$2" > "$TMP/w1.json" 2> "$TMP/w1.time"
        rss=$(sed -n 's/.*Maximum resident set size (kbytes): *//p' "$TMP/w1.time")
        wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): *//p' "$TMP/w1.time")
    else
        in_env "$1" "$CLI" train --idx-images "$FMNIST_DIR/train-images-idx3-ubyte.gz" \
            --idx-labels "$FMNIST_DIR/train-labels-idx1-ubyte.gz" --layers 256:relu,128:relu \
            --epochs 1 --batch 128 --optimizer momentum --momentum 0.9 --lr 0.05 --json --quiet \
            --threads "$2" > "$TMP/w1.json"
        rss=null wall=""
    fi
    emit "$1" "{\"workload\": \"w1\", \"threads\": $2, \"rep\": $3, \"load\": \"$load\", \"max_rss_kb\": ${rss:-null}, \"wall\": \"$wall\", \"cli\": $(cat "$TMP/w1.json")}"
}

gemm_run() { # ENV
    in_env "$1" "$GEMMBENCH" 2048 > "$TMP/gemm.txt"
    awk -F'|' -v env="$1" '
        /^(square|W[0-9])/ {
            label = substr($1, 1, 18); sub(/ +$/, "", label)
            split(substr($1, 19), d, " ")
            # with CBLAS: | built-in 1 2 | cblas 1 2 | cpu: built-in cblas; without: | 1 2 | cpu
            split($2, b, " "); split(NF == 4 ? $3 : "", c, " "); split($NF, u, " ")
            printf "{\"env\": \"%s\", \"result\": {\"workload\": \"gemm\", \"shape\": \"%s\", \"m\": %s, \"n\": %s, \"k\": %s, \"builtin_1\": %s, \"builtin_2\": %s, \"cblas_1\": %s, \"cblas_2\": %s, \"builtin_1_cpu\": %s, \"cblas_1_cpu\": %s}}\n",
                env, label, d[1], d[2], d[3], b[1], b[2], (c[1] == "" ? "null" : c[1]), (c[2] == "" ? "null" : c[2]),
                u[1], (u[2] == "" ? "null" : u[2])
        }' "$TMP/gemm.txt" >> "$LINES"
}

# --- machine ----------------------------------------------------------------
mhz=$(lscpu 2>/dev/null | sed -n 's/^CPU max MHz: *//p' | head -n1)
mhz_src="lscpu max MHz"
if [ -z "$mhz" ]; then
    mhz=$(sed -n 's/^cpu MHz[[:space:]]*: *//p' /proc/cpuinfo | head -n1)
    mhz_src="/proc/cpuinfo cpu MHz"
fi
cores=$(nproc)
model=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -n1)
flags=$(sed -n 's/^flags[[:space:]]*: *//p' /proc/cpuinfo | head -n1)
fpc=16; simd=sse
case " $flags " in *" avx2 "*" fma "*|*" fma "*" avx2 "*) fpc=32; simd="avx2+fma" ;; esac
case " $flags " in *" avx512f "*) fpc=64; simd="avx512f" ;; esac
peak1=$(awk -v m="$mhz" -v f="$fpc" 'BEGIN { printf "%.1f", m * 1e6 * f * 1e-9 }')
load0=$(cut -d' ' -f1-3 /proc/loadavg)
log "machine: $model, $cores cores, $mhz MHz ($mhz_src), $simd: fp32 peak $peak1 GFLOP/s per core"
log "load average at start: $load0 (other work on the machine skews 2-thread figures)"

for e in as_set unset; do
    log "== environment: $e =="
    log "W1: Fashion-MNIST epoch via the CLI, $REPS reps x (1 and 2 threads idle," \
        "1 and default threads beside a busy loop)"
    for r in $(seq 1 "$REPS"); do
        for t in 1 2; do w1_run $e $t "$r"; done
        spin_start
        for t in 1 0; do w1_run $e $t "$r" busy; done
        spin_stop
    done
    log "W2: dosage network, 10000 iterations"
    emit $e "$(in_env $e "$DSCBENCH" w2 10000 21)"
    log "W3: line on 1,000,000 points, 100 iterations, STREAM"
    for t in 1 2; do emit $e "$(in_env $e "$DSCBENCH" w3 $t 100 $W3_REPS)"; done
    log "CSV: 100 MB file"
    emit $e "$(in_env $e "$DSCBENCH" csv "$TMP/big.csv" 100 3)"
    rm -f "$TMP/big.csv"
    log "inference"
    for t in 1 2; do emit $e "$(in_env $e "$DSCBENCH" infer $t 10000)"; done
    log "GEMM: squares 128..2048 and W1 shapes"
    gemm_run $e
done

acc=null
if [ "$QUICK" != 1 ]; then
    log "W1: 5 epochs (2 threads), then descent eval on t10k"
    "$CLI" train --idx-images "$FMNIST_DIR/train-images-idx3-ubyte.gz" \
        --idx-labels "$FMNIST_DIR/train-labels-idx1-ubyte.gz" --layers 256:relu,128:relu \
        --epochs 5 --batch 128 --optimizer momentum --momentum 0.9 --lr 0.05 --json --quiet \
        --threads 2 --save "$TMP/w1.model" > "$TMP/w1x5.json"
    "$CLI" eval --model "$TMP/w1.model" --idx-images "$FMNIST_DIR/t10k-images-idx3-ubyte.gz" \
        --idx-labels "$FMNIST_DIR/t10k-labels-idx1-ubyte.gz" --json > "$TMP/eval.json"
    acc=$(sed -n 's/.*"accuracy": *\([0-9.eE+-]*\).*/\1/p' "$TMP/eval.json" | head -n1)
    emit as_set "{\"workload\": \"w1_5epochs\", \"train\": $(cat "$TMP/w1x5.json"), \"test_accuracy\": ${acc:-null}}"
fi
load1=$(cut -d' ' -f1-3 /proc/loadavg)

{
    printf '{\n  "date": "%s",\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    printf '  "machine": {"cpu": "%s", "cores": %s, "mhz": %s, "mhz_source": "%s", "simd": "%s", ' \
        "$model" "$cores" "$mhz" "$mhz_src" "$simd"
    printf '"flop_per_cycle_per_core": %s, "peak_gflops_per_core": %s, "load_start": "%s", "load_end": "%s",\n' \
        "$fpc" "$peak1" "$load0" "$load1"
    printf '    "OPENBLAS_CORETYPE": "%s", "OPENBLAS_L2_SIZE": "%s", "build_info": "%s"},\n' \
        "${OPENBLAS_CORETYPE:-(unset)}" "${OPENBLAS_L2_SIZE:-(unset)}" "$("$CLI" --version | tail -n1)"
    printf '  "runs": [\n'
    sed '$!s/$/,/' "$LINES" | sed 's/^/    /'
    printf '  ]\n}\n'
} > "$OUT"
log "wrote $OUT"
if command -v python3 >/dev/null 2>&1; then
    python3 bench/report.py "$OUT"
else
    log "python3 not found: the table is not printed (bench/results.json has every figure)"
fi
