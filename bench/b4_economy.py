#!/usr/bin/python3
"""Figure 4: request economy of the full protocol.

The full protocol (conditions ep,pe; self, occlusion, LIME at 10x the token
count; all metrics) on the 100 SST-2 test reviews of the paper, against the
sim: requests the stages ask for (naive: what a harness without sharing
or a cache sends) against distinct requests and requests sent, with tokens;
then the same run again on the same cache.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import SELFEXP, SHARED, Sim, append, fresh_dir, log, measure, sh  # noqa: E402

C = int(os.environ.get("B4_CONCURRENCY", "64"))
DATA = os.environ.get("B4_DATA", os.path.join(SHARED, "data", "sst2", "paper100.tsv"))


def main():
    d = fresh_dir("b4")
    rows, cmds = [], []
    with Sim() as sim:
        cmds.append(SELFEXP + " " + sim.cmd())
        for i, name in enumerate(("first run (empty cache)", "second run (same cache)")):
            out = os.path.join(d, "run%d" % (i + 1))
            cmd = [SELFEXP, "run", "--data", DATA, "--out", out, "--cache",
                   os.path.join(d, "cache.sqlite"), "--base-url", sim.url, "--model", "sim",
                   "--conditions", "ep,pe", "--explainers", "self,occlusion,lime",
                   "--lime-samples", "10x", "--concurrency", str(C), "--no-progress"]
            log("b4: %s" % name)
            r = measure(cmd, sim, None)
            cmds.append(sh(cmd))
            c = json.load(open(os.path.join(out, "run.json")))["counts"]
            rows.append([name, c["naive_requests"], c["requests"], c["distinct_requests"],
                         c["cache_hits"], c["sent"], r["sent"],
                         "%.3f" % (c["sent"] / c["naive_requests"]),
                         c["prompt_tokens"], c["completion_tokens"], "%.1f" % r["wall_s"]])
    first = rows[0]
    notes = """
*naive*: the requests the stages ask for (one per elicitation, occlusion
deletion, LIME sample and metric perturbation: what a script that sends every
query, as the paper's did, would send); *asked*: handed to the engine after
each batch's identical texts were merged; *distinct*: distinct request bodies
over all batches; *sent*: went to the network (run.json counts.sent, and the
sim's own count). Tokens are the sim's `usage` of the answers sent. The first
run sends %d of %d naive requests (%.1f%%); the second sends %d.
""" % (first[5], first[1], 100.0 * first[5] / first[1], rows[1][5])
    append("4. Request economy (full protocol, %s)" % os.path.basename(DATA), cmds,
           ["run", "naive", "asked", "distinct", "cache hits", "sent", "sim saw",
            "sent / naive", "prompt tokens", "completion tokens", "wall (s)"], rows, notes)


if __name__ == "__main__":
    main()
