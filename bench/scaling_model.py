"""The cost model of one data-parallel step (docs/SCALING.md), checked
against this machine's runs and projected to clusters.

    step(N) = fixed + (batch / N) * per_sample + sum(N)
    sum(N)  = 2 (N - 1) / N * bytes / bandwidth + 2 (N - 1) * latency

`fixed` is the per-step work every rank repeats whatever N is (the optimizer
update and gradient norm over all 235,146 parameters, plus launching the
step); `per_sample` the forward and backward cost of one row; the sum is a
ring all-reduce (reduce-scatter, then all-gather: 2 (N - 1) messages of
bytes / N each). Samples per second are batch / step(N); efficiency is that
over N times one rank's.

    python3 bench/scaling_model.py [bench/results-scaling.json]

With a results file, fixed and per_sample come from its 1-rank run and the
measured 2- and 3-rank steps are set beside the model's; without one, the
figures of docs/SCALING.md are used.
"""
import json
import sys

PARAMS = 235146
BYTES = 4 * PARAMS
BATCH = 128
STEPS = 469  # 60,000 rows in batches of 128

# This machine, 1 thread (docs/SCALING.md): compute per row and per step.
per_sample = 21.0e-6
fixed = 0.35e-3
# Shared memory between two ranks here (bench/mpi_sum.c at 0.94 MB).
local_bw, local_lat = 4.0e9, 2e-6

measured = {}
if len(sys.argv) > 1:
    r = json.load(open(sys.argv[1]))
    one = r["w1"]["128"]["1"]
    step1 = one["seconds"] / STEPS
    pts = [(int(b), v["1"]["seconds"] / v["1"]["steps"]) for b, v in r["w1"].items() if "1" in v]
    if len(pts) >= 2:
        # One rank at several batch sizes gives both terms of
        # step(b) = fixed + b x per_sample, by least squares over all of them
        # (two points alone swing with this machine's noise).
        mb = sum(b for b, _ in pts) / len(pts)
        mt = sum(t for _, t in pts) / len(pts)
        per_sample = sum((b - mb) * (t - mt) for b, t in pts) / sum((b - mb) ** 2 for b, _ in pts)
        fixed = max(mt - mb * per_sample, 0.0)
    else:
        per_sample = (step1 - fixed) / BATCH
    for n, v in r["w1"]["128"].items():
        measured[int(n)] = (v["seconds"] / STEPS, v["comm_ms_per_step"] * 1e-3)
    for s in r["sum"]:
        if s["ranks"] == 2 and s["floats"] == PARAMS:
            local_bw = 2 * (1 / 2) * BYTES / (s["allreduce_us"] * 1e-6)


if measured and "64" in r["w1"]:
    # The direct check: a 2-rank step is one rank's step at half the batch
    # plus the sum measured alone (bench/mpi_sum.c), plus nothing else.
    half = r["w1"]["64"]["1"]["seconds"] / r["w1"]["64"]["1"]["steps"]
    sums = {s["ranks"]: s["allreduce_us"] * 1e-6 for s in r["sum"] if s["floats"] == PARAMS}
    print("2 ranks: one rank at batch 64 %.3f ms + sum alone %.3f ms = %.3f ms; measured %.3f ms"
          % (half * 1e3, sums.get(2, 0) * 1e3, (half + sums.get(2, 0)) * 1e3, measured[2][0] * 1e3))


def sum_time(n, bw, lat, nbytes=BYTES):
    return 0.0 if n == 1 else 2 * (n - 1) / n * nbytes / bw + 2 * (n - 1) * lat


def step(n, bw, lat, batch=BATCH, ps=None):
    ps = per_sample if ps is None else ps
    return fixed + batch / n * ps + sum_time(n, bw, lat)


print("This machine: per_sample %.1f us, fixed %.2f ms, shared-memory sum %.2f GB/s"
      % (per_sample * 1e6, fixed * 1e3, local_bw / 1e9))
print("%5s %14s %14s %14s" % ("ranks", "model ms/step", "measured", "sum model ms"))
for n in (1, 2, 3):
    m = step(n, local_bw, local_lat)
    got = "%.3f" % (measured[n][0] * 1e3) if n in measured else "-"
    print("%5d %14.3f %14s %14.3f" % (n, m * 1e3, got, sum_time(n, local_bw, local_lat) * 1e3))
print("(3 ranks share 2 cores here, so their compute term is 3/2 x the model's)")

# What 2 ranks can reach here, batch by batch, straight from the runs: a
# 2-rank step is one rank's step at half the batch plus the sum, so
#   efficiency <= step1(B) / (2 step1(B / 2))            with a free sum,
#   efficiency  ~ step1(B) / (2 (step1(B / 2) + sum))    with this one.
if measured:
    s2 = sum_time(2, local_bw, local_lat)
    one_step = {int(b): v["1"]["seconds"] / v["1"]["steps"] for b, v in r["w1"].items() if "1" in v}
    print("\n2 ranks, from one rank's steps at B and B/2 and the sum alone (%.3f ms):" % (s2 * 1e3))
    print("%6s %14s %14s %16s %10s" % ("batch", "step1(B) ms", "step1(B/2) ms", "free-sum limit",
                                        "model", ) + "%10s" % "measured")
    for b in sorted(one_step):
        if b // 2 not in one_step or "2" not in r["w1"][str(b)]:
            continue
        full, half = one_step[b], one_step[b // 2]
        print("%6d %14.3f %14.3f %15.1f%% %9.0f%% %9.0f%%"
              % (b, full * 1e3, half * 1e3, 100 * full / (2 * half),
                 100 * full / (2 * (half + s2)), 100 * r["w1"][str(b)]["2"]["efficiency"]))

# Clusters: one rank per node of this machine's speed with both cores
# (per_sample / 1.7), links of 10, 25, 100 Gb/s, 5 us latency per message.
node_ps = per_sample / 1.7
print("\nProjection, W1 per node = this machine with 2 threads; efficiency at global batch 128,")
print("and the smallest global batch (power of 2) that keeps 80% efficiency")
links = [(10, 1.25e9), (25, 3.125e9), (100, 12.5e9)]
print("%5s" % "nodes" + "".join("%13s %9s" % ("%d Gb/s eff" % g, "batch80") for g, _ in links))
for n in (2, 4, 8, 16, 32, 64):
    row = "%5d" % n
    for g, bw in links:
        eff = step(1, bw, 5e-6, BATCH, node_ps) / (n * step(n, bw, 5e-6, BATCH, node_ps))
        b = BATCH
        while b < 1 << 22:
            if step(1, bw, 5e-6, b, node_ps) / (n * step(n, bw, 5e-6, b, node_ps)) >= 0.8:
                break
            b *= 2
        row += "%12.0f%% %9s" % (100 * eff, b if b < 1 << 22 else "never")
    print(row)
