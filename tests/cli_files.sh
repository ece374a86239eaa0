#!/usr/bin/env bash
# What the command line does to files (docs/GUARANTEES.md): outputs are
# whole or absent, never an input, never a device or FIFO turned into a
# regular file; a failed run changes nothing; symbolic links are followed;
# two writers of one file both finish.
set -u
cli=$1
. "$(dirname "$0")/lib_cli.sh"
cd "$tmp"

printf 'a,b,y\n1,2,3\n4,5,6\n7,8,10\n2,2,4\n' > d.csv
"$cli" train --data d.csv --save m.model --quiet > /dev/null 2>&1
cp d.csv d.keep
cp m.model m.keep

# no_temp NAME: no temporary file is left anywhere under here.
no_temp() { expect_eq "$(find . -name '*.tmp.*' | wc -l)" 0 "$1: no temporary file left"; }

# Devices of our own: as root a regression would otherwise replace the
# machine's /dev/full with a file. Without root, /dev/full itself is safe
# to try (its folder cannot be written).
if [ "$(id -u)" = 0 ]; then
  mknod -m 666 full c 1 7 && mknod -m 666 null c 1 3
  full=$PWD/full null=$PWD/null
else
  full=/dev/full null=/dev/null
fi
expect_status 1 "--save onto a full device fails" "$cli" train --data d.csv --save "$full" --quiet
expect_grep "No space left" "says why"
expect_eq "$(stat -c %F "$full")" "character special file" "the device is still a device"
expect_status 1 "predict --out onto a full device fails" "$cli" predict --model m.model --data d.csv --out "$full"
expect_status 1 "--log onto a full device fails" "$cli" train --data d.csv --epochs 2 --log "$full" --quiet
expect_status 1 "--trace onto a full device fails" "$cli" line --data d.csv --trace "$full"
expect_eq "$(stat -c %F "$full")" "character special file" "still a device"
expect_status 0 "--save onto /dev/null is fine" "$cli" train --data d.csv --save "$null" --quiet
expect_status 0 "--out onto /dev/null is fine" "$cli" predict --model m.model --data d.csv --out "$null"
expect_eq "$(stat -c %F "$null")" "character special file" "/dev/null is still a device"
expect_status 1 "standard output full" sh -c "'$cli' predict --model m.model --data d.csv > '$full'"
expect_grep "No space left" "says why"

# A FIFO is written through; with no reader the write fails, never hangs.
mkfifo pipe
( cat pipe > from_pipe ) &
reader=$!
expect_status 0 "--out into a FIFO" "$cli" predict --model m.model --data d.csv --out pipe
wait $reader
expect_eq "$(head -1 from_pipe)" "y" "the predictions came through the FIFO"
expect_eq "$(stat -c %F pipe)" "fifo" "the FIFO is still a FIFO"
expect_status 1 "a FIFO nobody reads" timeout 20 "$cli" predict --model m.model --data d.csv --out pipe
expect_grep "no process reads" "says so"

# Something that is neither: refused before any work.
mkdir adir
expect_status 2 "--save onto a folder" "$cli" train --data d.csv --save adir
expect_grep "is a directory" "says so"
if [ -e /dev/loop0 ] && [ -b /dev/loop0 ]; then
  expect_status 2 "--save onto a block device" "$cli" train --data d.csv --save /dev/loop0
  expect_grep "block device" "says so"
fi

# An output that is an input: refused, the input intact, however it is named.
expect_status 2 "train --save = --data" "$cli" train --data d.csv --save d.csv
expect_grep "is the --data file" "says which"
expect_status 2 "predict --out = --data" "$cli" predict --model m.model --data d.csv --out d.csv
expect_status 2 "predict --out = --model" "$cli" predict --model m.model --data d.csv --out m.model
expect_status 2 "predict --out = --data by another path" "$cli" predict --model m.model --data d.csv --out ./adir/../d.csv
ln d.csv hard.csv
expect_status 2 "predict --out = a hard link of --data" "$cli" predict --model m.model --data d.csv --out hard.csv
ln -s d.csv soft.csv
expect_status 2 "predict --out = a symbolic link to --data" "$cli" predict --model m.model --data d.csv --out soft.csv
expect_status 2 "train --log = --data" "$cli" train --data d.csv --epochs 1 --log d.csv
expect_status 2 "train --save = --model" "$cli" train --data d.csv --model m.model --epochs 1 --save m.model
expect_status 2 "train --trace = --init" sh -c "printf 'w1 1\n' > i.txt; '$cli' train --data d.csv --init i.txt --trace i.txt"
expect_status 2 "line --plot = --data" "$cli" line --data d.csv --plot d.csv
expect_status 2 "two outputs, one file" "$cli" train --data d.csv --save o.model --log o.model
expect_grep "name the same file" "says so"
expect_status 2 "standard input twice" "$cli" predict --model - --data - < d.csv
expect_status 0 "the data is intact" cmp d.csv d.keep
expect_status 0 "the model is intact" cmp m.model m.keep
no_temp "refusals"

