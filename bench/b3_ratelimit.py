#!/usr/bin/python3
"""Figure 3: rate-limited efficiency.

selfexp run --rpm R against sim --rpm R (which refuses the excess with 429
and Retry-After) for about a minute (N = R requests), then the aiohttp peer,
pacing its starts to one every 60/R s and retrying 429s after Retry-After.
Efficiency = rate over the sending phase / (R / 60); 429s from sim /stats.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (PEER_PY, SELFEXP, Sim, append, export_bodies, fresh_dir, log, measure,  # noqa: E402
                      sh, write_reviews, HERE)

R = int(os.environ.get("B3_RPM", "1200"))
N = int(os.environ.get("B3_N", str(R)))
C = int(os.environ.get("B3_CONCURRENCY", "64"))


def main():
    d = fresh_dir("b3")
    reviews = write_reviews(os.path.join(d, "reviews.tsv"), N)
    rows, cmds = [], []
    # the bodies for the peer, from a run against an unlimited sim
    with Sim() as sim:
        cmd = [SELFEXP, "run", "--data", reviews, "--out", os.path.join(d, "prep", "run"),
               "--cache", os.path.join(d, "prep", "cache.sqlite"), "--base-url", sim.url,
               "--model", "sim", "--conditions", "pred", "--explainers", "self", "--no-metrics",
               "--concurrency", str(C), "--no-progress"]
        measure(cmd, sim, N)
    bodies = os.path.join(d, "bodies.jsonl")
    nb = export_bodies(os.path.join(d, "prep", "cache.sqlite"), bodies)
    results = []
    for who in ("selfexp", "peer"):
        with Sim("--rpm", str(R)) as sim:
            if who == "selfexp":
                cmds.append(SELFEXP + " " + sim.cmd())
                cmd = [SELFEXP, "run", "--data", reviews, "--out", os.path.join(d, "selfexp", "run"),
                       "--cache", os.path.join(d, "selfexp", "cache.sqlite"), "--base-url",
                       sim.url, "--model", "sim", "--conditions", "pred", "--explainers", "self",
                       "--no-metrics", "--concurrency", str(C), "--rpm", str(R), "--no-progress"]
            else:
                cmd = [PEER_PY, os.path.join(HERE, "peer_aiohttp.py"), "--base-url", sim.url,
                       "--bodies", bodies, "--concurrency", str(C), "--rpm", str(R)]
            log("b3: %s, %d requests at --rpm %d" % (who, nb, R))
            r = measure(cmd, sim, None)
            st = sim.stats()
            cmds.append(sh(cmd))
            results.append((who, r, st))
    for who, r, st in results:
        rate_min = r.get("send_rate", 0) * 60
        answered = r["by_status"].get("200", 0)
        rows.append([who, answered, r["sent"], "%.1f" % r.get("send_s", 0), "%.1f" % rate_min,
                     "**%.3f**" % (rate_min / R), r["by_status"].get("429", 0),
                     st.get("rate_limited", "-"), "%.1f" % r["wall_s"]])
    sx = results[0][1]
    eff = sx.get("send_rate", 0) * 60 / R
    n429 = sx["by_status"].get("429", 0)
    notes = """
`selfexp sim --rpm %d` refuses requests beyond %d per minute (a token bucket
with a burst of %d) with 429 and Retry-After; the client is told the same
limit. The rate is measured over the sending phase (first to last request the
sim saw, answered or refused), in requests per minute. selfexp: efficiency
**%.3f** (target >= 0.97: %s), **%d** answers 429 (target 0: %s).
""" % (R, R, max(R // 60, 1), eff, "met" if eff >= 0.97 else "MISSED", n429,
       "met" if n429 == 0 else "MISSED")
    append("3. Rate-limited efficiency (--rpm %d, %d requests)" % (R, N), cmds,
           ["client", "answered", "requests (incl. retries)", "sending (s)", "rate (req/min)",
            "efficiency", "429 answers", "sim rate_limited", "wall (s)"], rows, notes)


if __name__ == "__main__":
    main()
