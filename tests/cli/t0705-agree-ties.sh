#!/usr/bin/env bash
# Agreement with ties (docs/statistics.md, "Ties in rankings"): a review whose
# tokens are all one word gets a constant explanation from every method (the
# sim's weights are per word), which ranks nothing; its agreement is
# undefined with the reason in records.jsonl and left out of summary.json,
# never scored as perfect agreement.
. "$(dirname "$0")/lib.sh"

printf 'sentence\tlabel\nthe the the the the\t1\na gorgeous , witty , seductive movie .\t1\n' > "$T/d.tsv"
start_sim --explain faithful
check_exit "run exits 0" 0 "$X" run --data "$T/d.tsv" --out "$T/run" --cache "$T/c.sqlite" \
	--base-url "$SIM_URL" --model sim --conditions pe --explainers self,occlusion \
	--no-progress --seed 1
stop_sim
pyt - "$T/run" <<'PY'
import json, sys
d = sys.argv[1]
recs = [json.loads(l) for l in open(d + "/records.jsonl")]
self_recs = {r["id"]: r for r in recs if r.get("method") == "self"}
ids = sorted(self_recs)
const, normal = self_recs[ids[0]], self_recs[ids[1]]
ag = const.get("agreement", {}).get("occlusion")
print(("ok" if ag is not None else "not ok") + " the constant review has an agreement entry")
ag = ag or {}
print(("ok" if all(ag.get(k) is None for k in ("feature", "rank", "sign", "signed_rank", "iou"))
       else "not ok") + " its top-k agreements are null, not 1: %r" % ag)
print(("ok" if "same importance" in ag.get("undefined", "") else "not ok")
      + " the reason is given: %r" % ag.get("undefined"))
ag2 = normal.get("agreement", {}).get("occlusion", {})
print(("ok" if isinstance(ag2.get("feature"), float) or ag2.get("feature") in (0, 1) else "not ok")
      + " the other review's agreement is a number: %r" % ag2.get("feature"))
print(("ok" if "undefined" not in ag2 else "not ok") + " and carries no reason")
s = json.load(open(d + "/summary.json"))
def find(o, path=()):
    if isinstance(o, dict):
        if "feature" in o and isinstance(o["feature"], dict) and "n" in o["feature"]:
            yield path, o["feature"]
        for k, v in o.items():
            yield from find(v, path + (k,))
hits = [(p, f) for p, f in find(s) if "pe" in p]
print(("ok" if hits and all(f["n"] == 1 for p, f in hits) else "not ok")
      + " summary's feature agreement counts only the defined review: %r" % [(p, f["n"]) for p, f in hits])
PY
done_testing
