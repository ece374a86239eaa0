#!/bin/sh
# Data-parallel scaling (docs/SCALING.md): W1 (Fashion-MNIST 784-256-128-10,
# batch 128, SGD momentum) for one epoch with 1, 2 and 3 MPI ranks of one
# thread each, interleaved (1, 2, 3, 1, 2, 3, ...), and the gradient sum
# alone (bench/mpi_sum.c) at 2 and 3 ranks. Writes bench/results-scaling.json
# and prints the table (bench/report_scaling.py). Called by `make bench-mpi`.
#
#   bench/run_scaling.sh [BUILD]      knobs: BENCH_REPS (3), FMNIST_DIR
#
# 3 ranks on this 2-core machine oversubscribe it: they are run to check the
# cost model's communication term, not for speed.
set -eu
cd "$(dirname "$0")/.."
B=${1:-build-bench}
OUT=bench/results-scaling.json
FMNIST_DIR=${FMNIST_DIR:-/usr/share/datasets/fashion-mnist}
REPS=${BENCH_REPS:-3}
CLI=$B/descent
command -v mpiexec >/dev/null || { echo "run_scaling: no mpiexec (apt-get install openmpi-bin libopenmpi-dev)" >&2; exit 1; }
"$CLI" --version | grep -q 'mpi: yes' || { echo "run_scaling: $CLI was built without MPI" >&2; exit 1; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dscscale.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
LINES=$TMP/lines.jsonl
: > "$LINES"
# Open MPI: leave to run 3 ranks on 2 cores, and to run as root.
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

mpicc -O2 -o "$TMP/mpi_sum" bench/mpi_sum.c
for np in 2 3; do
    mpiexec -n $np "$TMP/mpi_sum" 200 | sed 's/^/{"workload": "sum", "result": /; s/$/}/' >> "$LINES"
done

# W1 as specified (batch 128), and at batches 256 and 512 to show what a
# larger global batch does to the balance of compute and communication (the
# cost model in docs/SCALING.md puts 85% at about 370 rows here).
for rep in $(seq 1 "$REPS"); do
    for run in "1 128" "2 128" "3 128" "1 64" "1 256" "2 256" "1 512" "2 512"; do
        set -- $run
        printf 'W1, %d rank(s), batch %d, repetition %d\n' "$1" "$2" "$rep" >&2
        mpiexec -n "$1" "$CLI" train --idx-images "$FMNIST_DIR/train-images-idx3-ubyte.gz" \
            --idx-labels "$FMNIST_DIR/train-labels-idx1-ubyte.gz" --layers 256:relu,128:relu \
            --epochs 1 --batch "$2" --optimizer momentum --momentum 0.9 --lr 0.05 --json --quiet \
            --threads 1 > "$TMP/w1.json"
        printf '{"workload": "w1", "ranks": %d, "batch": %d, "rep": %d, "cli": %s}\n' "$1" "$2" \
            "$rep" "$(grep '^{' "$TMP/w1.json")" >> "$LINES"
    done
done
python3 bench/report_scaling.py "$LINES" "$OUT"
