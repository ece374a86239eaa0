#!/usr/bin/env bash
# `mpirun -np N descent train ...` against one process: the same run, one
# summary, one model file; a bad row on one rank stops every rank; Ctrl-C
# saves. Run by CTest when the build has MPI; argument 3 is mpiexec.
set -u
cli=$1
mpiexec=$3
. "$(dirname "$0")/lib_cli.sh"
cd "$tmp"
# Open MPI: 3 ranks on 2 cores, and root in CI.
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMP_NUM_THREADS=1
# |a - b| <= tol * (1 + |b|)
close() { python3 -c "import sys; a,b,t=map(float,sys.argv[1:]); sys.exit(0 if abs(a-b)<=t*(1+abs(b)) else 1)" "$@"; }
expect_close() {
  if close "$1" "$2" "$3"; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: $4: $1 vs $2 (tol $3)"; fi
}

# 103 rows (not a multiple of ranks x batch): 3 classes from 4 features.
python3 - <<'PY'
import random, math
random.seed(3)
with open('data.csv', 'w') as f:
    f.write('a,b,c,d,label\n')
    for i in range(103):
        x = [random.uniform(-1, 1) for _ in range(4)]
        v = math.sin(2 * x[0]) + x[1] * x[2] - 0.3 * x[3]
        f.write(','.join('%.4f' % t for t in x) + ',' + ('low' if v < -0.3 else 'mid' if v < 0.4 else 'high') + '\n')
PY
run=(train --data data.csv --target label --layers 16:tanh --optimizer adam --lr 0.02 --batch 10
  --epochs 8 --val 0.2 --json)

# One process, then 1, 2 and 3 ranks: the same run.
expect_status 0 "alone" "$cli" "${run[@]}" --save alone.dsc
cp "$tmp/out" alone.json
for np in 1 2 3; do
  expect_status 0 "$np ranks" "$mpiexec" -n $np "$cli" "${run[@]}" --save r$np.dsc
  grep -v '^descent: warning' "$tmp/out" > r$np.json
  expect_eq "$(grep -c '^{' r$np.json)" 1 "$np ranks print one JSON summary"
  expect_eq "$(json r$np.json "j['iterations']")" "$(json alone.json "j['iterations']")" \
    "$np ranks make as many updates"
  expect_close "$(json r$np.json "j['loss']")" "$(json alone.json "j['loss']")" 1e-4 "$np ranks: loss"
  expect_close "$(json r$np.json "j['val_loss']")" "$(json alone.json "j['val_loss']")" 1e-4 \
    "$np ranks: validation loss"
  expect_eq "$(json r$np.json "j['accuracy']")" "$(json alone.json "j['accuracy']")" \
    "$np ranks: validation accuracy"
done
# One rank is one process, bit for bit.
expect_eq "$(params_of r1.dsc)" "$(params_of alone.dsc)" "1 rank = alone"
expect_eq "$(json r2.json "j['ranks']")" 2 "the summary says how many ranks"
expect_eq "$(json r2.json "0 <= j['wait_seconds'] and 0 <= j['comm_seconds'] and j['wait_seconds'] + j['comm_seconds'] <= j['seconds']")" \
  True "waiting and summing are reported apart, within the run's time"
# Two runs with 3 ranks: the same model file (bit for bit).
expect_status 0 "3 ranks again" "$mpiexec" -n 3 "$cli" "${run[@]}" --save r3b.dsc
expect_eq "$(params_of r3b.dsc)" "$(params_of r3.dsc)" "3 ranks twice: the same model"
expect_eq "$([ "$(params_of r3.dsc)" != "$(params_of alone.dsc)" ] && echo differ)" differ \
  "(3 ranks round differently from one process: the check above is not vacuous)"

# Checkpoints come from rank 0, and a resumed 2-rank run ends where an
# uninterrupted one does, bit for bit.
ck=(train --data data.csv --target label --layers 16:tanh --optimizer adam --lr 0.02 --batch 10
  --json --quiet)
expect_status 0 "2 ranks, 3 epochs with checkpoints" "$mpiexec" -n 2 "$cli" "${ck[@]}" --epochs 3 \
  --checkpoint-every 1 --save ck.dsc
expect_status 0 "resumed to 6 epochs" "$mpiexec" -n 2 "$cli" "${ck[@]}" --epochs 6 \
  --resume ck.dsc.ckpt --save resumed.dsc
