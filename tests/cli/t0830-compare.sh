#!/usr/bin/env bash
# selfexp compare, the CI gate, against the simulated model on ~60 dev reviews
# (condition pe): the same configuration twice passes; random self-explanations
# against a faithful baseline fail on comprehensiveness (exit 4); runs that
# differ only in LIME's seed pass; different data, models or no common ids are
# unusable input (exit 2). The gate catches answers that stop parsing (sim
# --style mixed) and requests that fail, which accuracy alone misses. The
# cache key does not know the sim's mode, so each mode has its own cache.
. "$(dirname "$0")/lib.sh"
need_shared

dev=$SELFEXP_SHARED/data/sst2/dev.tsv
N=${COMPARE_REVIEWS:-60}
run() { # run NAME CACHE [args...]
	local name=$1 cache=$2; shift 2
	"$X" run --limit "$N" --out "$T/$name" --cache "$T/$cache.sqlite" --base-url "$SIM_URL" \
		--conditions pe --lime-samples 3x --no-progress --concurrency 64 "$@" > "$T/$name.log" 2>&1
}
start_sim --confidence-decimals 6 --explain faithful
check "baseline run (faithful)" run base faithful --data "$dev" --model sim --seed 1
check "the same configuration again, fresh cache" run again faithful2 --data "$dev" --model sim --seed 1
check "a run that differs only in LIME's seed" run seed faithful --data "$dev" --model sim --seed 2
check "a run over other data (test.tsv)" run other faithful --data "$SELFEXP_SHARED/data/sst2/test.tsv" --model sim --seed 1 --explainers self
check "a run over the demo sample (other ids)" run demo faithful --data "$SELFEXP_HOME/data/demo.tsv" --model sim --seed 1 --explainers self
check "a run of another model name" run model faithful --data "$dev" --model sim-2 --seed 1 --explainers self
stop_sim
start_sim --confidence-decimals 6 --explain random
check "a run against sim --explain random" run random random --data "$dev" --model sim --seed 1
stop_sim
run_ep() { # run_ep NAME CACHE [args...]: 80 reviews under E-P, self-explanations only
	local name=$1 cache=$2; shift 2
	"$X" run --limit 80 --data "$dev" --model sim --seed 1 --out "$T/$name" --cache "$T/$cache.sqlite" \
		--base-url "$SIM_URL" --conditions ep --explainers self --no-progress --concurrency 64 "$@" \
		> "$T/$name.log" 2>&1
}
start_sim --confidence-decimals 6 --explain faithful
check "an E-P baseline" run_ep gate-base gate-clean
stop_sim
start_sim --confidence-decimals 6 --explain faithful --style mixed
check "the same against sim --style mixed: some answers no longer parse" run_ep gate-mixed gate-mixed
stop_sim
start_sim --confidence-decimals 6 --explain faithful --fault-rate 0.2 --faults 500
check_exit "the same against a sim failing 20 % of requests, no retries: exit 5" 5 \
	run_ep gate-faulty gate-faulty --retries 0
stop_sim

check_exit "same configuration twice: exit 0" 0 "$X" compare "$T/base" "$T/again" \
	--markdown "$T/same.md" --junit "$T/same.xml"
check "its report says 0 regressed" grep -q ': 0 regressed$' "$T/last.out"
check "its JUnit XML has no failure" sh -c "grep -q 'failures=\"0\"' '$T/same.xml' && ! grep -q '<failure' '$T/same.xml'"

check_exit "random explanations against a faithful baseline: exit 4" 4 "$X" compare "$T/base" "$T/random" \
	--markdown "$T/rand.md" --junit "$T/rand.xml"
