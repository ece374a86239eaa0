#!/usr/bin/env bash
# descent export, judged from outside: every model is exported to C,
# compiled by gcc and clang as a user would (-std=c99 -Wall -Wextra
# -pedantic -Werror) into a program that reads rows and prints outputs,
# and compared with descent predict; exported to ONNX, checked by the onnx
# package and run by ONNX Runtime; exported with int8 weights and compared
# with what the library reports. Then bad input: nothing half-written.
#
# Models: trained here on real tables from Debian's python3-sklearn (iris,
# wine, breast cancer, Boston houses, Linnerud), the seed's two networks,
# and models tests/export_models.c writes (a sigmoid classifier, every
# activation in four layers, long layers, escaped names). Skips with a
# message what this machine lacks (a compiler, node and onnxruntime-node
# in tests/onnx/node_modules, python3-onnx, the tables, Fashion-MNIST).
set -u
cli=$1
src=$2
. "$(dirname "$0")/lib_cli.sh"
models_tool=${DSC_EXPORT_MODELS:?DSC_EXPORT_MODELS names tests/export_models}
# The helpers need only Python's standard library: Debian's interpreter
# starts fastest (a version manager's shim first on PATH can cost 0.5 s a
# call, and this test makes hundreds).
[ -x /usr/bin/python3 ] && python3() { /usr/bin/python3 "$@"; }
compare="python3 $src/tests/export_compare.py"
cd "$tmp"

CFLAGS_USER="-std=c99 -Wall -Wextra -pedantic -Werror -O2"
compilers=""
for cc in gcc clang; do command -v $cc > /dev/null && compilers="$compilers $cc"; done
[ -n "$compilers" ] || echo "skipping the compiled checks: neither gcc nor clang is installed"
have_onnx=0
if /usr/bin/python3 -c 'import onnx' 2> /dev/null; then have_onnx=1; else
  echo "skipping onnx.checker: /usr/bin/python3 has no onnx (apt install python3-onnx)"; fi
have_ort=0
if command -v node > /dev/null && [ -d "$src/tests/onnx/node_modules/onnxruntime-node" ]; then
  have_ort=1
else
  echo "skipping ONNX Runtime: needs node and (cd tests/onnx && npm install --ignore-scripts)"
fi

# --- the models -----------------------------------------------------------------

