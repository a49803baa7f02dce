#!/usr/bin/python3
"""Figure 2: latency-bound efficiency.

sim --latency-ms L, concurrency C: the best a client can do is C / L requests
per second. selfexp run (prediction prompt, self only, no metrics: one request
per review) on N distinct reviews, then the aiohttp peer with the same bodies;
efficiency = rate over the sending phase / (C / L).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (PEER_PY, SELFEXP, Sim, append, export_bodies, fresh_dir, log, measure,  # noqa: E402
                      sh, us_per_req, write_reviews, HERE)

L = float(os.environ.get("B2_LATENCY_MS", "100"))
C = int(os.environ.get("B2_CONCURRENCY", "64"))
N = int(os.environ.get("B2_N", str(int(C / (L / 1000.0) * 10))))  # ten seconds' worth


def main():
    d = fresh_dir("b2")
    reviews = write_reviews(os.path.join(d, "reviews.tsv"), N)
    ideal = C / (L / 1000.0)
    rows, cmds = [], []
    with Sim("--latency-ms", "%g" % L) as sim:
        cmds.append(SELFEXP + " " + sim.cmd())
        log("b2: selfexp, %d requests, latency %g ms, concurrency %d" % (N, L, C))
        cmd = [SELFEXP, "run", "--data", reviews, "--out", os.path.join(d, "selfexp", "run"),
               "--cache", os.path.join(d, "selfexp", "cache.sqlite"), "--base-url", sim.url,
               "--model", "sim", "--conditions", "pred", "--explainers", "self", "--no-metrics",
               "--concurrency", str(C), "--no-progress"]
        r_sx = measure(cmd, sim, N)
        cmds.append(sh(cmd))
        bodies = os.path.join(d, "bodies.jsonl")
        nb = export_bodies(os.path.join(d, "selfexp", "cache.sqlite"), bodies)
        log("b2: aiohttp peer, %d requests" % nb)
        cmd = [PEER_PY, os.path.join(HERE, "peer_aiohttp.py"), "--base-url", sim.url,
               "--bodies", bodies, "--concurrency", str(C)]
        r_py = measure(cmd, sim, nb)
        cmds.append(sh(cmd))
    for name, r in (("selfexp run", r_sx), ("peer aiohttp", r_py)):
        rate = r.get("send_rate", 0)
        rows.append([name, r["sent"], "%.2f" % r.get("send_s", 0), "%.1f" % rate,
                     "**%.3f**" % (rate / ideal), us_per_req(r.get("send_cpu_s", 0), r["sent"]),
                     "%.2f" % r["wall_s"]])
    eff = r_sx.get("send_rate", 0) / ideal
    notes = """
`selfexp sim --latency-ms %g` (every answer %g ms late), concurrency %d: the
ceiling is %d / %g s = %.0f requests/s. The rate is measured over the sending
phase (first to last request the sim saw, polled every 20 ms), which leaves
out start-up (loading the data, building the prompts) and the last answers'
%g ms; selfexp drives the engine with `run --conditions pred --explainers self
--no-metrics` (one request per review, all in one engine batch).
selfexp efficiency **%.3f** (target >= 0.95: %s).
""" % (L, L, C, C, L / 1000.0, ideal, L, eff, "met" if eff >= 0.95 else "MISSED")
    append("2. Latency-bound efficiency (latency %g ms, concurrency %d, %d requests)" % (L, C, N),
           cmds, ["client", "requests", "sending (s)", "rate (req/s)", "efficiency",
                  "CPU/req, sending (us)", "wall (s)"], rows, notes)


if __name__ == "__main__":
    main()
