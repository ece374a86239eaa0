#!/bin/sh
# descent against PyTorch / numpy on W1, W2 and W3, interleaved (descent,
# PyTorch, descent, ...) so that a change in the machine's load hits both
# sides alike. Prints each ratio descent / PyTorch as it goes and writes
# bench/peers/results.json. Called by `make bench-peers` after the release
# build; skipped with a message when /usr/bin/python3 cannot import torch.
#
#   bench/run_peers.sh [BUILD]        knobs: PEER_ROUNDS (3), PEER_PYTHON, FMNIST_DIR
#
# PyTorch runs in two settings: "best" = torch.set_num_threads(1) with
# OPENBLAS_NUM_THREADS=2 (its best on 2 cores), and "default" (untouched).
# Each round runs with the environment as set and with OPENBLAS_CORETYPE and
# OPENBLAS_L2_SIZE unset for that command alone.
set -eu
cd "$(dirname "$0")/.."
B=${1:-build-bench}
PY=${PEER_PYTHON:-/usr/bin/python3}
ROUNDS=${PEER_ROUNDS:-3}
OUT=bench/peers/results.json
FMNIST_DIR=${FMNIST_DIR:-/usr/share/datasets/fashion-mnist}
export FMNIST_DIR

if ! "$PY" -c 'import torch, numpy' >/dev/null 2>&1; then
    msg="$PY cannot import torch and numpy (apt-get install -y python3-torch python3-numpy)"
    echo "bench-peers: skipped: $msg" >&2
    printf '{"skipped": "%s", "runs": []}\n' "$msg" > "$OUT"
    exit 0
fi
sh bench/build_drivers.sh "$B"
CLI=$B/descent
DSCBENCH=$B/bench/dscbench
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dscpeers.XXXXXX")
trap 'spin_stop; rm -rf "$TMP"' EXIT INT TERM
LINES=$TMP/lines.jsonl
: > "$LINES"

in_env() {
    e=$1; shift
    if [ "$e" = unset ]; then env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$@"; else "$@"; fi
}
# Each line also records the load average when the run ended: the machine
# is rarely idle, and the figures mean little without it.
emit() {
    printf '{"env": "%s", "who": "%s", "round": %s, "loadavg": "%s", "result": %s}\n' "$1" "$2" "$3" \
        "$(cut -d' ' -f1-3 /proc/loadavg)" "$4" >> "$LINES"
}
# The same, for a run made beside the busy loop.
emit_busy() { emit "$1" "$2" "$3" "$(echo "$4" | sed 's/^{/{"load": "busy", /')"; }
# A competing CPU-bound process (a shell busy loop) for the busy-machine
# rounds: started before them, stopped after, and on exit.
SPIN_PID=""
spin_start() { sh -c 'while :; do :; done' & SPIN_PID=$!; sleep 0.2; }
spin_stop() { [ -n "$SPIN_PID" ] && kill "$SPIN_PID" 2>/dev/null; wait "$SPIN_PID" 2>/dev/null || true; SPIN_PID=""; }
num() { sed -n "s/.*\"$1\": *\([0-9.eE+-]*\).*/\1/p" | head -n1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }

descent_w1() { # ENV THREADS
    in_env "$1" "$CLI" train --idx-images "$FMNIST_DIR/train-images-idx3-ubyte.gz" \
        --idx-labels "$FMNIST_DIR/train-labels-idx1-ubyte.gz" --layers 256:relu,128:relu \
        --epochs 1 --batch 128 --optimizer momentum --momentum 0.9 --lr 0.05 --json --quiet \
        --threads "$2" | sed "s/^{/{\"workload\": \"w1\", \"threads\": $2, /"
}
torch_run() { # ENV WORKLOAD SETTING
    if [ "$3" = best ]; then
        in_env "$1" env OPENBLAS_NUM_THREADS=2 "$PY" bench/peers/peer_torch.py "$2" best
    elif [ "$3" = single ]; then
        in_env "$1" env OPENBLAS_NUM_THREADS=1 "$PY" bench/peers/peer_torch.py "$2" single
    else
        in_env "$1" "$PY" bench/peers/peer_torch.py "$2" default
    fi
}

