#!/usr/bin/env bash
# The model an answer says answered it ("model"): run.json counts.models_served
# tallies them (network and cache answers alike), and a name that is not the
# model asked for, nor a dated snapshot or tag of it, is said on stderr (a
# gateway that fell back to another model). A server's name reaches the
# terminal in printable ASCII only.
. "$(dirname "$0")/lib.sh"

start_sim
opts=(--data "$SELFEXP_HOME/data/demo.tsv" --limit 3 --conditions ep --explainers self
	--no-metrics --no-progress)
served() { python3 -c 'import json, sys; c = json.load(open(sys.argv[1]))["counts"]
print(json.dumps([c.get("models_served"), c.get("models_unnamed", 0)], sort_keys=True))' "$1"; }

check_exit "the sim names the model asked for" 0 "$X" run "${opts[@]}" --model gpt-4o \
	--base-url "$SIM_URL" --out "$T/a" --cache "$T/a.sqlite"
check_eq "... run.json counts it" '[{"gpt-4o": 3}, 0]' "$(served "$T/a/run.json")"
check "... and nothing is said" test -z "$(grep "name another model" "$T/last.err")"
check_exit "the same again, from the cache" 0 "$X" run "${opts[@]}" --model gpt-4o \
	--base-url "$SIM_URL" --out "$T/a2" --cache "$T/a.sqlite"
check_eq "... the cached answers are counted too" '[{"gpt-4o": 3}, 0]' "$(served "$T/a2/run.json")"

start_pyserver nousage "$SIM_URL" gpt-4o-2024-08-06
check_exit "a dated snapshot of the model" 0 "$X" run "${opts[@]}" --model gpt-4o \
	--base-url "$PYSERVER_URL/v1" --out "$T/b" --cache "$T/b.sqlite"
check_eq "... is counted under its name" '[{"gpt-4o-2024-08-06": 3}, 0]' "$(served "$T/b/run.json")"
check "... and is the model asked for: nothing said" test -z "$(grep "name another model" "$T/last.err")"

mv "$T/nousage.url" "$T/first.url"
start_pyserver nousage "$SIM_URL" "$(printf 'gpt-4o-mini\033[2J')"
check_exit "a gateway that answers with another model" 0 "$X" run "${opts[@]}" --model gpt-4o \
	--base-url "$PYSERVER_URL/v1" --out "$T/c" --cache "$T/c.sqlite"
check_eq "... run.json names it" "[{\"gpt-4o-mini\\u001b[2J\": 3}, 0]" "$(served "$T/c/run.json")"
check_eq "... and stderr says so, printable" \
	"selfexp: 3 of the 3 answers name another model than 'gpt-4o': 'gpt-4o-mini?[2J' (3) (run.json counts.models_served); the server or a gateway may have answered with another model" \
	"$(grep "name another model" "$T/last.err")"

mv "$T/nousage.url" "$T/second.url"
start_pyserver nousage "$SIM_URL" -
check_exit "answers that name no model" 0 "$X" run "${opts[@]}" --model gpt-4o \
	--base-url "$PYSERVER_URL/v1" --out "$T/d" --cache "$T/d.sqlite"
check_eq "... are counted as unnamed" '[null, 3]' "$(served "$T/d/run.json")"

# compare says when the runs' answers name different models (the verdicts do not change)
check_exit "compare of two runs answered by different models" 0 "$X" compare "$T/b" "$T/c" \
	--markdown "$T/bc.md"
check_eq "... says so on stderr" \
	"selfexp: compare: the runs' answers name different models (base: gpt-4o-2024-08-06; new: gpt-4o-mini?[2J; run.json counts.models_served): a change may be the model's, not the prompt's" \
	"$(grep "name different models" "$T/last.err")"
check "... and in the Markdown" grep -qF "**The runs' answers name different models** (base: gpt-4o-2024-08-06; new: gpt-4o-mini?[2J;" "$T/bc.md"
check_exit "compare of two runs answered by the same model" 0 "$X" compare "$T/a" "$T/a2" \
	--markdown "$T/aa.md"
check "... says nothing of it" test -z "$(grep -h "different models" "$T/last.err" "$T/aa.md")"
check_exit "compare with a run that names no model (counted as unnamed)" 0 "$X" compare "$T/a" "$T/d"
check "... says nothing of it either" test -z "$(grep "different models" "$T/last.err")"
stop_sim
done_testing
