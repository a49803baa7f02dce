#!/usr/bin/python3
"""Figure 5: scale.

Wall time and peak memory (max RSS, as /usr/bin/time -v reports it) of the
full protocol (ep,pe; self, occlusion, LIME 10x; all metrics) on the first
100, 400 and 1,821 SST-2 test reviews against sim --latency-ms L, each with a
fresh cache (removed afterwards: the largest is gigabytes).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import SELFEXP, SHARED, Sim, append, fresh_dir, log, measure, sh  # noqa: E402

L = float(os.environ.get("B5_LATENCY_MS", "5"))
C = int(os.environ.get("B5_CONCURRENCY", "64"))
SIZES = [int(x) for x in os.environ.get("B5_SIZES", "100,400,1821").split(",")]
DATA = os.path.join(SHARED, "data", "sst2", "test.tsv")


def main():
    d = fresh_dir("b5")
    rows, cmds = [], []
    base = None
    with Sim("--latency-ms", "%g" % L) as sim:
        cmds.append(SELFEXP + " " + sim.cmd())
        for n in SIZES:
            out = os.path.join(d, "run-%d" % n)
            cache = os.path.join(d, "cache-%d.sqlite" % n)
            cmd = [SELFEXP, "run", "--data", DATA, "--limit", str(n), "--out", out,
                   "--cache", cache, "--base-url", sim.url, "--model", "sim",
                   "--conditions", "ep,pe", "--explainers", "self,occlusion,lime",
                   "--concurrency", str(C), "--no-progress"]
            log("b5: %d reviews" % n)
            r = measure(cmd, sim, None)
            cmds.append(sh(cmd))
            c = json.load(open(os.path.join(out, "run.json")))["counts"]
            cache_mb = sum(os.path.getsize(p) for p in (cache, cache + "-wal")
                           if os.path.exists(p)) / 2**20
            for p in (cache, cache + "-wal", cache + "-shm"):
                if os.path.exists(p):
                    os.remove(p)
            per = r["wall_s"] / c["sent"] * 1e6
            if base is None:
                base = per
            rows.append([n, c["sent"], "%.1f" % r["wall_s"], "%.0f" % (c["sent"] / r["wall_s"]),
                         "%.0f" % per, "%.2f" % (per / base), "%.1f" % (r["maxrss_kb"] / 1024),
                         "%.1f" % (r["cpu_s"] * 1e6 / c["sent"]), "%.0f" % cache_mb, r["exit"]])
    worst = max(float(r[6]) for r in rows)
    notes = """
Each size runs with a fresh cache against `selfexp sim --latency-ms %g`, at
concurrency %d. *wall/request* relative to the first size shows whether time
grows linearly with the requests (1.00 = exactly). Peak RSS is the client's
max resident set (wait4 ru_maxrss, the figure /usr/bin/time -v prints):
largest **%.1f MB** (target < 64 MB: %s).
""" % (L, C, worst, "met" if worst < 64 else "MISSED")
    append("5. Scale (full protocol, SST-2 test, latency %g ms)" % L, cmds,
           ["reviews", "requests sent", "wall (s)", "req/s", "wall/request (us)",
            "relative", "peak RSS (MB)", "CPU/request (us)", "cache (MB)", "exit"], rows, notes)


if __name__ == "__main__":
    main()
