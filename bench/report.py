"""Prints bench/results.json (and bench/peers/results.json when present) as
Markdown tables. Standard library only: python3 bench/report.py [FILE]."""
import json
import os
import statistics
import sys

FWD_FLOP = 2.0 * (784 * 256 + 256 * 128 + 128 * 10)  # per sample, forward
TRAIN_FLOP = 3.0 * FWD_FLOP


def load(path):
    with open(path) as f:
        return json.load(f)


def pick(runs, env, workload, **kw):
    out = []
    for r in runs:
        res = r["result"]
        if r["env"] == env and res.get("workload") == workload and all(res.get(k) == v for k, v in kw.items()):
            out.append(res)
    return out


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def fmt(v, spec="{:.2f}"):
    return "n/a" if v is None else spec.format(v)


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "results.json")
    data = load(path)
    runs, mach = data["runs"], data["machine"]
    envs = ["as_set", "unset"]
    print("machine: %s, %d cores, %s MHz (%s), %s, fp32 peak %.1f GFLOP/s/core; load %s -> %s"
          % (mach["cpu"], mach["cores"], mach["mhz"], mach["mhz_source"], mach["simd"],
             mach["peak_gflops_per_core"], mach["load_start"], mach["load_end"]))
    print("OPENBLAS_CORETYPE=%s OPENBLAS_L2_SIZE=%s; %s\n"
          % (mach["OPENBLAS_CORETYPE"], mach["OPENBLAS_L2_SIZE"], mach["build_info"]))
    rows = []

    def row(name, f, spec="{:.2f}"):
        rows.append([name] + [fmt(f(e), spec) for e in envs])

    def w1runs(e, t, load="idle"):
        return [r for r in pick(runs, e, "w1", threads=t) if r.get("load", "idle") == load]

    for t in (1, 2):
        w1 = lambda e, t=t: w1runs(e, t)
        row("W1 %d thr: s/epoch (median)" % t, lambda e, w=w1: med([r["cli"]["seconds"] for r in w(e)]), "{:.3f}")
        row("W1 %d thr: samples/s" % t, lambda e, w=w1: med([r["cli"]["samples_per_second"] for r in w(e)]), "{:.0f}")
        row("W1 %d thr: training GFLOP/s" % t,
            lambda e, w=w1: (lambda s: s and s * TRAIN_FLOP * 1e-9)(med([r["cli"]["samples_per_second"] for r in w(e)])))
        row("W1 %d thr: peak RSS MB" % t,
            lambda e, w=w1: (lambda k: k and k / 1024)(med([r.get("max_rss_kb") for r in w(e)])), "{:.0f}")

    def speedup(e):
        a = med([r["cli"]["samples_per_second"] for r in w1runs(e, 1)])
        b = med([r["cli"]["samples_per_second"] for r in w1runs(e, 2)])
        return b / a if a and b else None
    row("W1 speed-up 2 thr / 1 thr", speedup)
    # Beside a busy loop (bench/run_bench.sh starts one for these runs).
    for t, name in ((1, "1 thr"), (0, "default thr")):
        row("W1 busy, %s: s/epoch (median)" % name,
            lambda e, t=t: med([r["cli"]["seconds"] for r in w1runs(e, t, "busy")]), "{:.3f}")

    def busy_ratio(e):
        a = med([r["cli"]["seconds"] for r in w1runs(e, 1, "busy")])
        b = med([r["cli"]["seconds"] for r in w1runs(e, 0, "busy")])
        return b / a if a and b else None
    row("W1 busy: default / 1 thr time (target <= 1.25)", busy_ratio)
    acc = pick(runs, "as_set", "w1_5epochs")
    if acc:
        rows.append(["W1 test accuracy after 5 epochs", fmt(acc[0]["test_accuracy"] * 100, "{:.2f} %"), "-"])
    one = lambda e, w, k, **kw: (lambda l: l[0].get(k) if l else None)(pick(runs, e, w, **kw))
    row("W2 us/iteration", lambda e: one(e, "w2", "us_per_iter"), "{:.3f}")
    row("W2 hand-written C loop us/iteration", lambda e: one(e, "w2", "ref_us_per_iter"), "{:.3f}")
    for t in (1, 2):
        row("W3 %d thr: ms/iteration" % t, lambda e, t=t: one(e, "w3", "ms_per_iter", threads=t), "{:.3f}")
        row("W3 %d thr: GB/s streamed" % t, lambda e, t=t: one(e, "w3", "gbs", threads=t), "{:.3f}")
        row("STREAM %d thr: read-only (dot) GB/s" % t, lambda e, t=t: one(e, "w3", "stream_read_gbs", threads=t), "{:.1f}")
        row("STREAM %d thr: triad GB/s" % t, lambda e, t=t: one(e, "w3", "stream_triad_gbs", threads=t), "{:.1f}")
        row("W3 %d thr: fraction of read-only bandwidth" % t,
            lambda e, t=t: one(e, "w3", "fraction_of_read", threads=t), "{:.4f}")
    row("CSV load MB/s (100 MB, 10 columns)", lambda e: one(e, "csv", "mb_per_s"), "{:.1f}")
    row("CSV hand-written fread+strtof MB/s", lambda e: one(e, "csv", "ref_mb_per_s"), "{:.1f}")
    for t in (1, 2):
        row("Inference %d thr: 1-sample latency us" % t, lambda e, t=t: one(e, "infer", "latency_us", threads=t), "{:.1f}")
        row("Inference %d thr: batch samples/s" % t, lambda e, t=t: one(e, "infer", "samples_per_s", threads=t), "{:.0f}")
    print("| workload | as set | OPENBLAS_* unset |")
    print("| --- | ---: | ---: |")
    for r in rows:
        print("| " + " | ".join(r) + " |")

    peak = mach["peak_gflops_per_core"]
    print("\nGEMM GFLOP/s: 1 and 2 threads by the wall clock, and 1 thread by its own CPU time (not "
          "inflated by a busy machine); medians of 3 rounds of 5 runs. Nominal-clock peak %.1f per "
          "core (cores boost above it). The OPENBLAS_* unset rows compare with OpenBLAS's own "
          "CPU detection (AVX-512 where the CPU has it).\n" % peak)
    print("| shape | m | n | k | env | built-in 1 | built-in 2 | CBLAS 1 | CBLAS 2 | built-in 1 cpu | "
          "CBLAS 1 cpu | built-in / CBLAS, 1 thr cpu | built-in / CBLAS, 2 thr |")
    print("| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    ratio = lambda a, b: "n/a" if not a or not b else "%.0f %%" % (100.0 * a / b)
    for e in envs:
        for g in pick(runs, e, "gemm"):
            print("| %s | %d | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |"
                  % (g["shape"], g["m"], g["n"], g["k"], e, fmt(g["builtin_1"], "{:.1f}"),
                     fmt(g["builtin_2"], "{:.1f}"), fmt(g["cblas_1"], "{:.1f}"),
                     fmt(g["cblas_2"], "{:.1f}"), fmt(g.get("builtin_1_cpu"), "{:.1f}"),
                     fmt(g.get("cblas_1_cpu"), "{:.1f}"),
                     ratio(g.get("builtin_1_cpu"), g.get("cblas_1_cpu")),
                     ratio(g["builtin_2"], g["cblas_2"])))

    ppath = os.path.join(os.path.dirname(os.path.abspath(path)), "peers", "results.json")
    if os.path.exists(ppath):
        print()
        peers_table(load(ppath))
    tpath = os.path.join(os.path.dirname(os.path.abspath(path)), "results-threads.json")
    if os.path.exists(tpath):
        print()
        threads_table(load(tpath))


def peers_table(data):
    runs = data["runs"]
    if data.get("skipped"):
        print("peers: skipped (%s)" % data["skipped"])
        return
    print("descent vs PyTorch, interleaved rounds (%s); medians over rounds\n" % data.get("date", ""))
    print("| workload | env | descent | PyTorch best (1 torch thread, OPENBLAS_NUM_THREADS=2) | PyTorch default | descent / best | descent / default |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for e in ("as_set", "unset"):
        def m(who, key, load="idle", **kw):
            return med([r["result"].get(key) for r in runs if r["env"] == e and r["who"] == who
                        and r["result"].get("load", "idle") == load
                        and all(r["result"].get(k) == v for k, v in kw.items())])
        for t in (1, 2):
            d = m("descent", "samples_per_second", workload="w1", threads=t)
            b = m("torch", "samples_per_second", workload="w1", setting="best")
            f = m("torch", "samples_per_second", workload="w1", setting="default")
            print("| W1 samples/s (descent %d thr) | %s | %s | %s | %s | %s | %s |" % (
                t, e, fmt(d, "{:.0f}"), fmt(b, "{:.0f}"), fmt(f, "{:.0f}"),
                fmt(d / b if d and b else None), fmt(d / f if d and f else None)))
        # Beside a busy loop: PyTorch's better of its 2-core and 1-core settings.
        pb = [m("torch", "samples_per_second", "busy", workload="w1", setting=s) for s in ("best", "single")]
        pb = max([v for v in pb if v], default=None)
        for t, name in ((1, "1 thr"), (0, "default thr")):
            d = m("descent", "samples_per_second", "busy", workload="w1", threads=t)
            if d is None:
                continue
            print("| W1 samples/s beside a busy loop (descent %s; PyTorch: better of 2-core and 1-core) | %s | %s | %s | - | %s | - |" % (
                name, e, fmt(d, "{:.0f}"), fmt(pb, "{:.0f}"), fmt(d / pb if d and pb else None)))
        d = m("descent", "us_per_iter", workload="w2")
        b = m("torch", "us_per_iter", workload="w2", setting="best")
        f = m("torch", "us_per_iter", workload="w2", setting="default")
        print("| W2 us/iter (lower is better; ratio = speed) | %s | %s | %s | %s | %s | %s |" % (
            e, fmt(d, "{:.3f}"), fmt(b, "{:.1f}"), fmt(f, "{:.1f}"),
            fmt(b / d if d and b else None), fmt(f / d if d and f else None)))
        for t in (1, 2):
            d = m("descent", "ms_per_iter", workload="w3", threads=t)
            npb = m("torch", "numpy_ms_per_iter", workload="w3", setting="best")
            tb = m("torch", "torch_ms_per_iter", workload="w3", setting="best")
            tf = m("torch", "torch_ms_per_iter", workload="w3", setting="default")
            print("| W3 ms/iter (descent %d thr) vs numpy / torch best / torch default | %s | %s | numpy %s, torch %s | %s | numpy %s, torch %s | %s |" % (
                t, e, fmt(d, "{:.3f}"), fmt(npb, "{:.3f}"), fmt(tb, "{:.3f}"), fmt(tf, "{:.3f}"),
                fmt(npb / d if d and npb else None), fmt(tb / d if d and tb else None),
                fmt(tf / d if d and tf else None)))

    peers_rounds_table(data)


def peers_rounds_table(data):
    """Issue 12's ratios, each taken within one round (the runs it divides
    ran minutes apart, interleaved), then their median over the rounds."""
    runs = data["runs"]
    rounds = sorted({r["round"] for r in runs})
    print("\nW1 per round (ratios within a round; load average when the round's runs ended)\n")
    print("| env | round | load | idle: 2 thr / 1 thr speed | idle: descent 2 thr / PyTorch best | "
          "busy: default / 1 thr time | busy: descent default / PyTorch better of 2-core, 1-core | "
          "busy: samples/s descent 1 thr, default; PyTorch best, single |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | --- |")
    for e in ("as_set", "unset"):
        cols = [[], [], [], []]
        for rd in rounds:
            def one(who, load="idle", **kw):
                for r in runs:
                    if (r["env"] == e and r["round"] == rd and r["who"] == who
                            and r["result"].get("load", "idle") == load and r["result"].get("workload") == "w1"
                            and all(r["result"].get(k) == v for k, v in kw.items())):
                        return r
                return None
            v = {}
            for key, who, load, kw in (("d1", "descent", "idle", {"threads": 1}),
                                       ("d2", "descent", "idle", {"threads": 2}),
                                       ("tb", "torch", "idle", {"setting": "best"}),
                                       ("b1", "descent", "busy", {"threads": 1}),
                                       ("b0", "descent", "busy", {"threads": 0}),
                                       ("bb", "torch", "busy", {"setting": "best"}),
                                       ("bs", "torch", "busy", {"setting": "single"})):
                r = one(who, load, **kw)
                v[key] = r["result"]["samples_per_second"] if r else None
                if key == "b0" and r:
                    v["load"] = r.get("loadavg", "?")
            if not v.get("d1"):
                continue
            ratios = [
                v["d2"] / v["d1"] if v.get("d2") else None,
                v["d2"] / v["tb"] if v.get("d2") and v.get("tb") else None,
                v["b1"] / v["b0"] if v.get("b1") and v.get("b0") else None,
                v["b0"] / max(v["bb"], v["bs"]) if v.get("b0") and v.get("bb") and v.get("bs") else None,
            ]
            for c, x in zip(cols, ratios):
                if x is not None:
                    c.append(x)
            print("| %s | %d | %s | %s | %s | %s | %s | %s, %s; %s, %s |" % (
                e, rd, v.get("load", "?"), *[fmt(x) for x in ratios],
                *[fmt(v.get(k), "{:.0f}") for k in ("b1", "b0", "bb", "bs")]))
        if cols[0]:
            print("| %s | median | | %s | %s | %s | %s | |" % (e, *[fmt(med(c)) for c in cols]))


def threads_table(data):
    """bench/run_threads.sh: W1 with 1 and 2 threads idle, 1 and the default
    beside a busy loop, per round, and the medians of the ratios."""
    runs = data["runs"]
    print("W1 threads, per round (%s, %s)\n" % (data.get("cpu", "?"), data.get("date", "")))
    print("| round | load average | runnable before | idle 1 thr | idle 2 thr | 2 thr / 1 thr speed | "
          "busy 1 thr | busy default | busy default / 1 thr time |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    ra, rb = [], []
    for rd in sorted({r["round"] for r in runs}):
        v = {}
        for r in runs:
            if r["round"] == rd:
                v[(r["load"], r["threads"])] = r
        try:
            s1, s2 = (v[("idle", t)]["result"]["samples_per_second"] for t in (1, 2))
            b1, b0 = (v[("busy", t)]["result"]["samples_per_second"] for t in (1, 0))
        except KeyError:
            continue
        ra.append(s2 / s1), rb.append(b1 / b0)
        print("| %d | %s | %s | %.0f | %.0f | %.2f | %.0f | %.0f | %.2f |" % (
            rd, v[("idle", 1)]["loadavg"], v[("idle", 1)]["running_before"], s1, s2, s2 / s1, b1, b0, b1 / b0))
    if ra:
        print("| median | | | | | %.2f | | | %.2f |" % (med(ra), med(rb)))


if __name__ == "__main__":
    main()
