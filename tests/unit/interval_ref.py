#!/usr/bin/env python3
# Reference intervals for tests/unit/test_stats.c (sx_stats_summary_as, the
# paired interval of sx_stats_paired, sx_stats_ece_interval), computed apart
# from stats.c with the Python standard library only (no scipy, no numpy).
# Run: python3 tests/unit/interval_ref.py.
#
# The bootstrap resamples must be the ones stats.c draws, so this file
# re-implements its random stream: GSL's MT19937 seeded as gsl_rng_set does
# (Knuth's initialisation of the 624 words, seed 0 -> 4357) with the 64-bit
# seed folded to 32 bits (high xor low), loaded into Python's own MT19937
# (random.setstate), and gsl_rng_uniform_int's rejection (k = u / (0xffffffff
# // n), redrawn while k >= n). Everything after the draws is written out
# here: the means, R type 7 quantiles, z0, the jackknife acceleration, the
# expanded level sqrt(n/(n-1)) t_{n-1}(0.975) (the t quantile by bisection on
# a numerically integrated t density), the Wilson score interval, and
# Clopper-Pearson's by bisection on the binomial distribution function (not
# through Beta quantiles, as stats.c computes it).
import math, random, statistics

ND = statistics.NormalDist()

class GslMT:
    def __init__(self, seed64):
        s = (seed64 ^ (seed64 >> 32)) & 0xffffffff
        if s == 0:
            s = 4357
        mt = [s]
        for i in range(1, 624):
            mt.append((1812433253 * (mt[-1] ^ (mt[-1] >> 30)) + i) & 0xffffffff)
        self.r = random.Random()
        self.r.setstate((3, tuple(mt + [624]), None))
    def get(self):
        return self.r.getrandbits(32)
    def below(self, n):
        if n <= 1:
            return 0
        scale = 0xffffffff // n
        while True:
            k = self.get() // scale
            if k < n:
                return k

def q7(t, p):
    h = (len(t) - 1) * p; lo = int(h)
    if lo >= len(t) - 1:
        return t[-1]
    return t[lo] + (h - lo) * (t[lo + 1] - t[lo])

def boot_means(v, B, seed):
    g = GslMT(seed); m = len(v); out = []
    for _ in range(B):
        s = 0.0
        for _ in range(m):
            s += v[g.below(m)]
        out.append(s / m)
    return sorted(out)

def t_cdf(x, df):
    # integral of the t density from 0 to x (Simpson, 20000 panels) + 1/2
    c = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)
    f = lambda u: c * (1 + u * u / df) ** (-(df + 1) / 2)
    n = 20000; h = x / n
    s = f(0) + f(x) + sum((4 if i % 2 else 2) * f(i * h) for i in range(1, n))
    return 0.5 + s * h / 3

def t_quantile(p, df):
    lo, hi = 0.0, 100.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if t_cdf(mid, df) < p: lo = mid
        else: hi = mid
    return (lo + hi) / 2

def z0_of(t, est, tol):
    B = len(t)
    below = sum(1 for x in t if x < est - tol)
    equal = sum(1 for x in t if est - tol <= x <= est + tol)
    q = min(max((below + 0.5 * equal) / B, 0.5 / B), 1 - 0.5 / B)
    return ND.inv_cdf(q)

def level(z0, a, z):
    den = 1 - a * (z0 + z)
    if den <= 0:
        return 1.0 if z0 + z > 0 else 0.0
    return ND.cdf(z0 + (z0 + z) / den)

def bca(t, est, a, c, tol):
    z0 = z0_of(t, est, tol)
    return q7(t, level(z0, a, -c)), q7(t, level(z0, a, c)), z0

def mean_interval(v, how, B, seed):
    v = [x for x in v if x == x]; m = len(v); mean = sum(v) / m
    if m == 1 or len(set(v)) == 1:
        return v[0], v[0]
    t = boot_means(v, B, seed)
    if how == "percentile":
        return q7(t, 0.025), q7(t, 0.975)
    d = [x - mean for x in v]; s2 = sum(x * x for x in d); s3 = sum(x ** 3 for x in d)
    a = s3 / (6 * s2 ** 1.5)
    c = ND.inv_cdf(0.975) if how == "bca" else math.sqrt(m / (m - 1)) * t_quantile(0.975, m - 1)
    lo, hi, z0 = bca(t, mean, a, c, 1e-12 * max(abs(x) for x in v))
    return lo, hi

