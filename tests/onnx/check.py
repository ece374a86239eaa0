"""Checks an ONNX file with the onnx package (Debian's python3-onnx) and
prints what the tests compare: IR version, opset, inputs, outputs, the op
types in order, and the metadata, as one JSON object.
Usage: /usr/bin/python3 check.py MODEL.onnx"""
import json
import sys

import onnx

m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
print(json.dumps({
    "ir_version": m.ir_version,
    "opset": {o.domain: o.version for o in m.opset_import},
    "producer": m.producer_name,
    "inputs": [i.name for i in m.graph.input],
    "outputs": [o.name for o in m.graph.output],
    "ops": [n.op_type for n in m.graph.node],
    "metadata": {p.key: p.value for p in m.metadata_props},
}))
