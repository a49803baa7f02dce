#!/usr/bin/env bash
# summary.json's intervals (stats.h enum sx_interval): Clopper-Pearson for
# the 0/1 metrics (accuracy, DF_MIT, the parse-failure rate), the studentized
# bootstrap for the continuous ones (the expanded BCa where a resample was
# constant), the basic bootstrap for the ECE, each naming itself
# in "interval"; the comparisons' paired differences Newcombe's interval for
# DF_MIT and the studentized bootstrap for the continuous metrics. The exact intervals' ends are recomputed here from n and the
# mean (by bisection on the binomial distribution); the
# bootstrap intervals must move with --seed and stay put without it. The
# comparisons' Holm family is the metrics with a p-value, recomputed here.
. "$(dirname "$0")/lib.sh"
need_shared

dev=$SELFEXP_SHARED/data/sst2/dev.tsv
run() { # run NAME SEED CACHE [args...]
	local name=$1 seed=$2 cache=$3; shift 3
	"$X" run --data "$dev" --limit 30 --out "$T/$name" --cache "$T/$cache.sqlite" \
		--base-url "$SIM_URL" --model sim --conditions ep,pe --explainers self,occlusion \
		--seed "$seed" --no-progress --concurrency 32 "$@" > "$T/$name.log" 2>&1
}
start_sim --confidence-decimals 6 --explain noisy:0.3 --style mixed
check "a run, seed 1" run s1 1 cache
check "the same run again (cache), seed 1" run s1b 1 cache
check "the same run, seed 2" run s2 2 cache
stop_sim
start_sim --confidence-decimals 6 --explain noisy:0.3 --fault-rate 0.2 --faults 500
check_exit "a run whose requests fail 20 % of the time, no retries: exit 5" 5 \
	run faulty 1 faulty --retries 0
stop_sim

pyt - "$T" <<'PY'
import json, math, sys
T = sys.argv[1]
load = lambda n: json.load(open("%s/%s/summary.json" % (T, n)))
s1, s1b, s2, sf = load("s1"), load("s1b"), load("s2"), load("faulty")

def binom_cdf(k, n, p):
    return sum(math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(k + 1))
def bisect(f):
    lo, hi = 0.0, 1.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if f(mid) < 0: lo = mid
        else: hi = mid
    return (lo + hi) / 2
def clopper_pearson(k, n):
    lo = 0.0 if k == 0 else bisect(lambda p: (1 - binom_cdf(k - 1, n, p)) - 0.025)
    hi = 1.0 if k == n else bisect(lambda p: 0.025 - binom_cdf(k, n, p))
    return lo, hi

def check(desc, cond):
    print(("ok " if cond else "not ok ") + desc)

bad = []
studentized = []
for cond, c in list(s1["conditions"].items()) + list(sf["conditions"].items()):
    props = [("accuracy", c["accuracy"]), ("parse_failure_rate_ci", c["parse_failure_rate_ci"])]
    props += [("%s df_mit" % m, v["df_mit"]) for m, v in c["methods"].items() if "df_mit" in v]
    for name, a in props:
        if a["n"] == 0:  # nothing to estimate (every request of a method failed)
            if a["ci_lo"] is not None or a["ci_hi"] is not None:
                bad.append("%s %s: %s, expected no interval" % (cond, name, a))
            continue
        k = round(a["mean"] * a["n"])
        lo, hi = clopper_pearson(k, a["n"])
        if a["interval"] != "clopper_pearson" or abs(a["ci_lo"] - lo) > 1e-10 or abs(a["ci_hi"] - hi) > 1e-10:
            bad.append("%s %s: %s, expected clopper_pearson [%r, %r]" % (cond, name, a, lo, hi))
    # continuous: the studentized bootstrap, or the expanded BCa where a resample was constant
    for m, v in c["methods"].items():
        for key in ("comprehensiveness", "sufficiency", "rankdel", "df_frac"):
            if key in v and v[key]["n"] and v[key]["interval"] not in ("studentized", "bca_expanded"):
                bad.append("%s %s %s: %s" % (cond, m, key, v[key]["interval"]))
        if "comprehensiveness" in v and v["comprehensiveness"]["n"] >= 10:
            studentized.append(v["comprehensiveness"]["interval"] == "studentized")
    for key in ("coverage", "distinct_values"):
        if c[key]["interval"] not in ("studentized", "bca_expanded"):
            bad.append("%s %s: %s" % (cond, key, c[key]["interval"]))
    if c["ece_ci"]["interval"] != "basic" or not (0 <= c["ece_ci"]["ci_lo"] <= c["ece_ci"]["ci_hi"] <= 1):
        bad.append("%s ece_ci: %s" % (cond, c["ece_ci"]))
    if abs(c["parse_failure_rate_ci"]["mean"] - c["parse_failure_rate"]) > 1e-12:
        bad.append("%s: parse_failure_rate %r, its interval's mean %r" % (cond, c["parse_failure_rate"], c["parse_failure_rate_ci"]["mean"]))
