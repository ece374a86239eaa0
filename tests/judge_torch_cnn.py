"""PyTorch judges descent's convolution, pooling and flatten layers.

  judge_torch_cnn.py SPEC DATA.csv TRACE.csv LOSS

SPEC is descent's canonical network spec, DATA the CSV it trained on (the
last column(s) targets: numbers for mse, class labels for ce), TRACE the
trace of one or more steps of plain gradient descent. The same network is
built in PyTorch (Conv1d/Conv2d, MaxPool/AvgPool, Flatten, Linear and the
activations), given the parameters of each traced row (descent's flat order
is PyTorch's: a conv weight F x C x KH x KW, a dense weight out x in, each
followed by its bias), and its loss and gradient are compared with the
trace's. Prints one line per row and exits 1 on any difference above
float32 rounding.
"""
import csv
import re
import sys

import torch

ACT = {"identity": torch.nn.Identity, "relu": torch.nn.ReLU, "tanh": torch.nn.Tanh,
       "sigmoid": torch.nn.Sigmoid, "softplus": torch.nn.Softplus,
       "leaky_relu": lambda: torch.nn.LeakyReLU(0.01), "softmax": lambda: torch.nn.Softmax(1)}


def build(spec):
    parts = [p.strip() for p in spec.split("->")]
    shape = [int(v) for v in parts[0].split("x")]
    layers, rank = [], len(shape)
    cur = list(shape)
    for p in parts[1:]:
        m = re.fullmatch(r"conv(\d+)@(\d+)(?:x(\d+))?(?:s(\d+))?(?:p(\d+))?:(\w+)", p)
        if m:
            f, k1, k2, s, pad, act = m.groups()
            k1, s, pad = int(k1), int(s or 1), int(pad or 0)
            if rank == 3:
                conv = torch.nn.Conv2d(cur[0], int(f), (k1, int(k2 or k1)), s, pad)
                cur = [int(f), (cur[1] + 2 * pad - k1) // s + 1,
                       (cur[2] + 2 * pad - int(k2 or k1)) // s + 1]
            else:
                conv = torch.nn.Conv1d(cur[0], int(f), k1, s, pad)
                cur = [int(f), (cur[1] + 2 * pad - k1) // s + 1]
            layers += [conv, ACT[act]()]
            continue
        m = re.fullmatch(r"(max|avg)pool(\d+)(?:s(\d+))?", p)
        if m:
            kind, k, s = m.groups()
            k, s = int(k), int(s or k)
            if rank == 3:
                cls = torch.nn.MaxPool2d if kind == "max" else torch.nn.AvgPool2d
                cur = [cur[0], (cur[1] - k) // s + 1, (cur[2] - k) // s + 1]
            else:
                cls = torch.nn.MaxPool1d if kind == "max" else torch.nn.AvgPool1d
                cur = [cur[0], (cur[1] - k) // s + 1]
            layers.append(cls(k, s))
            continue
        if p == "flatten":
            layers.append(torch.nn.Flatten())
            n = 1
            for d in cur:
                n *= d
            cur, rank = [n], 1
            continue
        units, act = p.split(":")
        n = 1
        for d in cur:
            n *= d
        if rank > 1:
            layers.append(torch.nn.Flatten())
        layers += [torch.nn.Linear(n, int(units)), ACT[act]()]
        cur, rank = [int(units)], 1
    return torch.nn.Sequential(*layers).double(), shape


def main():
    spec, data, trace, loss = sys.argv[1:5]
    net, shape = build(spec)
    params = list(net.parameters())
    with open(data) as f:
        rows = list(csv.reader(f))[1:]
    n_in = 1
    for d in shape:
        n_in *= d
    x = torch.tensor([[float(v) for v in r[:n_in]] for r in rows], dtype=torch.float64)
    x = x.reshape([len(rows)] + shape)
    if loss == "ce":
        labels = [r[n_in] for r in rows]
        classes = list(dict.fromkeys(labels))  # order of first appearance, as descent
        y = torch.tensor([classes.index(v) for v in labels])
    else:
        y = torch.tensor([[float(v) for v in r[n_in:]] for r in rows], dtype=torch.float64)
    with open(trace) as f:
        tr = list(csv.DictReader(f))
    names = [k for k in tr[0] if k not in ("iter", "loss") and not k.startswith("d_")]
    worst = 0.0
    for row in tr:
        flat = torch.tensor([float(row[k]) for k in names], dtype=torch.float64)
        at = 0
        for p in params:
            p.data.copy_(flat[at:at + p.numel()].reshape(p.shape))
            p.grad = None
            at += p.numel()
        assert at == len(flat), (at, len(flat))
        out = net(x)
        if loss == "ce":  # descent: -mean log softmax, from the logits
            l = torch.nn.functional.nll_loss(torch.log(out), y)
        else:
            l = torch.mean((out - y) ** 2)
        l.backward()
        g = torch.cat([p.grad.reshape(-1) for p in params])
        d = torch.tensor([float(row["d_" + k]) for k in names], dtype=torch.float64)
        err = float(torch.max(torch.abs(g - d) / (1 + torch.abs(g))))
        lerr = abs(float(l) - float(row["loss"])) / (1 + abs(float(l)))
        worst = max(worst, err, lerr)
        print(f"step {row['iter']}: loss torch {float(l):.7g} descent {float(row['loss']):.7g}; "
              f"largest gradient difference {err:.2g}")
    sys.exit(0 if worst < 2e-5 else 1)


if __name__ == "__main__":
    main()
