#!/usr/bin/env bash
# --compat paper (docs/paper-compat.md): the same run under the corrected
# definitions and under the paper code's, against the simulated model. The
# mode is recorded in run.json, the paper's rules show in the per-review values
# (absolute sufficiency, DF_Frac over n + 1, LIME weights only for whole-word
# tokens), the default is untouched by the option's existence, the random
# tie-breaks are seeded (the same numbers at another concurrency), tables say
# which definitions they show, compare refuses to gate one against the other,
# and `selfexp score` redoes the compat run offline byte for byte.
. "$(dirname "$0")/lib.sh"
need_shared

dev=$SELFEXP_SHARED/data/sst2/dev.tsv
N=${COMPAT_REVIEWS:-12}
opts=(--data "$dev" --limit "$N" --conditions ep,pe --explainers self,occlusion,lime --model sim
	--no-progress --seed 5 --cache "$T/cache.sqlite")
start_sim --confidence-decimals 6

check_exit "run without --compat exits 0" 0 "$X" run "${opts[@]}" --out "$T/none" \
	--base-url "$SIM_URL" --concurrency 32
check_exit "run with --compat paper exits 0" 0 "$X" run "${opts[@]}" --out "$T/paper" \
	--base-url "$SIM_URL" --concurrency 32 --compat paper
check_exit "run with --compat none exits 0" 0 "$X" run "${opts[@]}" --out "$T/none2" \
	--base-url "$SIM_URL" --concurrency 32 --compat none
check_exit "the compat run again at concurrency 1 exits 0" 0 "$X" run "${opts[@]}" --out "$T/paper1" \
	--base-url "$SIM_URL" --concurrency 1 --compat paper
check_exit "--compat with an unknown mode is a usage error" 2 "$X" run "${opts[@]}" --out "$T/bad" \
	--base-url "$SIM_URL" --compat bogus
check "the usage error names the accepted modes" grep -q "expected none or paper" "$T/last.err"
check_exit "--dry-run with --compat paper exits 0" 0 "$X" run "${opts[@]}" --out "$T/dry" \
	--base-url "$SIM_URL" --compat paper --dry-run

check "--compat none gives the default run's summary.json byte for byte" \
	cmp -s "$T/none/summary.json" "$T/none2/summary.json"
check "--compat none gives the default run's records.jsonl byte for byte" \
	cmp -s "$T/none/records.jsonl" "$T/none2/records.jsonl"
check "the paper's definitions give other numbers" \
	sh -c "! cmp -s '$T/none/summary.json' '$T/paper/summary.json'"
check "the random tie-breaks are seeded: the same summary.json at concurrency 1" \
	cmp -s "$T/paper/summary.json" "$T/paper1/summary.json"
check "and the same records.jsonl" cmp -s "$T/paper/records.jsonl" "$T/paper1/records.jsonl"

pyt - "$T" <<'PY'
import json, re, sys
d = sys.argv[1]
for mode in ("none", "paper"):
    run = json.load(open("%s/%s/run.json" % (d, mode)))
    print("%s run.json records \"compat\": \"%s\"" % ("ok" if run.get("compat") == mode else "not ok", mode))

def records(mode):
    return [json.loads(l) for l in open("%s/%s/records.jsonl" % (d, mode))]

paper = [r for r in records("paper") if r.get("metrics")]
print("# %d (review, condition, method) records with metrics under --compat paper" % len(paper))
print("%s every method has metrics under --compat paper" % (
    "ok" if {r["method"] for r in paper} == {"self", "occlusion", "lime"} else "not ok"))
# sufficiency is a mean of absolute differences: never negative
neg = [r["id"] for r in paper if r["metrics"]["sufficiency"] < 0]
print("%s sufficiency >= 0 for every review (absolute differences)%s" % (
    "ok" if not neg else "not ok", "" if not neg else ": " + ", ".join(neg)))
# the default's sufficiency is a signed difference and goes below 0 somewhere
none_neg = sum(r["metrics"]["sufficiency"] < 0 for r in records("none") if r.get("metrics"))
print("%s the default sufficiency is signed (%d negative values)" % (
    "ok" if none_neg > 0 else "not ok", none_neg))
# DF_Frac = j / (n + 1): (n + 1) x DF_Frac is a whole number in 1..n+1
bad = [r["id"] for r in paper if abs(r["metrics"]["df_frac"] * (len(r["tokens"]) + 1)
                                     - round(r["metrics"]["df_frac"] * (len(r["tokens"]) + 1))) > 1e-9]
print("%s DF_Frac is j / (n + 1) for every review" % ("ok" if not bad else "not ok"))
# LIME on lime's \W+ features: a token has a weight iff it is made of word characters only
word = re.compile(r"^[A-Za-z0-9_\x80-\U0010ffff]+$")
bad, punct = [], 0
for r in records("paper"):
    if r["method"] != "lime" or r["importance"] is None:
        continue
    for t, v in zip(r["tokens"], r["importance"]):
        punct += not word.match(t)
        if (v is None) != (not word.match(t)):
            bad.append("%s:%s" % (r["id"], t))
print("%s LIME weights exactly the whole-word tokens (%d tokens with a non-word character have none)%s" % (
    "ok" if not bad and punct > 0 else "not ok", punct, "" if not bad else ": " + " ".join(bad[:5])))
full = all(v is not None for r in records("none") if r["method"] == "lime" and r["importance"]
           for v in r["importance"])
print("%s the default LIME weights every token" % ("ok" if full else "not ok"))
PY

# the mode shows in tables, and compare refuses to gate one definition against the other
check_exit "selfexp table on the compat run exits 0" 0 "$X" table "$T/paper"
check "the table says its metrics are the paper code's" grep -q -- "--compat paper" "$T/last.out"
check_exit "selfexp table on the default run exits 0" 0 "$X" table "$T/none"
check "the default table does not" sh -c "! grep -q -- '--compat' '$T/last.out'"
check_exit "compare of a default run with a compat run: exit 2" 2 "$X" compare "$T/none" "$T/paper"
check "it names both modes" grep -q "different metric definitions: --compat 'none' in .*'paper' in" \
	"$T/last.err"
check_exit "compare of two compat runs exits 0" 0 "$X" compare "$T/paper" "$T/paper1"

# selfexp score reads --compat from run.json and reproduces the compat run offline
cp -r "$T/paper" "$T/rescore"
stop_sim
check_exit "selfexp score on the compat run exits 0 (offline, the sim is stopped)" 0 \
	"$X" score "$T/rescore" --cache "$T/cache.sqlite"
check "selfexp score reproduces the compat run's summary.json byte for byte" \
	cmp -s "$T/paper/summary.json" "$T/rescore/summary.json"
check "selfexp score reproduces the compat run's records.jsonl byte for byte" \
	cmp -s "$T/paper/records.jsonl" "$T/rescore/records.jsonl"
check "run.json still records compat paper after selfexp score" \
	grep -q '"compat":[[:space:]]*"paper"' "$T/rescore/run.json"
done_testing
