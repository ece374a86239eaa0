"""PyTorch / numpy peers of descent's benchmark workloads W1, W2 and W3.

Run with Debian's interpreter (/usr/bin/python3, which has python3-torch and
python3-numpy). Each call runs one workload and prints one JSON line:

  peer_torch.py w1 SETTING [EPOCHS]   Fashion-MNIST 784-256-128-10 ReLU MLP, SGD+momentum
  peer_torch.py w2 SETTING [ITERS]    the dosage network, full-batch gradient descent
  peer_torch.py w3 SETTING [ITERS]    a line fitted to 1,000,000 points (torch and numpy)

SETTING is "best" (torch.set_num_threads(1); the caller sets
OPENBLAS_NUM_THREADS=2, PyTorch's best 2-core setting here), "single"
(torch.set_num_threads(1); the caller sets OPENBLAS_NUM_THREADS=1: one
core, which may do better on a busy machine) or "default" (nothing
changed). Times cover the optimisation only, as descent's "seconds".
"""
import gzip
import json
import os
import sys
import time

import numpy as np
import torch

FMNIST = os.environ.get("FMNIST_DIR", "/usr/share/datasets/fashion-mnist")


def setting(name):
    if name in ("best", "single"):
        torch.set_num_threads(1)
    elif name != "default":
        raise SystemExit("setting must be best, single or default")
    return {"setting": name, "torch_threads": torch.get_num_threads(),
            "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
            "torch": torch.__version__}


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def w1(info, epochs):
    x = read_idx(os.path.join(FMNIST, "train-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(FMNIST, "train-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(x.reshape(len(x), -1).astype(np.float32) / 255.0)
    y = torch.from_numpy(y.astype(np.int64))
    torch.manual_seed(42)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    lossf = torch.nn.CrossEntropyLoss()
    n = len(x)
    t0 = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(n)
        total = 0.0
        for i in range(0, n, 128):
            idx = perm[i:i + 128]
            opt.zero_grad(set_to_none=True)
            loss = lossf(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            total += loss.item()
    sec = time.perf_counter() - t0
    info.update(workload="w1", epochs=epochs, seconds=sec / epochs,
                samples_per_second=n * epochs / sec, loss=total / ((n + 127) // 128))
    return info


def w2(info, iters):
    x = torch.tensor([[0.0], [0.5], [1.0]])
    y = torch.tensor([[0.0], [1.0], [0.0]])
    torch.manual_seed(42)
    model = torch.nn.Sequential(torch.nn.Linear(1, 2), torch.nn.Softplus(), torch.nn.Linear(2, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    t0 = time.perf_counter()
    for _ in range(iters):
        opt.zero_grad(set_to_none=True)
        loss = ((model(x) - y) ** 2).sum()
        loss.backward()
        opt.step()
    sec = time.perf_counter() - t0
    info.update(workload="w2", iterations=iters, us_per_iter=sec / iters * 1e6, loss=loss.item())
    return info


def w3(info, iters):
    n = 1_000_000
    rng = np.random.default_rng(1)
    xs = rng.random(n, dtype=np.float32)
    ys = (3.0 * xs + 2.0 + 0.1 * (rng.random(n, dtype=np.float32) - 0.5)).astype(np.float32)
    lr = 0.5

    # numpy, best vectorised form: preallocated residual, BLAS dot for the slope.
    w = b = 0.0
    r = np.empty_like(xs)
    t0 = time.perf_counter()
    for _ in range(iters):
        np.multiply(xs, np.float32(w), out=r)
        r += np.float32(b)
        r -= ys
        gw = 2.0 * float(np.dot(r, xs)) / n
        gb = 2.0 * float(r.sum(dtype=np.float64)) / n
        w -= lr * gw
        b -= lr * gb
    np_ms = (time.perf_counter() - t0) / iters * 1e3

    # torch, the same form (no autograd: the fastest way to write it).
    xt, yt = torch.from_numpy(xs), torch.from_numpy(ys)
    rt = torch.empty_like(xt)
    tw = tb = 0.0
    t0 = time.perf_counter()
    for _ in range(iters):
        torch.mul(xt, tw, out=rt)
        rt.add_(tb).sub_(yt)
        gw = 2.0 * torch.dot(rt, xt).item() / n
        gb = 2.0 * rt.sum().item() / n
        tw -= lr * gw
        tb -= lr * gb
    t_ms = (time.perf_counter() - t0) / iters * 1e3

    # torch with autograd, as a model would be trained.
    wt = torch.zeros(1, requires_grad=True)
    bt = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([wt, bt], lr=lr)
    t0 = time.perf_counter()
    for _ in range(iters):
        opt.zero_grad(set_to_none=True)
        loss = torch.mean((xt * wt + bt - yt) ** 2)
        loss.backward()
        opt.step()
    ta_ms = (time.perf_counter() - t0) / iters * 1e3

    bytes_ = 2 * 4 * n
    info.update(workload="w3", iterations=iters, n=n,
                numpy_ms_per_iter=np_ms, numpy_gbs=bytes_ / np_ms * 1e-6,
                torch_ms_per_iter=t_ms, torch_gbs=bytes_ / t_ms * 1e-6,
                torch_autograd_ms_per_iter=ta_ms, slope=w, intercept=b)
    return info


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    what, how = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else None
    info = setting(how)
    if what == "w1":
        out = w1(info, count or 1)
    elif what == "w2":
        out = w2(info, count or 10000)
    elif what == "w3":
        out = w3(info, count or 100)
    else:
        raise SystemExit("unknown workload " + what)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
