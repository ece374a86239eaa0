"""Evaluates an ONNX file exported by descent in double precision (numpy),
node by node from the ONNX operators' definitions, with a bound on how far
any float32 evaluation of the same graph can be from it: the exact
reference against which tests/export_compare.py judges differences
between float32 runtimes (descent, its C export, ONNX Runtime), which sum
in different orders.

The bound follows each value's worst-case float32 error forward, with
u = 2^-24: a rounded operation adds u |value|; a dot product of n terms
adds gamma_n sum |x_i w_i| (gamma_n = n u / (1 - n u)), whatever the order
of its sums, with or without fused multiply-adds; an input error goes
through a layer times |W|; activations pass input errors on times at most
1 (every descent activation's slope is at most 1) and add 4 u |value| for
their library functions; softmax turns errors e_j into at most
2 y_i max_j e_j.

Reads rows of comma-separated inputs on standard input and prints per row
the "output" values, then '|', then their bounds (17 significant digits).
Usage: /usr/bin/python3 reference.py MODEL.onnx"""
import sys

import numpy as np
import onnx
from onnx import numpy_helper

U = 2.0 ** -24


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def gemm(a, n):
    (x, ex), (w, _), (b, _) = a
    if attrs(n).get('transB'):
        w = w.T
    k = x.shape[1]
    gamma = k * U / (1 - k * U)
    v = x @ w + b
    return v, ex @ np.abs(w) + gamma * (np.abs(x) @ np.abs(w)) + U * np.abs(v)


def elementwise(f):
    def op(a, n):
        v = f(a[0][0], attrs(n))
        return v, a[0][1] + 4 * U * np.abs(v)
    return op


def softmax(a, n):
    x, ex = a[0]
    e = np.exp(x - x.max(axis=1, keepdims=True))
    v = e / e.sum(axis=1, keepdims=True)
    return v, 2 * v * ex.max(axis=1, keepdims=True) + (x.shape[1] + 4) * U * v


def const_op(f, scale):
    def op(a, n):
        (x, ex), (c, _) = a
        v = f(x, c)
        return v, ex * scale(c) + U * np.abs(v)
    return op


OPS = {
    'Sub': const_op(lambda x, c: x - c, lambda c: 1.0),
    'Add': const_op(lambda x, c: x + c, lambda c: 1.0),
    'Div': const_op(lambda x, c: x / c, lambda c: 1.0 / np.abs(c)),
    'Mul': const_op(lambda x, c: x * c, lambda c: np.abs(c)),
    'Gemm': gemm,
    'Relu': elementwise(lambda x, at: np.maximum(x, 0.0)),
    'LeakyRelu': elementwise(lambda x, at: np.where(x > 0, x, at.get('alpha', 0.01) * x)),
    'Sigmoid': elementwise(lambda x, at: 1.0 / (1.0 + np.exp(-x))),
    'Tanh': elementwise(lambda x, at: np.tanh(x)),
    'Softplus': elementwise(lambda x, at: np.logaddexp(0.0, x)),
    'Softmax': softmax,
}

m = onnx.load(sys.argv[1])
rows = [l.split(',') for l in sys.stdin.read().split('\n') if l.strip()]
# The inputs as the runtimes see them: float32, exact in double from there.
x = np.array(rows, dtype=np.float32).astype(np.float64)
values = {'input': (x, np.zeros_like(x))}
for t in m.graph.initializer:
    if t.data_type == onnx.TensorProto.FLOAT:
        c = numpy_helper.to_array(t).astype(np.float64)
        values[t.name] = (c, np.zeros_like(c))
for node in m.graph.node:
    if node.op_type not in OPS:  # the label's nodes: not numbers to compare
        continue
    values[node.output[0]] = OPS[node.op_type]([values[i] for i in node.input], node)
v, e = values['output']
for row, err in zip(v, e):
    print(','.join('%.17g' % a for a in row) + '|' + ','.join('%.17g' % a for a in err))
