#!/usr/bin/env bash
# descent lesson: the page's engine answers with the command line's own
# numbers (the rows of `descent line --trace` and `descent demo --trace`,
# the explainer's text), refuses bad requests with a message, reports a
# bad data file as the command line does, and writes a whole page or
# nothing. The browser half is lesson_page.sh.
set -u
cli=$1
. "$(dirname "$0")/lib_cli.sh"
cd "$tmp"
printf 'weight,height\n0.5,1.4\n2.3,1.9\n2.9,3.2\n' > seed.csv
line_req() { echo "line data=$1 fit=$2 slope=0.64 icpt0=0 slope0=1 lr=$3 tol=0.001 max_iter=1000 batch=$4 seed=42 opt=gd"; }
net_req() { echo "net demo=$1 data=dosage init=demo only=demo lr=0.1 opt=gd tol=0.001 max_iter=1000 loss_tol=$2 relu0=$3 seed=42"; }
# rows FILE.json COLUMNS...: the answer's rows as CSV, columns chosen by name
rows() {
  python3 - "$@" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
idx = [j["cols"].index(c) for c in sys.argv[2:]]
for r in j["rows"][:-1]:  # the last row is the final state, not an update
    print(",".join(r[i] for i in idx))
PY
}

# --- the line: the rows are `descent line --trace`'s, text for text ---------
expect_status 0 "line, intercept" "$cli" lesson --answer "$(line_req seed intercept 0.1 0)"
cp "$tmp/out" a.json
"$cli" line --data seed.csv --slope 0.64 --lr 0.1 --trace t.csv > /dev/null
expect_eq "$(rows a.json intercept slope d_intercept d_slope step_intercept step_slope ssr)" \
  "$(tail -n +2 t.csv | cut -d, -f2-)" "intercept run = descent line --trace"
expect_eq "$(json a.json 'j["stop"], j["iterations"], len(j["rows"])')" "step_size 8 9" "stops as the CLI does"
"$cli" line --data seed.csv --slope 0.64 --json > ls.json
expect_eq "$(json a.json 'len(j["curve"]["ssr"])')" "121" "the SSR curve"
# The best intercept for the slope the model holds (0.64 as a float).
expect_eq "$(python3 -c "import json; a=json.load(open('a.json')); c=json.load(open('ls.json')); print(abs(float(a['ls']['intercept']) - c['ls_intercept']) < 1e-6)")" \
  "True" "the least-squares intercept is the CLI's"
# The final state has the derivative at the end (the trace has no row for it).
expect_eq "$(json a.json 'j["rows"][-1][0], j["rows"][-1][2] != "0"')" "0.9500437 True" "the final state and its derivative"

expect_status 0 "line, both" "$cli" lesson --answer "$(line_req seed both 0.01 0)"
cp "$tmp/out" b.json
"$cli" line --data seed.csv --trace tb.csv > /dev/null
expect_eq "$(rows b.json intercept slope d_intercept d_slope step_intercept step_slope ssr)" \
  "$(tail -n +2 tb.csv | cut -d, -f2-)" "both parameters = descent line --trace"
expect_eq "$(json b.json 'j["grid"]["n"] ** 2 == len(j["grid"]["ssr"])')" "True" "the contour grid"

# Stochastic: the same seed, the same batches as `descent line --batch`.
expect_status 0 "line, sgd" "$cli" lesson --answer "$(line_req seed both 0.02 1)"
cp "$tmp/out" s.json
"$cli" line --data seed.csv --lr 0.02 --batch 1 --seed 42 --trace ts.csv > /dev/null
expect_eq "$(rows s.json intercept slope d_intercept d_slope ssr)" \
  "$(tail -n +2 ts.csv | cut -d, -f2,3,4,5,8)" "SGD run = descent line --batch 1 --trace"
expect_eq "$(json s.json 'len(j["batches"]) == len(j["rows"]) - 1 and all(len(b) == 1 and 0 <= b[0] < 3 for b in j["batches"])')" \
  "True" "one row per step, a row of the data"
expect_eq "$(json s.json 'len(set(b[0] for b in j["batches"]))')" "3" "every point gets drawn"
# The text of the chain rule at a step is the explainer's, over the batch.
expect_status 0 "line, sgd at 0" "$cli" lesson --answer "$(line_req seed both 0.02 1) at=0"
cp "$tmp/out" s0.json
row0=$(json s.json 'j["batches"][0][0]')
sed -n "1p;$((row0 + 2))p" seed.csv > batch0.csv
"$cli" explain --line --data batch0.csv > e0.txt
expect_eq "$(json s0.json 'j["over"]')" "batch" "the step's formula is over its batch"
expect_eq "$(json s0.json 'j["explain"].rstrip()')" "$(cat e0.txt)" "the first step's text = descent explain --line on its batch"
expect_status 0 "line, sgd at 5" "$cli" lesson --answer "$(line_req seed both 0.02 1) at=5"
cp "$tmp/out" s5.json
expect_eq "$(python3 -c "import json; a=json.load(open('s5.json')); r=json.load(open('s.json'))
b=float(a['explain'].split(chr(10))[2].split(' ')[3]); print(abs(b - float(r['rows'][5][0])) < 1e-6)")" \
  "True" "step 5's text is at step 5's intercept"

