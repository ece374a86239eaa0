"""Compares the outputs of an exported model (tests/cli_export.sh) with
another run of the same rows, and exits 1 with the first differences.

usage: export_compare.py MODE A B [--info INFO.json] [--tol T] [--exact FILE]
  MODE  bits: the same float32 values; rel: |a - b| <= T max(|a|, |b|);
        abs: |a - b| <= T max(1, |a|, |b|) (absolute up to 1, relative
        beyond); all modes also compare classes/labels.
  --exact  the same rows evaluated in double with a bound on any float32
        evaluation's error (tests/onnx/reference.py): a difference beyond
        the tolerance still passes when A and B are both within the bound
        of the exact value: two float32 evaluations of an ill-conditioned
        sum in different orders, neither of them wrong.
  A, B  KIND:FILE with KIND one of
        c        the test driver's output: v1,...,vK[,class index] per row
        predict  descent predict's CSV (a header; values, or label,probability)
        ort      tests/onnx/run.js's: v1,...,vK[,"label"] per row, then #meta
  --info  descent info --json of the model (its classes)
Prints the largest absolute and relative differences seen."""
import argparse
import csv
import io
import json
import struct
import sys


def f32(x):
    return struct.unpack('f', struct.pack('f', float(x)))[0]


def load(spec, classes):
    """Rows as (values or None, label or None, probability or None)."""
    kind, path = spec.split(':', 1)
    with open(path, newline='') as f:
        text = f.read()
    lines = [l for l in text.split('\n') if l and not l.startswith('#meta')]
    first = lines[0] if lines else ''
    rows = []
    if kind == 'predict':
        # descent predict: a header, then label,probability or values
        reader = csv.reader(io.StringIO(text, newline=''))
        next(reader, None)
        for r in reader:
            if not r:
                continue
            if first.startswith('label,probability'):
                rows.append((None, r[0], f32(r[1])))
            else:
                rows.append(([f32(v) for v in r], None, None))
        return rows
    for l in lines:
        if kind == 'ort' and '"' in l:  # values, then a JSON label
            cut = l.index('"') - 1
            vals = [f32(v) for v in l[:cut].split(',')]
            rows.append((vals, json.loads(l[cut + 1:]), None))
        elif kind == 'c' and classes is not None:
            parts = l.split(',')
            vals = [f32(v) for v in parts[:-1]]
            rows.append((vals, classes[int(parts[-1])], None))
        else:
            rows.append(([f32(v) for v in l.split(',')], None, None))
    return rows


def descent_text(v):
    """The text descent prints for a double v (dsc_format_float): the
    fewest digits, 6 to 9, that read back as float32(v), or 9."""
    for prec in range(6, 10):
        t = '%.*g' % (prec, v)
        if f32(float(t)) == f32(v):
            break
    return t


def probability(vals, sigmoid):
    """What descent predict prints beside the label, and the output it
    comes from: the best output, or for one sigmoid output the probability
    of the class it picks, computed in double (1 - y for the first class)
    and printed as descent prints a double."""
    if sigmoid:
        y = vals[0]
        return (f32(float(descent_text(y if y >= 0.5 else 1.0 - y))), 0, y < 0.5)
    best = 0
    for j, v in enumerate(vals):
        if v > vals[best]:
            best = j
    return vals[best], best, False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('mode', choices=['bits', 'rel', 'abs'])
    ap.add_argument('a')
    ap.add_argument('b')
    ap.add_argument('--info')
    ap.add_argument('--tol', type=float, default=0.0)
    ap.add_argument('--exact')
    a = ap.parse_args()
    classes = None
    if a.info:
        with open(a.info) as f:
            classes = json.load(f)['classes'] or None
    A, B = load(a.a, classes), load(a.b, classes)
    if len(A) != len(B):
        print('row counts differ: %d and %d' % (len(A), len(B)))
        return 1
    exact = None
    if a.exact:
        exact = [[[float(v) for v in part.split(',')] for part in l.split('|')]
                 for l in open(a.exact).read().split('\n') if l]
    explained = 0
    sigmoid = classes is not None and len(classes) == 2 and A and A[0][0] and len(A[0][0]) == 1
    bad, worst_abs, worst_rel = [], 0.0, 0.0
    for i, (ra, rb) in enumerate(zip(A, B)):
        # (a, b, exact value, its bound) per compared value
        ex = exact[i] if exact is not None else None
        pairs = []
        if ra[0] is not None and rb[0] is not None:
            if len(ra[0]) != len(rb[0]):
                bad.append('row %d: %d and %d values' % (i + 1, len(ra[0]), len(rb[0])))
                continue
            pairs = [(x, y, ex[0][j] if ex else None, ex[1][j] if ex else None)
                     for j, (x, y) in enumerate(zip(ra[0], rb[0]))]
        else:  # one side is descent predict's label,probability
            vals = ra[0] if ra[0] is not None else rb[0]
            prob = rb[2] if ra[0] is not None else ra[2]
            p, j, complement = probability(vals, sigmoid)
            e = (1.0 - ex[0][j] if complement else ex[0][j]) if ex else None
            pair = (p, prob) if ra[0] is not None else (prob, p)
            pairs = [pair + (e, ex[1][j] if ex else None)]
        if ra[1] is not None and rb[1] is not None and ra[1] != rb[1]:
            bad.append('row %d: label %r != %r' % (i + 1, ra[1], rb[1]))
        for x, y, e, bound in pairs:
            d = abs(x - y)
            r = d / max(abs(x), abs(y)) if d else 0.0
            worst_abs, worst_rel = max(worst_abs, d), max(worst_rel, r)
            ok = {'bits': x == y, 'rel': r <= a.tol,
                  'abs': d <= a.tol * max(1.0, abs(x), abs(y))}[a.mode]
            if not ok and e is not None:
                ok = abs(x - e) <= bound and abs(y - e) <= bound
                explained += ok
            if not ok or x != x or y != y:
                bad.append('row %d: %r vs %r (abs %.3g, rel %.3g)' % (i + 1, x, y, d, r))
    print('%d rows, largest difference %.3g absolute, %.3g relative%s' %
          (len(A), worst_abs, worst_rel,
           '; %d beyond the tolerance, both within the float32 bound of the exact value' % explained
           if explained else ''))
    for b in bad[:10]:
        print('  ' + b)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
