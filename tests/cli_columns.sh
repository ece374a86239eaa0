#!/usr/bin/env bash
# Columns by name and by position: names are names (a column named 2 is
# not the second column; #2 is), names with commas work through training,
# eval and predict, the columns used must be named apart, and a NUL byte
# never cuts a name or a label short.
set -u
cli=$1
. "$(dirname "$0")/lib_cli.sh"
cd "$tmp"

# Columns named 2 and 1, in that order; y depends on them differently.
python3 - <<'PY'
import random
random.seed(7)
rows = [(random.uniform(-1, 1), random.uniform(-1, 1)) for _ in range(60)]
with open('num.csv', 'w') as f:
    f.write('2,1,y\n')
    for a, b in rows: f.write('%.4f,%.4f,%.4f\n' % (a, b, 3 * a - b))
# The same rows, the columns swapped in the file: the names still say which is which.
with open('swapped.csv', 'w') as f:
    f.write('1,2\n')
    for a, b in rows: f.write('%.4f,%.4f\n' % (b, a))
with open('plain.csv', 'w') as f:
    f.write('2,1\n')
    for a, b in rows: f.write('%.4f,%.4f\n' % (a, b))
PY
expect_status 0 "train on columns named 2 and 1" "$cli" train --data num.csv --target y --lr 0.1 \
  --save num.model --quiet
"$cli" predict --model num.model --data plain.csv > p1.csv
"$cli" predict --model num.model --data swapped.csv > p2.csv
expect_status 0 "predict matches columns named 1 and 2 by name, not position" cmp p1.csv p2.csv
expect_status 0 "eval too" "$cli" eval --model num.model --data num.csv --json
expect_status 0 "--features 1 is the column named 1" "$cli" train --data num.csv --target y \
  --features 1 --max-iter 1 --save f1.model --quiet
expect_status 0 "info" "$cli" info --model f1.model --json
expect_eq "$(json "$tmp/out" 'j["inputs"]')" "1" "one input"
"$cli" info --model f1.model > info.txt
expect_grep "" "(info printed)"
expect_eq "$(grep -c '^inputs       1$' info.txt)" 1 "it is the column named 1"
expect_status 1 "a number that names no column" "$cli" train --data num.csv --target 3
expect_grep "target column '3' not found" "says it is a name"
expect_grep "write #3" "and how to say the third column"
expect_status 0 "#3 is the third column" "$cli" train --data num.csv --target '#3' --max-iter 1 --quiet
expect_status 1 "#4 is out of range" "$cli" train --data num.csv --target '#4'
expect_grep "#1 to #3" "says the range"
expect_status 1 "#0" "$cli" train --data num.csv --target '#0'
expect_status 1 "#x" "$cli" train --data num.csv --target '#x'
expect_grep "is not a column number" "says so"
expect_status 0 "line: --x and --y by position (the defaults)" "$cli" line --data num.csv --max-iter 2
expect_status 0 "line: --x by name" "$cli" line --data num.csv --x 1 --y y --max-iter 2

# Duplicate or empty names among the columns used: refused at training, so
# a model never holds names it could not read back.
printf 'x,x,y\n1,2,3\n2,3,5\n4,1,5\n' > dup.csv
expect_status 1 "duplicate feature names" "$cli" train --data dup.csv --target y
expect_grep "dup.csv:1:2: columns 1 and 2 are both named 'x'" "names both columns"
expect_status 1 "even with one of them left out: the model would read 'x' by name" "$cli" train \
  --data dup.csv --target y --ignore '#2'
expect_grep "rename one" "says what to do"
printf 'u,u,x,y\n1,2,3,4\n2,2,3,5\n' > dupok.csv
expect_status 0 "unused columns may share a name" "$cli" train --data dupok.csv --target y \
  --ignore '#1,#2' --max-iter 1 --save dupok.model --quiet
