#!/usr/bin/env bash
# The seed, runnable: the worked numbers of descent line, demo and explain,
# their traces, JSON, plots, and the demos' equivalent train commands.
set -u
cli=$1
. "$(dirname "$0")/lib_cli.sh"
cd "$tmp"
printf 'weight,height\n0.5,1.4\n2.3,1.9\n2.9,3.2\n' > seed.csv

# near A B TOL NAME
near() {
  if python3 -c "import sys; sys.exit(0 if abs(float('$1')-float('$2')) <= float('$3') else 1)"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); echo "FAIL: $4: $1 is not within $3 of $2"
  fi
}
# csv FILE ROW COLUMN: one cell of a CSV file (row 0 is the first data row).
csv() { python3 -c "import csv; r=list(csv.DictReader(open('$1'))); print(r[$2]['$3'])"; }

# --- line: the seed's worked check -----------------------------------------
expect_status 0 "line, slope fixed" "$cli" line --data seed.csv --slope 0.64 --lr 0.1 --trace t.csv --json
cp "$tmp/out" line.json
expect_eq "$(head -1 t.csv)" "iter,intercept,slope,d_intercept,d_slope,step_intercept,step_slope,ssr" "line trace header"
near "$(csv t.csv 0 d_intercept)" -5.704 0.0005 "first derivative"
near "$(csv t.csv 0 step_intercept)" -0.5704 0.00005 "first step"
near "$(csv t.csv 1 intercept)" 0.5704 0.00005 "intercept after one step"
near "$(csv t.csv 0 ssr)" 3.1559 0.0005 "first SSR"
expect_eq "$(json line.json 'j["stop"]')" "step_size" "stops on step size"
near "$(json line.json 'j["intercept"]')" 0.95 0.005 "stops near 0.95"
expect_eq "$(json line.json 'j["slope"]')" "0.64" "slope stays fixed"
expect_eq "$(( $(wc -l < t.csv) - 1 ))" "$(json line.json 'j["iterations"]')" "one trace row per iteration"
near "$(json line.json 'j["ls_intercept"]')" 0.950667 0.0005 "least squares with the slope fixed"
for k in intercept slope iterations stop ssr ls_intercept ls_slope seconds; do
  expect_eq "$(json line.json "'$k' in j")" "True" "line json has $k"
done

# Both fitted with the seed's defaults: the step-size rule stops early, and says so.
expect_status 0 "line, both" "$cli" line --data seed.csv
expect_grep "step-size rule stopped the run early" "warning on an early stop"
expect_grep "least squares intercept 0.948718, slope 0.641026" "closed form beside it"
expect_status 0 "line, both, json" "$cli" line --data seed.csv --json
cp "$tmp/out" both.json
near "$(json both.json 'j["intercept"]')" 0.86 0.01 "early stop intercept"
near "$(json both.json 'j["slope"]')" 0.68 0.01 "early stop slope"
# Columns by name; a tighter tolerance reaches least squares, without a warning.
expect_status 0 "line, tight" "$cli" line --data seed.csv --x weight --y height --tol 1e-7 --max-iter 100000
expect_no_grep "warning" "no warning when converged"
expect_grep "predicted = 0.9487" "converges to least squares"

# rprop and lbfgs choose their own steps.
expect_status 0 "line, lbfgs" "$cli" line --data seed.csv --optimizer lbfgs --json
cp "$tmp/out" lb.json
near "$(json lb.json 'j["intercept"]')" 0.948718 0.001 "lbfgs reaches least squares"
expect_status 0 "line, rprop" "$cli" line --data seed.csv --optimizer rprop --tol 1e-6 --json