expect_status 0 "6 epochs at once" "$mpiexec" -n 2 "$cli" "${ck[@]}" --epochs 6 --save straight.dsc
expect_eq "$(params_of resumed.dsc)" "$(params_of straight.dsc)" "resume over 2 ranks = no stop"

# A convolutional network over 2 ranks: 1 rank is one process bit for
# bit, 2 ranks train to the same loss, and eval over 2 ranks agrees.
python3 - <<'PY'
import random
random.seed(7)
with open('img.csv', 'w') as f:
    f.write(','.join('p%d' % i for i in range(25)) + ',label\n')
    for r in range(48):
        c = r % 2
        f.write(','.join('%.3f' % (random.random() * 0.5 + (0.5 if (i % 5 < 2) == c else 0)) for i in range(25)) + ',' + 'ab'[c] + '\n')
PY
cnn=(train --data img.csv --input-shape 1x5x5 --layers "conv3@3x3:relu,maxpool2s1,4:tanh" --optimizer adam
  --lr 0.02 --batch 8 --epochs 4 --json --quiet)
expect_status 0 "CNN alone" "$cli" "${cnn[@]}" --save cnn0.dsc
cp "$tmp/out" cnn0.json
expect_status 0 "CNN 1 rank" "$mpiexec" -n 1 "$cli" "${cnn[@]}" --save cnn1.dsc
expect_eq "$(params_of cnn1.dsc)" "$(params_of cnn0.dsc)" "CNN: 1 rank = alone"
expect_status 0 "CNN 2 ranks" "$mpiexec" -n 2 "$cli" "${cnn[@]}" --save cnn2.dsc
grep -v '^descent: warning' "$tmp/out" > cnn2.json
expect_close "$(json cnn2.json "j['loss']")" "$(json cnn0.json "j['loss']")" 1e-4 "CNN over 2 ranks: loss"
expect_status 0 "CNN eval over 2 ranks" "$mpiexec" -n 2 "$cli" eval --model cnn2.dsc --data img.csv --json
expect_eq "$(grep -c '^{' "$tmp/out")" 1 "CNN eval over 2 ranks prints once"

# The saved model is whole; eval over 2 ranks scores as one process does.
expect_status 0 "eval alone" "$cli" eval --model r2.dsc --data data.csv --json
cp "$tmp/out" eval1.json
expect_status 0 "eval over 2 ranks" "$mpiexec" -n 2 "$cli" eval --model r2.dsc --data data.csv --json
expect_eq "$(grep -c '^{' "$tmp/out")" 1 "eval over 2 ranks prints once"
grep '^{' "$tmp/out" > eval2.json
expect_eq "$(json eval2.json "j['confusion']")" "$(json eval1.json "j['confusion']")" \
  "eval over 2 ranks: the same confusion matrix"
expect_close "$(json eval2.json "j['loss']")" "$(json eval1.json "j['loss']")" 1e-6 "eval loss"
# Classes by name over ranks too: the rows reversed (so the labels come in
# another order) and a file without the class 'high'; an unknown label stops
# every rank with one message.
{ head -1 data.csv; tail -n +2 data.csv | tac; } > reversed.csv
expect_status 0 "eval over 2 ranks, other class order" "$mpiexec" -n 2 "$cli" eval --model r2.dsc \
  --data reversed.csv --json
grep '^{' "$tmp/out" > eval3.json
expect_eq "$(json eval3.json "[sorted(map(sum, j['confusion'])), j['accuracy']]")" \
  "$(json eval1.json "[sorted(map(sum, j['confusion'])), j['accuracy']]")" \
  "eval over 2 ranks: the same counts from reversed rows"
{ head -1 data.csv; grep -v ',high$' data.csv | tail -n +2; } > nohigh.csv
expect_status 0 "eval over 2 ranks, a class missing" "$mpiexec" -n 2 "$cli" eval --model r2.dsc \
  --data nohigh.csv --json
grep '^{' "$tmp/out" > eval4.json
expect_eq "$(json eval4.json "len(j['confusion'])")" "3" "every class of the model is listed"
sed '30s/,[a-z]*$/,daisy/' data.csv > daisy.csv
expect_status 1 "eval over 2 ranks, an unknown label" "$mpiexec" -n 2 "$cli" eval --model r2.dsc \
  --data daisy.csv
expect_grep "daisy.csv:30:5: label 'daisy'" "names the label and its place"
# Other subcommands run once, on rank 0.
expect_status 0 "info over 2 ranks" "$mpiexec" -n 2 "$cli" info --model r2.dsc
expect_eq "$(grep -c '^network' "$tmp/out")" 1 "info prints once"