printf 'x,,y\n1,2,3\n2,3,5\n' > noname.csv
expect_status 1 "an unnamed feature" "$cli" train --data noname.csv --target y
expect_grep "column 2 has no name" "says which"
printf 'x,y,y\n1,2,3\n2,3,5\n' > dupt.csv
expect_status 1 "a target named like a feature" "$cli" train --data dupt.csv --target '#3'
expect_status 1 "two targets with one name" "$cli" train --data dupt.csv --target '#2,#3' --features x

# Names with commas (and quotes, and a leading #) are written in quotes.
python3 - <<'PY'
import csv, random
random.seed(8)
with open('comma.csv', 'w', newline='') as f:
    w = csv.writer(f)
    w.writerow(['a,b', '#c', 'say "hi"', 'y,z'])
    for i in range(40):
        a, c, d = random.random(), random.random(), random.random()
        w.writerow(['%.3f' % a, '%.3f' % c, '%.3f' % d, '%.3f' % (a + c - d)])
with open('comma_cls.csv', 'w', newline='') as f:
    w = csv.writer(f)
    w.writerow(['a,b', 'kind, exactly'])
    for i in range(40):
        w.writerow(['%.3f' % (i / 40), 'small, really' if i < 20 else 'large'])
PY
expect_status 0 "a target named y,z" "$cli" train --data comma.csv --target '"y,z"' --lr 0.1 \
  --save comma.model --quiet
expect_status 0 "info --json" "$cli" info --model comma.model --json
expect_eq "$(json "$tmp/out" 'j["target"]')" "y,z" "the target is one name"
expect_status 0 "eval finds the target by its name" "$cli" eval --model comma.model --data comma.csv --json
expect_eq "$(json "$tmp/out" 'j["n"]')" "40" "every row"
"$cli" predict --model comma.model --data comma.csv > cp.csv
expect_eq "$(head -1 cp.csv)" '"y,z"' "predictions are headed by the target, quoted as CSV"
expect_status 0 "features named with a comma, a # and quotes" "$cli" train --data comma.csv \
  --target '"y,z"' --features '"a,b","#c","say ""hi"""' --max-iter 3 --save cf.model --quiet
expect_status 0 "predict reads them back" "$cli" predict --model cf.model --data comma.csv
expect_status 1 "a quote not closed" "$cli" train --data comma.csv --target '"y,z'
expect_grep "not closed" "says so"
expect_status 0 "a class-label target with a comma" "$cli" train --data comma_cls.csv \
  --target '"kind, exactly"' --epochs 5 --batch 8 --save cls.model --quiet
expect_status 0 "eval" "$cli" eval --model cls.model --data comma_cls.csv --json
expect_eq "$(json "$tmp/out" 'sorted(j["per_class"])')" "['large', 'small, really']" "the labels as written"
"$cli" predict --model cls.model --data comma_cls.csv > clp.csv
expect_eq "$(python3 -c "import csv; r=list(csv.reader(open('clp.csv'))); print(r[1][0])")" \
  "small, really" "predict quotes a label with a comma"

# Two targets, one with a comma: the model keeps them as a column list.
python3 - <<'PY'
with open('two.csv', 'w') as f:
    f.write('x,"p,q",r\n')
    for i in range(30): f.write('%d,%d,%d\n' % (i, 2 * i, 3 * i))
PY
expect_status 0 "two targets" "$cli" train --data two.csv --target '"p,q",r' --max-iter 3 \
  --save two.model --quiet
"$cli" predict --model two.model --data two.csv > tp.csv
expect_eq "$(head -1 tp.csv)" '"p,q",r' "predictions are headed by both names"
expect_status 0 "eval two targets" "$cli" eval --model two.model --data two.csv

# A NUL byte in a name or a label is refused, not cut short.
printf 'x,c\0t\n1,a\n2,b\n' > nulname.csv
expect_status 1 "a NUL in a header name" "$cli" train --data nulname.csv --target '#2'
expect_grep "nulname.csv:1:2: a NUL byte in the name" "says where"
printf 'x,y\n1,c\0t\n2,c\n3,dog\n' > nullabel.csv
expect_status 1 "a NUL in a label" "$cli" train --data nullabel.csv --target y
expect_grep "nullabel.csv:2:2: a NUL byte in a class label" "says where"
finish
