#!/usr/bin/env bash
# The recipes of docs/endpoints.md, one per server, each against the sim
# dialect that behaves like that server: the protocol (a few reviews of the
# demo sample, E-P and P-E, self-explanations, occlusion and the metrics) runs
# to a complete run, exit 0.
. "$(dirname "$0")/lib.sh"

data=$SELFEXP_HOME/data/demo.tsv
proto=(--data "$data" --limit 3 --conditions ep,pe --explainers self,occlusion --no-progress)
# pyc "description" 'python expression on r (run.json) and c (its counts)': passes when true
pyc() { check "$1" python3 -c "import json, sys; r = json.load(open(sys.argv[1])); c = r['counts']; sys.exit(not ($3))" "$2/run.json"; }
complete() { pyc "$1: run.json says complete" "$2" "r['complete']"; }

# OpenAI chat models (recipe "OpenAI")
start_sim --dialect openai
check_exit "openai: a complete run" 0 env OPENAI_API_KEY=sk-test-openai-0000 "$X" run "${proto[@]}" \
	--base-url "$SIM_URL" --model gpt-4o-mini --out "$T/openai/run"
complete openai "$T/openai/run"
stop_sim

# OpenAI reasoning models: the automatic max_completion_tokens, no temperature/top_p
start_sim --dialect openai-reasoning
check_exit "openai-reasoning: a complete run with --model o4-mini" 0 env OPENAI_API_KEY=sk-test-openai-0000 \
	"$X" run "${proto[@]}" --base-url "$SIM_URL" --model o4-mini --max-tokens 4096 --out "$T/reason/run"
complete openai-reasoning "$T/reason/run"
pyc "openai-reasoning: the reasoning tokens are counted" "$T/reason/run" \
	"c['reasoning_tokens'] > 0 and c['completion_tokens'] > c['reasoning_tokens']"
stop_sim

# Azure OpenAI: the deployment's URL with ?api-version=, the key in api-key
start_sim --dialect azure
AZ="$SIM_BASE/openai/deployments/my-gpt4o?api-version=2024-10-21"
check_exit "azure: a complete run with --auth api-key" 0 env AZURE_OPENAI_API_KEY=az-key-00000000 \
	OPENAI_API_KEY=az-key-00000000 "$X" run "${proto[@]}" --base-url "$AZ" --auth api-key \
	--model gpt-4o --out "$T/azure/run"
complete azure "$T/azure/run"
pyc "azure: run.json's base URLs have no query" "$T/azure/run" \
	"r['server']['base_url'].endswith('/openai/deployments/my-gpt4o') and r['config']['endpoint']['base_url'] == r['server']['base_url']"
check_exit "azure: without --auth api-key the key goes as Bearer and is refused (exit 3)" 3 \
	env OPENAI_API_KEY=az-key-00000000 "$X" run "${proto[@]}" --base-url "$AZ" --model gpt-4o --out "$T/azure/bad" --cache "$T/azure-bad.sqlite"
check "... saying the API refused the request" grep -q "refused the request (http 401" "$T/last.err"
check_exit "azure: without ?api-version= it is a wrong endpoint (exit 3)" 3 \
	env OPENAI_API_KEY=az-key-00000000 "$X" run "${proto[@]}" --base-url "$SIM_BASE/openai/deployments/my-gpt4o" \
	--auth api-key --model gpt-4o --out "$T/azure/bad2" --cache "$T/azure-bad2.sqlite"
check "... naming the 404 and --base-url" grep -q "http 404.*check --base-url" "$T/last.err"
stop_sim

# vLLM
start_sim --dialect vllm
check_exit "vllm: a complete run" 0 env -u OPENAI_API_KEY "$X" run "${proto[@]}" --base-url "$SIM_URL" \
	--model meta-llama/Llama-3.1-8B-Instruct --concurrency 32 --out "$T/vllm/run"
complete vllm "$T/vllm/run"
pyc "vllm: run.json records what GET /models answered" "$T/vllm/run" "r['server']['models'] == ['selfexp-sim']"
stop_sim

# llama.cpp's llama-server, 4 slots (-np 4): --concurrency 4
start_sim --dialect llamacpp --ctx-size 8192
check_exit "llamacpp: a complete run with --concurrency 4" 0 env -u OPENAI_API_KEY "$X" run "${proto[@]}" \
	--base-url "$SIM_URL" --model qwen2.5-0.5b-instruct --concurrency 4 --out "$T/llama/run"
complete llamacpp "$T/llama/run"
stop_sim

# Ollama
start_sim --dialect ollama
check_exit "ollama: a complete run" 0 env -u OPENAI_API_KEY "$X" run "${proto[@]}" --base-url "$SIM_URL" \
	--model llama3.2 --out "$T/ollama/run"
complete ollama "$T/ollama/run"
stop_sim

# an OpenAI-compatible gateway (OpenRouter): its attribution headers with --header
start_sim --dialect openai --require-header "HTTP-Referer=https://example.org/selfexp"
check_exit "gateway: a complete run with --header" 0 env OPENAI_API_KEY=sk-or-test-0000 "$X" run "${proto[@]}" \
	--base-url "$SIM_URL" --model openai/gpt-4o-mini --header 'HTTP-Referer: https://example.org/selfexp' \
	--header 'X-Title: selfexp' --out "$T/gw/run"
complete gateway "$T/gw/run"
pyc "gateway: run.json names the headers sent, not their values" "$T/gw/run" \
	"r['config']['endpoint']['headers'] == ['HTTP-Referer', 'X-Title']"
check_exit "gateway: without the header the gateway refuses (exit 3)" 3 env OPENAI_API_KEY=sk-or-test-0000 \
	"$X" run "${proto[@]}" --base-url "$SIM_URL" --model openai/gpt-4o-mini --out "$T/gw/bad" --cache "$T/gw-bad.sqlite"
stop_sim
done_testing
