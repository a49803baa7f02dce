#!/usr/bin/env bash
# A key refused (401) after answers that were paid for (tests/cli/cutoff.py):
# the run exits 3 and writes no results, but the run directory's ledger keeps
# what this process spent, so that the next process of the run counts it
# (run.json "totals", --max-cost). It used to remove the ledger with the rest,
# and the money spent was forgotten.
. "$(dirname "$0")/lib.sh"

start_sim
if ! start_pyserver cutoff "$SIM_URL" "$T/switch" 3; then
	fail "tests/cli/cutoff.py started and printed its URL"
	done_testing; exit 1
fi
C=$PYSERVER_URL
opts=(--data "$SELFEXP_HOME/data/demo.tsv" --limit 6 --conditions pe --explainers self --no-metrics
	--model sim --no-progress --concurrency 1 --price-in 1000 --price-out 1000
	--out "$T/run" --cache "$T/c.sqlite" --base-url "$C/revoked/v1")
touch "$T/switch"
check_exit "401 after 3 answers: exit 3" 3 "$X" run "${opts[@]}"
grep -q "refused the request (http 401: Incorrect API key provided" "$T/last.err" &&
	ok "... the message says the key was refused" || { fail "... the message"; sed 's/^/#   /' "$T/last.err"; }
check "... no results written" test ! -e "$T/run/run.json" -a ! -e "$T/run/records.jsonl"
check "... the ledger keeps what was spent (3 answers, cost > 0)" python3 -c '
import json, sys
l = [json.loads(x) for x in open(sys.argv[1]) if x.strip()]
sys.exit(not (len(l) == 1 and l[0]["sent"] >= 3 and l[0]["cost_usd"] > 0 and l[0]["prompt_tokens"] > 0))' "$T/run/ledger.jsonl"
first=$(python3 -c 'import json, sys; print(json.loads(open(sys.argv[1]).readline())["cost_usd"])' "$T/run/ledger.jsonl" 2> /dev/null)

rm -f "$T/switch"
check_exit "the key works again: the same command exits 0" 0 "$X" run "${opts[@]}"
check "... run.json totals count both processes and both spendings" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
t, c, first = r["totals"], r["counts"], float(sys.argv[2])
ok = t["processes"] == 2 and abs(t["cost_usd"] - (first + c["cost_usd"])) < 1e-9 and c["cache_hits"] == 3
print("#   first %s, totals %s, counts %s" % (first, t, c)) if not ok else None
sys.exit(not ok)' "$T/run/run.json" "${first:-0}"
done_testing
