#!/usr/bin/env bash
# Every --json object and --log line is valid JSON, whatever bytes the
# names and labels hold (quotes, backslashes, control characters, bytes
# that are not UTF-8) and whatever the numbers are (a diverged run's
# infinite loss is null).
set -u
cli=$1
. "$(dirname "$0")/lib_cli.sh"
cd "$tmp"

# valid_json FILE NAME: each line of FILE (one object per line) parses.
valid_json() {
  if python3 -c "
import json, sys
lines = [l for l in open(sys.argv[1], 'rb').read().split(b'\n') if l.strip()]
assert lines, 'no output'
for l in lines:
    l.decode('ascii')          # the writer escapes everything beyond ASCII
    json.loads(l)
" "$1" 2> json.err; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: $2: not valid JSON:"; sed 's/^/    /' json.err | tail -3; head -c 400 "$1"; echo; fi
}

python3 - <<'PY'
import random
random.seed(3)
names = [b'quote"d', b'back\\slash', b'tab\there', b'bad\xffbyte', b'ctl\x01x', b'gr\xc3\xb6\xc3\x9fe']
labels = [b'c\x02t', b'd\xfeg', b'"quoted"']
with open('weird.csv', 'wb') as f:
    # Quoted fields: names with quotes are written CSV-style.
    f.write(b','.join(b'"' + n.replace(b'"', b'""') + b'"' for n in names) + b',label\n')
    for i in range(60):
        row = [b'%.3f' % random.random() for _ in names]
        lab = labels[i % 3]
        f.write(b','.join(row) + b',"' + lab.replace(b'"', b'""') + b'"\n')
PY
expect_status 0 "train on weird names" "$cli" train --data weird.csv --target label --epochs 3 \
  --batch 8 --layers 4:tanh --val 0.2 --log weird.jsonl --save weird.model --json
grep '^{' "$tmp/out" > train.json
valid_json train.json "train --json"
valid_json weird.jsonl "train --log"
"$cli" info --model weird.model --json > info.json
valid_json info.json "info --json"
expect_eq "$(python3 -c "import json; print(json.load(open('info.json'))['input_names'][0])")" 'quote"d' \
  "info --json keeps a quote in a name"
expect_eq "$(python3 -c "import json; print(json.load(open('info.json'))['input_names'][3] == 'bad\ufffdbyte')")" \
  True "a byte that is not UTF-8 reads as U+FFFD"
expect_eq "$(python3 -c "import json; print(json.load(open('info.json'))['input_names'][5])")" 'größe' \
  "UTF-8 reads back as itself"
"$cli" eval --model weird.model --data weird.csv --json > eval.json
valid_json eval.json "eval --json"
expect_eq "$(python3 -c "import json; print(len(json.load(open('eval.json'))['per_class']))")" 3 \
  "three classes, however their labels are spelled"
head -20 weird.csv > weird20.csv
"$cli" explain --model weird.model --data weird20.csv --json > explain.json
valid_json explain.json "explain --json"

# Numbers JSON has no word for: null.
printf 'x,y\n1,2\n2,4\n3,7\n' > d.csv
"$cli" train --data d.csv --lr 1e30 --json > diverged.json 2> /dev/null
valid_json diverged.json "a diverged run's --json"
expect_eq "$(python3 -c "import json; print(json.load(open('diverged.json'))['loss'])")" None \
  "its infinite loss is null"
"$cli" line --data d.csv --lr 1e30 --json > line.json 2> /dev/null
valid_json line.json "a diverged line's --json"
"$cli" line --data d.csv --json > line2.json
valid_json line2.json "line --json"
"$cli" demo softplus --dir demo --json > demo.json
valid_json demo.json "demo --json"
"$cli" gradcheck --json > gc.json
valid_json gc.json "gradcheck --json"
"$cli" explain --line --data d.csv --json > el.json
valid_json el.json "explain --line --json"
finish
