#!/usr/bin/env bash
# A 400 naming a request field the model does not support (OpenAI's reasoning
# models: max_tokens, a non-default temperature, logprobs) stops the run at
# once, without retries, exit 1, with the message naming the flag that fixes
# it; reasoning tokens are counted and priced as output tokens.
. "$(dirname "$0")/lib.sh"

data=$SELFEXP_HOME/data/demo.tsv
opts=(--data "$data" --limit 3 --conditions pred --explainers self --no-metrics --no-progress --concurrency 1)
start_sim --dialect openai-reasoning
n0=$(sim_asked)
check_exit "max_tokens sent to a reasoning model: exit 1" 1 "$X" run "${opts[@]}" --base-url "$SIM_URL" \
	--model o3-mini --max-tokens-field max_tokens --out "$T/a" --cache "$T/a.sqlite"
check "... the message names the field and the flag" \
	grep -q "does not support the request field 'max_tokens'.*pass --max-tokens-field max_completion_tokens" "$T/last.err"
check_eq "... after one request, not retried" 1 $(( $(sim_asked) - n0 ))
check "... and no run directory is written" test ! -e "$T/a/run.json"

n0=$(sim_asked)
check_exit "a temperature other than the default: exit 1" 1 "$X" run "${opts[@]}" --base-url "$SIM_URL" \
	--model o3-mini --temperature 0.5 --out "$T/b" --cache "$T/b.sqlite"
check "... naming --unset temperature" grep -q "field 'temperature'.*pass --unset temperature" "$T/last.err"
check_eq "... after one request" 1 $(( $(sim_asked) - n0 ))

check_exit "logprobs from a reasoning model: exit 1" 1 "$X" run "${opts[@]}" --base-url "$SIM_URL" \
	--model o3-mini --prob logprob --out "$T/c" --cache "$T/c.sqlite"
check "... naming --prob verbal" grep -q "field 'logprobs'.*pass --prob verbal" "$T/last.err"

check_exit "a model name selfexp does not know as a reasoning model: exit 1" 1 "$X" run "${opts[@]}" \
	--base-url "$SIM_URL" --model my-reasoner --out "$T/d" --cache "$T/d.sqlite"
check "... naming --max-tokens-field" grep -q "pass --max-tokens-field max_completion_tokens" "$T/last.err"
check_exit "... which the flags it names fix" 0 "$X" run "${opts[@]}" --base-url "$SIM_URL" \
	--model my-reasoner --max-tokens-field max_completion_tokens --unset temperature --unset top_p \
	--out "$T/d" --cache "$T/d.sqlite"

check_exit "a field set by --param that the server refuses: exit 1" 1 "$X" run "${opts[@]}" \
	--base-url "$SIM_URL" --model o3-mini --param 'top_p=0.5' --out "$T/e" --cache "$T/e.sqlite"
check "... naming the field" grep -q "field 'top_p'" "$T/last.err"

check_exit "the automatic fields: a complete run, priced" 0 "$X" run "${opts[@]}" --base-url "$SIM_URL" \
	--model o3-mini --price-in 1 --price-out 1000 --out "$T/ok" --cache "$T/ok.sqlite"
check "reasoning tokens are counted and priced as output (cost = (prompt + completion x 1000) / 1e6)" python3 -c "
import json, sys
c = json.load(open('$T/ok/run.json'))['counts']
want = (c['prompt_tokens'] * 1 + c['completion_tokens'] * 1000) / 1e6
sys.exit(not (c['reasoning_tokens'] == 3 * 64 and c['completion_tokens'] > c['reasoning_tokens'] and
              abs(c['cost_usd'] - want) < 1e-9))"
stop_sim
done_testing
