#!/usr/bin/python3
"""Compares a freshly generated reference file with the committed one.

Everything that defines a case (data, networks, hyper-parameters, starting
parameters) must be identical: the generator is deterministic. PyTorch's
results may move by rounding between torch builds and CPUs, so the final
parameters are compared by the rule tests/test_torch_ref.c applies to
descent: within 1e-4 where PyTorch's own sensitivity S is at most 1e-5,
within max(1e-4, 10 S) elsewhere.

Usage: compare_reference.py COMMITTED NEW
"""
import sys

TOLERANCE = 1e-4
FLOOR = 1e-2
# Fields PyTorch computes; the rest must match exactly.
COMPUTED = {"final", "sensitivity", "updates", "updates_stable"}


def read(path):
    data, cases, order = [], {}, []
    with open(path) as f:
        lines = [l.rstrip("\n") for l in f if l.strip() and not l.startswith("#")]
    i = 0
    while i < len(lines):
        head = lines[i]
        if head.startswith("data "):
            rows = 0 if " formula " in head else int(head.split()[2])
            data.append(lines[i:i + 1 + rows])
            i += 1 + rows
        elif head.startswith("case "):
            name, fields = head[5:], {}
            i += 1
            while lines[i] != "end":
                key, _, value = lines[i].partition(" ")
                fields[key] = value
                i += 1
            i += 1
            cases[name] = fields
            order.append(name)
        else:
            sys.exit("%s: unexpected line %r" % (path, head))
    return data, cases, order


def difference(a, b):
    a = [float(v) for v in a.split()]
    b = [float(v) for v in b.split()]
    if len(a) != len(b):
        return float("inf")
    return max(abs(x - y) / max(abs(y), FLOOR) for x, y in zip(a, b))


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: compare_reference.py COMMITTED NEW")
    old_data, old, old_order = read(sys.argv[1])
    new_data, new, new_order = read(sys.argv[2])
    bad = []
    if old_data != new_data:
        bad.append("the data sets differ")
    if old_order != new_order:
        bad.append("the cases differ: %s" % sorted(set(old_order) ^ set(new_order)))
    worst = (0.0, "")
    for name in old_order:
        if name not in new:
            continue
        a, b = old[name], new[name]
        for key in sorted(set(a) | set(b)):
            if key not in COMPUTED and a.get(key) != b.get(key):
                bad.append("%s: %s differs" % (name, key))
        s = float(a["sensitivity"])
        bound = TOLERANCE if s <= TOLERANCE / 10 else max(TOLERANCE, 10 * s)
        d = difference(b["final"], a["final"])
        if d > worst[0]:
            worst = (d, name)
        if d > bound:
            bad.append("%s: PyTorch's result moved by %.2e (allowed %.2e)" % (name, d, bound))
        if s <= TOLERANCE / 10 and a["updates_stable"] == "1" and a["updates"] != b["updates"]:
            bad.append("%s: %s updates, were %s" % (name, b["updates"], a["updates"]))
    print("%d cases regenerated; largest move of PyTorch's results %.2e (%s)" %
          (len(new_order), worst[0], worst[1]))
    for line in bad:
        print("DIFFERS: " + line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