# A bad row in rank 1's copy of the data only: every rank exits non-zero,
# rank 0 prints rank 1's message, no model is written.
sed '40s/.*/0.1,oops,0.3,0.4,low/' data.csv > bad.csv
args=(train --target label --layers 16:tanh --optimizer adam --batch 10 --epochs 3 --save none.dsc)
each() {
  "$cli" "$@"
  local rc=$?
  echo $rc > "rc.$OMPI_COMM_WORLD_RANK"
  return $rc
}
export -f each
export cli
expect_status 1 "bad row on rank 1" "$mpiexec" -n 1 bash -c 'each "$@"' _ "${args[@]}" --data data.csv \
  : -n 1 bash -c 'each "$@"' _ "${args[@]}" --data bad.csv
expect_grep "rank 1: bad.csv:40" "the message names rank 1 and the row"
expect_eq "$(grep -c 'descent: error' "$tmp/out")" 1 "the message is printed once"
# Each rank's own status: mpirun kills the ranks still running once one
# exits non-zero, which on a busy machine can catch rank 1 between its exit
# and the writing of rc.1, so this run asks it to wait for all of them.
rm -f rc.0 rc.1
OMPI_MCA_orte_abort_on_non_zero_status=0 "$mpiexec" -n 1 bash -c 'each "$@"' _ "${args[@]}" \
  --data data.csv : -n 1 bash -c 'each "$@"' _ "${args[@]}" --data bad.csv > /dev/null 2>&1
expect_eq "$(cat rc.0 rc.1 | tr '\n' ' ')" "1 1 " "every rank exits 1"
expect_eq "$(ls none.dsc* 2>/dev/null | wc -l)" 0 "no model file, whole or half"

# Different (valid) data on rank 1: refused, not silently averaged.
sed '40s/.*/0.1,0.2,0.3,0.4,low/' data.csv > other.csv
expect_status 2 "other data on rank 1" "$mpiexec" -n 1 "$cli" "${args[@]}" --data data.csv \
  : -n 1 "$cli" "${args[@]}" --data other.csv
expect_grep "rank 1: the inputs differ from rank 0's" "the data mismatch is named"
expect_eq "$(ls none.dsc* 2>/dev/null | wc -l)" 0 "no model after a mismatch"

# Ctrl-C (mpirun passes SIGTERM to every rank): all stop, rank 0 saves.
python3 -c "
import random
random.seed(5)
print('a,b,y')
for i in range(20000):
    a, b = random.random(), random.random()
    print('%.4f,%.4f,%.4f' % (a, b, a * b))" > long.csv
# Open MPI 4 passes Ctrl-C on as SIGTERM and SIGKILLs the ranks still
# running about odls_base_sigkill_timeout (1 s by default) later: rank 0
# has that long to stop and save, which a busy machine can exceed; what is
# checked here is that it saves, not how fast.
OMPI_MCA_odls_base_sigkill_timeout=5 "$mpiexec" -n 2 "$cli" train --data long.csv --target y \
  --layers 32:relu --optimizer adam --batch 8 --epochs 100000 --log long.jsonl --save long.dsc \
  --quiet > int.out 2>&1 &
pid=$!
# A line in the log: an epoch ended, so both ranks are training (mpirun
# can take many seconds to start them on a busy machine).
ready=
for _ in $(seq 1 1200); do
  [ -n "$(find . -name 'long.jsonl.tmp.*' -size +0c)" ] && ready=yes && break
  kill -0 $pid 2> /dev/null || break
  sleep 0.1
done
expect_eq "$ready" yes "the 2-rank run trains within 120 s"
kill -INT $pid
wait $pid
expect_eq "$([ $? != 0 ] && echo nonzero)" nonzero "an interrupted run exits non-zero"
cp int.out "$tmp/out"
expect_grep "interrupted after" "the interruption is reported"
expect_eq "$(grep -c 'interrupted after' int.out)" 1 "by rank 0 alone"
expect_status 0 "the interrupted run's model loads" "$cli" info --model long.dsc
expect_eq "$(ls ./*.tmp.* 2>/dev/null | wc -l)" 0 "no half-written model, log or checkpoint"

# Threads: more than the cores, warned about.
expect_status 0 "oversubscribed" "$mpiexec" -n 2 "$cli" "${run[@]}" --threads 4
expect_grep "oversubscribed" "ranks x threads beyond the cores is warned about"
finish
