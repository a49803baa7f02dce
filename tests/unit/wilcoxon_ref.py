#!/usr/bin/env python3
# Reference values for tests/unit/test_stats.c (Wilcoxon p-values, seed derivation).
# Run: python3 tests/unit/wilcoxon_ref.py. Needs no scipy (not installed here).
# Written apart from stats.c:
# - exact, small m: brute-force enumeration of all 2^m sign assignments of the
#   (average, possibly tied) ranks, p = min(1, 2 #{W+ <= min(W+, W-)} / 2^m);
# - exact, larger m: the same distribution by multiplying out the generating
#   function prod_i (1 + x^(2 r_i)) with Python integers (no rounding at all);
# - normal: the textbook approximation, var = m(m+1)(2m+1)/24 - sum(t^3 - t)/48,
#   z = max(|W+ - m(m+1)/4| - 0.5, 0) / sqrt(var), p = erfc(z / sqrt 2).
# Zeros are dropped before ranking in every case.
import itertools, math, hashlib, struct
from collections import Counter
from fractions import Fraction as F

def ranks(v):
    s = sorted(range(len(v)), key=lambda i: v[i]); r = [0] * len(v); i = 0
    while i < len(v):
        j = i
        while j + 1 < len(v) and v[s[j + 1]] == v[s[i]]: j += 1
        for k in range(i, j + 1): r[s[k]] = F(i + j + 2, 2)
        i = j + 1
    return r

def prep(d):
    d = [x for x in d if x != 0]; m = len(d); a = [abs(x) for x in d]; r = ranks(a)
    wp = sum((ri for ri, x in zip(r, d) if x > 0), F(0))
    return d, m, a, r, wp

def brute(d):
    d, m, a, r, wp = prep(d)
    T = min(wp, F(m * (m + 1), 2) - wp); cnt = 0
    for signs in itertools.product([0, 1], repeat=m):
        if sum((ri for ri, s in zip(r, signs) if s), F(0)) <= T: cnt += 1
    return float(wp), min(F(1), F(2 * cnt, 2 ** m))

def genfun(d):
    d, m, a, r, wp = prep(d)
    poly = {0: 1}
    for ri in r:
        k = int(2 * ri); new = Counter(poly)
        for s, c in poly.items(): new[s + k] += c
        poly = new
    T = min(wp, F(m * (m + 1), 2) - wp)
    cnt = sum(c for s, c in poly.items() if s <= 2 * T)
    return float(wp), min(F(1), F(2 * cnt, 2 ** m))

def normal(d):
    d, m, a, r, wp = prep(d)
    var = F(m * (m + 1) * (2 * m + 1), 24)
    for t in Counter(a).values(): var -= F(t ** 3 - t, 48)
    z = max(abs(wp - F(m * (m + 1), 4)) - F(1, 2), 0) / math.sqrt(var)
    return float(wp), math.erfc(z / math.sqrt(2))

def show(name, res):
    wp, p = res
    print("%-16s W+ %-7g p %.17g%s" % (name, wp, float(p), "  (= %s)" % p if isinstance(p, F) else ""))

show("exact7", brute([1.5, -0.5, 2.0, 3.1, 0.7, -1.2, 2.6, 0.0]))
show("exact10", brute([0.3, -0.1, 0.9, 1.4, -0.25, 0.6, 0.8, 1.1, -0.45, 0.2]))
# The case: five tied positive differences.
show("five_tied", brute([1] * 5))
show("five_tied_norm", normal([1] * 5))
# Ties and a zero, m = 9: exact now (was the normal approximation's example).
show("ties", brute([1, 1, -2, 3, 3, 3, -1, 4, 5, 0]))
show("ties_norm", normal([1, 1, -2, 3, 3, 3, -1, 4, 5, 0]))
# Zeros and ties together, m = 12 of 16.
dz = [0, 2, -2, 2, 0, 1, -1, 3, 0.5, 2, 0, 3, -0.5, 2, 0, 4]
show("zeros_ties", brute(dz))
# 0/1 data: 7 of 8 reviews flip one way, 1 the other (ranks all tied).
show("flips", brute([1] * 7 + [-1]))
# m = 30 without ties: exact now (it was above the old limit of 25).
d30 = [(i + 1) * (-1 if i % 4 == 0 else 1) + 0.01 * i for i in range(30)]
show("n30", genfun(d30))
# The two exact methods agree where both run.
show("n12_genfun", genfun(d30[:12]))
show("n12_brute", brute(d30[:12]))
# The branch boundary, with ties: m = 50 exact, m = 51 normal (plus zeros that are dropped).
def dbound(m):
    return [((i % 7) + 1) * (-1 if i % 3 == 0 else 1) for i in range(m)] + [0, 0]
show("m50_exact", genfun(dbound(50)))
show("m50_norm", normal(dbound(50)))
show("m51_norm", normal(dbound(51)))
show("m51_exact", genfun(dbound(51)))

def seed(run, purpose, id):
    h = hashlib.sha256(b"selfexp-seed-v1\0" + struct.pack(">Q", run) + purpose.encode() + b"\0" + id.encode()).digest()
    return struct.unpack(">Q", h[:8])[0]
print("seed", hex(seed(42, "lime", "sst2-test-17")))