# --- the network: the rows are `descent demo --trace`'s -----------------------
for demo in softplus-b3 softplus; do
  tol=0; [ $demo = softplus ] && tol=0.001
  expect_status 0 "net $demo" "$cli" lesson --answer "$(net_req $demo $tol 0)"
  cp "$tmp/out" n.json
  "$cli" demo $demo --dir files --trace tn.csv > /dev/null
  expect_eq "$(rows n.json $(head -1 tn.csv | cut -d, -f2- | tr , ' '))" "$(tail -n +2 tn.csv | cut -d, -f2-)" \
    "net $demo = descent demo $demo --trace"
done
expect_status 0 "net at a step" "$cli" lesson --answer "$(net_req softplus 0.001 0) at=0"
cp "$tmp/out" n0.json
"$cli" explain --demo softplus --param w1 > w1.txt
expect_eq "$(json n0.json '[b["text"] for b in j["explain"]["blocks"] if b["param"] == "w1"][0]')" \
  "$(sed -n '/^dSSR\/dw1 =/,/^$/p' w1.txt | sed '/^$/d')" "the chain for w1 is descent explain's"
expect_eq "$(json n0.json 'len(j["curves"]["act"]), len(j["curves"]["final"])')" "2 61" "the units' curves"
# The loss against one parameter (slice=, where the page drags a start): at
# step 5, b3's slice is the run's own curve (sweep), and w1's is the loss the
# engine evaluates from those seven values with w1 moved (max_iter=0).
expect_status 0 "net slice b3" "$cli" lesson --answer "$(net_req softplus 0.001 0) at=5 slice=b3"
cp "$tmp/out" sl5.json
expect_eq "$(json sl5.json 'j["slice"] == j["sweep"] and j["slice"]["param"] == "b3"')" "True" "slice=b3 = the run's curve against b3"
expect_status 0 "net slice w1" "$cli" lesson --answer "$(net_req softplus 0.001 0) at=0 slice=w1"
cp "$tmp/out" slw1.json
for i in 7 40 70; do
  v=$(json slw1.json "repr(j['slice']['values'][$i])")
  expect_status 0 "net from w1=$v" "$cli" lesson --answer "$(net_req softplus 0.001 0 | sed "s/init=demo/init=$v,0,-1.13,0,0.36,0.63,0/; s/max_iter=1000/max_iter=0/")"
  cp "$tmp/out" slv.json
  expect_eq "$(python3 -c "import json; s=json.load(open('slw1.json'))['slice']; r=json.load(open('slv.json'))
print(abs(s['ssr'][$i] - float(r['rows'][0][-1])) <= 1e-5 * max(1, abs(s['ssr'][$i])))")" "True" \
    "slice=w1 at w1=$v is the loss of the run from there"
done
expect_status 1 "slice without at" "$cli" lesson --answer "$(net_req softplus 0.001 0) slice=w1"
expect_grep "slice= goes with at=" "slice needs at"
expect_status 1 "slice of no parameter" "$cli" lesson --answer "$(net_req softplus 0.001 0) at=0 slice=w9"
expect_grep "slice=w9: no parameter of that name" "a bad slice is named"
expect_status 1 "slice of a line" "$cli" lesson --answer "$(line_req seed both 0.1 0) at=0 slice=w1"
expect_grep "slice= is for net runs" "lines have no slice"
# ReLU at 0: the rule changes dSSR/dw1 (0 by default, -0.408 with 1).
expect_status 0 "relu rule 1" "$cli" lesson --answer "$(net_req relu 0 1 | sed 's/only=demo/only=all/; s/lr=0.1/lr=0.01/')"
cp "$tmp/out" r1.json
expect_eq "$(json r1.json 'abs(float(j["rows"][0][j["cols"].index("d_w1")]) + 0.408) < 1e-3')" "True" "relu'(0) = 1: dSSR/dw1 = -0.408"
expect_status 0 "relu rule 0" "$cli" lesson --answer "$(net_req relu 0 0 | sed 's/only=demo/only=all/; s/lr=0.1/lr=0.01/')"
cp "$tmp/out" r0.json
expect_eq "$(json r0.json 'j["rows"][0][j["cols"].index("d_w1")]')" "0" "relu'(0) = 0: dSSR/dw1"
expect_status 0 "demos" "$cli" lesson --answer demos
expect_grep '"name": "softplus-b3"' "the demos"

