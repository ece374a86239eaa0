"""The table of bench/run_scaling.sh: medians per rank count, efficiency
against linear scaling, the communication time per step, and the cost model
of docs/SCALING.md (step = compute(batch / N) + sum time) checked against it.
Writes the JSON given as the second argument."""
import json
import statistics
import sys

lines = [json.loads(l) for l in open(sys.argv[1])]
sums = [l["result"] for l in lines if l["workload"] == "sum"]
w1 = [l for l in lines if l["workload"] == "w1"]
for l in w1:
    l.setdefault("batch", 128)
out = {"sum": sums, "w1": {}}

print("Gradient sum alone (median of 200): reduce-scatter + all-gather, MPI_Allreduce,")
print("and a shared-memory window (the floor on one machine)")
print("%5s %12s %12s %14s %10s %10s" % ("ranks", "bytes", "rs+ag us", "allreduce us", "window us",
                                         "bus GB/s"))
for s in sums:
    print("%5d %12d %12.1f %14.1f %10.1f %10.3f" % (s["ranks"], s["bytes"], s["rs_ag_us"],
                                                   s["allreduce_us"], s["shm_window_us"],
                                                   s["rs_ag_busbw_gbs"]))

for batch in sorted({l["batch"] for l in w1}):
    print("\nW1, one epoch, global batch %d, 1 thread per rank (medians)" % batch)
    print("%5s %9s %12s %10s %14s %14s %11s" % ("ranks", "seconds", "samples/s", "efficiency",
                                                  "sum ms/step", "wait ms/step", "comm share"))
    base = None
    out["w1"][str(batch)] = {}
    for n in sorted({l["ranks"] for l in w1 if l["batch"] == batch}):
        runs = [l["cli"] for l in w1 if l["ranks"] == n and l["batch"] == batch]
        sec = statistics.median(r["seconds"] for r in runs)
        sps = statistics.median(r["samples_per_second"] for r in runs)
        comm = statistics.median(r.get("comm_seconds", 0.0) for r in runs)
        wait = statistics.median(r.get("wait_seconds", 0.0) for r in runs)
        steps = runs[0]["iterations"]
        if base is None:
            base = sps
        eff = sps / (n * base)
        out["w1"][str(batch)][str(n)] = {
            "seconds": sec, "samples_per_second": sps, "efficiency": eff, "comm_seconds": comm,
            "comm_ms_per_step": 1e3 * comm / steps, "wait_seconds": wait,
            "wait_ms_per_step": 1e3 * wait / steps, "steps": steps,
            "loss": statistics.median(r["loss"] for r in runs), "runs": [r["seconds"] for r in runs]}
        print("%5d %9.3f %12.0f %9.0f%% %14.3f %14.3f %10.0f%%"
              % (n, sec, sps, 100 * eff, 1e3 * comm / steps, 1e3 * wait / steps,
                 100 * (comm + wait) / sec))
json.dump(out, open(sys.argv[2], "w"), indent=1)
print("\nwrote", sys.argv[2])