sk=/usr/lib/python3/dist-packages/sklearn/datasets/data
python3 - "$sk" <<'PY'
import csv, gzip, os, random, sys
sk = sys.argv[1]
def write(name, header, rows):
    with open(name, 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
def table(fname, features, labels):
    path = os.path.join(sk, fname)
    if not os.path.exists(path):
        return None
    lines = list(csv.reader(open(path)))[1:]
    return [r[:len(features)] + [labels[int(r[len(features)])]] for r in lines if r]
iris = table('iris.csv', ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
             ['setosa', 'versicolor', 'virginica'])
if iris:
    write('iris.csv', ['sepal_length', 'sepal_width', 'petal_length', 'petal_width', 'species'], iris)
wine_cols = ['alcohol', 'malic_acid', 'ash', 'alcalinity_of_ash', 'magnesium', 'total_phenols',
             'flavanoids', 'nonflavanoid_phenols', 'proanthocyanins', 'color_intensity', 'hue',
             'od280/od315', 'proline']
wine = table('wine_data.csv', wine_cols, ['cultivar_1', 'cultivar_2', 'cultivar_3'])
if wine:
    write('wine.csv', wine_cols + ['cultivar'], wine)
bc = table('breast_cancer.csv', ['f%d' % i for i in range(30)], ['malignant', 'benign'])
if bc:
    write('cancer.csv', ['f%d' % i for i in range(30)] + ['diagnosis'], bc)
if os.path.exists(os.path.join(sk, 'boston_house_prices.csv')):
    lines = list(csv.reader(open(os.path.join(sk, 'boston_house_prices.csv'))))
    write('houses.csv', lines[1], [r for r in lines[2:] if r])
if os.path.exists(os.path.join(sk, 'linnerud_exercise.csv')):
    ex = [l.split() for l in open(os.path.join(sk, 'linnerud_exercise.csv')) if l.strip()]
    ph = [l.split() for l in open(os.path.join(sk, 'linnerud_physiological.csv')) if l.strip()]
    write('linnerud.csv', ex[0] + ph[0], [a + b for a, b in zip(ex[1:], ph[1:])])
# The seed's dosage data and final weights (softplus), and its ReLU example.
write('dosage.csv', ['dosage', 'efficacy'], [[0, 0], [0.5, 1], [1, 0], [0.25, 0.4], [0.8, 0.6]])
open('seed_softplus.txt', 'w').write('w1 3.34\nb1 -1.43\nw2 -3.53\nb2 0.57\nw3 -1.22\nw4 -2.30\nb3 2.61\n')
open('seed_relu.txt', 'w').write('w1 1.70\nb1 -0.85\nw2 12.6\nb2 0\nw3 -40.8\nw4 2.70\nb3 -16\n')
PY

trained=""
train() { # NAME DATA TARGET OPTIONS...
  local name=$1 data=$2 target=$3
  shift 3
  if [ ! -f "$data" ]; then echo "skipping $name: $data not made (no python3-sklearn tables)"; return; fi
  expect_status 0 "train $name" "$cli" train --data "$data" --target "$target" --save "$name.model" "$@"
  [ -f "$name.model" ] && trained="$trained $name:$data"
}
train iris iris.csv species --layers 8:relu --epochs 40 --batch 16 --optimizer adam --lr 0.01 --standardize
train wine wine.csv cultivar --layers 16:tanh,8:sigmoid --epochs 40 --batch 16 --optimizer adam \
  --lr 0.01 --standardize
train cancer cancer.csv diagnosis --layers 12:leaky_relu --epochs 20 --batch 32 --optimizer adam --lr 0.001
train houses houses.csv MEDV --layers 16:softplus --epochs 40 --batch 32 --optimizer adam --lr 0.01 \
  --standardize
train linnerud linnerud.csv Weight,Waist,Pulse --layers 4:sigmoid --epochs 50 --batch 4 \
  --optimizer adam --lr 0.01 --standardize
train seed dosage.csv efficacy --layers 2:softplus --output identity --init seed_softplus.txt --max-iter 0
train seed_relu dosage.csv efficacy --layers 2:relu --output relu --init seed_relu.txt --max-iter 0

# Models the command line cannot make, and data for them: random inputs
# (seeded) and random targets, in the columns the models name.
expect_status 0 "export_models writes its models" "$models_tool" .
made="sigmoid_classes all_acts softmax wide two_blocks linear odd_names relu_only conv2d conv_stride conv1d"
for m in $made; do "$cli" info --model $m.model --json > $m.info.json; done
python3 - $made <<'PY'
import csv, json, random, sys
random.seed(3)
odd = ['he said "hi"', 'back\\slash ??/ */ end', 'n' * 5000]
for m in sys.argv[1:]:
    info = json.load(open(m + '.info.json'))
    k = info['inputs']
    header = odd if m == 'odd_names' else ['x%d' % (j + 1) for j in range(k)]
    targets = info['target'].split(',') if not info['classes'] else [info['target']]
    with open(m + '.csv', 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(header + targets)
        for _ in range(60 if k < 1000 else 12):
            row = ['%.6g' % random.gauss(0, 2) for _ in range(k)]
            if info['classes']:
                row.append(random.choice(info['classes']))
            else:
                row += ['%.4g' % random.gauss(0, 30) for _ in targets]
            w.writerow(row)
PY

# The model's inputs of each data row, in the model's order, for the driver.
rows_of() { # DATA.csv INFO.json > rows
  python3 - "$1" "$2" <<'PY'
import csv, json, sys
info = json.load(open(sys.argv[2]))
r = list(csv.reader(open(sys.argv[1], newline='')))
header, body = r[0], r[1:]
names = info.get('input_names') or header[:info['inputs']]
idx = [header.index(n) for n in names]
for row in body:
    print(','.join(row[i] for i in idx))
PY
}

# --- the checks, per model -------------------------------------------------------

check_model() { # NAME DATA.csv
  local name=$1 data=$2 m=$1.model cls="" info=$1.info.json exact=""
  "$cli" info --model "$m" --json > "$info"
  # The model's input columns: the data's, less the target's.
  python3 - "$info" "$data" <<'PY'
import csv, json, sys
info = json.load(open(sys.argv[1]))
header = next(csv.reader(open(sys.argv[2], newline='')))
drop = set((info.get('target') or '').split(','))
info['input_names'] = [h for h in header if h not in drop]
assert len(info['input_names']) == info['inputs'], (info['input_names'], info['inputs'])
json.dump(info, open(sys.argv[1], 'w'))
PY
  rows_of "$data" "$info" > "$name.rows"
  [ "$(json "$info" 'len(j["classes"])')" != 0 ] && cls="-DCLASSIFIER"

  # ONNX: valid for the onnx checker; evaluated in double for a reference.
  expect_status 0 "$name: export to ONNX" "$cli" export --model "$m" --format onnx --out "$name.onnx"
  if [ $have_onnx = 1 ]; then
    expect_status 0 "$name: onnx.checker.check_model(full_check=True)" /usr/bin/python3 \
      "$src/tests/onnx/check.py" "$name.onnx"
    cp "$tmp/out" "$name.onnx.json"
    expect_eq "$(json "$name.onnx.json" 'j["ir_version"] >= 7 and j["opset"][""] >= 13')" "True" \
      "$name: IR >= 7, opset >= 13"
    expect_eq "$(json "$name.onnx.json" 'json.loads(j["metadata"].get("classes", "[]"))')" \
      "$(json "$info" 'j["classes"]')" "$name: class names in the ONNX metadata"
    expect_status 0 "$name: the ONNX graph evaluated in double" sh -c \
      "/usr/bin/python3 $src/tests/onnx/reference.py $name.onnx < $name.rows > $name.exact"
    exact="--exact $name.exact"
  fi

  mkdir -p "c_$name"
  expect_status 0 "$name: export to C" "$cli" export --model "$m" --format c --name "$name" --out "c_$name"
  local first=""
  for cc in $compilers; do
    expect_status 0 "$name: $cc compiles the export with $CFLAGS_USER" $cc $CFLAGS_USER \
      -I"c_$name" -DNAME="$name" "-DHEADER=\"$name.h\"" $cls "$src/tests/export_driver.c" \
      "c_$name/$name.c" -lm -o "run_${name}_$cc"
    expect_status 0 "$name: the $cc program runs" sh -c "./run_${name}_$cc < $name.rows > $name.$cc.out"
    if [ -z "$first" ]; then
      # No mutable global state: nothing in .data or .bss (the name tables
      # are const pointers: .data.rel.ro, read-only once relocated).
      expect_status 0 "$name: $cc compiles the export alone" $cc $CFLAGS_USER -I"c_$name" -c \
        "c_$name/$name.c" -o "$name.o"
      expect_eq "$(size -A "$name.o" | awk '$1 ~ /^\.(data|bss)/ && $1 !~ /^\.data\.rel\.ro/ {s += $2} END {print s + 0}')" \
        "0" "$name: no writable data in the object"
      first=$cc
    else
      expect_status 0 "$name: gcc and clang give the same bits" $compare bits "c:$name.$first.out" \
        "c:$name.$cc.out" --info "$info"
    fi
  done
  # Clang fuses multiply-adds by default where the CPU has them: the
  # export's pragma keeps the bits on such a build too.
  if [ -n "$first" ] && command -v clang > /dev/null && clang -march=native -E -x c /dev/null > /dev/null 2>&1; then
    expect_status 0 "$name: clang -march=native compiles the export" clang $CFLAGS_USER -march=native \
      -I"c_$name" -DNAME="$name" "-DHEADER=\"$name.h\"" $cls "$src/tests/export_driver.c" \
      "c_$name/$name.c" -lm -o "run_${name}_native"
    ./run_${name}_native < $name.rows > $name.native.out
    expect_status 0 "$name: with -march=native, the same bits" $compare bits "c:$name.$first.out" \
      "c:$name.native.out" --info "$info"
  fi
  expect_status 0 "$name: descent predict" "$cli" predict --model "$m" --data "$data" --out "$name.pred"
  if [ -n "$first" ]; then
    # The library's one-row path (a dot product per unit): the same
    # operations in the same order, the same bits, and the same classes.
    expect_status 0 "$name: the library's one-row predictions" sh -c \
      "$models_tool --predict $m < $name.rows > $name.lib1.out"
    if grep -q '"spec": "[^"]*conv' "$info"; then
      # The op table's convolution loop sums in (c, ky, kx) order; the
      # engine runs convolutions through its matrix kernel: rounding apart.
      expect_status 0 "$name: the C export agrees with the library to 1e-6 (convolution)" \
        $compare rel "c:$name.$first.out" "c:$name.lib1.out" --info "$info" --tol 1e-6 $exact
      grep -o '[0-9]* rows, largest.*' "$tmp/out" | sed "s/^/    $name, C vs library: /"
    else
      expect_status 0 "$name: the C export gives the library's one-row bits" \
        $compare bits "c:$name.$first.out" "c:$name.lib1.out" --info "$info"
    fi
    # descent predict multiplies with its blocked kernel (row-invariant:
    # any row, alone or in a batch, the same bits), which sums in another
    # order with fused multiply-adds: rounding differences, judged against
    # the exact values where they pass 1e-6.
    if [ -n "$exact" ]; then
      expect_status 0 "$name: the C export agrees with descent predict to 1e-6" $compare rel \
        "c:$name.$first.out" "predict:$name.pred" --info "$info" --tol 1e-6 $exact
      grep -o '[0-9]* rows, largest.*' "$tmp/out" | sed "s/^/    $name, C vs predict: /"
    fi
  fi
  if [ $have_ort = 1 ] && [ -n "$first" ] && [ -n "$exact" ]; then
    expect_status 0 "$name: ONNX Runtime runs the export" sh -c \
      "node $src/tests/onnx/run.js $name.onnx < $name.rows > $name.ort"
    expect_status 0 "$name: ONNX Runtime agrees with the C export to 1e-5" $compare abs \
      "ort:$name.ort" "c:$name.$first.out" --info "$info" --tol 1e-5 $exact
    grep -o '[0-9]* rows, largest.*' "$tmp/out" | sed "s/^/    $name, ONNX Runtime vs C: /"
    expect_status 0 "$name: ONNX Runtime agrees with descent predict to 1e-5" $compare abs \
      "ort:$name.ort" "predict:$name.pred" --info "$info" --tol 1e-5
  fi

  # int8, with int8 rows and with float rows: the compiled program computes
  # what the library measured.
  local acts
  for acts in int8 float; do
    check_int8 "$name" "$data" "$info" "$cls" $acts
  done
}

check_int8() { # NAME DATA INFO CLS ACTIVATIONS
  local name=$1 data=$2 info=$3 cls=$4 acts=$5 q=$1_q$5
  mkdir -p "q_$name"
  expect_status 0 "$name: export int8 ($acts rows)" "$cli" export --model "$name.model" --format c \
    --name "$q" --out "q_$name" --quantize int8 --activations $acts --data "$data" --json
  cp "$tmp/out" "$q.json"
  expect_eq "$(json "$q.json" 'j["weight_bytes"] * 4 == j["float_weight_bytes"]')" "True" \
    "$name: int8 weights are a quarter of the float ones"
  expect_eq "$(json "$q.json" 'j["float_param_bytes"]')" "$(json "$info" '4 * j["params"]')" \
    "$name: the float bytes reported are 4 per parameter of the model"
  local qfirst=""
  for cc in $compilers; do
    # one compiler is enough for the float-row kernel
    [ $acts = float ] && [ -n "$qfirst" ] && break
    expect_status 0 "$name: $cc compiles the int8 export ($acts rows)" $cc $CFLAGS_USER -I"q_$name" \
      -DNAME="$q" "-DHEADER=\"$q.h\"" $cls "$src/tests/export_driver.c" \
      "q_$name/$q.c" -lm -o "run_${q}_$cc"
    expect_status 0 "$name: the int8 program runs" sh -c "./run_${q}_$cc < $name.rows > $q.$cc.out"
    if [ -z "$qfirst" ]; then qfirst=$cc; else
      expect_status 0 "$name: int8, gcc and clang give the same bits" $compare bits \
        "c:$q.$qfirst.out" "c:$q.$cc.out" --info "$info"
    fi
  done
  if [ -n "$qfirst" ]; then
    python3 - "$q.$qfirst.out" "$data" "$info" "$q.json" > "$q.check" <<'PY'
import csv, json, struct, sys
f32 = lambda v: struct.unpack('f', struct.pack('f', float(v)))[0]
out = [l.split(',') for l in open(sys.argv[1]).read().split('\n') if l]
info, rep = json.load(open(sys.argv[3])), json.load(open(sys.argv[4]))
r = list(csv.reader(open(sys.argv[2], newline='')))
header, body = r[0], r[1:]
classes = info['classes']
# The report's numbers are printed as floats: equal to 1e-7 relative.
if classes:
    t = header.index(info['target'])
    got, want = sum(classes[int(o[-1])] == row[t] for o, row in zip(out, body)) / len(body), rep['accuracy']
else:
    cols = [header.index(c) for c in info['target'].split(',')]
    se = sum((f32(o[j]) - f32(row[c])) ** 2 for o, row in zip(out, body) for j, c in enumerate(cols))
    got, want = se / (len(body) * len(cols)), rep['mse']
print('ok' if abs(got - want) <= 1e-7 * abs(want) else '%r != %r' % (got, want))
PY
    expect_eq "$(cat "$q.check")" "ok" "$name: the compiled int8 program ($acts rows) scores what export --data reported"
  fi
}

for t in $trained; do check_model "${t%%:*}" "${t#*:}"; echo "    [${SECONDS}s] ${t%%:*}"; done
for m in $made; do check_model "$m" "$m.csv"; echo "    [${SECONDS}s] $m"; done

# A ReLU network needs no library at all: freestanding, nothing undefined.
if [ -n "$compilers" ]; then
  cc=${compilers# }
  cc=${cc%% *}
  expect_status 1 "relu_only: no <math.h>" grep -q "math.h" c_relu_only/relu_only.c
  expect_status 0 "relu_only: compiles -ffreestanding" $cc $CFLAGS_USER -ffreestanding -c \
    c_relu_only/relu_only.c -o relu_only.o
  expect_eq "$(nm -u relu_only.o | wc -l)" "0" "relu_only: the object calls nothing outside itself"
fi

# Per layer scales: accepted, and reported.
expect_status 0 "int8 with a scale per layer" "$cli" export --model all_acts.model --format c \
  --name pl --out q_all_acts --quantize int8 --scale layer --data all_acts.csv --json
expect_eq "$(json "$tmp/out" 'j["scale"]')" "layer" "per-layer scale in the JSON"

# --- Fashion-MNIST: the README's network, int8 against float -----------------------
# Trained here for one epoch (the README trains ten; docs/EXPORT.md has the
# figures for that model): the int8 export must lose at most 1 point of
# test accuracy, in a quarter of the weight bytes, and the compiled
# programs must score exactly what the library reports.
# Sanitizer builds (DSC_EXPORT_FM=skip from CMake) leave it out: training
# there takes minutes, and the small models above run the same code.
F=/usr/share/datasets/fashion-mnist
if [ "${DSC_EXPORT_FM:-}" = skip ]; then
  echo "skipping the Fashion-MNIST export in this (sanitizer) build"
elif [ -f $F/train-images-idx3-ubyte.gz ] && "$cli" --version | grep -q "zlib: yes"; then
  expect_status 0 "train the README's Fashion-MNIST network (one epoch)" "$cli" train \
    --idx-images $F/train-images-idx3-ubyte.gz --idx-labels $F/train-labels-idx1-ubyte.gz \
    --layers 256:relu,128:relu --epochs 1 --batch 128 --optimizer adam --lr 0.001 --save fm.model
  expect_status 0 "fm: int8 export measured on the 10,000 test images" "$cli" export --model fm.model \
    --format c --name fmq --out . --quantize int8 --idx-images $F/t10k-images-idx3-ubyte.gz \
    --idx-labels $F/t10k-labels-idx1-ubyte.gz --json
  cp "$tmp/out" fm.q.json
  echo "    fm: $(json fm.q.json '"int8 %.4f, float %.4f, %d of %d weight bytes" % (j["accuracy"], j["float_accuracy"], j["weight_bytes"], j["float_weight_bytes"])')"
  expect_eq "$(json fm.q.json 'j["float_accuracy"] - j["accuracy"] <= 0.01')" "True" "fm: int8 within 1 point of float"
  expect_eq "$(json fm.q.json 'j["weight_bytes"] * 4 == j["float_weight_bytes"]')" "True" "fm: int8 weights a quarter"
  # The first 1000 test images as IDX files, and as rows of their pixel
  # bytes 0..255: the model records that it divides its inputs by 255
  # (XFRM) and the exported program does that division itself.
  python3 - $F <<'PY'
import gzip, struct, sys
F = sys.argv[1]
img = gzip.open(F + '/t10k-images-idx3-ubyte.gz').read()
lab = gzip.open(F + '/t10k-labels-idx1-ubyte.gz').read()
n = 1000
open('t1k-images', 'wb').write(struct.pack('>IIII', 2051, n, 28, 28) + img[16:16 + n * 784])
open('t1k-labels', 'wb').write(struct.pack('>II', 2049, n) + lab[8:8 + n])
table = [str(b) for b in range(256)]
with open('t1k.rows', 'w') as f:
    for i in range(n):
        f.write(','.join(table[p] for p in img[16 + i * 784:16 + (i + 1) * 784]) + '\n')
open('t1k.labels', 'w').write('\n'.join(str(b) for b in lab[8:8 + n]) + '\n')
PY
  for kind in q f; do
    opt=""; [ $kind = q ] && opt="--quantize int8"
    expect_status 0 "fm: export ($kind) measured on 1000 test images" "$cli" export --model fm.model \
      --format c --name fm$kind --out . $opt --idx-images t1k-images --idx-labels t1k-labels --json
    cp "$tmp/out" fm.$kind.1k.json
    for cc in $compilers; do
      expect_status 0 "fm: $cc compiles the $kind export" $cc $CFLAGS_USER -I. -DNAME=fm$kind \
        "-DHEADER=\"fm$kind.h\"" -DCLASSIFIER "$src/tests/export_driver.c" fm$kind.c -lm -o fm_$kind
      expect_status 0 "fm: the $kind program runs" sh -c "./fm_$kind < t1k.rows > fm.$kind.out"
      acc=$(python3 -c "
o = [l.split(',')[-1] for l in open('fm.$kind.out').read().split()]
t = open('t1k.labels').read().split()
print(sum(a == b for a, b in zip(o, t)) / len(t))")
      expect_eq "$(json fm.$kind.1k.json "abs(j['accuracy'] - $acc) <= 1e-7")" "True" \
        "fm: the $cc $kind program scores what the library reported ($acc)"
    done
  done
  echo "    [${SECONDS}s] Fashion-MNIST"
else
  echo "skipping the Fashion-MNIST export: $F not found or no zlib"
fi

# --- bad input: clear errors, exit 1, nothing half-written ------------------------

mkdir -p bad
expect_status 1 "a model that does not exist" "$cli" export --model nope.model --format c --name m --out bad
expect_grep "nope.model" "the message names the model"
printf 'not a model' > junk.model
expect_status 1 "a model that fails to load" "$cli" export --model junk.model --format onnx --out bad/m.onnx
expect_grep "junk.model" "the message names the file"
for n in 9lives has-dash _reserved "" "a b" "$(printf 'x%.0s' $(seq 64))"; do
  expect_status 1 "name '$n' is not a C identifier" "$cli" export --model iris.model --format c --name "$n" --out bad
  expect_grep "not a C identifier" "the message says why ('$n')"
done
expect_eq "$(ls -A bad | wc -l)" "0" "nothing was written by the failures"
expect_status 1 "an output folder that does not exist" "$cli" export --model linear.model --format c --name m --out no/such/dir
expect_grep "no/such/dir" "the message names the folder"
echo x > afile
expect_status 1 "an output folder that is a file" "$cli" export --model linear.model --format c --name m --out afile
expect_status 1 "an ONNX file in a missing folder" "$cli" export --model linear.model --format onnx --out no/such/m.onnx
# A folder where a file should go can never be written: a usage error
# (the command line's rule for every output), checked before any work.
mkdir -p isdir.onnx
expect_status 2 "an ONNX file that is a folder" "$cli" export --model linear.model --format onnx --out isdir.onnx
# When NAME.c cannot be replaced (here a folder holds its name), NAME.h is
# not replaced either and no temporary file is left.
mkdir -p keep keep/k.c
echo "old header" > keep/k.h
expect_status 2 "one of the two files cannot be written" "$cli" export --model linear.model --format c --name k --out keep
expect_eq "$(cat keep/k.h)" "old header" "the other file keeps its old content"
expect_eq "$(ls -A keep | tr '\n' ' ')" "k.c k.h " "no temporary file is left"
if [ "$(id -u)" != 0 ]; then
  mkdir -p ro && chmod 555 ro
  expect_status 1 "a folder without write permission" "$cli" export --model linear.model --format c --name m --out ro
  expect_eq "$(ls -A ro | wc -l)" "0" "nothing in the read-only folder"
  chmod 755 ro
fi
expect_status 2 "an unknown format" "$cli" export --model linear.model --format tflite --out x
expect_status 2 "int8 is for C" "$cli" export --model linear.model --format onnx --quantize int8 --out x.onnx
expect_status 2 "--out is required" "$cli" export --model linear.model --format c

# DSC_KEEP=DIR keeps the work files for a look after a failure.
[ -n "${DSC_KEEP:-}" ] && cp -r "$tmp" "$DSC_KEEP"
finish
