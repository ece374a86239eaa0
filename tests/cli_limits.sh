#!/usr/bin/env bash
# Inputs that never end or claim too much are refused at once, with a
# message naming the file and the limit: /dev/zero as data, a model or
# initial values; an endless pipe; a record without line ends; an IDX
# header that claims millions of images; a gzip bomb. The limits are
# raised with --max-bytes, --max-line-bytes and --max-rows.
set -u
cli=$1
. "$(dirname "$0")/lib_cli.sh"
cd "$tmp"

printf 'a,b,y\n1,2,3\n4,5,6\n7,8,10\n' > d.csv
"$cli" train --data d.csv --save m.model --quiet > /dev/null 2>&1

# t SECONDS NAME STATUS COMMAND...: the command ends within SECONDS.
t() {
  local secs=$1 name=$2 want=$3
  shift 3
  expect_status "$want" "$name" timeout "$secs" "$@"
}

t 10 "train --data /dev/zero" 1 "$cli" train --data /dev/zero
expect_grep "/dev/zero:1: a record longer than 1 MiB, the limit" "names the limit"
t 10 "predict --data /dev/zero" 1 "$cli" predict --model m.model --data /dev/zero
t 10 "eval --data /dev/zero" 1 "$cli" eval --model m.model --data /dev/zero
t 5 "info --model /dev/zero" 1 "$cli" info --model /dev/zero
expect_grep "not a descent model file" "says so"
t 5 "predict --model /dev/zero" 1 "$cli" predict --model /dev/zero --data d.csv
t 5 "train --init /dev/zero" 1 "$cli" train --data d.csv --init /dev/zero
expect_grep "NUL byte" "says why"
t 10 "train --data /dev/urandom" 1 "$cli" train --data /dev/urandom
t 10 "eval --idx-images /dev/zero" 1 "$cli" eval --model m.model --idx-images /dev/zero --idx-labels /dev/zero

# An endless pipe of good rows stops at the row limit.
t 60 "an endless pipe of rows" 1 sh -c "yes 1,2,3 | '$cli' train --data - --max-rows 200000"
expect_grep "more than 200000 rows, the limit (max_rows" "names the row limit"
t 60 "an endless pipe of text" 1 sh -c "yes 1,2,3 | '$cli' train --data - --max-bytes 1M"
expect_grep "more than 1 MiB of text" "names the byte limit"
# A model file that goes on after its end, from a pipe.
t 10 "a model followed by an endless pipe" 1 sh -c "cat m.model /dev/zero | '$cli' info --model -"
expect_grep "unexpected bytes after the END chunk" "says so"

# Long records: refused past the limit, read when it is raised.
python3 -c "
cols = 3000
print(','.join('c%d' % i for i in range(cols)))
for r in range(3): print(','.join(str((i * r) % 10) for i in range(cols)))" > wide.csv
t 30 "a record longer than --max-line-bytes" 1 "$cli" train --data wide.csv --max-line-bytes 4K
expect_grep "wide.csv:1: a record longer than 4 KiB" "says which line"
t 60 "the same file within the limit" 0 "$cli" train --data wide.csv --max-iter 1 --quiet
t 30 "--max-rows 2 on 3 rows" 1 "$cli" train --data d.csv --max-rows 2
expect_grep "d.csv:4: more than 2 rows" "says where"
t 30 "--max-rows 3 on 3 rows" 0 "$cli" train --data d.csv --max-rows 3 --max-iter 1 --quiet
t 30 "--max-bytes 0 is no limit" 0 "$cli" train --data d.csv --max-bytes 0 --max-iter 1 --quiet
expect_status 2 "a limit that is not a number" "$cli" train --data d.csv --max-bytes lots
expect_status 2 "a negative limit" "$cli" train --data d.csv --max-rows -1
t 10 "a model larger than --max-bytes" 1 "$cli" info --model m.model --max-bytes 100
expect_grep "the limit (max_bytes" "names the limit"

# IDX: a header claiming more than the limits is refused before reading;
# a gzip bomb (a little data, then megabytes of zeros) stops after a MiB of
# what follows the data.
python3 - <<'PY'
import gzip, struct, zlib
lab = struct.pack('>II', 0x801, 3) + bytes([0, 1, 1])
open('l.idx', 'wb').write(lab)
# 12,000,000 images of 28 x 28, in a 1 KB file.
open('claim.idx', 'wb').write(struct.pack('>IIII', 0x803, 12000000, 28, 28) + bytes(1000))
open('claim-labels.idx', 'wb').write(struct.pack('>II', 0x801, 12000000) + bytes(10))
# 1,500,000 images: within the row limit, 1.2 GB of pixels, past the byte limit.
open('claim2.idx', 'wb').write(struct.pack('>IIII', 0x803, 1500000, 28, 28) + bytes(1000))
open('claim2-labels.idx', 'wb').write(struct.pack('>II', 0x801, 1500000) + bytes(10))
# 3 images, then 200 MB of zeros in one gzip stream.
c = zlib.compressobj(9, zlib.DEFLATED, 31)
out = [c.compress(struct.pack('>IIII', 0x803, 3, 2, 2) + bytes(12))]
block = bytes(1 << 20)
for _ in range(200): out.append(c.compress(block))
out.append(c.flush())
open('bomb.idx.gz', 'wb').write(b''.join(out))
PY
t 10 "an IDX header claiming 12M images" 1 "$cli" train --idx-images claim.idx --idx-labels claim-labels.idx
expect_grep "claims 12000000 images, more than 10000000, the limit" "says so"
t 10 "an IDX header claiming 1.2 GB" 1 "$cli" train --idx-images claim2.idx --idx-labels claim2-labels.idx
expect_grep "more than 1 GiB, the limit (max_bytes" "says so"
if ! "$cli" --version | grep -q "zlib: yes"; then
  echo "skipped: a gzip bomb (this build has no zlib)"
  finish
  exit $?
fi
t 20 "a gzip bomb" 1 "$cli" train --idx-images bomb.idx.gz --idx-labels l.idx
expect_grep "trailing garbage: more than 1 MiB" "stops counting"
finish
