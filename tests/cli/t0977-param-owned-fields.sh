#!/usr/bin/env bash
# --param of a request field an option of selfexp sets (temperature,
# max_tokens, max_completion_tokens, n, logprobs) or of stream is a usage
# error naming the option, its value and the option to use (exit 2, nothing
# sent or written). It used to replace the field in every request while
# run.json recorded the option's value (a run sampled at --param
# temperature=0.7 said "temperature": 0), n > 1 billed choices nobody read,
# and stream=true made the server's event stream look like a web page (exit 3).
. "$(dirname "$0")/lib.sh"

start_sim
opts=(--data "$SELFEXP_HOME/data/demo.tsv" --limit 2 --conditions pe --explainers self --no-metrics
	--model sim --no-progress --base-url "$SIM_URL" --cache "$T/c.sqlite")
while IFS='|' read -r param why; do
	check_exit "--param $param: exit 2" 2 "$X" run "${opts[@]}" --out "$T/x" --param "$param"
	check_eq "... one message, naming it and the way out" "selfexp: --param '$param': $why" "$(cat "$T/last.err")"
done <<'EOF_CASES'
temperature=0.7|selfexp sets it itself: pass --temperature instead
max_tokens=5|selfexp sets it itself: pass --max-tokens instead (--max-tokens-field names the field)
max_completion_tokens=5|selfexp sets it itself: pass --max-tokens --max-tokens-field max_completion_tokens instead
n=3|selfexp sets it itself: every choice is billed and only --prob sample:N reads them; pass that instead
logprobs=true|selfexp sets it itself: pass --prob logprob instead
stream=true|selfexp reads whole answers, not event streams: leave it out
EOF_CASES
check "nothing written" test ! -e "$T/x"
check_eq "nothing sent" 0 "$(sim_asked)"

check_exit "fields no option sets still go through --param (top_p, seed, top_logprobs, stop): exit 0" 0 \
	"$X" run "${opts[@]}" --out "$T/ok" --param top_p=0.9 --param seed=7 --param top_logprobs=10 \
	--param 'stop=["\n\n\n"]'
check "... and run.json records them" python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))["config"]["generation"]["params"]
sys.exit(not (p["top_p"] == 0.9 and p["seed"] == 7 and p["top_logprobs"] == 10))' "$T/ok/run.json"
done_testing
