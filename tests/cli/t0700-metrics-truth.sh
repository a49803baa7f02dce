#!/usr/bin/env bash
# The ground-truth check of the whole pipeline: against the simulated model
# with exact probabilities, the faithfulness metrics must rank the sim's
# explanation modes in their true order, and occlusion's RankDel is 1.
. "$(dirname "$0")/lib.sh"
need_shared

dev=$SELFEXP_SHARED/data/sst2/dev.tsv
N=${TRUTH_REVIEWS:-100}
for mode in faithful noisy:0.3 random inverted; do
	start_sim --confidence-decimals 6 --explain "$mode"
	d=$T/${mode%%:*}
	check_exit "run against sim --explain $mode exits 0" 0 "$X" run --data "$dev" --limit "$N" \
		--out "$d/run" --cache "$d/cache.sqlite" --base-url "$SIM_URL" --conditions pe \
		--explainers self,occlusion --model sim --no-progress --concurrency 64 --seed 3
	stop_sim
done

python3 - "$T" > "$T/table" <<'PY'
import json, sys
modes = ["faithful", "noisy", "random", "inverted"]
rows = {}
for m in modes:
    s = json.load(open("%s/%s/run/summary.json" % (sys.argv[1], m)))
    rows[m] = s["conditions"]["pe"]["methods"]["self"]
print("# %-9s %-32s %-32s %-32s" % ("mode", "comprehensiveness", "sufficiency", "rankdel"))
for m in modes:
    cells = []
    for k in ("comprehensiveness", "sufficiency", "rankdel"):
        a = rows[m][k]
        cells.append("%.4f [%.4f, %.4f] n=%d" % (a["mean"], a["ci_lo"], a["ci_hi"], a["n"]))
    print("# %-9s %-32s %-32s %-32s" % tuple([m] + cells))
def mean(m, k): return rows[m][k]["mean"]
comp = [mean(m, "comprehensiveness") for m in modes]
suff = [mean(m, "sufficiency") for m in modes]
rd = [mean(m, "rankdel") for m in modes]
print("comp_order", all(a > b for a, b in zip(comp, comp[1:])))
print("suff_order", all(a < b for a, b in zip(suff, suff[1:])))
print("rankdel_order", all(a > b for a, b in zip(rd, rd[1:])))
f, r = rows["faithful"], rows["random"]
print("comp_ci_apart", f["comprehensiveness"]["ci_lo"] > r["comprehensiveness"]["ci_hi"])
print("suff_ci_apart", f["sufficiency"]["ci_hi"] < r["sufficiency"]["ci_lo"])
print("rankdel_ci_apart", f["rankdel"]["ci_lo"] > r["rankdel"]["ci_hi"])
# occlusion's RankDel is 1 wherever it is defined (both sides are the same deletion effects)
bad = 0; checked = 0; distinct = 0
for line in open("%s/faithful/run/records.jsonl" % sys.argv[1]):
    rec = json.loads(line)
    if rec["method"] != "occlusion" or not rec.get("metrics"):
        continue
    v = rec["importance"]
    if rec["metrics"]["rankdel"] is None:
        continue
    checked += 1
    distinct += len(set(v)) == len(v)
    if abs(rec["metrics"]["rankdel"] - 1.0) > 1e-12:
        bad += 1
print("occlusion_rankdel_one", bad == 0 and checked > 0, checked, distinct)
PY
grep '^#' "$T/table"
for key in comp_order suff_order rankdel_order comp_ci_apart suff_ci_apart rankdel_ci_apart; do
	check_eq "$key" "$key True" "$(grep "^$key " "$T/table")"
done
check "occlusion RankDel is 1 for every review where it is defined ($(grep occlusion_rankdel_one "$T/table" | cut -d' ' -f3) reviews, $(grep occlusion_rankdel_one "$T/table" | cut -d' ' -f4) with all effects distinct)" \
	grep -q "^occlusion_rankdel_one True" "$T/table"

# selfexp score reproduces summary.json exactly, offline
cp -r "$T/faithful/run" "$T/rescore"
check_exit "selfexp score on a finished run exits 0" 0 "$X" score "$T/rescore" --cache "$T/faithful/cache.sqlite"
check "selfexp score reproduces summary.json exactly" cmp -s "$T/faithful/run/summary.json" "$T/rescore/summary.json"
check "selfexp score reproduces records.jsonl exactly" cmp -s "$T/faithful/run/records.jsonl" "$T/rescore/records.jsonl"
check_exit "selfexp score with an empty cache lists misses and exits 5" 5 "$X" score "$T/rescore" --cache "$T/empty.sqlite"
done_testing
