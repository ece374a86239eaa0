"""PyTorch's side of the CNN benchmark (bench/run_cnn.sh): the network of
issue 15 on Fashion-MNIST, trained as descent trains it.

  peer_torch_cnn.py THREADS EPOCHS [BATCHES]

conv32@3x3:relu, maxpool2, conv64@3x3:relu, maxpool2, 128:relu, 10 (softmax
in the loss); Adam, lr 0.001, batch 128, reshuffled each epoch. THREADS is
torch.set_num_threads (1 or 2 on this 2-core machine); BATCHES > 0 stops
each epoch after that many batches (a speed sample). Prints one JSON line:
samples per second of training (the optimisation only, as descent's
"seconds"), test accuracy after the last epoch, and the process's peak
resident memory (ru_maxrss). Run with Debian's /usr/bin/python3.
"""
import gzip
import json
import os
import resource
import sys
import time

import numpy as np
import torch

FMNIST = os.environ.get("FMNIST_DIR", "/usr/share/datasets/fashion-mnist")


def read_idx(name):
    with gzip.open(os.path.join(FMNIST, name), "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def images(name):
    x = read_idx(name)
    return torch.from_numpy(x.astype(np.float32).reshape(len(x), 1, 28, 28) / 255.0)


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    threads, epochs = int(sys.argv[1]), int(sys.argv[2])
    batches = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    torch.set_num_threads(threads)
    x, y = images("train-images-idx3-ubyte.gz"), torch.from_numpy(
        read_idx("train-labels-idx1-ubyte.gz").astype(np.int64))
    xt, yt = images("t10k-images-idx3-ubyte.gz"), torch.from_numpy(
        read_idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))
    torch.manual_seed(42)
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 5 * 5, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    lossf = nn.CrossEntropyLoss()
    n, seen, sec = len(x), 0, 0.0
    for _ in range(epochs):
        perm = torch.randperm(n)
        t0 = time.perf_counter()
        for b, i in enumerate(range(0, n, 128)):
            if batches and b == batches:
                break
            idx = perm[i:i + 128]
            opt.zero_grad(set_to_none=True)
            loss = lossf(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            seen += len(idx)
        sec += time.perf_counter() - t0
    with torch.no_grad():
        correct = sum((model(xt[i:i + 1000]).argmax(1) == yt[i:i + 1000]).sum().item()
                      for i in range(0, len(xt), 1000))
    print(json.dumps({
        "who": "torch", "torch": torch.__version__, "threads": threads, "epochs": epochs,
        "batches_per_epoch": batches or (n + 127) // 128, "seconds": sec,
        "samples_per_second": seen / sec, "test_accuracy": correct / len(xt),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))


if __name__ == "__main__":
    main()