cp "$T/last.out" "$T/rand.out"
sed 's/^/# /' "$T/rand.out"
check "comprehensiveness regressed" grep -qE '^pe +self +comprehensiveness \(up\) .*REGRESSED$' "$T/rand.out"
check "accuracy did not (same predictions)" grep -qE '^pe +answer +accuracy \(up\) .* ok$' "$T/rand.out"
check "the Markdown table flags it" grep -qE '^\| P-E \| comprehensiveness ↑ \|.*\*\*regressed\*\*' "$T/rand.md"
pyt - "$T/rand.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
cases = root.findall(".//testcase")
failed = [c.get("name") for c in cases if c.find("failure") is not None]
print(("ok" if len(cases) == 6 else "not ok"), "JUnit: one testcase per default metric (%d)" % len(cases))
print(("ok" if "comprehensiveness" in failed else "not ok"), "JUnit: comprehensiveness has a failure element (%s)" % failed)
print(("ok" if root.find("testsuite").get("failures") == str(len(failed)) else "not ok"), "JUnit: failures count matches")
PY
check_exit "a tolerance larger than the drop lets it pass" 0 "$X" compare "$T/base" "$T/random" --tolerance 1
check_exit "--metrics accuracy only: exit 0" 0 "$X" compare "$T/base" "$T/random" --metrics accuracy
check_exit "occlusion:rankdel is the same in both: exit 0" 0 "$X" compare "$T/base" "$T/random" --metrics occlusion:rankdel

pyt - "$T/base/records.jsonl" "$T/seed/records.jsonl" <<'PY'
import json, sys
load = lambda p: [json.loads(l) for l in open(p)]
a, b = load(sys.argv[1]), load(sys.argv[2])
key = lambda r: (r["id"], r["condition"], r["method"])
da, db = dict((key(r), r) for r in a), dict((key(r), r) for r in b)
lime = [k for k in da if k[2] == "lime" and da[k].get("importance") and k in db]
differ = [k for k in lime if da[k]["importance"] != db[k].get("importance")]
print(("ok" if lime and len(differ) * 2 > len(lime) else "not ok"),
      "the LIME seed reaches LIME: importances differ in %d of %d LIME records" % (len(differ), len(lime)))
other = [k for k in da if k[2] != "lime"]
same = [k for k in other if k in db and da[k]["importance"] == db[k]["importance"]
        and da[k]["prediction"] == db[k]["prediction"]]
print(("ok" if other and len(same) == len(other) else "not ok"),
      "and nothing else: %d of %d self/occlusion records have the same prediction and importances" % (len(same), len(other)))
PY
check_exit "runs that differ only in LIME's seed: exit 0" 0 "$X" compare "$T/base" "$T/seed"
check_exit "lime metrics across LIME seeds do not regress: exit 0" 0 "$X" compare "$T/base" "$T/seed" \
	--metrics lime:comprehensiveness,lime:sufficiency,lime:rankdel
# The p and p_holm columns against tests/unit/compare_ref.py's Wilcoxon and
# Holm, recomputed from the two records.jsonl (compare pairs by id and condition).
pyt - "$T/last.out" "$T/base/records.jsonl" "$T/seed/records.jsonl" "$SELFEXP_HOME/tests/unit" <<'PY'
import contextlib, io, json, sys
from fractions import Fraction as F
sys.path.insert(0, sys.argv[4])
with contextlib.redirect_stdout(io.StringIO()):
    import compare_ref
load = lambda p: dict(((r["id"], r["condition"]), r) for r in map(json.loads, open(p)) if r["method"] == "lime")
a, b = load(sys.argv[2]), load(sys.argv[3])
rows = [l.split() for l in open(sys.argv[1]) if l.startswith("pe ") and l.split()[1] == "lime"]
names, ps, got = [], [], []
for r in rows:
    m = r[2]
    d = []
    for k in a:
        x, y = a[k]["metrics"].get(m), b.get(k, {}).get("metrics", {}).get(m)
        if x is not None and y is not None:
            d.append(F(y) - F(x))
    nz = sum(1 for x in d if x != 0)
    p = compare_ref.wilcoxon(d)[0] if nz > 50 or nz <= 20 else None
    names.append(m); ps.append(None if p is None else float(p)); got.append((r[-3], r[-2]))
