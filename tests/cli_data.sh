#!/usr/bin/env bash
# Real data from the shell: train / eval / predict / info, model files,
# checkpoints, and every kind of bad input (message, exit status, nothing
# half-written).
set -u
cli=$1
. "$(dirname "$0")/lib_cli.sh"
cd "$tmp"

# A 150-row, 3-class flower-like table (classes as text), and a 400-row
# regression table with 10 features, both generated from fixed seeds.
python3 - <<'PY'
import random
random.seed(1)
with open('flowers.csv', 'w') as f:
    f.write('sepal_length,sepal_width,petal_length,petal_width,species\n')
    centres = [(5.0, 3.4, 1.5, 0.2), (5.9, 2.8, 4.3, 1.3), (6.6, 3.0, 5.5, 2.0)]
    names = ['setosa', 'versicolor', 'virginica']
    for i in range(150):
        k = i % 3
        f.write(','.join('%.2f' % random.gauss(m, 0.35) for m in centres[k]) + ',' + names[k] + '\n')
random.seed(2)
with open('table.csv', 'w') as f:
    f.write('id,' + ','.join('x%d' % i for i in range(10)) + ',y\n')
    for i in range(400):
        x = [random.gauss(0, 1) for _ in range(10)]
        y = 1.5 * x[0] - 2 * x[1] + 0.5 * x[2] + 0.3 * x[3] * x[4] + random.gauss(0, 0.3) + 3
        f.write('%d,' % i + ','.join('%.4f' % v for v in x) + ',%.4f\n' % y)
PY

# --- classification: train, info, eval, predict -------------------------------
expect_status 0 "train a classifier" "$cli" train --data flowers.csv --target species --layers 16:relu \
  --epochs 60 --batch 16 --optimizer adam --lr 0.01 --val 0.2 --standardize --save flowers.model \
  --log flowers.jsonl --json
cp "$tmp/out" train.json
expect_eq "$(json train.json 'j["accuracy"] > 0.9')" "True" "validation accuracy above 90%"
expect_eq "$(json train.json 'j["epochs"]')" "60" "json epochs"
for k in val_loss accuracy seconds samples_per_second; do
  expect_eq "$(json train.json "'$k' in j")" "True" "train json has $k"
done
expect_eq "$(wc -l < flowers.jsonl)" "60" "one log line per epoch"
expect_eq "$(python3 -c "import json; [json.loads(l) for l in open('flowers.jsonl')]; print('ok')")" "ok" "log lines are JSON"

expect_status 0 "info" "$cli" info --model flowers.model
expect_grep "classes      setosa, versicolor, virginica" "info lists the classes"
expect_grep "4 -> 16:relu -> 3:softmax" "info shows the architecture"
expect_status 0 "eval" "$cli" eval --model flowers.model --data flowers.csv --json
cp "$tmp/out" eval.json
expect_eq "$(json eval.json 'j["n"]')" "150" "eval counts rows"
expect_eq "$(json eval.json 'j["accuracy"] > 0.9')" "True" "eval accuracy"
expect_eq "$(json eval.json 'sum(map(sum, j["confusion"]))')" "150" "confusion matrix sums to n"
expect_eq "$(json eval.json 'sorted(j["per_class"])')" "['setosa', 'versicolor', 'virginica']" "per-class metrics"
expect_status 0 "eval text" "$cli" eval --model flowers.model --data flowers.csv
expect_grep "confusion" "eval prints the confusion matrix"

expect_status 0 "predict" "$cli" predict --model flowers.model --data flowers.csv --out pred.csv
expect_eq "$(head -1 pred.csv)" "label,probability" "predict header"
expect_eq "$(( $(wc -l < pred.csv) - 1 ))" "150" "one prediction per row"
# Columns in another order, an extra id column, no target: the same predictions.
python3 -c "
import csv
r = list(csv.DictReader(open('flowers.csv')))
with open('shuffled.csv', 'w') as f:
    f.write('petal_width,id,sepal_width,petal_length,sepal_length\n')
    for i, row in enumerate(r):
        f.write(','.join([row['petal_width'], str(i), row['sepal_width'], row['petal_length'], row['sepal_length']]) + '\n')
"
expect_status 0 "predict, columns by name" "$cli" predict --model flowers.model --data shuffled.csv --out pred2.csv
expect_status 0 "same predictions" cmp pred.csv pred2.csv
"$cli" predict --model flowers.model --data - < shuffled.csv > pred3.csv
expect_status 0 "predict from standard input" cmp pred.csv pred3.csv

# --- regression with standardisation: predictions in the original units ------
expect_status 0 "train a regression" "$cli" train --data table.csv --target y --ignore id --val 0.2 \
  --standardize --save table.model --test table.csv --json
