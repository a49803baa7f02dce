#!/usr/bin/env bash
# Request fields for every endpoint: --param KEY=JSON sets a top-level field,
# --unset leaves one out, reasoning models get max_completion_tokens and no
# temperature/top_p at their defaults; all of it is in the cache key and in
# run.json, and score reproduces the run from it.
. "$(dirname "$0")/lib.sh"

start_sim
common=(--data "$SELFEXP_HOME/data/demo.tsv" --limit 3 --conditions pred --explainers self
	--no-metrics --no-progress --base-url "$SIM_URL" --cache "$T/c.sqlite")
check_exit "a run with --param and --unset exits 0" 0 "$X" run "${common[@]}" --out "$T/a" --model sim \
	--param 'grammar="root ::= \"(1, 0.9)\""' --param 'response_format={"type":"text"}' --unset top_p
"$X" cache export --cache "$T/c.sqlite" > "$T/rows.jsonl" 2> /dev/null
check "the requests carry the fields set and not the one left out" python3 -c "
import json, sys
rows = [json.loads(l)['request'] for l in open('$T/rows.jsonl')]
sys.exit(not (len(rows) == 3 and all(r['grammar'] == 'root ::= \"(1, 0.9)\"' and
              r['response_format'] == {'type': 'text'} and 'top_p' not in r and 'temperature' in r
              for r in rows)))"
sent=$(sim_asked)
check_exit "the same run without --param exits 0" 0 "$X" run "${common[@]}" --out "$T/b" --model sim
check "... and is sent again: the fields are part of the cache key" test "$(sim_asked)" -gt "$sent"
check_exit "score reproduces the run with its fields, offline" 0 "$X" score "$T/a"
check "... from the cache (nothing missing)" grep -q " 0 failed" "$T/last.err"
check_exit "a reasoning model's run exits 0" 0 "$X" run "${common[@]}" --out "$T/o" --model o3-mini
"$X" cache export --cache "$T/c.sqlite" > "$T/rows.jsonl" 2> /dev/null
check "... it sends max_completion_tokens, no max_tokens, temperature or top_p" python3 -c "
import json, sys
rows = [json.loads(l)['request'] for l in open('$T/rows.jsonl')]
o = [r for r in rows if r['model'] == 'o3-mini']
sys.exit(not (len(o) == 3 and all(r['max_completion_tokens'] == 1024 and not
              {'max_tokens', 'temperature', 'top_p'} & set(r) for r in o)))"
check_exit "--max-tokens-field max_tokens keeps the usual field for it" 0 "$X" run "${common[@]}" \
	--out "$T/o2" --model o3-mini --max-tokens-field max_tokens
check_exit "--param model=... is refused" 2 "$X" run "${common[@]}" --out "$T/x" --param 'model="y"'
check "... saying selfexp sets it" grep -q "selfexp sets 'model' itself" "$T/last.err"
check_exit "--param with a value that is not JSON is refused" 2 "$X" run "${common[@]}" --out "$T/x" \
	--param 'seed=abc'
check_exit "--unset of a field selfexp does not send is refused" 2 "$X" run "${common[@]}" --out "$T/x" \
	--unset messages
stop_sim
done_testing