fmt = lambda p: "-" if p is None else "<0.001" if p < 0.001 else "%.3f" % p
adj = compare_ref.holm(ps)
print(("ok" if len(rows) == 3 else "not ok"), "compare printed the 3 lime rows (%d)" % len(rows))
for m, p, q, g in zip(names, ps, adj, got):
    if p is None:
        print("ok # SKIP %s: 21..50 non-zero differences, too many to enumerate here" % m)
        continue
    print(("ok" if g[0] == fmt(p) else "not ok"), "lime %s: p %s, compare_ref.py %s (%r)" % (m, g[0], fmt(p), p))
    print(("ok" if g[1] == fmt(q) else "not ok"), "lime %s: p_holm %s, compare_ref.py %s (%r)" % (m, g[1], fmt(q), q))
print(("ok" if any(q is not None and fmt(q) != fmt(p) for p, q in zip(ps, adj)) else "not ok"),
      "Holm changes some printed p-value here (%r -> %r)" % (ps, adj))
PY

check_exit "answers that stop parsing fail the default gate: exit 4" 4 "$X" compare "$T/gate-base" "$T/gate-mixed"
cp "$T/last.out" "$T/mixed.out"
sed 's/^/# /' "$T/mixed.out"
check "parse_failures regressed" grep -qE '^ep +answer +parse_failures \(down\) .*REGRESSED$' "$T/mixed.out"
check "accuracy, over the answers usable in both, did not" grep -qE '^ep +answer +accuracy \(up\) .* ok$' "$T/mixed.out"
check "the explanation metrics' share of reviews with a value regressed" \
	grep -qE '^ep +self +comprehensiveness_defined \(up\) .*REGRESSED$' "$T/mixed.out"
check_exit "accuracy alone, over the answers usable in both, misses it: exit 0" 0 "$X" compare \
	"$T/gate-base" "$T/gate-mixed" --metrics accuracy
check_exit "the explanation metrics without the failure rates see it (their _defined rows): exit 4" 4 \
	"$X" compare "$T/gate-base" "$T/gate-mixed" --metrics comprehensiveness,sufficiency,rankdel
check "... comprehensiveness itself, over the reviews it has in both, did not regress" \
	grep -qE '^ep +self +comprehensiveness \(up\) .* ok$' "$T/last.out"
check_exit "failed requests fail the default gate: exit 4" 4 "$X" compare "$T/gate-base" "$T/gate-faulty"
cp "$T/last.out" "$T/faulty.out"
sed 's/^/# /' "$T/faulty.out"
check "failed_requests regressed" grep -qE '^ep +answer +failed_requests \(down\) .*REGRESSED$' "$T/faulty.out"
check "parse_failures, over the answered reviews, did not" grep -qE '^ep +answer +parse_failures \(down\) .* ok$' "$T/faulty.out"

check_exit "different data: exit 2" 2 "$X" compare "$T/base" "$T/other"
check "it says the data differ, and where" grep -q "different data: review '1' has different text" "$T/last.err"
check_exit "no review ids in common: exit 2" 2 "$X" compare "$T/base" "$T/demo"
check "it says so" grep -q "no review ids in common" "$T/last.err"
check_exit "different models: exit 2" 2 "$X" compare "$T/base" "$T/model"
check "it names both models" grep -q "different models: 'sim' in .*'sim-2' in" "$T/last.err"
check_exit "a missing run directory: exit 2" 2 "$X" compare "$T/base" "$T/nowhere"
check_exit "an unknown metric: exit 2" 2 "$X" compare "$T/base" "$T/again" --metrics accuracy,speed
check "it names the metric" grep -q "unknown metric 'speed'" "$T/last.err"
check_exit "one directory only: exit 2" 2 "$X" compare "$T/base"
done_testing
