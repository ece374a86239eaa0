#!/usr/bin/env bash
# make demo: the seed, runnable. Fits the seed's line by gradient descent,
# runs its three network examples, writes every picture into one folder and
# says where it is.
set -euo pipefail
cli=$(cd "$(dirname "${1:-build/descent}")" && pwd)/$(basename "${1:-build/descent}")
out=${DEMO_OUT:-demo-out}
mkdir -p "$out"
cd "$out"
printf 'weight,height\n0.5,1.4\n2.3,1.9\n2.9,3.2\n' > seed-line.csv

if [ -t 1 ]; then bold=$(printf '\033[1m'); plain=$(printf '\033[0m'); else bold=; plain=; fi
say() { printf '\n%s== %s%s\n$ %s\n' "$bold" "$1" "$plain" "$2"; }

say "Gradient descent on the intercept (slope fixed at 0.64, learning rate 0.1)" \
    "descent line --data seed-line.csv --slope 0.64 --lr 0.1"
"$cli" line --data seed-line.csv --slope 0.64 --lr 0.1 --trace line-intercept.csv --plot line-intercept.svg

say "The chain rule for one point, as the seed writes it" \
    "descent explain --line --data seed-line.csv --slope 0.64"
"$cli" explain --line --data seed-line.csv --slope 0.64 | tail -4

say "Intercept and slope together (the seed's defaults: lr 0.01, tol 0.001)" \
    "descent line --data seed-line.csv"
"$cli" line --data seed-line.csv --trace line-both.csv --plot line-both.svg

say "The same fit, letting L-BFGS choose the steps" "descent line --data seed-line.csv --optimizer lbfgs"
"$cli" line --data seed-line.csv --optimizer lbfgs

say "Stochastic gradient descent: one random point per step (seeded)" \
    "descent line --data seed-line.csv --batch 1 --lr 0.02 --seed 42 --max-iter 300"
"$cli" line --data seed-line.csv --batch 1 --lr 0.02 --seed 42 --max-iter 300 --trace line-sgd.csv --plot line-sgd.svg

for demo in softplus-b3 softplus relu; do
  say "The seed's network: $demo" "descent demo $demo --plot-dir $demo"
  "$cli" demo "$demo" --dir files --plot-dir "$demo" --trace "$demo.csv"
done

say "The same network with sigmoid units, all seven parameters trained (Adam)" \
    "descent train --data files/dosage.csv --target efficacy --layers 2:sigmoid --loss ssr --optimizer adam --lr 0.1 --plot-dir sigmoid"
"$cli" train --data files/dosage.csv --target efficacy --layers 2:sigmoid --loss ssr \
  --optimizer adam --lr 0.1 --seed 3 --max-iter 2000 --plot-dir sigmoid

say "Backpropagation of b3, written out" "descent explain --demo softplus-b3"
"$cli" explain --demo softplus-b3 | sed -n '/^dSSR\/db3/,$p'

say "Backpropagation checked against numerical gradients" \
    "descent gradcheck --layers 4:softplus,3:relu --output softmax --loss ce --outputs 3"
"$cli" gradcheck --layers 4:softplus,3:relu --output softmax --loss ce --outputs 3

say "The lesson, live: the seed as a web page that runs descent itself" "descent lesson --out ."
"$cli" lesson --out .

printf '\nThe pictures and traces are in %s/:\n' "$(pwd)"
find . -name '*.svg' | sort | sed 's|^\./|  |'
printf '\n%sThe lesson page:%s open file://%s/index.html in a browser (no network, no server).\n' \
  "$bold" "$plain" "$(pwd)"
