#!/usr/bin/env bash
# Anyone's explanations (run --explanations FILE): occlusion values computed in
# Python from the sim's known weights, the same values toward the predicted
# label, and the occlusion ranking as a ranking-only method, evaluated against
# the sim. Their metrics equal selfexp's own occlusion metrics to 1e-12 (the
# ranking's RankDel is undefined, as for top-k lists), the agreement tables,
# the report and compare list them, score reproduces the run, and a bad file
# is refused with its file, line and problem before anything is sent.
. "$(dirname "$0")/lib.sh"
need_shared

N=30
D=6
start_sim --confidence-decimals $D
# the data: the first N dev sentences with ids of our own
python3 - "$SELFEXP_SHARED/data/sst2/dev.tsv" "$N" > "$T/data.jsonl" <<'PY'
import json, sys
rows = open(sys.argv[1], encoding="utf-8").read().split("\n")[1:1 + int(sys.argv[2])]
for i, row in enumerate(rows):
    text, label = row.rsplit("\t", 1)
    print(json.dumps({"id": "r%02d" % i, "text": text, "label": int(label)}))
PY

# the explanations: a Python tool's output, from the sim's weights alone
PYTHONPATH=$TESTS_DIR/cli python3 - "$T/data.jsonl" $D > "$T/expl.jsonl" <<'PY'
import json, sys, truth
bias, w = truth.load_weights()
D = int(sys.argv[2])
for line in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(line)
    t = r["text"].split()
    px = truth.sim_p_pos(bias, w, t, D)
    occ = [px - truth.sim_p_pos(bias, w, t[:i] + t[i + 1:], D) for i in range(len(t))]
    y = 1 if px > 0.5 else 0
    toward = [v if y else -v for v in occ]
    print(json.dumps({"id": r["id"], "method": "pyocc", "values": occ}, allow_nan=False))
    print(json.dumps({"id": r["id"], "method": "pyocc-pred", "sign": "predicted",
                      "values": toward}, allow_nan=False))
    # the ranking occlusion's metrics use: toward y, ties by position
    rank = sorted(range(len(t)), key=lambda i: (-toward[i], i))
    print(json.dumps({"id": r["id"], "method": "pyrank", "ranking": rank}))
    # its top k alone: a second ranking-only method
    print(json.dumps({"id": r["id"], "method": "pytop", "ranking": rank[:max(len(t) // 5, 1)]}))
    # a method for one condition only
    print(json.dumps({"id": r["id"], "method": "eponly", "condition": "ep", "values": occ}))
PY
opts=(--data "$T/data.jsonl" --conditions ep,pe --explainers self,occlusion --model sim
      --no-progress --seed 5 --base-url "$SIM_URL" --bootstrap 200)
# a relative path, as a user gives it: records name the file by its absolute path, so score writes the same
check_exit "run --explanations against the sim exits 0" 0 \
	sh -c 'cd "$1" && shift && exec "$@"' - "$T" "$X" run "${opts[@]}" --out "$T/run" \
	--cache "$T/cache.sqlite" --explanations expl.jsonl

pyt - "$T/run" "$N" <<'PY'
import json, math, sys
recs = [json.loads(l) for l in open(sys.argv[1] + "/records.jsonl")]
by = {(r["id"], r["condition"], r["method"]): r for r in recs}
faith = ["comprehensiveness", "sufficiency", "df_mit", "df_frac", "rankdel",
         "aopc_comprehensiveness", "aopc_sufficiency"]
def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
    return abs(a - b) <= 1e-12
checked = {"pyocc": 0, "pyocc-pred": 0, "pyrank": 0, "eponly": 0}  # pytop: its own ranking
bad = []
for (rid, cond, m), occ in by.items():
    if m != "occlusion" or not occ.get("metrics"):
        continue
    for name in checked:
        r = by.get((rid, cond, name))
        if name == "eponly" and cond != "ep":
            if r is not None:
                bad.append("eponly has a record under %s" % cond)
            continue
        if r is None or not r.get("metrics"):
            bad.append("%s %s %s: no metrics" % (rid, cond, name))
            continue
        for k in faith + ["comprehensiveness_at", "sufficiency_at"]:
            want = None if (name == "pyrank" and k == "rankdel") else occ["metrics"][k]
            if not close(r["metrics"][k], want):
                bad.append("%s %s %s %s: %r, occlusion %r" % (rid, cond, name, k, r["metrics"][k], want))
        checked[name] += 1
print(("ok" if not bad else "not ok") + " every metric of the file's methods equals occlusion's to 1e-12 "
      "(%s); %s" % (", ".join("%s %d" % kv for kv in checked.items()), "; ".join(bad[:5])))
print(("ok" if min(checked.values()) >= 25 else "not ok") + " metrics checked on most reviews: %r" % checked)
# values: pyocc equals occlusion's importance to 1e-12, pyocc-pred was turned back to the positive sign
vbad = 0
for (rid, cond, m), occ in by.items():
    if m == "occlusion" and occ.get("importance"):
        for name in ("pyocc", "pyocc-pred"):
            vbad += not close(by[(rid, cond, name)]["importance"], occ["importance"])
print(("ok" if vbad == 0 else "not ok") + " importance of pyocc and pyocc-pred (sign predicted) equals occlusion's (%d differ)" % vbad)
r = by[("r00", "ep", "pyrank")]
print(("ok" if "ranking" in r and "importance" not in r and r["metrics_undefined"]["rankdel"].startswith("not defined for a top-k list or a ranking") else "not ok")
      + " a ranking-only record has 'ranking' and says why RankDel is undefined")
print(("ok" if r["source"] == sys.argv[1][:-4] + "/expl.jsonl:3" and "sign" not in r else "not ok") + " its source is the file's absolute path and line: " + r["source"])
ag = by[("r00", "ep", "pyocc")]["agreement"]
print(("ok" if set(ag) == {"self", "occlusion", "pyocc-pred", "pyrank", "pytop", "eponly"} else "not ok")
      + " a file method's record lists agreement with every other explainer: %s" % sorted(ag))
print(("ok" if ag["occlusion"]["feature"] == 1 and ag["occlusion"]["rank"] == 1 else "not ok")
      + " pyocc agrees fully with occlusion (feature, rank)")
print(("ok" if set(ag["pyrank"]) == {"feature", "iou"} else "not ok") + " agreement with a ranking is top-k only: %s" % sorted(ag["pyrank"]))
two = [by[(i, c, "pyrank")]["agreement"]["pytop"] for (i, c, m) in by if m == "pyrank"]
print(("ok" if len(two) == 60 and all(a["feature"] == 1 and a["iou"] == 1 for a in two) else "not ok")
      + " two rankings agree on their first k (pyrank~pytop feature and IoU 1, %d reviews)" % len(two))
s = json.load(open(sys.argv[1] + "/summary.json"))
ep = s["conditions"]["ep"]
print(("ok" if {"pyocc", "pyocc-pred", "pyrank", "eponly"} <= set(ep["methods"]) and "eponly" not in s["conditions"]["pe"]["methods"] else "not ok")
      + " summary lists the file's methods where they apply")
pairs = set(ep["agreement"])
want = {"self~pyocc", "occlusion~pyocc", "pyocc~pyrank", "occlusion~pyrank", "self~pyrank", "pyocc~eponly"}
print(("ok" if want <= pairs else "not ok") + " summary agreement pairs include the file's methods (missing %s)" % sorted(want - pairs))
for k in ("comprehensiveness", "sufficiency", "df_mit", "rankdel"):
    a, b = ep["methods"]["pyocc"][k]["mean"], ep["methods"]["occlusion"][k]["mean"]
    print(("ok" if abs(a - b) <= 1e-12 else "not ok") + " summary mean %s of pyocc equals occlusion's (%r, %r)" % (k, a, b))
print(("ok" if "ep-vs-pe/pyocc" in s["comparisons"] and "ep/pyocc-vs-self" in s["comparisons"] and "ep-vs-pe/eponly" not in s["comparisons"] else "not ok")
      + " comparisons include the file's methods")
rj = json.load(open(sys.argv[1] + "/run.json"))
f = rj["explanations"]["files"][0]
print(("ok" if f["explanations"] == 5 * int(sys.argv[2]) and len(f["sha256"]) == 64 and rj["explanations"]["methods"]["pyrank"]["kind"] == "ranking"
       and rj["config"]["explanations"][0]["sha256"] == f["sha256"] else "not ok") + " run.json records the file, its SHA-256 and its methods")
PY

check_exit "selfexp table exits 0" 0 "$X" table "$T/run"
[ -n "${EXPL_KEEP:-}" ] && cp -r "$T/run" "$EXPL_KEEP"
cp "$T/last.out" "$T/table.md"
check "the faithfulness table has rows for pyocc and pyrank" \
	sh -c "awk '/Faithfulness/,/^Mean/' '$T/table.md' | grep -q '^| pyocc | 30 |' &&
	       awk '/Faithfulness/,/^Mean/' '$T/table.md' | grep -q '^| pyrank | 30 | .* | – |\$'"
check "the rank agreement table has a pyocc column" \
	sh -c "grep -A3 'rank agreement\$' '$T/table.md' | grep -q '| pyocc |'"
check "the feature agreement table has pyocc and pyrank columns" \
	sh -c "grep -A3 'feature agreement\$' '$T/table.md' | grep -q 'pyocc.*pyrank'"
check "the feature agreement table has a pyrank row" \
	sh -c "awk '/feature agreement/,/^Mean/' '$T/table.md' | grep -q '^| pyrank '"
check_exit "selfexp table --format csv exits 0" 0 "$X" table "$T/run" --format csv
check "csv carries pyocc~occlusion agreement" grep -q 'occlusion~pyocc' "$T/last.out"

check_exit "selfexp report exits 0" 0 "$X" report "$T/run" -o "$T/report.html"
check "the report colours the tokens of pyocc" grep -q '<tr><th>pyocc</th><td class="tk"><span' "$T/report.html"
check "the report marks the ranking of pyrank" grep -q '<tr><th>pyrank</th><td class="tk">.*<span class="k" title="#1">' "$T/report.html"
check "the report has a histogram of pyocc's values" grep -q 'pyocc importance, all conditions' "$T/report.html"

check_exit "compare gates on a file's method" 0 "$X" compare "$T/run" "$T/run" \
	--metrics pyocc:comprehensiveness,pyrank:sufficiency --bootstrap 100
check "compare names the method" grep -q 'pyocc' "$T/last.out"
check_exit "compare refuses a method neither run has (a usage error, as for an unknown metric)" 2 "$X" compare "$T/run" "$T/run" \
	--metrics pyoc:comprehensiveness --bootstrap 100
check "  and names it" grep -q "unknown method 'pyoc': neither run has explanations of that name" "$T/last.err"
check_exit "compare refuses a metric asked for that no condition has (rankdel of a ranking): exit 2" 2 \
	"$X" compare "$T/run" "$T/run" --metrics pyocc:comprehensiveness,pyrank:rankdel --bootstrap 100
check "  and says why, instead of gating on the rest" \
	grep -q "\-\-metrics pyrank:rankdel: neither run has a value of it" "$T/last.err"

# without metrics (and without occlusion) a file's methods still get agreement
check_exit "--no-metrics --explainers self with explanations exits 0" 0 "$X" run "${opts[@]}" \
	--no-metrics --explainers self --out "$T/nometrics" --cache "$T/cache.sqlite" \
	--explanations "$T/expl.jsonl"
pyt - "$T/nometrics" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1] + "/records.jsonl")]
ag = [r for r in recs if r["method"] == "pyocc" and "self" in r.get("agreement", {})]
print(("ok" if len(ag) == 60 and not any("metrics" in r for r in recs) else "not ok")
      + " agreement of pyocc with self on every review, no metrics (%d)" % len(ag))
PY

# score reproduces the run from the recorded file, and refuses a changed one
cp -r "$T/run" "$T/rescore"
check_exit "score on a run with explanations exits 0" 0 "$X" score "$T/rescore"
check "score reproduces summary.json" cmp -s "$T/run/summary.json" "$T/rescore/summary.json"
check "score reproduces records.jsonl" cmp -s "$T/run/records.jsonl" "$T/rescore/records.jsonl"
cp "$T/expl.jsonl" "$T/expl.saved"
sed -i '1d' "$T/expl.jsonl"
check_exit "score after the file changed exits 1" 1 "$X" score "$T/rescore"
check "it says the file changed" grep -q "explanations file '.*expl.jsonl' has changed since the run" "$T/last.err"
cp "$T/expl.saved" "$T/expl.jsonl"

# the same run with the file given by its absolute path: the same run (for merge below)
check_exit "the same run, the file by absolute path, exits 0" 0 "$X" run "${opts[@]}" --out "$T/whole" \
	--cache "$T/whole.sqlite" --explanations "$T/expl.jsonl"
check "it writes the same records.jsonl" cmp -s "$T/run/records.jsonl" "$T/whole/records.jsonl"

# --limit: lines for reviews not read are unused, not errors
check_exit "--limit 5 with the whole file exits 0" 0 "$X" run "${opts[@]}" --limit 5 --out "$T/lim" \
	--cache "$T/cache.sqlite" --explanations "$T/expl.jsonl"
pyt - "$T/lim" "$N" <<'PY'
import json, sys
f = json.load(open(sys.argv[1] + "/run.json"))["explanations"]["files"][0]
n = int(sys.argv[2])
print(("ok" if f["explanations"] == 25 and f["unused"] == 5 * n - 25 else "not ok") + " unused lines are counted: %r" % f)
PY

# shards: each reads the whole file; merged, they are the unsharded run
for i in 0 1; do
	check_exit "shard $i/2 with explanations exits 0" 0 "$X" run "${opts[@]}" --shard $i/2 \
		--out "$T/s$i" --cache "$T/s$i.sqlite" --explanations "$T/expl.jsonl"
done
check_exit "merge of the shards exits 0" 0 "$X" merge "$T/merged" "$T/s0" "$T/s1"
check "the merged records.jsonl is the unsharded run's" cmp -s "$T/whole/records.jsonl" "$T/merged/records.jsonl"
check "the merged summary.json too" cmp -s "$T/whole/summary.json" "$T/merged/summary.json"

# ---- errors: file, line, problem; exit 1; nothing sent
bad() { # bad NAME LINE... : a file whose lines are the arguments
	local f=$T/bad-$1.jsonl; shift
	printf '%s\n' "$@" > "$f"
}
r00=$(sed -n 1p "$T/expl.jsonl")
n00=$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["values"]))' "$r00")
zeros=$(python3 -c 'import sys; print(",".join(["0"] * int(sys.argv[1])))' "$n00")
bad count "{\"id\": \"r00\", \"method\": \"m\", \"values\": [$zeros]}" '{"id": "r01", "method": "m", "values": [0.5]}'
bad id '{"id": "nope", "method": "m", "values": [1]}'
bad clash "{\"id\": \"r00\", \"method\": \"occlusion\", \"values\": [$zeros]}"
bad clashcase "{\"id\": \"r00\", \"method\": \"LIME\", \"values\": [$zeros]}"
bad self "{\"id\": \"r00\", \"method\": \"topk\", \"ranking\": [0]}"
bad json '{"id": "r00", "method": "m", "values": [1,'
bad nan "{\"id\": \"r00\", \"method\": \"m\", \"values\": [NaN$(printf ',0%.0s' $(seq 2 "$n00"))]}"
bad inf "{\"id\": \"r00\", \"method\": \"m\", \"values\": [1e999$(printf ',0%.0s' $(seq 2 "$n00"))]}"
bad dup '' "{\"id\": \"r00\", \"method\": \"m\", \"condition\": \"ep\", \"values\": [$zeros]}" \
	"{\"id\": \"r00\", \"method\": \"m\", \"values\": [$zeros]}" \
	"{\"id\": \"r00\", \"method\": \"m\", \"condition\": \"ep\", \"values\": [$zeros]}"