cp "$tmp/out" reg.json
expect_status 0 "eval regression" "$cli" eval --model table.model --data table.csv --json
cp "$tmp/out" reg_eval.json
expect_eq "$(json reg_eval.json 'j["r2"] > 0.9')" "True" "R2 comparable to linear regression"
expect_eq "$(json reg_eval.json 'abs(j["mse"] - j["mae"]) >= 0 and j["accuracy"] is None')" "True" "regression keys"
"$cli" predict --model table.model --data table.csv > reg_pred.csv
expect_eq "$(head -1 reg_pred.csv)" "y" "regression predictions are named after the target"
expect_eq "$(python3 -c "
import csv
p = [float(r['y']) for r in csv.DictReader(open('reg_pred.csv'))]
y = [float(r['y']) for r in csv.DictReader(open('table.csv'))]
print(abs(sum(p)/len(p) - sum(y)/len(y)) < 0.2)")" "True" "predictions in the targets' units"

# --- fine-tuning and checkpoints ----------------------------------------------
expect_status 0 "fine-tune from a saved model" "$cli" train --data flowers.csv --target species \
  --model flowers.model --epochs 2 --batch 16 --optimizer adam --lr 0.001 --save tuned.model
expect_status 1 "fine-tune needs matching data" "$cli" train --data table.csv --target y --model flowers.model --epochs 1
expect_grep "column .sepal_length. not found" "says which of the model's columns is missing"

common="--data flowers.csv --target species --layers 8:tanh --epochs 6 --batch 16 --optimizer adam --lr 0.01 --val 0.2 --standardize --dropout 0.1 --quiet"
"$cli" train $common --save whole.model > /dev/null
# Stopped after 3 epochs (24 updates) with a checkpoint each epoch, then resumed.
"$cli" train $common --save part.model --checkpoint-every 1 --max-iter 24 > /dev/null
expect_status 0 "checkpoint written" test -s part.model.ckpt
expect_status 0 "resume" "$cli" train $common --save part.model --resume part.model.ckpt
expect_eq "$(params_of part.model)" "$(params_of whole.model)" "resumed run equals the uninterrupted one"
expect_status 0 "a checkpoint is also a model" "$cli" info --model part.model.ckpt
expect_status 1 "a model is not a checkpoint" "$cli" train $common --save x.model --resume whole.model
expect_grep "not a checkpoint" "says so"

# --- Ctrl-C saves the model so far and exits 130 --------------------------------
# The log gets a line when the first epoch ends: then the run is training
# (a fixed delay could meet it still reading on a busy machine, and SIGINT
# there ends it as the signal does: also 130 in $?, but nothing saved).
"$cli" train --data flowers.csv --target species --layers 16:relu --epochs 100000000 --batch 4 \
  --optimizer sgd --lr 0.01 --save sigint.model --log sigint.jsonl --quiet > /dev/null 2>&1 &
pid=$!
for _ in $(seq 1 1200); do
  [ -n "$(find . -name 'sigint.jsonl.tmp.*' -size +0c)" ] && break
  kill -0 $pid 2> /dev/null || break
  sleep 0.1
done
kill -INT $pid
wait $pid
expect_eq "$?" "130" "SIGINT exits 130"
expect_status 0 "the model so far is saved and loads" "$cli" info --model sigint.model

# --- the matrix multiply: CBLAS (when built in) gives the same model within rounding --
if "$cli" --version | grep -q "cblas: yes"; then
  "$cli" train --data table.csv --target y --ignore id --layers 8:tanh --epochs 3 --batch 32 --gemm builtin --threads 1 --json > g1.json
  "$cli" train --data table.csv --target y --ignore id --layers 8:tanh --epochs 3 --batch 32 --gemm cblas --threads 1 --json > g2.json
  expect_eq "$(python3 -c "import json; a=json.load(open('g1.json'))['loss']; b=json.load(open('g2.json'))['loss']; print(abs(a-b) <= 1e-4*abs(a))")" "True" "cblas and built-in agree"
else
  expect_status 2 "--gemm cblas without CBLAS" "$cli" train --data table.csv --target y --gemm cblas
fi

