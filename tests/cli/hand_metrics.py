#!/usr/bin/env python3
"""Faithfulness of a tiny run worked out apart from selfexp (t0980).

The sim with --confidence-decimals 6 --explain faithful answers each input z
with the label y(z) = [P(pos | z) > 0.5] and the confidence max(P, 1 - P)
printed with 6 decimals, P = sigmoid(bias + sum w(token)) from
data/sim-weights.txt; its explanation values are w_i / max|w| printed with 3
decimals. Everything below follows DESIGN.md section 7 literally: rank by the
value toward y (ties: left first), comprehensiveness and sufficiency as
1/(n+1) sums, DF_MIT, DF_Frac, RankDel as the Spearman correlation (average
ranks) of the importance toward y with the single-deletion drops. Nothing is
read from selfexp's output but its numbers to compare.
--explain inverted gives minus those values, coarse round(2 f) / 2 of f = w_i /
max|w| (ties, ranked left first, and average ranks in RankDel).
Usage: hand_metrics.py RECORDS.jsonl TSV [faithful|inverted|coarse]; prints TAP-style ok / not ok lines."""
import json, math, sys
import truth

B, W = truth.load_weights()
MODE = sys.argv[3] if len(sys.argv) > 3 else "faithful"


def answer(tokens):
    """(label, P(pos)) as selfexp reads them from the sim's verbal answer."""
    p = truth.p_pos(B, W, tokens)
    y = int(p > 0.5)
    conf = float("%.6f" % (p if y else 1 - p))
    return y, (conf if y else 1 - conf)


def metrics(tokens):
    n = len(tokens)
    y, px = answer(tokens)
    ws = [W.get(truth.lower(t), 0.0) for t in tokens]
    top = max(abs(v) for v in ws)
    f = [v / top for v in ws]
    value = [float("%.3f" % x) for x in f] if MODE == "faithful" else \
        [float("%.3f" % -x) for x in f] if MODE == "inverted" else \
        [math.copysign(math.floor(abs(2 * x) + 0.5), x) / 2 + 0.0 for x in f]  # coarse: C's round(2f) / 2
    imp = [v if y == 1 else -v for v in value]
    rank = sorted(range(n), key=lambda i: (-imp[i], i))
    pr = lambda t: (lambda a: a[1] if y == 1 else 1 - a[1])(answer(t))
    lab = lambda t: answer(t)[0]
    p_x = px if y == 1 else 1 - px
    delete = lambda R: [t for i, t in enumerate(tokens) if i not in R]
    keep = lambda R: [t for i, t in enumerate(tokens) if i in R]
    comp = sum(p_x - pr(delete(set(rank[:j]))) for j in range(1, n + 1)) / (n + 1)
    suff = sum(p_x - pr(keep(set(rank[:j]))) for j in range(0, n)) / (n + 1)
    df_mit = 1.0 if lab(delete({rank[0]})) != y else 0.0
    df_frac = 1.0
    for j in range(1, n + 1):
        if lab(delete(set(rank[:j]))) != y:
            df_frac = j / n
            break
    drops = [p_x - pr(delete({i})) for i in range(n)]
    rankdel = truth.spearman(imp, drops)
    return {"comprehensiveness": comp, "sufficiency": suff, "df_mit": df_mit,
            "df_frac": df_frac, "rankdel": rankdel}


def main():
    recs = {r["id"]: r for r in truth.records(sys.argv[1], "self", "pe")}
    rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[2], encoding="utf-8")][1:]
    print(("ok" if len(recs) == len(rows) else "not ok"),
          "one self record per review (%d of %d)" % (len(recs), len(rows)))
    for i, (sent, _) in enumerate(rows, 1):
        r = recs.get(str(i))
        want = metrics(sent.split())
        got = (r or {}).get("metrics") or {}
        for k, v in want.items():
            g = got.get(k)
            good = (v is None and g is None) or (v is not None and truth.err(g, v) <= 1e-9)
            print(("ok" if good else "not ok"), MODE + ": review %d %s: records.jsonl %r, by hand %r" % (i, k, g, v))


main()
