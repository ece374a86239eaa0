#!/usr/bin/env bash
# Optimizer options from the shell: PyTorch's L-BFGS style and history,
# RMSprop's smoothing, and their usage errors.
set -u
cli=$1
. "$(dirname "$0")/lib_cli.sh"
cd "$tmp"
python3 -c "
import math
print('x1,x2,y')
for i in range(40):
    a, b = math.sin(i * 1.3) * 2, math.cos(i * 0.7) * 2
    print('%.4f,%.4f,%.4f' % (a, b, 0.5 * a - b + 0.3 * a * b))" > t.csv
common="--data t.csv --target y --layers 4:tanh --max-iter 20 --tol 0 --json"

expect_status 0 "lbfgs, descent style" "$cli" train $common --optimizer lbfgs
cp "$tmp/out" descent.json
expect_status 0 "lbfgs, torch style" "$cli" train $common --optimizer lbfgs --lbfgs-style torch
cp "$tmp/out" torch.json
expect_eq "$(json torch.json 'j["iterations"]')" "20" "torch style makes its 20 iterations"
expect_eq "$(json torch.json 'j["loss"] < 0.9 * 1.0')" "True" "torch style lowers the loss"
expect_eq "$(json torch.json 'j["params"] != '"$(json descent.json 'j["params"]')")" "True" \
  "the two styles take different steps"
expect_status 0 "lbfgs, torch style, 3 pairs" "$cli" train $common --optimizer lbfgs \
  --lbfgs-style torch --lbfgs-history 3
cp "$tmp/out" torch3.json
expect_eq "$(json torch3.json 'j["params"] != '"$(json torch.json 'j["params"]')")" "True" \
  "--lbfgs-history changes the run"
expect_status 2 "unknown style" "$cli" train $common --optimizer lbfgs --lbfgs-style pytorch
expect_grep "valid: descent, torch" "unknown style names the valid ones"

expect_status 0 "rmsprop" "$cli" train $common --optimizer rmsprop --epochs 5 --batch 8
cp "$tmp/out" r1.json
expect_status 0 "rmsprop, alpha 0.9" "$cli" train $common --optimizer rmsprop --epochs 5 --batch 8 \
  --rms-alpha 0.9
expect_eq "$(json r1.json 'j["params"] != '"$(json "$tmp/out" 'j["params"]')")" "True" \
  "--rms-alpha changes the run"
expect_status 2 "rms-alpha out of range" "$cli" train $common --optimizer rmsprop --rms-alpha 1.5
expect_grep "rms-alpha" "the message names the option"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