# --- bad input: clear errors, status 1, nothing half-written ---------------------
cp flowers.model keep.model
cp keep.model good.model
bad() { # NAME CONTENT PATTERN: a CSV that must be refused with PATTERN in the message
  printf "$2" > bad.csv
  expect_status 1 "$1" "$cli" train --data bad.csv --save good.model --epochs 1
  expect_grep "$3" "$1: message"
  expect_status 0 "$1: the old model survives" cmp good.model keep.model
}
bad "non-numeric feature" 'a,b,y\n1,2,3\n4,x,6\n' "bad.csv:3:2"
bad "ragged row" 'a,b,y\n1,2,3\n4,5\n' "bad.csv:3"
bad "empty file" '' "bad.csv"
bad "header only" 'a,b,y\n' "bad.csv"
bad "NaN value" 'a,b,y\n1,nan,3\n4,5,6\n' "bad.csv:2:2"
bad "Inf value" 'a,b,y\n1,2,inf\n4,5,6\n' "bad.csv:2:3"
printf 'a,b,y\n1,2,3\n' > ok.csv
expect_status 1 "missing target column" "$cli" train --data ok.csv --target nope
expect_grep "nope" "names the column"
expect_status 1 "missing file" "$cli" train --data missing.csv
expect_grep "missing.csv" "names the file"
expect_status 2 "bad number" "$cli" train --data ok.csv --lr fast
expect_status 2 "bad val" "$cli" train --data ok.csv --val 2
expect_status 2 "bad weight init" "$cli" train --data ok.csv --weight-init nope
expect_grep "xavier_uniform" "lists the schemes"
expect_status 0 "weight init by name" "$cli" train --data ok.csv --layers 3:tanh --weight-init he_normal --max-iter 2 --quiet

# IDX files: wrong magic, truncated gzip, count mismatch.
python3 - <<'PY'
import gzip, struct
imgs = struct.pack('>IIII', 0x803, 3, 2, 2) + bytes(range(12))
open('i.idx', 'wb').write(imgs)
open('l.idx', 'wb').write(struct.pack('>II', 0x801, 3) + bytes([0, 1, 1]))
open('l2.idx', 'wb').write(struct.pack('>II', 0x801, 2) + bytes([0, 1]))
open('bad_magic.idx', 'wb').write(struct.pack('>IIII', 0x804, 3, 2, 2) + bytes(range(12)))
g = gzip.compress(imgs)
open('cut.idx.gz', 'wb').write(g[:len(g) // 2])
PY
expect_status 0 "IDX trains" "$cli" train --idx-images i.idx --idx-labels l.idx --epochs 1 --quiet
# Pixels are kept as bytes: split, standardise, evaluate and train full-batch all read them.
expect_status 0 "IDX with a split and standardisation" "$cli" train --idx-images i.idx --idx-labels l.idx \
  --val 0.34 --standardize --epochs 2 --batch 1 --save idx.model --quiet
expect_status 0 "IDX full batch" "$cli" train --idx-images i.idx --idx-labels l.idx --max-iter 5 --quiet
# Minibatches of bytes never converted whole (UBSan once flagged the loss
# over them: arithmetic on the data set's absent float array).
expect_status 0 "IDX minibatches" "$cli" train --idx-images i.idx --idx-labels l.idx --epochs 2 \
  --batch 2 --quiet
expect_status 0 "IDX eval" "$cli" eval --model idx.model --idx-images i.idx --idx-labels l.idx --json
expect_grep '"n": 3' "IDX eval counts the rows"
expect_status 1 "IDX wrong magic" "$cli" train --idx-images bad_magic.idx --idx-labels l.idx
expect_grep "bad_magic.idx" "names the IDX file"
expect_status 1 "IDX truncated gzip" "$cli" train --idx-images cut.idx.gz --idx-labels l.idx
expect_grep "cut.idx.gz" "names the gzip file"
expect_status 1 "IDX count mismatch" "$cli" train --idx-images i.idx --idx-labels l2.idx
expect_grep "3" "gives the counts"

# Model files: truncated, corrupted, foreign.
head -c 40 flowers.model > cut.model
expect_status 1 "truncated model" "$cli" eval --model cut.model --data flowers.csv
expect_grep "truncated" "says truncated"
python3 -c "b=bytearray(open('flowers.model','rb').read()); b[60]^=1; open('flip.model','wb').write(b)"
expect_status 1 "corrupted model" "$cli" eval --model flip.model --data flowers.csv
expect_grep "checksum" "says corrupted"
expect_status 1 "foreign file" "$cli" info --model flowers.csv
expect_grep "not a descent model" "says foreign"

# --- the locale does not change numbers ---------------------------------------
if locale -a 2>/dev/null | grep -qi '^de_DE\.utf-\?8$'; then
  LC_ALL=de_DE.UTF-8 "$cli" predict --model table.model --data table.csv > reg_pred_de.csv
  expect_status 0 "predictions under a comma locale" cmp reg_pred.csv reg_pred_de.csv
  LC_ALL=de_DE.UTF-8 "$cli" train --data table.csv --target y --ignore id --save de.model --quiet > /dev/null
  "$cli" train --data table.csv --target y --ignore id --save c.model --quiet > /dev/null
  expect_eq "$(params_of de.model)" "$(params_of c.model)" "training under a comma locale"
else
  echo "skipped: no de_DE.UTF-8 locale"
fi
finish
