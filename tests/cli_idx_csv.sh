#!/usr/bin/env bash
# IDX and CSV agree: a model trained on IDX images records that it divides
# their bytes by 255, so a CSV of the same images (0..255 pixel columns,
# numeric labels) evaluates and predicts exactly as the IDX files do, bit
# for bit; test files may hold some of the classes; a format-1 model
# (which did not record the divisor) still evaluates IDX data as before.
set -u
cli=$1
. "$(dirname "$0")/lib_cli.sh"
cd "$tmp"

# 600 training and 150 test images of 8 x 8 pixels in 5 classes (a bar at
# a class-dependent place, with noise), as IDX files and as CSV files; a
# test subset with classes 1 and 3 only.
python3 - <<'PY'
import random, struct
random.seed(11)
def image(k):
    px = [max(0, min(255, int(random.gauss(40, 30)))) for _ in range(64)]
    for j in range(8):
        px[8 * (k + 1) + j] = max(0, min(255, int(random.gauss(220, 25))))
        px[8 * j + (6 - k)] = max(px[8 * j + (6 - k)], int(random.gauss(150, 40)) & 255)
    return px
def write(prefix, n, classes):
    labels = [random.choice(classes) for _ in range(n)]
    imgs = [image(k) for k in labels]
    with open(prefix + '-images.idx', 'wb') as f:
        f.write(struct.pack('>IIII', 0x803, n, 8, 8))
        f.write(bytes(p for im in imgs for p in im))
    with open(prefix + '-labels.idx', 'wb') as f:
        f.write(struct.pack('>II', 0x801, n))
        f.write(bytes(labels))
    with open(prefix + '.csv', 'w') as f:
        f.write(','.join('pixel%d' % (j + 1) for j in range(64)) + ',label\n')
        for im, k in zip(imgs, labels):
            f.write(','.join(map(str, im)) + ',%d\n' % k)
write('train', 600, range(5))
write('test', 150, range(5))
write('sub', 40, [1, 3])
PY

for std in "" "--standardize"; do
  name=${std:-plain}
  expect_status 0 "train on IDX ($name)" "$cli" train --idx-images train-images.idx \
    --idx-labels train-labels.idx --layers 16:relu --epochs 15 --batch 32 --optimizer adam \
    --lr 0.01 $std --save idx-$name.model --quiet
  expect_status 0 "info ($name)" "$cli" info --model idx-$name.model --json
  expect_eq "$(json "$tmp/out" 'j["input_divisor"]')" "255" "the model records /255 ($name)"
  for set in test sub; do
    expect_status 0 "eval IDX $set ($name)" "$cli" eval --model idx-$name.model \
      --idx-images $set-images.idx --idx-labels $set-labels.idx --json
    cp "$tmp/out" idx.json
    expect_status 0 "eval CSV $set ($name)" "$cli" eval --model idx-$name.model --data $set.csv --json
    cp "$tmp/out" csv.json
    expect_eq "$(json csv.json 'j["n"], j["loss"], j["accuracy"], j["confusion"]')" \
      "$(json idx.json 'j["n"], j["loss"], j["accuracy"], j["confusion"]')" \
      "IDX and CSV: the same loss, accuracy and confusion, exactly ($set, $name)"
  done
  expect_eq "$(json idx.json 'len(j["confusion"])')" "5" "a subset still lists the 5 classes"
  expect_eq "$(json csv.json 'j["accuracy"] > 0.9')" "True" "it learned ($name)"
done
expect_status 0 "predict the CSV" "$cli" predict --model idx-plain.model --data test.csv --proba \
  --out p.csv
expect_eq "$(head -1 p.csv)" "0,1,2,3,4" "probability columns named after the classes"
# Not saturated: raw 0..255 inputs without the divisor would give
# probabilities of 0 and 1 only.
expect_eq "$(python3 -c "
import csv
r = [list(map(float, x)) for x in list(csv.reader(open('p.csv')))[1:]]
print(sum(1 for row in r for v in row if 1e-6 < v < 1 - 1e-6) > 50)")" "True" \
  "probabilities in the model's range, not saturated"

