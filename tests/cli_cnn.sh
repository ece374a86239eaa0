#!/usr/bin/env bash
# Convolutional networks from the command line: the gradient check of every
# new layer, --layers and --input-shape on CSV and IDX data, save / info /
# eval / predict, checkpoints and --resume, usage errors; and PyTorch as the
# judge of the layers' loss and gradients (skipped without python3-torch).
set -u
cli=$1
src=${2:-$(dirname "$0")/..}
. "$(dirname "$0")/lib_cli.sh"
cd "$tmp"

# Gradient checks: odd sizes, stride 2, padding, windows that do not divide.
expect_status 0 "gradcheck 2-D" "$cli" gradcheck --input-shape 2x9x8 \
  --layers "conv3@3x3s2p1:tanh,maxpool2,conv4@2x2p1:softplus,avgpool2s1,5:relu" \
  --output softmax --loss ce --outputs 3 --batch 3 --json
expect_grep '"ok": true' "gradcheck 2-D json"
expect_status 0 "gradcheck 1-D" "$cli" gradcheck --input-shape 2x13 \
  --layers "conv3@4s2p1:sigmoid,maxpool3,conv2@1,avgpool1,flatten,4:tanh" --outputs 2 --batch 2
expect_status 0 "gradcheck relu conv" "$cli" gradcheck --input-shape 1x7x7 \
  --layers "conv2@3x3:relu,maxpool2,3:relu" --outputs 2 --batch 2 --seed 3
expect_status 2 "gradcheck shape and inputs" "$cli" gradcheck --input-shape 1x7x7 --inputs 49
expect_status 2 "gradcheck bad shape" "$cli" gradcheck --input-shape 1x7x
expect_grep "expected CxHxW" "bad shape message"

