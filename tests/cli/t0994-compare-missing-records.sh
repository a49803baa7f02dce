#!/usr/bin/env bash
# compare pairs the records of two runs; a record one run has and the other
# lacks, for a review both have, is missing input, not an undefined value:
# exit 2 naming the run, the review, the condition and the method. Before,
# the pair was dropped without a word (a records.jsonl cut at a line
# boundary gated on fewer reviews, exit 0) and a metric of a method the new
# run did not compute (--metrics lime:comprehensiveness against a run
# without lime) vanished from the gate, which passed.
. "$(dirname "$0")/lib.sh"

start_sim --explain noisy:0.2
common=(--data "$SELFEXP_HOME/data/demo.tsv" --limit 4 --model sim --lime-samples 10
	--bootstrap 20 --no-progress --base-url "$SIM_URL" --cache "$T/cache.sqlite")
"$X" run "${common[@]}" --out "$T/base" 2> "$T/err" ||
	{ fail "the base run exits $?"; sed 's/^/#   /' "$T/err"; }
"$X" run "${common[@]}" --explainers self,occlusion --out "$T/nolime" 2> "$T/err" ||
	{ fail "the run without lime exits $?"; sed 's/^/#   /' "$T/err"; }
stop_sim
M=accuracy,comprehensiveness,lime:comprehensiveness,occlusion:sufficiency

check_exit "compare of a run with itself exits 0" 0 "$X" compare "$T/base" "$T/base" --metrics "$M"

# the last record (the LIME one of the last review under pe) cut off at a line boundary
cp -r "$T/base" "$T/cut"
last=$(tail -n 1 "$T/base/records.jsonl" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["id"], r["condition"], r["method"])')
read -r id cond meth <<< "$last"
check_eq "the last record is a lime one" lime "$meth"
head -n -1 "$T/base/records.jsonl" > "$T/cut/records.jsonl"
check_exit "compare with a record cut off exits 2" 2 "$X" compare "$T/base" "$T/cut" --metrics "$M"
check "... naming the run, the review, the condition and the method" \
	grep -q "'$T/cut' has no 'lime' record of review '$id' under $cond, which '$T/base' has" "$T/last.err"
check_exit "... the other way round too" 2 "$X" compare "$T/cut" "$T/base" --metrics "$M"
check "... naming the run that lacks it" grep -q "'$T/cut' has no 'lime' record" "$T/last.err"

# an answer record (self) of a review the run still has under another condition
python3 - "$T/base/records.jsonl" "$T/cut/records.jsonl" "$id" <<'PY'
import json, sys
src, dst, rid = sys.argv[1:]
with open(src) as f, open(dst, "w") as g:
    for line in f:
        r = json.loads(line)
        if not (r["id"] == rid and r["condition"] == "pe" and r["method"] == "self"):
            g.write(line)
PY
check_exit "compare with an answer record missing exits 2" 2 "$X" compare "$T/base" "$T/cut"
check "... naming it" grep -q "'$T/cut' has no 'self' record of review '$id' under pe" "$T/last.err"

# a method one run did not compute, gated on
check_exit "gating lime against a run without lime exits 2" 2 \
	"$X" compare "$T/base" "$T/nolime" --metrics "$M"
check "... naming the method" grep -q "'$T/nolime' has no 'lime' record .*leave lime out of --metrics" "$T/last.err"
check_exit "... and without lime in --metrics exits 0" 0 \
	"$X" compare "$T/base" "$T/nolime" --metrics accuracy,comprehensiveness,occlusion:sufficiency

# a review one run does not have at all is still only left out (with a note)
grep -v "\"id\":\"$id\"" "$T/base/records.jsonl" > "$T/cut/records.jsonl"
check_exit "a review missing from a run entirely exits 0" 0 "$X" compare "$T/base" "$T/cut" --metrics "$M"
check "... saying so" grep -q "only 3 review ids in common (base 4, new 3)" "$T/last.err"
done_testing