for b in bad:
    print("# " + b)
check("every aggregate names its interval; Clopper-Pearson's ends are the binomial's", not bad)
check("comprehensiveness (continuous, no ties) gets the studentized bootstrap (%d of %d)" % (sum(studentized), len(studentized)),
      studentized and all(studentized))
pe1, pe2 = s1["conditions"]["pe"], s2["conditions"]["pe"]
rates = dict((k, v["parse_failure_rate"]) for k, v in s1["conditions"].items())
check("the style mixed run has parse failures to count (%r)" % rates, max(rates.values()) > 0)
failed = dict((k, v["failed"]) for k, v in sf["conditions"].items())
check("the faulty run has failed requests, in the parse-failure rate's interval (%r)" % failed,
      sum(failed.values()) > 0)
check("the same seed: the same summary, byte for byte",
      open(T + "/s1/summary.json").read() == open(T + "/s1b/summary.json").read())
c1, c2 = pe1["methods"]["self"]["comprehensiveness"], pe2["methods"]["self"]["comprehensiveness"]
check("another seed: the same self comprehensiveness (%r)" % c1["mean"], c1["mean"] == c2["mean"])
check("another seed: another BCa interval (%r, %r) vs (%r, %r)" % (c1["ci_lo"], c1["ci_hi"], c2["ci_lo"], c2["ci_hi"]),
      (c1["ci_lo"], c1["ci_hi"]) != (c2["ci_lo"], c2["ci_hi"]))
check("another seed: the same records.jsonl (no LIME here, so --seed moves only the bootstrap)",
      open(T + "/s1/records.jsonl").read() == open(T + "/s2/records.jsonl").read())
means = lambda s: [(k, m, key, v[key]["mean"]) for k, c in s["conditions"].items()
                   for m, v in c["methods"].items() for key in sorted(v) if isinstance(v[key], dict) and "mean" in v[key]]
check("another seed: every method's aggregate has the same mean (%d)" % len(means(s1)), means(s1) and means(s1) == means(s2))
check("another seed: the same (exact) interval of accuracy", pe1["accuracy"] == pe2["accuracy"])
check("another seed: another ECE interval (%r, %r)" % (pe1["ece_ci"], pe2["ece_ci"]),
      pe1["ece_ci"]["ci_hi"] != pe2["ece_ci"]["ci_hi"])

# The Holm family of a comparison: its metrics with a p-value (compare.h).
def holm(ps):
    idx = sorted((i for i, p in enumerate(ps) if p is not None), key=lambda i: ps[i])
    adj, run = [None] * len(ps), 0
    for k, i in enumerate(idx):
        run = max(run, min(1, (len(idx) - k) * ps[i])); adj[i] = run
    return adj, len(idx)
bad, mixed = [], 0
for name, cmp in s1["comparisons"].items():
    keys = list(cmp)
    ps = [cmp[k]["p_value"] for k in keys]
    adj, m = holm(ps)
    mixed += 0 < m < len(ps)
    for k, a in zip(keys, adj):
        e = cmp[k]
        if e["holm_family"] != m or (a is None) != (e["p_holm"] is None) or (a is not None and abs(a - e["p_holm"]) > 1e-12):
            bad.append("%s %s: p %r p_holm %r family %r, expected %r of %d" % (name, k, e["p_value"], e["p_holm"], e["holm_family"], a, m))
for b in bad:
    print("# " + b)
check("summary.json: Holm over the metrics with a p-value, holm_family their number", not bad)
check("some comparison has metrics with and without a p-value (%d)" % mixed, mixed > 0)
# The comparisons' intervals: Newcombe's for the 0/1 DF_MIT, the studentized bootstrap of the
# differences (or its fallback) for the continuous metrics.
names = {}
for name, cmp in s1["comparisons"].items():
    for k, e in cmp.items():
        if e["n"]:
            names.setdefault(k, set()).add(e["interval"])
            if not (-1 <= e["ci_lo"] <= e["mean_diff"] <= e["ci_hi"] <= 1 or k != "df_mit"):
                bad.append("%s %s: %r" % (name, k, e))
check("the comparisons' df_mit gets Newcombe's interval, around its difference (%r)" % names.get("df_mit"),
      names.get("df_mit") == {"newcombe"} and not bad)
check("their comprehensiveness the studentized bootstrap, or its fallback (%r)" % names.get("comprehensiveness"),
      "studentized" in names.get("comprehensiveness", ()) and names["comprehensiveness"] <= {"studentized", "bca_expanded"})
PY
check_exit "table --layout long of the run" 0 "$X" table "$T/s1" --layout long
check "its comparisons' note names Newcombe's interval for df_mit" \
	grep -q '^A - B: .*Intervals (95 %, docs/statistics.md): .*Newcombe for df\\_mit[;.]' "$T/last.out"
check "... and the studentized bootstrap for the others" \
	grep -q '^A - B: .*studentized bootstrap for [^;]*comprehensiveness' "$T/last.out"
done_testing
