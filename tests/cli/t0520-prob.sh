#!/usr/bin/env bash
# --prob: the three sources of P(positive) agree with the sim's true P.
. "$(dirname "$0")/lib.sh"
need_shared
dev=$SELFEXP_SHARED/data/sst2/dev.tsv
start_sim --confidence-decimals 1
for pr in verbal logprob sample:16; do
	check_exit "--prob $pr exits 0" 0 "$X" run --data "$dev" --limit 30 --out "$T/$pr" --base-url "$SIM_URL" \
		--model sim --conditions pe --explainers self --no-metrics --no-progress --prob "$pr"
done
PYTHONPATH=$TESTS_DIR/cli python3 - "$T" > "$T/err" <<'PY'
import sys, truth
b, w = truth.load_weights()
for pr in ("verbal", "logprob", "sample:16"):
    errs = []
    for r in truth.records("%s/%s/records.jsonl" % (sys.argv[1], pr)):
        errs.append(truth.err(r["prediction"]["p_pos"], truth.p_pos(b, w, r["tokens"])))
    print(pr, "%.3g" % truth.worst(errs), "%.3g" % (sum(errs) / len(errs) if errs else float("inf")))
PY
cat "$T/err" | sed 's/^/# max, mean |p_pos - P|: /'
read -r _ vmax vmean < <(grep '^verbal' "$T/err")
read -r _ lmax lmean < <(grep '^logprob' "$T/err")
read -r _ smax smean < <(grep '^sample' "$T/err")
check "verbal P is the confidence rounded to 1 decimal (max error $vmax <= 0.05)" python3 -c "import sys; sys.exit(0 if float('$vmax') <= 0.0500001 else 1)"
check "logprob P is exact (max error $lmax <= 1e-9)" python3 -c "import sys; sys.exit(0 if float('$lmax') <= 1e-9 else 1)"
check "sample:16 P is a frequency close to P (mean error $smean <= 0.15)" python3 -c "import sys; sys.exit(0 if float('$smean') <= 0.15 else 1)"
check_eq "run.json records the source" "sample:16" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["prob"])' "$T/sample:16/run.json")"
# real tokenizers split numbers into digits: the label is read from the label token of the
# pair, not from the first "0" or "1" of the answer (in E-P, a digit of an importance value)
stop_sim
start_sim --confidence-decimals 1 --tokenize digits
for c in ep pe pred; do
	check_exit "--prob logprob against digit tokens, $c, exits 0" 0 "$X" run --data "$dev" --limit 20 \
		--out "$T/digits-$c" --base-url "$SIM_URL" --model sim --conditions $c --explainers self \
		--no-metrics --no-progress --prob logprob
	err=$(PYTHONPATH=$TESTS_DIR/cli python3 -c "
import sys, truth
b, w = truth.load_weights()
print('%.3g' % truth.worst(truth.err(r['prediction']['p_pos'], truth.p_pos(b, w, r['tokens']))
                          for r in truth.records('$T/digits-$c/records.jsonl')))")
	check "... $c: P from the label token is exact (max error $err <= 1e-9)" \
		python3 -c "import sys; sys.exit(0 if float('$err') <= 1e-9 else 1)"
done
check_exit "--prob sample:1 is a usage error" 2 "$X" run --data "$dev" --out "$T/x" --prob sample:1
stop_sim
done_testing