def sd(x):
    m = sum(x) / len(x)
    return math.sqrt(sum((u - m) ** 2 for u in x) / (len(x) - 1))

def studentized(v, B, seed):
    # bootstrap-t: t* = (mean* - mean) / (sd* / sqrt(m)), [mean - q(.975) se, mean - q(.025) se];
    # None when a resample is constant (stats.c then falls back to bca_expanded)
    v = [x for x in v if x == x]; m = len(v); mean = sum(v) / m; se = sd(v) / math.sqrt(m)
    g = GslMT(seed); t = []
    for _ in range(B):
        x = [v[g.below(m)] for _ in range(m)]
        s = sd(x)
        if s == 0:
            return None
        t.append((sum(x) / m - mean) / (s / math.sqrt(m)))
    t.sort()
    return mean - q7(t, 0.975) * se, mean - q7(t, 0.025) * se

def wilson(k, n):
    z = ND.inv_cdf(0.975); z2 = z * z
    c = (k + z2 / 2) / (n + z2); h = z * math.sqrt(k * (n - k) / n + z2 / 4) / (n + z2)
    return (0.0 if k == 0 else max(0.0, c - h)), (1.0 if k == n else min(1.0, c + h))

def binom_cdf(k, n, p):
    return sum(math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(k + 1))

def bisect(f, lo=0.0, hi=1.0):
    # f increasing in p from negative to positive
    for _ in range(200):
        mid = (lo + hi) / 2
        if f(mid) < 0: lo = mid
        else: hi = mid
    return (lo + hi) / 2

def clopper_pearson(k, n):
    # lo: P(X >= k | p) = 0.025; hi: P(X <= k | p) = 0.025 (both monotone in p)
    lo = 0.0 if k == 0 else bisect(lambda p: (1 - binom_cdf(k - 1, n, p)) - 0.025)
    hi = 1.0 if k == n else bisect(lambda p: 0.025 - binom_cdf(k, n, p))
    return lo, hi

def show(name, lohi):
    print("%-22s [%.17g, %.17g]" % (name, lohi[0], lohi[1]))

# test_summary_intervals: a right-skewed sample of 12 (and a NaN, skipped).
skew = [0.05, 0.12, 0.2, 0.31, 0.33, 0.4, 0.52, 0.7, 0.95, 1.4, 2.2, 4.1]
for how in ("percentile", "bca", "bca_expanded"):
    show("skew12 %s s7" % how, mean_interval(skew, how, 2000, 7))
show("skew12 bca_expanded s8", mean_interval(skew, "bca_expanded", 2000, 8))
# A 64-bit seed whose halves fold to the same 32-bit seed as 7: the same interval.
show("skew12 bca_expanded s(7<<32)", mean_interval(skew, "bca_expanded", 2000, 7 << 32))
show("skew12 studentized s7", studentized(skew, 2000, 7))
# ties: 0, 0, 0, 1 resample to all zeros now and then (no t*): bca_expanded instead
print("ties4 studentized s7", studentized([0.0, 0.0, 0.0, 1.0], 2000, 7))
show("ties4 bca_expanded s7", mean_interval([0.0, 0.0, 0.0, 1.0], "bca_expanded", 2000, 7))
print("expanded c n=12 %.17g, n=10 %.17g, n=30 %.17g, n=100 %.17g" % tuple(
    math.sqrt(n / (n - 1)) * t_quantile(0.975, n - 1) for n in (12, 10, 30, 100)))
# Wilson: DF_MIT-like 0/1 data.
for k, n in ((0, 10), (1, 10), (5, 10), (10, 10), (27, 30)):
    show("wilson %d/%d" % (k, n), wilson(k, n))
    show("clopper_pearson %d/%d" % (k, n), clopper_pearson(k, n))
# test_paired: the differences of test_wilcoxon_exact (pair 8 skipped), B 2000, seed 5.
show("paired s5", mean_interval([1.5, -0.5, 2.0, 3.1, 0.7, -1.2, 2.6, 0.0], "bca_expanded", 2000, 5))
show("paired studentized s5", studentized([1.5, -0.5, 2.0, 3.1, 0.7, -1.2, 2.6, 0.0], 2000, 5))

