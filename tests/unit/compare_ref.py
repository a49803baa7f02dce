#!/usr/bin/env python3
# Reference values for tests/unit/test_compare.c: the p-values and Holm-adjusted
# p-values of the hand-written base and new runs (hand_run() there), computed
# independently of selfexp. Run: python3 tests/unit/compare_ref.py. Needs no
# scipy: the exact Wilcoxon distribution by enumerating all 2^m sign
# assignments of the (average, possibly tied) ranks when m <= 50 (every case
# here), the textbook normal approximation (tie-corrected variance,
# continuity correction 0.5) above, and Holm's step-down by hand over the
# rows that have a p-value (a row whose differences are all zero has none and
# is not counted in the family).
import itertools, math
from collections import Counter
from fractions import Fraction as F

N = 8  # reviews r1..r8, two conditions (pe, ep)

# Changes new - base per review, exactly as hand_run() writes them (None: the
# value is null in both runs, so the pair is skipped).
steps = [F(i, 100) for i in range(1, 9)]           # 0.01 .. 0.08
changes = {
    # pe, self explanation
    ("pe", "self", "comprehensiveness"): [-5 * s for s in steps],   # all drop: worse (higher is better)
    ("pe", "self", "sufficiency"): [s for s in steps],               # all rise: worse (lower is better)
    ("pe", "self", "df_mit"): steps[:7] + [-steps[7]],               # mixed, not significant
    ("pe", "self", "aopc_comprehensiveness"): [-steps[0]] + steps[1:],  # rise but for the smallest
    ("pe", "self", "rankdel"): [F(0)] * N,                           # unchanged: p undefined
    ("pe", "answer", "accuracy"): [F(0)] * N,                        # same predictions
    ("pe", "occlusion", "comprehensiveness"): steps[:6] + [None, None],  # n = 6, all rise
    # ep: every prediction right in base, wrong in new; explanations unchanged
    ("ep", "answer", "accuracy"): [F(-1)] * N,
}

def ranks(v):
    s = sorted(range(len(v)), key=lambda i: v[i]); r = [0] * len(v); i = 0
    while i < len(v):
        j = i
        while j + 1 < len(v) and v[s[j + 1]] == v[s[i]]: j += 1
        for k in range(i, j + 1): r[s[k]] = F(i + j + 2, 2)
        i = j + 1
    return r

def wilcoxon(d):
    d = [x for x in d if x is not None and x != 0]
    m = len(d)
    if m == 0:
        return None, "undefined"
    a = [abs(x) for x in d]; r = ranks(a)
    wp = sum(ri for ri, x in zip(r, d) if x > 0)
    if m <= 50:
        T = min(wp, F(m * (m + 1), 2) - wp); cnt = 0
        for signs in itertools.product([0, 1], repeat=m):
            if sum(ri for ri, s in zip(r, signs) if s) <= T: cnt += 1
        return min(F(1), F(2 * cnt, 2 ** m)), "exact %d/%d" % (2 * cnt, 2 ** m)
    var = F(m * (m + 1) * (2 * m + 1), 24)
    for t in Counter(a).values(): var -= F(t ** 3 - t, 48)
    z = max(abs(wp - F(m * (m + 1), 4)) - F(1, 2), 0) / math.sqrt(var)
    return math.erfc(z / math.sqrt(2)), "normal, z = %.6f" % z

def holm(ps):
    idx = [i for i, p in enumerate(ps) if p is not None]
    m = len(idx); adj = [None] * len(ps); run = 0
    for k, i in enumerate(sorted(idx, key=lambda i: ps[i])):
        run = max(run, min(1, (m - k) * ps[i])); adj[i] = run
    return adj

def rows(conditions, metrics):
    out = []
    for c in conditions:
        for meth, met in metrics:
            out.append((c, meth, met))
    return out

METRICS = [("answer", "accuracy"), ("self", "comprehensiveness"), ("self", "sufficiency"),
           ("self", "df_mit"), ("self", "rankdel"), ("self", "aopc_comprehensiveness"),
           ("occlusion", "comprehensiveness")]

for title, conds in (("all conditions", ["pe", "ep"]), ("conditions ep", ["ep"])):
    rs = rows(conds, METRICS)
    ps, how = [], []
    for key in rs:
        p, h = wilcoxon(changes.get(key, [F(0)] * N))
        ps.append(p); how.append(h)
    adj = holm(ps)
    print("#", title, "(Holm over %d p-values)" % sum(p is not None for p in ps))
    for key, p, h, a in zip(rs, ps, how, adj):
        d = [x for x in changes.get(key, [F(0)] * N) if x is not None]
        print("%-3s %-9s %-22s mean_diff %+.4f  p %-10s  p_holm %-10s  (%s)" % (
            key[0], key[1], key[2], float(sum(d) / len(d)),
            "-" if p is None else "%.8f" % float(p), "-" if a is None else "%.8f" % float(a), h))

# Parse failures (test_parse_failures): the first k of the 8 ep answers
# unparseable in new, ok in base: k differences of +1.
for k in (3, 8):
    p, h = wilcoxon([F(1)] * k + [F(0)] * (N - k))
    print("parse_failures, %d of 8 unparseable: mean_diff %+.4f  p %.8f  (%s)" % (k, k / N, p, h))

# The gate (test_gate_parse_failures): 40 reviews; in new, 10 answers no longer
# parse and 6 requests failed. parse_failures is paired over the 34 reviews
# answered in both (10 of +1), failed_requests over all 40 (6 of +1); the
# other default metrics have no p-value.
pf, h1 = wilcoxon([F(1)] * 10 + [F(0)] * 24)
fr, h2 = wilcoxon([F(1)] * 6 + [F(0)] * 34)
adj = holm([pf, fr])
print("gate: parse_failures mean_diff %+.6f p %.10f p_holm %.10f (%s)" % (10 / 34, pf, adj[0], h1))
print("gate: failed_requests mean_diff %+.6f p %.10f p_holm %.10f (%s)" % (6 / 40, fr, adj[1], h2))