# Stochastic gradient descent is reproducible from its seed.
"$cli" line --data seed.csv --batch 1 --seed 5 --lr 0.05 --json > s1.json
"$cli" line --data seed.csv --batch 1 --seed 5 --lr 0.05 --json > s2.json
"$cli" line --data seed.csv --batch 1 --seed 6 --lr 0.05 --json > s3.json
expect_eq "$(json s1.json 'j["intercept"], j["slope"], j["iterations"]')" "$(json s2.json 'j["intercept"], j["slope"], j["iterations"]')" "SGD same seed, same result"
if [ "$(json s1.json 'j["intercept"]')" != "$(json s3.json 'j["intercept"]')" ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: SGD seed changes the path"; fi

# --- demo ---------------------------------------------------------------
expect_status 0 "demo softplus-b3" "$cli" demo softplus-b3 --dir files --trace b3.csv --json
cp "$tmp/out" b3.json
expect_eq "$(head -1 b3.csv)" "iter,w1,w2,b1,b2,w3,w4,b3,d_w1,d_w2,d_b1,d_b2,d_w3,d_w4,d_b3,loss" "demo trace header"
near "$(csv b3.csv 0 loss)" 20.4 0.05 "SSR at b3 = 0 is 20.4"
near "$(csv b3.csv 0 d_b3)" -15.7 0.05 "dSSR/db3 at b3 = 0 is -15.7"
near "$(json b3.json 'j["params"]["b3"]')" 2.61 0.01 "b3 converges near 2.61"
expect_eq "$(json b3.json 'j["params"]["w1"]')" "3.34" "only b3 trained"
expect_eq "$(( $(wc -l < b3.csv) - 1 ))" "$(json b3.json 'j["iterations"]')" "demo trace rows"
for k in loss iterations stop params outputs; do
  expect_eq "$(json b3.json "'$k' in j")" "True" "demo json has $k"
done

# Each demo prints the equivalent train command, and that command gives the same result.
for demo in softplus-b3 softplus relu; do
  "$cli" demo "$demo" --dir files > d.txt 2>&1
  cmd=$(sed -n 's/^same as *//p' d.txt)
  expect_eq "$(echo "$cmd" | cut -c1-14)" "descent train " "$demo prints a train command"
  "$cli" demo "$demo" --dir files --json > d.json
  eval "\"$cli\" ${cmd#descent } --json" > t.json 2>&1
  expect_eq "$(json d.json 'j["params"], j["loss"], j["iterations"], j["stop"]')" \
            "$(json t.json 'j["params"], j["loss"], j["iterations"], j["stop"]')" "$demo equals its train command"
done

# softplus: all seven parameters until the SSR is below 0.001.
"$cli" demo softplus --json > sp.json
expect_eq "$(json sp.json 'j["stop"]')" "loss" "softplus demo reaches SSR < 0.001"
expect_eq "$(json sp.json 'j["loss"] < 0.001')" "True" "softplus demo loss"

# relu: the seed's weights give about 0, 1.01, 0.
"$cli" demo relu --json > relu.json
near "$(json relu.json 'j["outputs"][0]')" 0 0.001 "relu output at 0"
near "$(json relu.json 'j["outputs"][1]')" 1.01 0.001 "relu output at 0.5"
near "$(json relu.json 'j["outputs"][2]')" 0 0.001 "relu output at 1"
expect_eq "$(json relu.json 'j["iterations"]')" "0" "relu demo does not train unless asked"
# At dosage 0.5 the first hidden unit's input is exactly 0: the setting changes dSSR/dw1.
"$cli" demo relu --max-iter 1 --trace r0.csv --relu-grad-at-zero 0 --json > /dev/null
"$cli" demo relu --max-iter 1 --trace r1.csv --relu-grad-at-zero 1 --json > /dev/null
near "$(csv r0.csv 0 d_w1)" 0 1e-6 "relu'(0) = 0 gives dSSR/dw1 = 0"
near "$(csv r1.csv 0 d_w1)" -0.408 0.001 "relu'(0) = 1 gives dSSR/dw1 = -0.408"
# lr 0.1 kills the units within three steps.
"$cli" demo relu --max-iter 3 --lr 0.1 --json > dead.json
expect_eq "$(json dead.json 'max(abs(v) for v in j["outputs"]) == 0')" "True" "lr 0.1 kills the relu units"

# --- explain: the chain rule's totals equal backpropagation's --------------
for demo in softplus-b3 softplus relu; do
  expect_status 0 "explain $demo" "$cli" explain --demo "$demo" --json
  cp "$tmp/out" e.json
  expect_eq "$(json e.json 'max(abs(p["total"] - p["backprop"]) for p in j["params"].values()) < 1e-4')" "True" "explain $demo totals"
done
expect_status 0 "explain b3 text" "$cli" explain --demo softplus-b3
expect_grep "dSSR/db3 = -5.207 - 5.218 - 5.23 = -15.655" "the seed's b3 chain"
expect_status 0 "explain relu w1, rule 1" "$cli" explain --demo relu --param w1 --relu-grad-at-zero 1 --json
cp "$tmp/out" ew.json
near "$(json ew.json 'j["params"]["w1"]["total"]')" -0.408 0.001 "explain agrees with the trace"
printf 'x,y\n5,1.3\n' > p.csv
expect_status 0 "explain line" "$cli" explain --line --data p.csv --slope 0.64
expect_grep "3.8 + 2 x intercept" "the seed's derivative"
expect_status 0 "explain a train network" "$cli" explain --data files/dosage.csv --target efficacy --layers 2:softplus --init files/softplus.init --loss ssr --param w3
expect_grep "backpropagation gives" "explain on a CSV network"

# explain on a saved model: the chain for its own parameters.
"$cli" train --data files/dosage.csv --target efficacy --layers 2:softplus --init files/softplus-b3.init \
  --only b3 --lr 0.1 --loss ssr --save dose.model --quiet > /dev/null 2>&1
expect_status 0 "explain a saved model" "$cli" explain --model dose.model --data files/dosage.csv --json
cp "$tmp/out" em.json
expect_eq "$(json em.json 'j["loss"]')" "ssr" "explain uses the model's training loss"
expect_eq "$(json em.json 'max(abs(p["total"] - p["backprop"]) for p in j["params"].values()) < 1e-4')" "True" "explain --model totals"

# --- plots ------------------------------------------------------------------
expect_status 0 "line plot, slope fixed" "$cli" line --data seed.csv --slope 0.64 --lr 0.1 --plot one.svg
expect_status 0 "line plot, both" "$cli" line --data seed.csv --plot both.svg
expect_status 0 "demo plots" "$cli" demo softplus-b3 --plot-dir plots --dir files
# The seed's words on the axes: the columns' names, not x and y.
expect_status 0 "line plot axes" grep -q '>weight</text>' one.svg
expect_status 0 "line plot formula" grep -q 'fitted: height = ' one.svg
expect_status 0 "demo plot axes" grep -q '>dosage</text>' plots/units.svg
expect_status 0 "demo plot target" grep -q '>efficacy</text>' plots/fit.svg
expect_status 0 "the drawing of the network" grep -q '× w3 = -1.22' plots/network.svg
# The seed's ReLU weights are shown, not trained: no loss.svg of one dot.
expect_status 0 "relu demo plots" "$cli" demo relu --plot-dir rplots --dir files
expect_status 1 "relu: no loss.svg" test -e rplots/loss.svg
expect_status 0 "relu: nothing trained" grep -q 'Nothing was trained' rplots/loss_vs_b3.svg
for f in one.svg both.svg plots/loss_vs_b3.svg plots/fit.svg plots/units.svg plots/loss.svg plots/network.svg; do
  expect_status 0 "$f exists" test -s "$f"
  if command -v xmllint > /dev/null; then expect_status 0 "$f is well-formed XML" xmllint --noout "$f"; fi
done

# --- bad input ------------------------------------------------------------------
expect_status 1 "missing file" "$cli" line --data nope.csv
expect_grep "nope.csv" "names the file"
printf 'x,y\n1,2\n3,abc\n' > bad.csv
expect_status 1 "non-numeric" "$cli" line --data bad.csv --x x --y y
expect_status 1 "non-numeric y" "$cli" train --data bad.csv --target x --features y
expect_grep "bad.csv:3:2" "file:line:column"
expect_status 2 "unknown demo" "$cli" demo nope
expect_status 2 "no demo" "$cli" demo
expect_status 2 "line without data" "$cli" line
expect_status 2 "bad relu rule" "$cli" demo relu --relu-grad-at-zero 2
expect_status 1 "diverging line" "$cli" line --data seed.csv --lr 5
expect_grep "diverged" "divergence is reported"
expect_status 1 "bad init file" "$cli" train --data files/dosage.csv --layers 2:softplus --init seed.csv
expect_grep "seed.csv:1" "init error names the line"
expect_status 2 "unknown parameter in --only" "$cli" demo softplus --only w9
expect_grep "w9" "names the parameter"
finish