bad field "{\"id\": \"r00\", \"method\": \"m\", \"conditon\": \"ep\", \"values\": [$zeros]}"
bad both "{\"id\": \"r00\", \"method\": \"m\", \"values\": [$zeros], \"ranking\": [0]}"
bad neither '{"id": "r00", "method": "m"}'
bad range '{"id": "r00", "method": "m", "ranking": [0, 99]}'
bad repeat '{"id": "r00", "method": "m", "ranking": [1, 1]}'
bad cond "{\"id\": \"r00\", \"method\": \"m\", \"condition\": \"e-p\", \"values\": [$zeros]}"
bad sign "{\"id\": \"r00\", \"method\": \"m\", \"sign\": \"negative\", \"values\": [$zeros]}"
bad kind "{\"id\": \"r00\", \"method\": \"m\", \"values\": [$zeros]}" '{"id": "r01", "method": "m", "ranking": [0]}'
bad name "{\"id\": \"r00\", \"method\": \"a~b\", \"values\": [$zeros]}"
bad nonnum "{\"id\": \"r00\", \"method\": \"m\", \"values\": [\"x\"$(printf ',0%.0s' $(seq 2 "$n00"))]}"
expect=(
	"count|bad-count.jsonl' line 2: review 'r01' has [0-9]* tokens but \"values\" has 1 value (one per whitespace-separated token"
	"id|bad-id.jsonl' line 1: unknown review id 'nope'"
	"clash|bad-clash.jsonl' line 1: method name 'occlusion' is taken by a built-in explainer"
	"clashcase|bad-clashcase.jsonl' line 1: method name 'LIME' is taken by a built-in explainer"
	"self|bad-self.jsonl' line 1: method name 'topk' is taken"
	"json|bad-json.jsonl' line 1: not JSON"
	"nan|bad-nan.jsonl' line 1: NaN or Infinity is not a number in JSON"
	"inf|bad-inf.jsonl' line 1: \"values\"\\[0\\] is not finite"
	"dup|bad-dup.jsonl' line 4: a second explanation of review 'r00' by method 'm' for ep (the first is '.*bad-dup.jsonl' line 2)"
	"field|bad-field.jsonl' line 1: unknown field 'conditon'"
	"both|bad-both.jsonl' line 1: both \"values\" and \"ranking\""
	"neither|bad-neither.jsonl' line 1: neither \"values\" nor \"ranking\""
	"range|bad-range.jsonl' line 1: \"ranking\"\\[1\\] = 99 is out of range"
	"repeat|bad-repeat.jsonl' line 1: \"ranking\" lists token 1 twice"
	"cond|bad-cond.jsonl' line 1: unknown condition 'e-p'"
	"sign|bad-sign.jsonl' line 1: unknown sign 'negative'"
	"kind|bad-kind.jsonl' line 2: method 'm' has a ranking here and values on earlier lines"
	"name|bad-name.jsonl' line 1: method name 'a~b' has the character '~'"
	"nonnum|bad-nonnum.jsonl' line 1: \"values\"\\[0\\] is not a number"
)
before=$(sim_asked)
for e in "${expect[@]}"; do
	name=${e%%|*} msg=${e#*|}
	check_exit "a bad explanations file ($name) exits 1" 1 "$X" run "${opts[@]}" --out "$T/bad-$name" \
		--cache "$T/bad.sqlite" --explanations "$T/expl.jsonl" --explanations "$T/bad-$name.jsonl"
	check "  and says: $msg" grep -q "^selfexp: .*$msg" "$T/last.err"
	check "  and writes no run directory" test ! -e "$T/bad-$name"
done
# a duplicate across two files names both
check_exit "the same explanation in two files exits 1" 1 "$X" run "${opts[@]}" --out "$T/bad-two" \
	--cache "$T/bad.sqlite" --explanations "$T/expl.jsonl" --explanations "$T/expl.jsonl"
check "  and names the first file and line" \
	grep -q "expl.jsonl' line 1: a second explanation of review 'r00' by method 'pyocc' for every condition (the first is '.*expl.jsonl' line 1)" "$T/last.err"
check_exit "--dry-run checks the file too" 1 "$X" run "${opts[@]}" --out "$T/bad-dry" --dry-run \
	--explanations "$T/bad-id.jsonl"
check_exit "a missing explanations file exits 1" 1 "$X" run "${opts[@]}" --out "$T/bad-missing" \
	--explanations "$T/none.jsonl"
check "  and names it" grep -q "none.jsonl" "$T/last.err"
check_eq "no bad file sent a request" "$before" "$(sim_asked)"
stop_sim
done_testing
