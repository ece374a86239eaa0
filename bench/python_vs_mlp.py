#!/usr/bin/env python3
"""DescentClassifier against scikit-learn's MLPClassifier, the same recipe.

Both get the same hidden layers (100 ReLU units), Adam at learning rate
0.001, batches of 200 rows, at most 200 epochs, L2 alpha 1e-4 on the
weights, weights and biases drawn by MLP's rule, and the same stopping rule
(the training loss, the L2 term in it, has not improved by 1e-4 for more
than 10 epochs); both see
standardised inputs (MLPClassifier through a StandardScaler in a pipeline,
timed with it; DescentClassifier standardises inside the model). Data:
scikit-learn's iris, wine, breast cancer and digits (shipped with Debian's
python3-sklearn) and a 100,000-row synthetic table (make_classification, 20
features, 3 classes). Accuracy is on held-out rows: stratified 75/25 splits,
the same for both (10 per small set, 10 of the large table); fit times are
wall-clock, the two estimators alternating within each repeat so that a
busy machine slows both alike. The last lines judge issue 14's targets.

Also measured: what converting numpy input costs next to a one-epoch fit
on the 100,000-row table (float64 rows and integer labels, as scikit-learn
users have them; and float32 rows, which the library borrows as they are).

Run: make bench-python (or DESCENT_LIBRARY=build/libdescent.so
PYTHONPATH=python /usr/bin/python3 bench/python_vs_mlp.py [--repeats N]
[--out FILE.json]).
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

import descent  # noqa: E402
from descent.data import Dataset, encode_labels, one_hot  # noqa: E402
from sklearn.datasets import (  # noqa: E402
    load_breast_cancer,
    load_digits,
    load_iris,
    load_wine,
    make_classification,
)
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

RECIPE = dict(epochs=200, batch=200, lr=0.001, tol=1e-4, n_iter_no_change=10, alpha=1e-4)


def datasets(big_rows):
    out = []
    for name, loader in (
        ("iris", load_iris),
        ("wine", load_wine),
        ("breast_cancer", load_breast_cancer),
        ("digits", load_digits),
    ):
        X, y = loader(return_X_y=True)
        out.append((name, X, y))
    X, y = make_classification(
        n_samples=big_rows,
        n_features=20,
        n_informative=12,
        n_redundant=4,
        n_classes=3,
        class_sep=1.0,
        random_state=0,
    )
    out.append((f"synthetic_{big_rows // 1000}k", X, y))
    return out


def mlp(seed):
    return make_pipeline(
        StandardScaler(),
        MLPClassifier(
            hidden_layer_sizes=(100,),
            activation="relu",
            solver="adam",
            learning_rate_init=RECIPE["lr"],
            batch_size=RECIPE["batch"],
            max_iter=RECIPE["epochs"],
            tol=RECIPE["tol"],
            n_iter_no_change=RECIPE["n_iter_no_change"],
            alpha=RECIPE["alpha"],
            random_state=seed,
        ),
    )


def dsc(seed, threads):
    return descent.DescentClassifier(
        "100:relu",
        optimizer="adam",
        lr=RECIPE["lr"],
        batch=RECIPE["batch"],
        epochs=RECIPE["epochs"],
        tol=RECIPE["tol"],
        n_iter_no_change=RECIPE["n_iter_no_change"],
        alpha=RECIPE["alpha"],
        threads=threads,
        random_state=seed,
    )


def epochs_of(est):
    last = est.steps[-1][1] if hasattr(est, "steps") else est
    return last.n_iter_


def timed_fit(est, X, y):
    t = time.perf_counter()
    est.fit(X, y)
    return time.perf_counter() - t


def timed_fit_cpu(est, X, y):
    """Wall-clock and CPU seconds (every thread of this process) of a fit:
    on a busy machine the process waits for a core for much of the wall
    time, and CPU time says what the fit itself cost."""
    c, t = time.process_time(), time.perf_counter()
    est.fit(X, y)
    return time.perf_counter() - t, time.process_time() - c


def compare(name, X, y, repeats, threads):
    rows = []
    for r in range(repeats):
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, stratify=y, random_state=r)
        pair = [("mlp", mlp(r)), ("descent", dsc(r, threads))]
        if r % 2:
            pair.reverse()  # alternate who goes first
        res = {}
        for who, est in pair:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                warnings.simplefilter("ignore", UserWarning)  # MLP: batch_size clipped
                sec, cpu = timed_fit_cpu(est, Xtr, ytr)
            res[who] = dict(
                seconds=sec, cpu_seconds=cpu, epochs=epochs_of(est), accuracy=float(est.score(Xte, yte))
            )
        rows.append(res)
    out = {"rows": int(X.shape[0]), "features": int(X.shape[1]), "classes": int(np.unique(y).size)}
    for who in ("mlp", "descent"):
        out[who] = {
            "accuracy_mean": statistics.mean(x[who]["accuracy"] for x in rows),
            "accuracy_sd": statistics.stdev([x[who]["accuracy"] for x in rows]) if len(rows) > 1 else 0.0,
            "accuracy_each": [x[who]["accuracy"] for x in rows],
            "fit_seconds_median": statistics.median(x[who]["seconds"] for x in rows),
            "fit_cpu_seconds_median": statistics.median(x[who]["cpu_seconds"] for x in rows),
            "epochs_each": [x[who]["epochs"] for x in rows],
            "seconds_per_epoch_median": statistics.median(
                x[who]["seconds"] / max(1, x[who]["epochs"]) for x in rows
            ),
        }
    # Ratios within each repeat, then their median: both ran moments apart.
    out["fit_speedup_median"] = statistics.median(
        x["mlp"]["seconds"] / x["descent"]["seconds"] for x in rows
    )
    out["fit_cpu_speedup_median"] = statistics.median(
        x["mlp"]["cpu_seconds"] / x["descent"]["cpu_seconds"] for x in rows
    )
    out["epoch_cpu_speedup_median"] = statistics.median(
        (x["mlp"]["cpu_seconds"] / max(1, x["mlp"]["epochs"]))
        / (x["descent"]["cpu_seconds"] / max(1, x["descent"]["epochs"]))
        for x in rows
    )
    out["epoch_speedup_median"] = statistics.median(
        (x["mlp"]["seconds"] / max(1, x["mlp"]["epochs"]))
        / (x["descent"]["seconds"] / max(1, x["descent"]["epochs"]))
        for x in rows
    )
    diffs = [x["descent"]["accuracy"] - x["mlp"]["accuracy"] for x in rows]
    out["accuracy_diff"] = statistics.mean(diffs)
    # The difference within each split (same rows for both), and its
    # standard error: how far from zero the mean difference really is.
    out["accuracy_diff_se"] = (
        statistics.stdev(diffs) / len(diffs) ** 0.5 if len(diffs) > 1 else float("nan")
    )
    out["splits_descent_ahead_tied_behind"] = [
        sum(d > 0 for d in diffs), sum(d == 0 for d in diffs), sum(d < 0 for d in diffs)
    ]
    return out


def conversion(X, y, repeats, threads):
    """Converting numpy input (what DescentClassifier.fit does before the
    library trains) against a whole one-epoch fit, interleaved."""

    def convert(Xin):
        est = dsc(0, threads)
        x32 = est._inputs(Xin, reset=True)
        codes, classes = encode_labels(y)
        return Dataset(x32, one_hot(codes, classes.size))

    X32 = np.ascontiguousarray(X, dtype=np.float32)
    one_epoch = dsc(0, threads).set_params(epochs=1, tol=None)
    conv64, conv32, fit1 = [], [], []
    convert(X)
    one_epoch.fit(X, y)  # warm up: pages, thread pools
    for _ in range(repeats):
        t = time.perf_counter()
        d = convert(X)
        conv64.append(time.perf_counter() - t)
        del d
        t = time.perf_counter()
        d = convert(X32)
        conv32.append(time.perf_counter() - t)
        assert d.borrowed
        del d
        fit1.append(timed_fit(one_epoch, X, y))
    return {
        "rows": int(X.shape[0]),
        "convert_float64_seconds_median": statistics.median(conv64),
        "convert_float32_seconds_median": statistics.median(conv32),
        "fit_one_epoch_seconds_median": statistics.median(fit1),
        "share_float64": statistics.median(c / f for c, f in zip(conv64, fit1)),
        "share_float32": statistics.median(c / f for c, f in zip(conv32, fit1)),
    }


def verdicts(results, speedup=5.0):
    """Issue 14's two targets, judged on the figures above: at least
    `speedup` times MLPClassifier's fit speed (the median of the ratios
    within each split) and at least its accuracy (the mean over the same
    splits, its standard error beside it) on every data set."""
    sets = results["datasets"]
    slow = [f"{n} {r['fit_speedup_median']:.1f}x" for n, r in sets.items() if r["fit_speedup_median"] < speedup]
    behind = [
        f"{n} {100 * r['accuracy_diff']:+.2f} points (se {100 * r['accuracy_diff_se']:.2f})"
        for n, r in sets.items()
        if r["accuracy_diff"] < 0
    ]
    fastest = min(r["fit_speedup_median"] for r in sets.values())
    return [
        f"fit speed >= {speedup:g}x MLPClassifier's on every data set: "
        + ("met" if not slow else "NOT met: " + ", ".join(slow))
        + f" (lowest {fastest:.1f}x)",
        "accuracy >= MLPClassifier's on every data set: "
        + ("met" if not behind else "NOT met: " + ", ".join(behind)),
    ]


def markdown(results):
    """The figures as docs/PYTHON.md's table."""
    lines = [
        "| data | rows | MLP accuracy | descent | difference (se) | splits ahead/tied/behind "
        "| MLP fit s | descent fit s | fit speed-up | epochs MLP/descent | per-epoch speed-up "
        "| CPU-time speed-up: fit | per epoch |",
        "| --- | ---: | ---: | ---: | ---: | :---: | ---: | ---: | ---: | :---: | ---: | ---: | ---: |",
    ]
    for name, r in results["datasets"].items():
        lines.append(
            f"| {name.replace('_', ' ')} | {r['rows']} | {100 * r['mlp']['accuracy_mean']:.2f} % "
            f"| {100 * r['descent']['accuracy_mean']:.2f} % "
            f"| {100 * r['accuracy_diff']:+.2f} ({100 * r['accuracy_diff_se']:.2f}) "
            f"| {'/'.join(map(str, r['splits_descent_ahead_tied_behind']))} "
            f"| {r['mlp']['fit_seconds_median']:.3f} | {r['descent']['fit_seconds_median']:.3f} "
            f"| {r['fit_speedup_median']:.1f}x "
            f"| {statistics.median(r['mlp']['epochs_each']):.0f}/{statistics.median(r['descent']['epochs_each']):.0f} "
            f"| {r['epoch_speedup_median']:.1f}x | {r['fit_cpu_speedup_median']:.1f}x "
            f"| {r['epoch_cpu_speedup_median']:.1f}x |"
        )
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=10, help="splits per small data set (10)")
    # Ten splits of the large table: with five, the standard error of the
    # accuracy difference (0.03 points) was as large as the difference.
    ap.add_argument("--big-repeats", type=int, default=10, help="splits of the large table (10)")
    ap.add_argument("--rows", type=int, default=100_000, help="rows of the synthetic table")
    ap.add_argument(
        "--threads",
        type=int,
        default=0,
        help="threads for both, descent's and numpy's BLAS under MLPClassifier "
        "(0: each library's default, all cores)",
    )
    ap.add_argument("--out", default=None, help="write the figures as JSON here")
    ap.add_argument(
        "--markdown", metavar="JSON", help="print the table of docs/PYTHON.md from a JSON written by --out, and stop"
    )
    args = ap.parse_args()
    if args.markdown:
        with open(args.markdown) as f:
            print(markdown(json.load(f)))
        return

    import sklearn

    if args.threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)  # numpy's BLAS, for MLPClassifier
    info = {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "sklearn": sklearn.__version__,
        "descent": descent.library_version,
        "descent_build": descent.build_info,
        "recipe": RECIPE,
        "threads": args.threads,
    }
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    info["load_average_at_start"] = os.getloadavg()
    results = {"machine": info, "datasets": {}}
    print(f"# {info['cpu']}, {info['cores']} cores, {args.threads or 'all'} thread(s) each; descent {info['descent']} ({info['descent_build']}); "
          f"scikit-learn {info['sklearn']}, numpy {info['numpy']}")
    print(f"{'data':<16}{'rows':>8}  {'MLP acc':>8} {'descent':>8} {'diff (se)':>16}  "
          f"{'MLP fit s':>9} {'descent':>8} {'speedup':>8}  {'epochs MLP/dsc':>15} {'per epoch':>9}  "
          f"{'CPU: fit':>8} {'per epoch':>9}")
    data = datasets(args.rows)
    for name, X, y in data:
        reps = args.big_repeats if X.shape[0] >= 10000 else args.repeats
        r = compare(name, X, y, reps, args.threads)
        results["datasets"][name] = r
        print(
            f"{name:<16}{r['rows']:>8}  {r['mlp']['accuracy_mean']:>8.4f} {r['descent']['accuracy_mean']:>8.4f} "
            f"{r['accuracy_diff']:>+7.4f} ({r['accuracy_diff_se']:.4f})  {r['mlp']['fit_seconds_median']:>9.3f} "
            f"{r['descent']['fit_seconds_median']:>8.3f} {r['fit_speedup_median']:>7.1f}x  "
            f"{statistics.median(r['mlp']['epochs_each']):>7.0f}/{statistics.median(r['descent']['epochs_each']):<7.0f} "
            f"{r['epoch_speedup_median']:>8.1f}x  {r['fit_cpu_speedup_median']:>7.1f}x "
            f"{r['epoch_cpu_speedup_median']:>8.1f}x",
            flush=True,
        )
    for line in verdicts(results):
        print(line)
    results["verdicts"] = verdicts(results)
    name, X, y = data[-1]
    c = conversion(X, y, max(5, args.big_repeats), args.threads)
    results["conversion"] = c
    print(
        f"\nconverting numpy input, {c['rows']} rows: float64 {c['convert_float64_seconds_median'] * 1e3:.1f} ms "
        f"({100 * c['share_float64']:.1f}% of a 1-epoch fit of {c['fit_one_epoch_seconds_median'] * 1e3:.0f} ms), "
        f"float32 {c['convert_float32_seconds_median'] * 1e3:.1f} ms ({100 * c['share_float32']:.1f}%, borrowed)"
    )
    results["machine"]["load_average_at_end"] = os.getloadavg()
    print(f"load average: {info['load_average_at_start'][0]:.1f} at the start, "
          f"{results['machine']['load_average_at_end'][0]:.1f} at the end")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
