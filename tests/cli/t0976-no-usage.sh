#!/usr/bin/env bash
# A gateway that strips "usage" from the answers (tests/cli/nousage.py): the
# provider behind it bills all the same, so the tokens of such answers are
# estimated (a token per 4 bytes of the request and of the answer) and
# counted with their cost: the spend reported is not $0, run.json says how
# many were estimated, and --max-cost stops the run. It used to count them
# as 0 tokens and $0, and a paid run went past --max-cost.
. "$(dirname "$0")/lib.sh"

start_sim
if ! start_pyserver nousage "$SIM_URL"; then
	fail "tests/cli/nousage.py started and printed its URL"
	done_testing; exit 1
fi
G=$PYSERVER_URL/v1
opts=(--data "$SELFEXP_HOME/data/demo.tsv" --limit 10 --conditions pe --explainers self --no-metrics
	--model sim --no-progress --price-in 1000 --price-out 1000 --base-url "$G")
counts() { python3 -c 'import json, sys; c = json.load(open(sys.argv[1]))["counts"]; print(c[sys.argv[2]])' "$1/run.json" "$2"; }

check_exit "no usage, no cap: exit 0" 0 "$X" run "${opts[@]}" --out "$T/a" --cache "$T/a.sqlite"
check_eq "... run.json counts the 10 answers without usage" 10 "$(counts "$T/a" usage_estimated)"
check "... their tokens are estimated (prompt > 3000, completion > 0)" python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))["counts"]
sys.exit(not (c["prompt_tokens"] > 3000 and c["completion_tokens"] > 0))' "$T/a/run.json"
check "... and cost more than \$3 at \$1000 per 1M tokens" python3 -c '
import json, sys
sys.exit(not (json.load(open(sys.argv[1]))["counts"]["cost_usd"] > 3))' "$T/a/run.json"
grep -q "selfexp: 10 answers came without usage: their tokens and cost are estimated at a token per 4 bytes (run.json counts.usage_estimated)" "$T/last.err" &&
	ok "... stderr says so" || { fail "... stderr says so"; sed 's/^/#   /' "$T/last.err"; }

sent0=$(wc -l < "$T/nousage.log")
check_exit "no usage, --max-cost 2: stopped early (exit 5)" 5 "$X" run "${opts[@]}" --out "$T/b" --cache "$T/b.sqlite" --max-cost 2
check "... it sent 2 requests only (got $(($(wc -l < "$T/nousage.log") - sent0)))" test $(($(wc -l < "$T/nousage.log") - sent0)) -le 2
check "... the spend it reports is within the cap and not 0" python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))["counts"]["cost_usd"]
sys.exit(not (0 < c <= 2))' "$T/b/run.json"

stop_sim
start_sim
check_exit "the sim itself (usage given): exit 0" 0 "$X" run "${opts[@]}" --base-url "$SIM_URL" --out "$T/c" --cache "$T/c.sqlite"
check "... run.json has no usage_estimated" python3 -c '
import json, sys
sys.exit("usage_estimated" in json.load(open(sys.argv[1]))["counts"])' "$T/c/run.json"
done_testing
