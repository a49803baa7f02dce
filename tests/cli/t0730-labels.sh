#!/usr/bin/env bash
# The predicted label is the model's stated label, not P(pos) > 0.5: an
# answer (1, 0.5) on a perturbed review keeps label 1, so the label of a
# one-word review never changes and DF_MIT is 0 (it was 1 while labels were
# thresholded). With --prob logprob the label is the more probable one.
. "$(dirname "$0")/lib.sh"

printf 'sentence\tlabel\ngreat\t1\n' > "$T/great.tsv"
start_sim
check_exit "run on the one-word review exits 0" 0 "$X" run --data "$T/great.tsv" --out "$T/run" \
	--cache "$T/c.sqlite" --base-url "$SIM_URL" --model sim --conditions pe --explainers self \
	--no-progress
pyt - "$T/run/records.jsonl" <<'PY'
import json, sys
def check(what, cond):
    print(("ok " if cond else "not ok ") + what)
recs = [json.loads(l) for l in open(sys.argv[1])]
r = [x for x in recs if x["method"] == "self"][0]
# the sim answers (1, 0.6) on "great" and (1, 0.5) on the empty review
check("the review is answered (1, 0.6)", r["prediction"]["label"] == 1 and r["p_pos_x"] == 0.6)
check("label_x is the stated label 1", r["label_x"] == 1)
check("DF_MIT is 0: the stated label never changes", r["metrics"]["df_mit"] == 0)
check("DF_Frac is 1: it never changes", r["metrics"]["df_frac"] == 1)
PY
stop_sim
done_testing
