#!/usr/bin/env bash
# Occlusion and LIME against the simulated model with exact probabilities
# (--confidence-decimals 6): occlusion equals f(x) - f(x without i) computed from
# the sim's own weights, LIME ranks tokens like the true contributions, the
# vectors do not depend on the concurrency, and shared perturbations are sent once.
. "$(dirname "$0")/lib.sh"
need_shared

dev=$SELFEXP_SHARED/data/sst2/dev.tsv
opts=(--conditions pe --explainers self,occlusion,lime --no-metrics --model sim --no-progress --seed 7)
start_sim --confidence-decimals 6

check_exit "occlusion and LIME on 100 dev reviews exit 0" 0 "$X" run --data "$dev" --limit 100 \
	--out "$T/a/run" --base-url "$SIM_URL" --concurrency 64 "${opts[@]}"
PYTHONPATH=$TESTS_DIR/cli python3 - "$T/a/run/records.jsonl" > "$T/occ" <<'PY'
import sys, truth
b, w = truth.load_weights()
errs, n = [], 0
for r in truth.records(sys.argv[1], "occlusion"):
    t = r["tokens"]
    px = truth.p_pos(b, w, t)
    imp = r["importance"] if isinstance(r["importance"], list) and len(r["importance"]) == len(t) else [None]
    for i, v in enumerate(imp):
        errs.append(truth.err(v, px - truth.p_pos(b, w, t[:i] + t[i + 1:])))
    n += 1
worst = truth.worst(errs)
print(n, "ok" if worst <= 1.01e-6 else "max error %.3g" % worst)
PY
check_eq "occlusion equals f(x) - f(x without i) from the sim's weights to 1e-6" "100 ok" "$(cat "$T/occ")"
PYTHONPATH=$TESTS_DIR/cli python3 - "$T/a/run/records.jsonl" > "$T/lime" <<'PY'
import sys, truth
b, w = truth.load_weights()
rhos = []
for r in truth.records(sys.argv[1], "lime"):
    contrib = [w.get(truth.lower(t), 0.0) for t in r["tokens"]]
    rho = truth.spearman(r["importance"], contrib)
    if rho is not None:
        rhos.append(rho)
m = sum(rhos) / len(rhos)
print("%d %.3f" % (len(rhos), m))
PY
read -r nl rho < "$T/lime"
echo "# LIME (10x samples) vs true contributions: mean Spearman $rho over $nl reviews"
check "LIME ranks tokens like the true contributions (mean Spearman $rho >= 0.85)" \
	python3 -c "import sys; sys.exit(0 if float('$rho') >= 0.85 else 1)"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["counts"]; print(s["naive_requests"], s["sent"])' \
	"$T/a/run/run.json" > "$T/counts"
read -r naive sent < "$T/counts"
echo "# requests: naive $naive, sent $sent"
check "shared perturbations are sent once (sent $sent < naive $naive)" test "$sent" -lt "$naive"
# Exactly: with occlusion alone (its perturbations are all in records.jsonl), a
# fresh cache sends one request per distinct text of a condition: the review
# and each review without one token, shared between reviews and repeats.
check_exit "occlusion alone on 100 dev reviews, a fresh cache: exit 0" 0 "$X" run --data "$dev" --limit 100 \
	--out "$T/occonly/run" --cache "$T/occ.sqlite" --base-url "$SIM_URL" --concurrency 64 \
	--conditions pe --explainers self,occlusion --no-metrics --model sim --no-progress --seed 7
pyt - "$T/occonly/run" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1] + "/records.jsonl")]
texts = set()
for r in recs:
    t = tuple(r["tokens"])
    texts.add((r["condition"], t))
    if r["method"] == "occlusion":
        texts.update((r["condition"], t[:i] + t[i + 1:]) for i in range(len(t)))
c = json.load(open(sys.argv[1] + "/run.json"))["counts"]
n = sum(1 for r in recs if r["method"] == "occlusion")
print(("ok" if n == 100 else "not ok"), "100 occlusion records (%d)" % n)
print(("ok" if c["sent"] == len(texts) else "not ok"),
      "sent %d requests, one per distinct text of a condition (%d; naive %d)" % (c["sent"], len(texts), c["naive_requests"]))
PY

# the same vectors whatever the concurrency (separate caches: both really query)
for c in 1 64; do
	"$X" run --data "$dev" --limit 25 --out "$T/c$c/run" --base-url "$SIM_URL" --concurrency $c "${opts[@]}" \
		> /dev/null 2>&1
done
check "concurrency 1 and 64 give identical records" cmp -s "$T/c1/run/records.jsonl" "$T/c64/run/records.jsonl"
head -n $((25 * 3)) "$T/a/run/records.jsonl" > "$T/a/head.jsonl"
check "--limit does not change a review's vectors" cmp -s "$T/a/head.jsonl" "$T/c1/run/records.jsonl"

# --dry-run counts without sending
before=$(sim_stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["chat_requests"])')
check_exit "--dry-run exits 0" 0 "$X" run --data "$dev" --limit 100 --out "$T/d/run" --base-url "$SIM_URL" \
	--dry-run "${opts[@]}"
after=$(sim_stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["chat_requests"])')
check_eq "--dry-run sends nothing" "$before" "$after"
grep -q "^explain pe" "$T/last.out" && ok "--dry-run lists the explain stage" || fail "--dry-run lists the explain stage"
check "--dry-run writes no run directory" test ! -e "$T/d/run"

# a LIME fixed sample count and a mask word are honoured
check_exit "--lime-samples 50 --mask UNK exits 0" 0 "$X" run --data "$dev" --limit 5 --out "$T/m/run" \
	--base-url "$SIM_URL" --lime-samples 50 --mask UNK "${opts[@]}"
python3 -c '
import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["method"] == "lime": print(r["lime"]["samples"]); break' "$T/m/run/records.jsonl" > "$T/m/s"
check_eq "LIME used 50 samples" "50" "$(cat "$T/m/s")"
stop_sim
done_testing
