#!/usr/bin/env bash
# Classes are names on the command line: test files whose labels come in
# another order or hold some of the classes, labels the model never saw,
# numeric labels, and loss/target pairs that cannot work.
set -u
cli=$1
. "$(dirname "$0")/lib_cli.sh"
cd "$tmp"

# A flower-like table in class order (train), the same kind of rows
# shuffled so the test file starts with versicolor, one class alone, a
# label nobody trained on, and the classes as numbers 0/1/2.
python3 - <<'PY'
import random
random.seed(5)
centres = [(5.0, 3.4, 1.5, 0.2), (5.9, 2.8, 4.3, 1.3), (6.6, 3.0, 5.5, 2.0)]
names = ['setosa', 'versicolor', 'virginica']
head = 'sepal_length,sepal_width,petal_length,petal_width,species\n'
def row(k, label):
    return ','.join('%.2f' % random.gauss(m, 0.3) for m in centres[k]) + ',' + label + '\n'
with open('train.csv', 'w') as f:
    f.write(head)
    for i in range(120):
        f.write(row(i * 3 // 120, names[i * 3 // 120]))
rows = [(k, row(k, names[k])) for k in (1, 2, 0) * 10]
random.shuffle(rows)
rows.sort(key=lambda r: r[0] != 1)  # versicolor first
with open('test.csv', 'w') as f:
    f.write(head + ''.join(r for _, r in rows))
with open('truth.txt', 'w') as f:
    f.write(''.join(names[k] + '\n' for k, _ in rows))
with open('one.csv', 'w') as f:
    f.write(head + ''.join(row(1, 'versicolor') for _ in range(10)))
with open('daisy.csv', 'w') as f:
    f.write(head + row(0, 'setosa') + row(1, 'daisy') + row(2, 'virginica'))
with open('numeric.csv', 'w') as f:
    f.write(head.replace('species', 'label'))
    for i in range(120):
        f.write(row(i % 3, str(i % 3)))
with open('numeric_test.csv', 'w') as f:
    f.write(head.replace('species', 'label'))
    for i in range(30):
        f.write(row((i + 2) % 3, '%d.0' % ((i + 2) % 3)))
PY

expect_status 0 "train" "$cli" train --data train.csv --target species --layers 8:relu --epochs 40 \
  --batch 16 --optimizer adam --lr 0.02 --standardize --save iris.model --quiet
expect_eq "$(sed -n 2p test.csv | cut -d, -f5)" "versicolor" "the test file starts with versicolor"

# eval agrees with predict on a file whose classes come in another order.
expect_status 0 "eval, classes in another order" "$cli" eval --model iris.model --data test.csv --json
cp "$tmp/out" eval.json
"$cli" predict --model iris.model --data test.csv | tail -n +2 | cut -d, -f1 > pred.txt
right=$(paste -d' ' pred.txt truth.txt | awk '$1 == $2' | wc -l)
expect_eq "$(json eval.json 'round(j["accuracy"] * 30)')" "$right" "eval's accuracy is predict's"
expect_eq "$(json eval.json 'j["accuracy"] > 0.9')" "True" "and it is high"
expect_eq "$(json eval.json 'list(j["per_class"])')" "['setosa', 'versicolor', 'virginica']" \
  "per-class figures in the model's order"
# The confusion matrix counts each true class in its row, in the model's order.
expect_eq "$(json eval.json '[sum(r) for r in j["confusion"]]')" "[10, 10, 10]" "confusion rows"
expect_status 0 "train --test, same file" "$cli" train --data train.csv --target species \
  --layers 8:relu --epochs 40 --batch 16 --optimizer adam --lr 0.02 --standardize --test test.csv \
  --json --quiet
cp "$tmp/out" train.json
expect_eq "$(json eval.json 'j["accuracy"]')" "$(json train.json 'j["test"]["accuracy"]')" \
  "train --test scores as eval does"

# One class alone: every class of the model is still listed.
expect_status 0 "eval, one class only" "$cli" eval --model iris.model --data one.csv --json
cp "$tmp/out" one.json
expect_eq "$(json one.json '[len(j["confusion"]), j["n"]]')" "[3, 10]" "3 x 3 confusion, 10 rows"
expect_eq "$(json one.json 'sum(j["confusion"][1])')" "10" "all in versicolor's row"
expect_status 0 "eval text, one class" "$cli" eval --model iris.model --data one.csv
expect_grep "setosa" "the text lists every class"

# A label the model does not know.
expect_status 1 "an unknown label" "$cli" eval --model iris.model --data daisy.csv
expect_grep "daisy.csv:3:5: label 'daisy' (column 'species') is not a class of the model" \
  "names the label, file, line, column"
expect_status 1 "an unknown label in train --test" "$cli" train --data train.csv --target species \
  --layers 4:relu --epochs 1 --test daisy.csv --quiet
expect_grep "daisy.csv:3:5: label 'daisy'" "train --test names it too"

# Numbers as class labels.
rm -f num.model
expect_status 1 "softmax on numbers" "$cli" train --data numeric.csv --target label \
  --output softmax --loss ce --epochs 1 --save num.model
expect_grep "softmax output needs class labels" "says why"
expect_grep "\-\-classes" "says how to mark the column"
expect_eq "$(ls num.model 2>/dev/null)" "" "no model written"
expect_status 1 "ce on numbers" "$cli" train --data numeric.csv --target label --loss ce --epochs 1
expect_grep "\-\-classes" "ce: says how to mark the column"
expect_status 1 "bce on 0/1/2" "$cli" train --data numeric.csv --target label --output sigmoid \
  --loss bce --epochs 1 --save num.model
expect_grep "numeric.csv:4:5: bce" "bce: the first target outside [0, 1]"
expect_grep "column 'label' holds 2" "bce: names the column and value"
expect_eq "$(ls num.model 2>/dev/null)" "" "no model written after bce"
expect_status 0 "--classes" "$cli" train --data numeric.csv --target label --classes --layers 8:relu \
  --epochs 40 --batch 16 --optimizer adam --lr 0.02 --standardize --save num.model --quiet
expect_status 0 "info" "$cli" info --model num.model
expect_grep "classes      0, 1, 2" "numeric classes sorted by value"
expect_grep "3:softmax" "a softmax output by default"
expect_status 0 "eval numbers written 1.0" "$cli" eval --model num.model --data numeric_test.csv --json
cp "$tmp/out" num.json
expect_eq "$(json num.json 'j["accuracy"] > 0.9 and len(j["confusion"]) == 3')" "True" \
  "numeric labels matched by value"
"$cli" predict --model num.model --data numeric_test.csv | tail -n +2 | cut -d, -f1 | sort -u > labels.txt
expect_eq "$(tr '\n' ' ' < labels.txt)" "0 1 2 " "predict prints the class names"

# predict --proba: one column per class, named after it; --keep carries ids.
python3 - <<'PY'
import csv
rows = list(csv.reader(open('test.csv')))
with open('ids.csv', 'w', newline='') as f:
    w = csv.writer(f)
    w.writerow(['id'] + rows[0])
    for i, r in enumerate(rows[1:]):
        w.writerow(['row %d, "x"' % i if i == 3 else 'r%d' % i] + r)
PY
expect_status 0 "predict --proba --keep" "$cli" predict --model iris.model --data ids.csv --proba \
  --keep id --out proba.csv
expect_eq "$(head -1 proba.csv)" "id,setosa,versicolor,virginica" "proba header"
"$cli" predict --model iris.model --data ids.csv --keep id,species --out labels.csv
expect_eq "$(head -1 labels.csv)" "id,species,label,probability" "keep two columns"
expect_eq "$(python3 - <<'PY'
import csv
p = list(csv.DictReader(open('proba.csv')))
l = list(csv.DictReader(open('labels.csv')))
ok = len(p) == len(l) == 30 and all(a['id'] == b['id'] for a, b in zip(p, l))
ok = ok and p[3]['id'] == 'row 3, "x"' and p[0]['id'] == 'r0'
names = ['setosa', 'versicolor', 'virginica']
for a, b in zip(p, l):
    v = [float(a[k]) for k in names]
    ok = ok and abs(sum(v) - 1) < 1e-5 and names[v.index(max(v))] == b['label']
    ok = ok and float(b['probability']) == max(v)
print(ok)
PY
)" "True" "probabilities sum to 1, their argmax is the label, ids carried as written"
printf 'x,y\n1,2\n2,3\n3,5\n' > reg.csv
"$cli" train --data reg.csv --save reg.model > /dev/null 2>&1
# eval says the units of each figure.
expect_status 0 "eval text, regression" "$cli" eval --model reg.model --data reg.csv
expect_grep "on target units, as trained" "the loss's units"
expect_grep "MAE .* (target units)" "MAE in the target's units"
"$cli" train --data reg.csv --standardize --save regs.model > /dev/null 2>&1
expect_status 0 "eval --json, standardised targets" "$cli" eval --model regs.model --data reg.csv --json
expect_eq "$(json "$tmp/out" '[j["loss_units"], j["metric_units"]]')" \
  "['standardized targets', 'target units (r2: a fraction)']" "JSON units"
expect_status 0 "eval text, classifier" "$cli" eval --model iris.model --data test.csv
expect_grep "(ce on class probabilities, as trained)" "a classifier's loss"
expect_status 2 "--proba on a regression" "$cli" predict --model reg.model --data reg.csv --proba
expect_grep "not a classifier" "says why"
expect_status 1 "--keep a missing column" "$cli" predict --model iris.model --data test.csv --keep id
expect_grep "keep column 'id' not found" "names the column"

# Readers name the place of a bad value, for every subcommand.
printf 'x,y\n1,2\n2,abc\n3,4\n' > b.csv
expect_status 1 "line: a text in y" "$cli" line --data b.csv --x x --y y
expect_grep "b.csv:3:2: 'abc' is not a number (column 'y')" "line names file, line, column"
expect_status 1 "explain --line: a text in y" "$cli" explain --line --data b.csv --x x --y y
expect_grep "b.csv:3:2: 'abc' is not a number (column 'y')" "explain names it too"
expect_status 1 "eval: a text in y" "$cli" eval --model reg.model --data b.csv
expect_grep "b.csv:3:2: 'abc' is not a number (column 'y')" "eval names file, line, column"
printf 'x,y\n1,2\nq,3\n' > bx.csv
expect_status 1 "predict: a text in x" "$cli" predict --model reg.model --data bx.csv
expect_grep "bx.csv:3:1: 'q' is not a number (column 'x')" "predict names file, line, column"
mkdir -p exp
expect_status 1 "export --data: a text in x" "$cli" export --model reg.model --format c --name r \
  --out exp --data bx.csv
expect_grep "bx.csv:3:1: 'q' is not a number (column 'x')" "export names file, line, column"
printf 'w1 0.5\nb1 abc\n' > init.txt
expect_status 1 "--init: a text value" "$cli" train --data reg.csv --layers '' --init init.txt
expect_grep "init.txt:2:4: expected \`name value\`" "an --init file: line and column"
printf 'w1 0.5\n  zz 1\n' > init2.txt
expect_status 1 "--init: an unknown name" "$cli" train --data reg.csv --layers '' --init init2.txt
expect_grep "init2.txt:2:3: no parameter 'zz'" "the column of the name"

finish