# A CSV of 6x6 images (36 columns, row-major) with a class label.
python3 - <<'PY'
import random
random.seed(5)
with open("img.csv", "w") as f:
    f.write(",".join(f"p{i}" for i in range(36)) + ",label\n")
    for r in range(60):
        cls = r % 3
        px = [random.random() * 0.4 + (0.6 if (i % 6) // 2 == cls else 0) for i in range(36)]
        f.write(",".join(f"{v:.4f}" for v in px) + ",c" + str(cls) + "\n")
PY
layers="conv4@3x3p1:relu,maxpool2,conv4@2x2:relu,8:tanh"
expect_status 0 "train a CNN on a CSV" "$cli" train --data img.csv --input-shape 1x6x6 \
  --layers "$layers" --optimizer adam --lr 0.01 --epochs 15 --batch 10 --save c.model --json --quiet
expect_status 0 "info" "$cli" info --model c.model --json
expect_grep '"spec": "1x6x6 -> conv4@3x3p1:relu -> maxpool2 -> conv4@2x2:relu -> 8:tanh -> 3:softmax"' "canonical spec"
expect_status 0 "info" "$cli" info --model c.model
expect_grep "conv4@3x3p1:relu" "info shows the layers"
expect_status 0 "eval" "$cli" eval --model c.model --data img.csv --json
acc=$(sed -n 's/.*"accuracy": \([0-9.]*\).*/\1/p' "$tmp/out")
expect_eq "$(awk -v a="$acc" 'BEGIN { print (a >= 0.9) ? "yes" : "no" }')" yes "the CNN learns the stripes (accuracy $acc)"
expect_status 0 "predict" "$cli" predict --model c.model --data img.csv
expect_eq "$(grep -c '^c[012]' "$tmp/out")" 60 "predict writes a class per row"

# explain: the chain rule for one filter weight, a sum over positions.
head -4 img.csv > img3.csv
expect_status 0 "explain a filter weight" "$cli" explain --model c.model --data img3.csv --input-shape 1x6x6 --param w5,b1
expect_grep "w5 is the weight at channel 1, row 2, column 2 of filter 1 in layer 1" "explain names the place"
expect_grep "positions in all" "explain sums over positions"
expect_grep "backpropagation gives" "explain checks against backpropagation"
expect_status 0 "explain json" "$cli" explain --model c.model --data img3.csv --input-shape 1x6x6 --param w5 --json
expect_eq "$(json "$tmp/out" 'j["max_diff"] < 1e-5')" True "explain total = backpropagation"
expect_status 2 "explain needs names" "$cli" explain --model c.model --data img3.csv --input-shape 1x6x6
expect_grep "name the parameters" "explain without --param"

# The first layer's filters and the feature maps of row 1.
expect_status 0 "plot-dir" "$cli" train --data img.csv --input-shape 1x6x6 --layers "$layers" \
  --epochs 2 --batch 10 --plot-dir pics --quiet
expect_eq "$(grep -c '<rect' pics/filters.svg)" $((1 + 4 * 9 + 36 + 4 * 36)) "filters.svg: filters, input, maps"
if command -v xmllint > /dev/null; then
  expect_status 0 "filters.svg is XML" xmllint --noout pics/filters.svg
fi

# Checkpoints: a run resumed after epoch 2 ends with the model of a run
# never stopped.
expect_status 0 "with checkpoints" "$cli" train --data img.csv --input-shape 1x6x6 --layers "$layers" \
  --optimizer adam --lr 0.01 --epochs 4 --batch 10 --save full.model --checkpoint-every 2 --quiet
expect_status 0 "to epoch 2" "$cli" train --data img.csv --input-shape 1x6x6 --layers "$layers" \
  --optimizer adam --lr 0.01 --epochs 2 --batch 10 --save half.model --checkpoint-every 2 --quiet
expect_status 0 "resume" "$cli" train --data img.csv --input-shape 1x6x6 --layers "$layers" \
  --optimizer adam --lr 0.01 --epochs 4 --batch 10 --save resumed.model --resume half.model.ckpt --quiet
"$cli" predict --model full.model --data img.csv > pa.txt
"$cli" predict --model resumed.model --data img.csv > pb.txt
expect_eq "$(cmp -s pa.txt pb.txt && echo same)" same "resumed predictions = uninterrupted"

# IDX images bring their own 1xHxW.
python3 - <<'PY'
import struct, random
random.seed(2)
n, h, w = 12, 5, 4
open("i.idx", "wb").write(struct.pack(">IIII", 0x803, n, h, w) + bytes(random.randrange(256) for _ in range(n * h * w)))
open("l.idx", "wb").write(struct.pack(">II", 0x801, n) + bytes(i % 2 for i in range(n)))
PY
expect_status 0 "IDX CNN" "$cli" train --idx-images i.idx --idx-labels l.idx --layers "conv2@2x2:relu,maxpool2" --epochs 1 --save i.model --quiet
expect_status 0 "IDX CNN info" "$cli" info --model i.model --json
expect_grep '"spec": "1x5x4 -> conv2@2x2:relu -> maxpool2 -> 2:softmax"' "IDX shape"
expect_status 0 "IDX MLP stays flat" "$cli" train --idx-images i.idx --idx-labels l.idx --layers "4:relu" --epochs 1 --save m.model --quiet
expect_status 0 "IDX MLP info" "$cli" info --model m.model --json
expect_grep '"spec": "20 -> 4:relu -> 2:softmax"' "an MLP on images is the same model as before"

# Usage errors: a shape that does not match the columns, a layer that needs
# a shape, a malformed layer (with its column).
expect_status 2 "shape vs columns" "$cli" train --data img.csv --input-shape 1x5x5 --layers "$layers"
expect_grep "holds 25 values, but the data has 36 input columns" "shape message"
expect_status 2 "conv without a shape" "$cli" train --data img.csv --layers "conv4@3x3:relu"
expect_grep "needs an image (CxHxW) or a signal (CxL)" "no shape message"
expect_status 2 "malformed conv" "$cli" train --data img.csv --input-shape 1x6x6 --layers "conv4@3x3z"
expect_grep "column" "malformed layer message has a column"
expect_status 2 "bad input shape" "$cli" train --data img.csv --input-shape 6by6 --layers "$layers"

# PyTorch judges the loss and gradient of a few steps of each network.
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  python3 - <<'PY'
import random
random.seed(9)
with open("sig.csv", "w") as f:
    f.write(",".join(f"s{i}" for i in range(22)) + ",y1,y2\n")
    for r in range(5):
        f.write(",".join(f"{random.gauss(0, 1):.4f}" for _ in range(24)) + "\n")
PY
  judge() { # NAME LOSS DATA DESCENT-ARGS...
    local name=$1 loss=$2 data=$3
    shift 3
    expect_status 0 "$name: train" "$cli" train --data "$data" "$@" --loss "$loss" --max-iter 3 \
      --lr 0.05 --trace "$name.trace" --save "$name.model" --quiet
    "$cli" info --model "$name.model" --json > "$name.json"
    local spec
    spec=$(sed -n 's/.*"spec": "\([^"]*\)".*/\1/p' "$name.json")
    expect_status 0 "$name: PyTorch agrees" /usr/bin/python3 "$src/tests/judge_torch_cnn.py" "$spec" "$data" "$name.trace" "$loss"
  }
  judge conv2d ce img.csv --input-shape 1x6x6 --layers "conv3@3x3s2p1:tanh,maxpool2s1,conv2@2x2p1:relu,avgpool2,5:sigmoid"
  judge conv2d-odd ce img.csv --input-shape 1x6x6 --layers "conv5@4x3:softplus,conv3@3x3p1:tanh,maxpool2,flatten,4:leaky_relu"
  # training graphs fuse this first layer and its pool (conv_pool) and swap ReLU and pool
  judge conv2d-fused ce img.csv --input-shape 1x6x6 --layers "conv4@3x3:relu,maxpool2,conv3@2x2:relu,6:tanh"
  judge conv1d mse sig.csv --target y1,y2 --input-shape 2x11 --layers "conv3@3s2p1:tanh,maxpool2,conv2@2p1:identity,avgpool2s1,3:tanh"
else
  echo "skipped: PyTorch judge (/usr/bin/python3 cannot import torch; apt-get install python3-torch)"
fi

finish