# --- bad requests and bad data ---------------------------------------------------
expect_status 1 "unknown kind" "$cli" lesson --answer "nonsense a=1"
expect_grep "no request 'nonsense'" "unknown kind says so"
expect_status 1 "missing key" "$cli" lesson --answer "line data=seed"
expect_grep "needs fit=" "a missing key is named"
expect_status 1 "extra key" "$cli" lesson --answer "$(line_req seed both 0.1 0) colour=red"
expect_grep "has no key colour" "an unknown key is named"
expect_status 1 "bad number" "$cli" lesson --answer "$(line_req seed both x 0)"
expect_grep "lr=x is not a number" "a bad number is named"
expect_status 1 "at beyond the run" "$cli" lesson --answer "$(line_req seed intercept 0.1 0) at=99"
expect_grep "the run has 9 states" "at= beyond the run"
expect_status 1 "too many iterations" "$cli" lesson --answer "$(line_req seed both 0.1 0 | sed 's/max_iter=1000/max_iter=99999/')"
printf 'weight,height\n0.5,1.4\nabc,1.9\n' > bad.csv
expect_status 1 "bad data" "$cli" lesson --answer "$(line_req bad.csv both 0.1 0)"
grep '^{' "$tmp/out" > bad.out
"$cli" line --data bad.csv 2> cli.err
expect_eq "$(json bad.out 'j["error"]')" "$(cat cli.err)" "a bad file: the command line's message"
expect_grep "bad.csv:3:1:" "line and column"
printf 'dose,effect\n0,0\n1,1\n' > two.csv
printf 'a,b,c\n0,0,1\n1,1,0\n' > three.csv
expect_status 1 "net: two inputs" "$cli" lesson --answer "$(net_req softplus 0 0 | sed 's/data=dosage/data=three.csv/')"
expect_grep "one input" "the network takes one input column"
expect_status 0 "net: own file" "$cli" lesson --answer "$(net_req softplus 0 0 | sed 's/data=dosage/data=two.csv/')"
expect_grep '"xname": "dose"' "the file's column names"
printf 'x,y\n' > x.csv; for i in $(seq 1 201); do echo "$i,$i" >> x.csv; done
expect_status 1 "too many rows" "$cli" lesson --answer "$(line_req x.csv both 0.1 0)"
expect_grep "at most 200" "the page's limit is named"
# A diverging run is an answer, not an error: the page shows it.
expect_status 0 "diverges" "$cli" lesson --answer "$(line_req seed intercept 1.5 0)"
cp "$tmp/out" div.json
expect_eq "$(json div.json 'j["stop"], j["diverged"]')" "diverged True" "the run diverged"

# --- the page -----------------------------------------------------------------------
expect_status 0 "lesson --out" "$cli" lesson --out page
expect_grep "open it in a browser: file://" "says how to open it"
expect_eq "$(grep -c '<script[^>]*src=' page/index.html)" "0" "no outside script"
expect_status 0 "lesson --recorded" "$cli" lesson --out rec --recorded
# Every request of recorded.txt is in the page (brace words expanded).
python3 - "$2/lesson/recorded.txt" rec/index.html > missing.txt <<'PY'
import itertools, json, re, sys
s = open(sys.argv[2]).read()
i = s.index('id="recorded">') + len('id="recorded">')
have = json.loads(s[i:s.index('</script>', i)])
for line in open(sys.argv[1]):
    line = line.strip()
    if not line or line.startswith('#'):
        continue
    words = line.split(' ')[1:]
    opts = [[w] if '{' not in w else [w[:w.index('{')] + v for v in w[w.index('{') + 1:-1].split(',')] for w in words]
    for combo in itertools.product(*opts):
        req = ' '.join(combo)
        if req not in have:
            print(req)
        elif 'error' in have[req]:
            print('error:', req)
PY
expect_eq "$(cat missing.txt)" "" "the recorded page holds every request of recorded.txt"
touch afile
expect_status 2 "out is a file" "$cli" lesson --out afile
expect_grep "not a folder" "--out names a file"
expect_status 2 "no --out" "$cli" lesson
expect_status 2 "both" "$cli" lesson --out x --answer demos
# Nothing half-written: a page that cannot be written leaves no file.
mkdir ro && chmod 555 ro
if [ "$(id -u)" != 0 ]; then
  expect_status 1 "read-only dir" "$cli" lesson --out ro
  expect_eq "$(ls ro)" "" "nothing left in a read-only dir"
fi
finish
