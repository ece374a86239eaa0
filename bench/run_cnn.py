"""descent against PyTorch on issue 15's convolutional network (Fashion-MNIST,
conv32@3x3:relu, maxpool2, conv64@3x3:relu, maxpool2, 128:relu, 10:softmax;
Adam, lr 0.001, batch 128), run interleaved so that the machine's load hits
both alike.

  bench/run_cnn.py speed [BUILD] [ROUNDS] [BATCHES]   samples/s and peak memory
  bench/run_cnn.py accuracy [BUILD] [EPOCHS]           test accuracy after EPOCHS (10)

speed: each round runs descent with 1 and 2 threads and PyTorch with
torch.set_num_threads(1) and (2), BATCHES batches each (default 150),
one process per run; it prints each run's samples/s and peak resident memory
(the process's, from wait4) and, per round, the ratio of descent's best
setting to PyTorch's best. The summary gives the median over rounds.
accuracy: trains both for EPOCHS full epochs (descent with 2 threads,
PyTorch with its best thread count from a speed run, default 2) and
prints their test accuracies. Writes bench/peers/results-cnn.json.
Needs /usr/bin/python3 with torch; FMNIST_DIR as for run_peers.sh.
"""
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FM = os.environ.get("FMNIST_DIR", "/usr/share/datasets/fashion-mnist")
LAYERS = "conv32@3x3:relu,maxpool2,conv64@3x3:relu,maxpool2,128:relu"


def run(cmd, env=None):
    """Runs cmd, returns (stdout, peak RSS in MB of that process)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out = p.stdout.read()
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{err.decode()}")
    return out.decode(), ru.ru_maxrss / 1024.0


def descent(build, threads, batches=0, epochs=1, save=None):
    cmd = [os.path.join(build, "descent"), "train",
           "--idx-images", os.path.join(FM, "train-images-idx3-ubyte.gz"),
           "--idx-labels", os.path.join(FM, "train-labels-idx1-ubyte.gz"),
           "--layers", LAYERS, "--optimizer", "adam", "--lr", "0.001", "--batch", "128",
           "--epochs", str(epochs), "--threads", str(threads), "--json", "--quiet"]
    if batches:
        cmd += ["--max-iter", str(batches)]
    if save:
        cmd += ["--save", save]
    out, rss = run(cmd)
    j = json.loads([line for line in out.splitlines() if line.startswith("{")][-1])
    j["peak_rss_mb"] = rss
    j.pop("outputs", None)
    if save:  # the test set, scored as `descent eval` scores it
        ev, _ = run([os.path.join(build, "descent"), "eval", "--model", save,
                     "--idx-images", os.path.join(FM, "t10k-images-idx3-ubyte.gz"),
                     "--idx-labels", os.path.join(FM, "t10k-labels-idx1-ubyte.gz"), "--json"])
        j["test_accuracy"] = json.loads(ev.splitlines()[-1])["accuracy"]
    return j


def torch(threads, batches=0, epochs=1):
    cmd = ["/usr/bin/python3", os.path.join(ROOT, "bench", "peers", "peer_torch_cnn.py"),
           str(threads), str(epochs), str(batches)]
    out, rss = run(cmd)
    j = json.loads(out.splitlines()[-1])
    j["peak_rss_mb_process"] = rss
    return j


def speed(build, rounds, batches):
    runs, ratios = [], []
    for r in range(rounds):
        row = {}
        for t in (1, 2):
            d = descent(build, t, batches)
            row[f"descent{t}"] = (d["samples_per_second"], d["peak_rss_mb"])
            p = torch(t, batches)
            row[f"torch{t}"] = (p["samples_per_second"], p["peak_rss_mb_process"])
            runs += [{"round": r, "who": "descent", "threads": t, **d},
                     {"round": r, "who": "torch", "threads": t, **p}]
        best_d = max(row["descent1"][0], row["descent2"][0])
        best_t = max(row["torch1"][0], row["torch2"][0])
        ratios.append(best_d / best_t)
        print(f"round {r + 1}: samples/s descent 1thr {row['descent1'][0]:.0f} 2thr "
              f"{row['descent2'][0]:.0f}; torch 1thr {row['torch1'][0]:.0f} 2thr "
              f"{row['torch2'][0]:.0f}; best/best {ratios[-1]:.2f}; peak MB descent "
              f"{max(row['descent1'][1], row['descent2'][1]):.0f}, torch "
              f"{max(row['torch1'][1], row['torch2'][1]):.0f}", flush=True)
    mem_d = max(x["peak_rss_mb"] for x in runs if x["who"] == "descent")
    mem_t = min(x["peak_rss_mb_process"] for x in runs if x["who"] == "torch")
    summary = {"rounds": rounds, "batches": batches, "ratio_median": statistics.median(ratios),
               "ratio_min": min(ratios), "ratio_max": max(ratios),
               "descent_peak_rss_mb": mem_d, "torch_peak_rss_mb_least": mem_t,
               "memory_ratio": mem_d / mem_t}
    print("speed: descent's best / PyTorch's best, median over %d rounds: %.2f (%.2f-%.2f); "
          "peak memory descent %.0f MB vs PyTorch %.0f MB (%.2f)" % (
              rounds, summary["ratio_median"], summary["ratio_min"], summary["ratio_max"],
              mem_d, mem_t, summary["memory_ratio"]))
    return {"speed": summary, "runs": runs}


def accuracy(build, epochs):
    t0 = time.time()
    d = descent(build, 2, 0, epochs, save=os.path.join(build, "cnn-accuracy.model"))
    p = torch(2, 0, epochs)
    res = {"epochs": epochs, "descent_test_accuracy": d["test_accuracy"],
           "descent_seconds": d["seconds"], "torch_test_accuracy": p["test_accuracy"],
           "torch_seconds": p["seconds"], "wall": time.time() - t0, "descent": d, "torch": p}
    print(f"accuracy after {epochs} epochs: descent {res['descent_test_accuracy']:.4f}, "
          f"PyTorch {p['test_accuracy']:.4f}; training seconds descent {d['seconds']:.1f}, "
          f"PyTorch {p['seconds']:.1f}")
    return res


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else "speed"
    build = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "build-bench")
    out = os.path.join(ROOT, "bench", "peers", "results-cnn.json")
    old = json.load(open(out)) if os.path.exists(out) else {}
    if what == "speed":
        rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
        batches = int(sys.argv[4]) if len(sys.argv) > 4 else 150
        old["speed"] = speed(build, rounds, batches)
    elif what == "accuracy":
        old["accuracy"] = accuracy(build, int(sys.argv[3]) if len(sys.argv) > 3 else 10)
    else:
        raise SystemExit(__doc__)
    old["cpu"] = open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(" :\t")
    old["date"] = time.strftime("%Y-%m-%d %H:%M")
    json.dump(old, open(out, "w"), indent=1)


if __name__ == "__main__":
    main()
