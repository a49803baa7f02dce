#!/usr/bin/python3
"""Figure 1: throughput with zero server latency.

selfexp run (prediction prompt, self only, no metrics: one request per review,
which drives the engine most directly) on N distinct reviews at concurrency
C, fresh cache; then the aiohttp peer sends the same request bodies (exported
from selfexp's cache) at the same concurrency, against the same sim. Then the
paper's pattern, one request at a time, on the first N1 of them: selfexp
--concurrency 1, the peer awaiting aiohttp requests in a loop, and a urllib loop.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (PEER_PY, SELFEXP, Sim, append, export_bodies, fresh_dir, log, measure,  # noqa: E402
                      sh, us_per_req, write_reviews, HERE)

N = int(os.environ.get("B1_N", "20000"))
N1 = int(os.environ.get("B1_N1", "2000"))
C = int(os.environ.get("B1_CONCURRENCY", "64"))
ROUNDS = int(os.environ.get("B1_ROUNDS", "3"))


def median(runs):
    return sorted(runs, key=lambda r: r.get("send_rate", 0))[len(runs) // 2]


def selfexp_cmd(sim, d, reviews, conc, limit=None):
    cmd = [SELFEXP, "run", "--data", reviews, "--out", os.path.join(d, "run"),
           "--cache", os.path.join(d, "cache.sqlite"), "--base-url", sim.url, "--model", "sim",
           "--conditions", "pred", "--explainers", "self", "--no-metrics",
           "--concurrency", str(conc), "--no-progress"]
    if limit:
        cmd += ["--limit", str(limit)]
    return cmd


def peer_cmd(sim, bodies, mode, conc, limit=None):
    cmd = [PEER_PY, os.path.join(HERE, "peer_aiohttp.py"), "--base-url", sim.url,
           "--bodies", bodies, "--mode", mode, "--concurrency", str(conc)]
    if limit:
        cmd += ["--limit", str(limit)]
    return cmd


def row(name, conc, r):
    n = r["sent"]
    return [name, conc, n, "%.0f" % r.get("send_rate", 0), "%.2f" % r["wall_s"],
            us_per_req(r["cpu_s"], n),
            us_per_req(r["send_cpu_s"], n) if "send_cpu_s" in r else "-",
            "%.0f" % (r["maxrss_kb"] / 1024), us_per_req(r["sim_cpu_s"], n)]


def main():
    d = fresh_dir("b1")
    reviews = write_reviews(os.path.join(d, "reviews.tsv"), N)
    rows, cmds = [], []
    with Sim() as sim:
        cmds.append(SELFEXP + " " + sim.cmd())
        # selfexp and the peer in turn, ROUNDS times (the median round is reported)
        sx_runs, py_runs = [], []
        for k in range(ROUNDS):
            log("b1: round %d: selfexp, %d requests at concurrency %d" % (k + 1, N, C))
            sd = os.path.join(d, "selfexp%d" % k)
            cmd = selfexp_cmd(sim, sd, reviews, C)
            sx_runs.append(measure(cmd, sim, N))
            if k == 0:
                cmds.append(sh(cmd))
                bodies = os.path.join(d, "bodies.jsonl")
                nb = export_bodies(os.path.join(sd, "cache.sqlite"), bodies)
                cmds.append("%s cache export --cache %s  # -> %s, %d bodies" % (
                    SELFEXP, os.path.join(sd, "cache.sqlite"), bodies, nb))
            log("b1: round %d: aiohttp peer, %d requests at concurrency %d" % (k + 1, nb, C))
            cmd = peer_cmd(sim, bodies, "aiohttp", C)
            py_runs.append(measure(cmd, sim, nb))
            if k == 0:
                cmds.append(sh(cmd))
        r_sx = median(sx_runs)
        r_py = median(py_runs)
        rows.append(row("selfexp run (median of %d)" % ROUNDS, C, r_sx))
        rows.append(row("peer aiohttp (median of %d)" % ROUNDS, C, r_py))
        spread = "rates of every round: selfexp %s, peer %s req/s" % (
            ", ".join("%.0f" % r.get("send_rate", 0) for r in sx_runs),
            ", ".join("%.0f" % r.get("send_rate", 0) for r in py_runs))

        log("b1: one request at a time, %d requests" % N1)
        cmd = selfexp_cmd(sim, os.path.join(d, "selfexp-c1"), reviews, 1, N1)
        r_sx1 = measure(cmd, sim, N1)
        cmds.append(sh(cmd))
        rows.append(row("selfexp run", 1, r_sx1))
        for mode in ("sequential", "urllib"):
            cmd = peer_cmd(sim, bodies, mode, 1, N1)
            r = measure(cmd, sim, N1)
            cmds.append(sh(cmd))
            rows.append(row("peer " + ("aiohttp, awaited in a loop" if mode == "sequential"
                                       else "urllib loop"), 1, r))
            if mode == "sequential":
                r_py1 = r

    ratio = r_sx["send_rate"] / r_py["send_rate"]
    ratio1 = r_sx1["send_rate"] / r_py1["send_rate"]
    us = r_sx["cpu_s"] * 1e6 / r_sx["sent"]
    us_send = r_sx.get("send_cpu_s", 0) * 1e6 / r_sx["sent"]
    notes = """
`selfexp sim` with no latency on loopback; the client and the sim share the
machine's cores. *rate*: requests per second over the sending phase (first to
last request the sim saw, polled every 20 ms from /stats). *CPU/req, process*:
the client's user+sys time (wait4) over its whole life (selfexp: loading the
data, building prompts, parsing answers, writing the run directory; the peer:
interpreter start-up, reading the bodies, decoding answers) divided by the
requests; *CPU/req, sending*: its CPU over the sending phase only
(/proc/PID/stat). selfexp starts with an empty cache, so every answer is also
written to SQLite. Peak RSS from wait4 (what /usr/bin/time -v reports).

selfexp / peer rate at concurrency %d: **%.1fx** (target >= 5x: %s); at
concurrency 1: %.1fx. selfexp client CPU: **%.1f us/request** over the whole
process, %.1f over the sending phase (target <= 50: %s). The machine is
shared (load average %s when the section was written); %s.
""" % (C, ratio, "met" if ratio >= 5 else "MISSED", ratio1, us, us_send,
       "met" if us <= 50 else ("met over the sending phase" if us_send <= 50 else "MISSED"),
       " ".join("%.1f" % v for v in os.getloadavg()), spread)
    append("1. Throughput at zero server latency (%d requests, concurrency %d)" % (N, C), cmds,
           ["client", "concurrency", "requests", "rate (req/s)", "wall (s)",
            "CPU/req, process (us)", "CPU/req, sending (us)", "peak RSS (MB)",
            "sim CPU/req (us)"], rows, notes)


if __name__ == "__main__":
    main()
