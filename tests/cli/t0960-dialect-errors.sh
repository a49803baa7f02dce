#!/usr/bin/env bash
# Client errors in each server's own shape: llama.cpp sends some as 500 (a
# body it cannot parse, n > 1, "context shift is disabled"); none of them is
# retried, and a context-size error names --max-tokens and the server's
# context option. Cost: a local server costs 0 whatever the model's list
# price, so --max-cost never stops it; --price-in/--price-out still apply.
. "$(dirname "$0")/lib.sh"

data=$SELFEXP_HOME/data/demo.tsv
opts=(--data "$data" --limit 3 --conditions pred --explainers self --no-metrics --no-progress --concurrency 1)

start_sim --dialect llamacpp --ctx-size 300
n0=$(sim_asked)
check_exit "llamacpp: prompt + max_tokens over the context: a partial run (exit 5)" 5 "$X" run "${opts[@]}" \
	--base-url "$SIM_URL" --model m --out "$T/ctx" --cache "$T/ctx.sqlite"
check "... the reason names --max-tokens and -c / --ctx-size" \
	grep -q "lower --max-tokens.*-c / --ctx-size.*: context shift is disabled" "$T/last.err"
check_eq "... each 500 sent once, not retried" 3 $(( $(sim_asked) - n0 ))
check_exit "... and a cap that fits the context completes" 0 "$X" run "${opts[@]}" --base-url "$SIM_URL" \
	--model m --max-tokens 64 --out "$T/ctx" --force --cache "$T/ctx.sqlite"
check "curl: llama.cpp's error shape for a body it cannot parse (500)" sh -c "
	curl -s -o '$T/e.json' -w '%{http_code}' -H 'Content-Type: application/json' -d '{oops' '$SIM_URL/chat/completions' | grep -qx 500 &&
	python3 -c 'import json,sys; e = json.load(open(sys.argv[1]))[\"error\"]; sys.exit(not (e[\"code\"] == 500 and e[\"type\"] == \"server_error\"))' '$T/e.json'"
check "curl: a llama.cpp answer carries its timings block" sh -c "
	curl -s -H 'Content-Type: application/json' -d '{\"messages\":[{\"role\":\"user\",\"content\":\"<review> fine <review>\"}]}' '$SIM_URL/chat/completions' |
	python3 -c 'import json,sys; t = json.load(sys.stdin)[\"timings\"]; sys.exit(not (\"predicted_n\" in t and \"prompt_ms\" in t))'"
stop_sim

start_sim --dialect llamacpp --ctx-size 50
check_exit "llamacpp: a prompt alone over the context (400 exceed_context_size_error): exit 5" 5 "$X" run "${opts[@]}" \
	--base-url "$SIM_URL" --model m --max-tokens 8 --out "$T/ctx2" --cache "$T/ctx2.sqlite"
check "... naming the options" grep -q "lower --max-tokens.*--ctx-size.*exceeds the available context size" "$T/last.err"
stop_sim

start_sim --dialect vllm --ctx-size 300
check_exit "vllm: its context error (400, {\"object\":\"error\"}): exit 5" 5 "$X" run "${opts[@]}" --base-url "$SIM_URL" \
	--model m --out "$T/v" --cache "$T/v.sqlite"
check "... recognised and explained" grep -q "lower --max-tokens.*maximum context length is 300 tokens" "$T/last.err"
stop_sim

start_sim --dialect ollama
check "curl: Ollama's error shape (param and code null)" sh -c "
	curl -s -H 'Content-Type: application/json' -d '{\"model\":\"m\"}' '$SIM_URL/chat/completions' |
	python3 -c 'import json,sys; e = json.load(sys.stdin)[\"error\"]; sys.exit(not (e[\"param\"] is None and e[\"code\"] is None and e[\"message\"]))'"
check_exit "a local server with a listed model (gpt-4o) and --max-cost: never stopped, exit 0" 0 "$X" run "${opts[@]}" \
	--base-url "$SIM_URL" --model gpt-4o --max-cost 0.000001 --out "$T/cost" --cache "$T/cost.sqlite"
check "... it cost 0 (prices are OpenAI's, this host is not)" python3 -c "
import json, sys; r = json.load(open('$T/cost/run.json'))
sys.exit(not (r['counts']['cost_usd'] == 0 and r['config']['endpoint']['price_in'] == 0))"
check_exit "--price-in/--price-out still price a local run" 0 "$X" run "${opts[@]}" --base-url "$SIM_URL" \
	--model gpt-4o --price-in 2 --price-out 4 --out "$T/cost2" --cache "$T/cost2.sqlite"
check "... cost = (2 prompt + 4 completion) / 1e6" python3 -c "
import json, sys; c = json.load(open('$T/cost2/run.json'))['counts']
sys.exit(not abs(c['cost_usd'] - (2 * c['prompt_tokens'] + 4 * c['completion_tokens']) / 1e6) < 1e-12)"
check_exit "the dry run of a listed model without an endpoint estimates at list price" 0 env -u OPENAI_BASE_URL \
	"$X" run "${opts[@]}" --model gpt-4o --dry-run --out "$T/dry"
check "... \$2.50 / \$10.00" grep -q 'at \$2.50 / \$10.00 per 1M' "$T/last.out"
check_exit "... and with a local endpoint at 0" 0 "$X" run "${opts[@]}" --model gpt-4o --dry-run --out "$T/dry" \
	--base-url "$SIM_URL"
check "... \$0.00 / \$0.00" grep -q 'at \$0.00 / \$0.00 per 1M' "$T/last.out"
stop_sim

start_sim
check_exit "run.json: a base URL with user info and a query" 0 "$X" run "${opts[@]}" \
	--base-url "http://user:pw-secret@${SIM_URL#http://}?api-version=2024-10-21&sig=qs-secret" --model sim \
	--out "$T/u" --cache "$T/u.sqlite"
check "... records it without credentials or query, and the models the server lists" python3 -c "
import json, sys; r = json.load(open('$T/u/run.json'))
s = r['server']
sys.exit(not (s['base_url'] == '$SIM_URL' and s['models'] == ['selfexp-sim']))"
check "... the secrets of the URL are in no run file's data (only in the command line run.json records)" \
	sh -c "! grep -rq 'qs-secret\|pw-secret' '$T/u/records.jsonl' '$T/u/summary.json'"
stop_sim
done_testing
