#!/usr/bin/env bash
# --prob sample:N on servers that do not give N choices per request:
# llama.cpp refuses n > 1 with a 500 (not retried), Ollama ignores n and
# returns one choice. Both are detected on the first request, and the run
# falls back to N separate requests per input, told apart by their seed (so
# the cache does not answer them all with one), counted in run.json; P(pos)
# is never made of one choice. vLLM honours n: no fallback. The probe that
# llama.cpp refuses is not a failure of the run, and an --offline replay of a
# run that fell back finds its separate samples in the cache.
. "$(dirname "$0")/lib.sh"

# reviews of weak sentiment, whose sampled labels differ (the demo's are all clear-cut)
printf 'sentence\tlabel\nthe movie is a movie .\t1\nit has actors and a plot .\t0\nan ordinary film with some moments .\t1\n' > "$T/weak.tsv"
opts=(--data "$T/weak.tsv" --conditions pred --explainers self,occlusion --no-progress --prob sample:5)
counts() { python3 -c "import json,sys; c = json.load(open(sys.argv[1]))['counts']; print(c.get('samples'), c.get('sample_requests'))" "$1/run.json"; }

for d in llamacpp ollama; do
	start_sim --dialect $d
	check_exit "$d: sample:5 runs to a complete run" 0 "$X" run "${opts[@]}" --base-url "$SIM_URL" \
		--model m --out "$T/$d/run"
	check "$d: stderr says it falls back to separate requests" grep -q "sends 5 separate requests" "$T/last.err"
	read -r mode nreq <<< "$(counts "$T/$d/run")"
	check_eq "$d: run.json counts the separate requests" "separate" "$mode"
	check "$d: ... 5 per input ($nreq)" test "$nreq" -gt 0 -a $((nreq % 5)) -eq 0
	check "$d: P(pos) takes values other than 0 and 1 (5 real samples)" python3 -c "
import json, sys
ps = [r['prediction']['p_pos'] for r in map(json.loads, open('$T/$d/run/records.jsonl')) if r['method'] == 'prediction']
sys.exit(not (ps and any(0 < p < 1 for p in ps) and all(abs(p * 5 - round(p * 5)) < 1e-9 for p in ps)))"
	fails=$(python3 -c "import json,sys; c = json.load(open(sys.argv[1]))['counts']; print(c['failed'], c['sample_probes_failed'])" "$T/$d/run/run.json")
	check_eq "$d: the probe is not a failure of the run: failed 0, sample_probes_failed" \
		"0 $([ $d = llamacpp ] && echo 1 || echo 0)" "$fails"
	check "$d: ... nor on the summary line" grep -q " 0 failed," "$T/last.err"
	stop_sim
	check_exit "$d: the run replayed --offline from its cache: complete" 0 "$X" run "${opts[@]}" \
		--base-url "$SIM_URL" --model m --out "$T/$d/replay" --offline --cache "$T/$d/.selfexp/cache.sqlite"
	check "$d: ... the cache says the run fell back" grep -q "the cache holds separate samples" "$T/last.err"
	check "$d: ... nothing sent, every answer from the cache, the same records" sh -c "
		grep -q ' 0 sent, ' '$T/last.err' && cmp -s '$T/$d/run/records.jsonl' '$T/$d/replay/records.jsonl'"
	check "$d: the cache holds distinct bodies per sample (seeds 0..4)" python3 -c "
import json, sys, subprocess
rows = [json.loads(l)['request'] for l in subprocess.run(['$X', 'cache', 'export', '--cache', '$T/$d/.selfexp/cache.sqlite'], capture_output=True, text=True).stdout.splitlines()]
seeds = {r.get('seed') for r in rows if r.get('n') is None}
sys.exit(not seeds >= {0, 1, 2, 3, 4})"
done

start_sim --dialect llamacpp
n0=$(sim_asked)
check_exit "llamacpp: sample:5 without the fallback possible (--unset seed) stops (exit 1)" 1 "$X" run "${opts[@]}" \
	--base-url "$SIM_URL" --model m --unset seed --out "$T/us" --cache "$T/us.sqlite"
check "... saying why" grep -q "told apart by their seed; drop --unset seed" "$T/last.err"
check_eq "... the 500 'Only one completion choice' was not retried (one request)" 1 $(( $(sim_asked) - n0 ))
stop_sim

start_sim --dialect vllm
check_exit "vllm: sample:5 with n, a complete run" 0 "$X" run "${opts[@]}" --base-url "$SIM_URL" --model m --out "$T/vllm/run"
read -r mode nreq <<< "$(counts "$T/vllm/run")"
check_eq "vllm: n is honoured, no separate requests" "n 0" "$mode $nreq"
check "vllm: no fallback message" sh -c "! grep -q 'separate requests' '$T/last.err'"
stop_sim
done_testing