# A run that fails changes nothing: not the model it would have saved, not
# its log or trace.
expect_status 1 "a diverging run" "$cli" train --data d.csv --lr 1e30 --save m.model --log new.log --trace new.csv
expect_status 0 "the diverged run left the old model" cmp m.model m.keep
expect_eq "$(ls new.log new.csv 2>/dev/null | wc -l)" 0 "and wrote no log or trace"
expect_status 1 "a run whose --test file is bad" sh -c "printf 'a,b,y\n1,x,3\n' > badtest.csv; '$cli' train --data d.csv --test badtest.csv --save m.model"
expect_status 0 "left the old model too" cmp m.model m.keep
expect_status 1 "a line fit that diverges" "$cli" line --data d.csv --lr 1e30 --trace lt.csv --plot lt.svg
expect_eq "$(ls lt.csv lt.svg 2>/dev/null | wc -l)" 0 "writes no trace or plot"
no_temp "failed runs"

# Symbolic links: the file they name is written; the link stays a link.
ln -s m.model current.model
expect_status 0 "--save through a link" "$cli" train --data d.csv --layers 2:tanh --save current.model --quiet
expect_eq "$(readlink current.model)" "m.model" "the link is still a link"
expect_status 0 "the target has the new model" "$cli" info --model m.model
expect_grep "2:tanh" "(its network)"
ln -s v3.model next.model
expect_status 0 "--save through a dangling link" "$cli" train --data d.csv --save next.model --quiet
expect_eq "$(readlink next.model)" "v3.model" "the dangling link still points there"
expect_status 0 "and its target now exists" test -f v3.model
mkdir sub && ln -s ../m.keep sub/rel.model && cp m.keep m2.keep
expect_status 0 "a relative link in another folder" "$cli" train --data d.csv --save sub/rel.model --quiet
expect_eq "$(readlink sub/rel.model)" "../m.keep" "is followed from its own folder"
cp m2.keep m.keep

# A replaced file keeps its permissions.
cp m.keep perm.model && chmod 640 perm.model
"$cli" train --data d.csv --save perm.model --quiet > /dev/null 2>&1
expect_eq "$(stat -c %a perm.model)" "640" "a replaced model keeps its mode"

# Two writers of one file at once: both succeed, the file is one of theirs
# whole, and no temporary file is left. The writers' ids are kept as they
# start: `jobs -p` forgets a job that ended before the next one started
# (bash drops finished jobs from its table then; on a fast build the first
# predict had ended and the count came out 7).
pids=()
for i in 1 2 3 4; do
  "$cli" predict --model m.model --data d.csv --out same.csv > /dev/null 2> "err.p$i" &
  pids+=($!)
done
for i in 1 2 3 4; do
  "$cli" train --data d.csv --epochs 3 --batch 2 --log same.jsonl --quiet > /dev/null 2> "err.t$i" &
  pids+=($!)
done
ok=0
for pid in "${pids[@]}"; do wait "$pid" && ok=$((ok + 1)); done
[ "$ok" = 8 ] && rm -f err.p? err.t?
cat err.p? err.t? 2> /dev/null
expect_eq "$ok" 8 "eight concurrent writers all succeed"
expect_eq "$(wc -l < same.csv)" 5 "the predictions are whole"
expect_eq "$(wc -l < same.jsonl)" 3 "the log is whole"
no_temp "concurrent writers"

# "-" is standard output for predict, and refused where the report goes.
expect_eq "$("$cli" predict --model m.model --data d.csv --out - | wc -l)" 5 "predict --out - prints"
expect_status 2 "train --save -" "$cli" train --data d.csv --save -
expect_grep "standard output" "says why"
expect_status 0 "predict --out /dev/stdout appends where the shell points it" \
  sh -c "echo first > app.csv; '$cli' predict --model m.model --data d.csv --out /dev/stdout >> app.csv"
expect_eq "$(wc -l < app.csv)" 6 "after what was there"

# Ctrl-C while reading the data (before training): nothing is written.
(printf 'a,b,y\n1,2,3\n'; sleep 30) | "$cli" train --data - --save big.model --log big.log --quiet > /dev/null 2>&1 &
pid=$!
sleep 0.5
kill -INT $pid
wait $pid
expect_eq "$?" 130 "interrupted while reading: ends as SIGINT does"
expect_eq "$(ls big.* 2>/dev/null | wc -l)" 0 "and writes nothing"
no_temp "an interrupted load"
finish