def newcombe_paired(n11, n10, n01, n00):
    # Newcombe (1998) method 10, square and add, as Fagerland, Lydersen & Laake (2017) 8.5 write it
    n = n11 + n10 + n01 + n00; k1 = n11 + n10; k2 = n11 + n01
    p1 = k1 / n; p2 = k2 / n
    l1, u1 = wilson(k1, n); l2, u2 = wilson(k2, n)
    psi = 0.0
    if 0 < k1 < n and 0 < k2 < n:
        A = n11 * n00 - n10 * n01; M = k1 * (n - k1) * k2 * (n - k2)
        psi = (A - n / 2) / math.sqrt(M) if A > n / 2 else (A / math.sqrt(M) if A < 0 else 0.0)
    lo = p1 - p2 - math.sqrt(max(0.0, (p1 - l1) ** 2 + (u2 - p2) ** 2 - 2 * psi * (p1 - l1) * (u2 - p2)))
    hi = p1 - p2 + math.sqrt(max(0.0, (p2 - l2) ** 2 + (u1 - p1) ** 2 - 2 * psi * (p2 - l2) * (u1 - p1)))
    return max(-1.0, lo), min(1.0, hi)
# test_paired_proportions: Cavo et al. 2012 (the book's example, -0.1186 to -0.0046), Bentur et
# al. 2009, 3 one-sided flips of 36, 36 concordant, a positive correlation above n/2.
for cells in ((59, 6, 16, 80), (1, 1, 7, 12), (0, 3, 0, 33), (18, 0, 0, 18), (20, 2, 1, 13)):
    show("newcombe %d %d %d %d" % cells, newcombe_paired(*cells))

# test_ece_interval: 14 answers, two unusable (NaN, 1.2), B 1000, seed 3.
NB = 10
def ece_bin(c):
    return min(int(c * NB), NB - 1)
def ece_of(c, k, idx):
    a = [0.0] * NB
    for j in idx:
        a[ece_bin(c[j])] += k[j] - c[j]
    return sum(abs(x) for x in a) / len(idx)
def ece_interval(conf, ok, how, B, seed):
    use = [(c, k) for c, k in zip(conf, ok) if c == c and 0 <= c <= 1]
    c = [u[0] for u in use]; k = [float(u[1]) for u in use]; m = len(c)
    est = ece_of(c, k, range(m))
    g = GslMT(seed); t = []
    for _ in range(B):
        t.append(ece_of(c, k, [g.below(m) for _ in range(m)]))
    t.sort()
    qlo, qhi = q7(t, 0.025), q7(t, 0.975)
    if how == "percentile":
        lo, hi = qlo, qhi
    elif how == "basic":
        lo, hi = 2 * est - qhi, 2 * est - qlo
    else:
        # jackknife: leave-one-out ECEs, acceleration sum(mean - loo)^3 / (6 (sum (mean - loo)^2)^1.5)
        loo = [ece_of(c, k, [j for j in range(m) if j != i]) for i in range(m)]
        mu = sum(loo) / m; d = [mu - x for x in loo]
        a = sum(x ** 3 for x in d) / (6 * sum(x * x for x in d) ** 1.5)
        cc = ND.inv_cdf(0.975) if how == "bca" else math.sqrt(m / (m - 1)) * t_quantile(0.975, m - 1)
        lo, hi, z0 = bca(t, est, a, cc, 1e-12)
    return est, min(max(lo, 0.0), 1.0), min(max(hi, 0.0), 1.0)
conf = [0.95, 0.85, 0.75, 0.72, 0.55, float("nan"), 0.91, 0.66, 0.99, 1.2, 0.58, 0.81, 0.62, 0.97]
ok = [1, 1, 0, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1]
for how in ("basic", "percentile", "bca_expanded"):
    est, lo, hi = ece_interval(conf, ok, how, 1000, 3)
    print("ece %-12s s3 est %.17g [%.17g, %.17g]" % (how, est, lo, hi))
est, lo, hi = ece_interval(conf, ok, "basic", 1000, 4)
print("ece %-12s s4 est %.17g [%.17g, %.17g]" % ("basic", est, lo, hi))
# test_ece_interval_one_side: a calibrated sample (ECE 0 up to rounding), every
# resample's ECE above it: z0's q is 0 and is clamped to 0.5 / B, so that the
# BCa ends stay numbers just above the smallest replicate (t[0] = 0.0175).
conf, ok = [], []
for cb, kb in ((0.6, 6), (0.7, 7), (0.8, 8), (0.9, 9)):
    conf += [cb] * 10; ok += [1] * kb + [0] * (10 - kb)
for how in ("bca", "bca_expanded"):
    est, lo, hi = ece_interval(conf, ok, how, 1000, 3)
    print("ece one-side %-12s s3 est %.17g [%.17g, %.17g]" % (how, est, lo, hi))
