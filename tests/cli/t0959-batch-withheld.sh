#!/usr/bin/env bash
# --batch and a line with no answer of the model in it (a reasoning model
# whose --max-tokens its hidden tokens spent: content "", finish_reason
# "length"): the request fails with the reason at once and is not sent again
# in later rounds (--retries), which would get the same and bill it again;
# the run is partial (exit 5) and says why.
. "$(dirname "$0")/lib.sh"

start_sim --dialect openai-reasoning --batch-delay 50
check_exit "a batch run whose answers the cap empties: partial" 5 "$X" run \
	--data "$SELFEXP_HOME/data/demo.tsv" --limit 2 --model o3-mini --conditions ep \
	--explainers self --no-metrics --base-url "$SIM_URL" --out "$T/r" --cache "$T/r.sqlite" \
	--no-progress --batch --max-tokens 50 --retries 2
check_eq "... one batch, not one a round" 1 "$(sim_stats | python3 -c 'import json, sys
print(json.load(sys.stdin)["batches"]["batches_created"])')"
check_eq "... its reason, not an 'after 3 batch rounds' one" \
	'{"no answer: the completion cap was spent before any text (finish_reason \"length\", 50 reasoning tokens); pass a larger --max-tokens": 2}' \
	"$(python3 -c 'import json, sys
print(json.dumps(json.load(open(sys.argv[1]))["failures"]["elicit"]["reasons"]))' "$T/r/run.json")"
check_eq "... and nothing is cached" 0 "$("$X" cache stats --cache "$T/r.sqlite" --json | python3 -c 'import json, sys
print(json.load(sys.stdin)["rows"])')"
stop_sim
done_testing