# Training on the CSV of the same images gives the same model as on IDX
# once the CSV says its pixels are bytes (the model records /255 from the
# IDX reader; from a CSV nothing is divided unless asked).
expect_status 0 "info of a CSV-trained model" "$cli" train --data train.csv --target label \
  --classes --layers 4:relu --epochs 1 --save csv.model --quiet
"$cli" info --model csv.model --json > info.json
expect_eq "$(json info.json 'j["input_divisor"]')" "1" "a CSV model divides by 1"

# A format-1 model trained on IDX (no XFRM chunk: the divisor was not
# recorded) keeps its old meaning: IDX data is divided by 255 as it is read.
python3 - <<'PY'
import struct, zlib
b = open('idx-plain.model', 'rb').read()
out, pos = bytearray(b[:8] + struct.pack('<I', 1)), 12
while True:
    tag, n = b[pos:pos + 4], struct.unpack('<I', b[pos + 4:pos + 8])[0]
    if tag == b'END ':
        break
    if tag != b'XFRM':
        out += b[pos:pos + 8 + n]
    pos += 8 + n
out += b'END ' + struct.pack('<I', 4) + struct.pack('<I', zlib.crc32(bytes(out)) & 0xffffffff)
open('v1.model', 'wb').write(bytes(out))
PY
expect_status 0 "a format-1 model loads" "$cli" info --model v1.model --json
expect_eq "$(json "$tmp/out" 'j["input_divisor"]')" "None" "format 1: no divisor recorded"
expect_status 0 "eval IDX with the format-1 model" "$cli" eval --model v1.model \
  --idx-images test-images.idx --idx-labels test-labels.idx --json
cp "$tmp/out" v1.json
"$cli" eval --model idx-plain.model --idx-images test-images.idx --idx-labels test-labels.idx \
  --json > v2.json
expect_eq "$(json v1.json 'j["loss"], j["confusion"]')" "$(json v2.json 'j["loss"], j["confusion"]')" \
  "format 1 on IDX: as before"

# Fashion-MNIST, when installed: the first 2000 test images as a CSV.
F=/usr/share/datasets/fashion-mnist
if [ -r $F/t10k-images-idx3-ubyte.gz ]; then
  python3 - "$F" <<'PY'
import gzip, struct, sys
F = sys.argv[1]
im = gzip.open(F + '/t10k-images-idx3-ubyte.gz').read()
lb = gzip.open(F + '/t10k-labels-idx1-ubyte.gz').read()
n = 2000
with open('fm-images.idx', 'wb') as f:
    f.write(struct.pack('>IIII', 0x803, n, 28, 28) + im[16:16 + n * 784])
with open('fm-labels.idx', 'wb') as f:
    f.write(struct.pack('>II', 0x801, n) + lb[8:8 + n])
with open('fm.csv', 'w') as f:
    f.write('label,' + ','.join('pixel%d' % (j + 1) for j in range(784)) + '\n')
    for i in range(n):
        f.write('%d,' % lb[8 + i] + ','.join(map(str, im[16 + i * 784:16 + (i + 1) * 784])) + '\n')
PY
  expect_status 0 "train on Fashion-MNIST IDX" "$cli" train --idx-images fm-images.idx \
    --idx-labels fm-labels.idx --layers 32:relu --epochs 2 --batch 64 --optimizer adam --lr 0.001 \
    --save fm.model --quiet
  "$cli" eval --model fm.model --idx-images fm-images.idx --idx-labels fm-labels.idx --json > a.json
  "$cli" eval --model fm.model --data fm.csv --json > b.json
  expect_eq "$(json b.json 'j["loss"], j["confusion"]')" "$(json a.json 'j["loss"], j["confusion"]')" \
    "Fashion-MNIST: the CSV evaluates exactly as the IDX files"
else
  echo "skipped: no Fashion-MNIST in $F"
fi

finish