for e in as_set unset; do
    for r in $(seq 1 "$ROUNDS"); do
        echo "== env $e, round $r, load average $(cut -d' ' -f1-3 /proc/loadavg) ==" >&2
        d1=$(descent_w1 $e 1); emit $e descent $r "$d1"
        tb=$(torch_run $e w1 best); emit $e torch $r "$tb"
        d2=$(descent_w1 $e 2); emit $e descent $r "$d2"
        tf=$(torch_run $e w1 default); emit $e torch $r "$tf"
        s1=$(echo "$d1" | num samples_per_second); s2=$(echo "$d2" | num samples_per_second)
        sb=$(echo "$tb" | num samples_per_second); sf=$(echo "$tf" | num samples_per_second)
        echo "W1 samples/s: descent 1thr $s1, 2thr $s2; torch best $sb, default $sf;" \
            "descent(2thr)/torch-best $(ratio "$s2" "$sb"), descent(best of 1,2)/torch-default" \
            "$(ratio "$(awk -v a="$s1" -v b="$s2" 'BEGIN{print (a>b?a:b)}')" "$sf")"

        # The same beside a busy loop: descent with 1 and the default
        # threads, PyTorch in its 2-core and 1-core settings.
        spin_start
        b1=$(descent_w1 $e 1); emit_busy $e descent $r "$b1"
        bb=$(torch_run $e w1 best); emit_busy $e torch $r "$bb"
        b0=$(descent_w1 $e 0); emit_busy $e descent $r "$b0"
        bs=$(torch_run $e w1 single); emit_busy $e torch $r "$bs"
        spin_stop
        s1=$(echo "$b1" | num samples_per_second); s0=$(echo "$b0" | num samples_per_second)
        sb=$(echo "$bb" | num samples_per_second); ss=$(echo "$bs" | num samples_per_second)
        echo "W1 busy samples/s: descent 1thr $s1, default $s0; torch best $sb, single $ss;" \
            "default/1thr time $(ratio "$s1" "$s0"), descent(default)/torch-best-of-two" \
            "$(ratio "$s0" "$(awk -v a="$sb" -v b="$ss" 'BEGIN{print (a>b?a:b)}')")"

        dw2=$(in_env $e "$DSCBENCH" w2 10000 21); emit $e descent $r "$dw2"
        tw2b=$(torch_run $e w2 best); emit $e torch $r "$tw2b"
        tw2f=$(torch_run $e w2 default); emit $e torch $r "$tw2f"
        u=$(echo "$dw2" | num us_per_iter); ub=$(echo "$tw2b" | num us_per_iter)
        uf=$(echo "$tw2f" | num us_per_iter)
        echo "W2 us/iter: descent $u, torch best $ub, default $uf; speed descent/torch-best $(ratio "$ub" "$u")"

        dw31=$(in_env $e "$DSCBENCH" w3 1 100 1); emit $e descent $r "$dw31"
        tw3b=$(torch_run $e w3 best); emit $e torch $r "$tw3b"
        dw32=$(in_env $e "$DSCBENCH" w3 2 100 1); emit $e descent $r "$dw32"
        tw3f=$(torch_run $e w3 default); emit $e torch $r "$tw3f"
        m1=$(echo "$dw31" | num ms_per_iter); m2=$(echo "$dw32" | num ms_per_iter)
        mn=$(echo "$tw3b" | num numpy_ms_per_iter); mt=$(echo "$tw3b" | num torch_ms_per_iter)
        echo "W3 ms/iter: descent 1thr $m1, 2thr $m2; numpy $mn, torch $mt;" \
            "speed descent(1thr)/numpy $(ratio "$mn" "$m1"), descent(1thr)/torch $(ratio "$mt" "$m1")"
    done
done
{
    printf '{\n  "date": "%s", "rounds": %s, "load_end": "%s",\n  "runs": [\n' \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$ROUNDS" "$(cut -d' ' -f1-3 /proc/loadavg)"
    sed '$!s/$/,/' "$LINES" | sed 's/^/    /'
    printf '  ]\n}\n'
} > "$OUT"
echo "wrote $OUT" >&2
if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import sys; sys.path.insert(0, "bench"); import report, json; report.peers_table(json.load(open(sys.argv[1])))' "$OUT"
fi
