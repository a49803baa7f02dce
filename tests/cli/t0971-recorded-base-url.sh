#!/usr/bin/env bash
# Azure's ?api-version= and a password in --base-url go out with the
# requests and are written nowhere: run.json recorded the command line as
# typed ("command", "argv"), so both were in it, though the endpoint it
# records (and the cache key) leaves them out.
. "$(dirname "$0")/lib.sh"

start_sim --dialect azure
hostport=${SIM_BASE#http://}
url="http://someone:pw-not-to-write-0000@$hostport/openai/deployments/dep?api-version=2024-10-21"
run=(run --data "$SELFEXP_HOME/data/demo.tsv" --limit 2 --explainers self --no-progress
	--model gpt-4o --auth api-key)
check_exit "azure: a complete run with a user and a query in --base-url" 0 \
	env OPENAI_API_KEY=az-key-00000000 "$X" "${run[@]}" --base-url "$url" --out "$T/a" \
	--cache "$T/a.sqlite"
check "... the query reached the server (without it the sim answers 404)" \
	grep -q '"complete":	true' "$T/a/run.json"
check_exit "the same with --base-url=URL" 0 env OPENAI_API_KEY=az-key-00000000 \
	"$X" "${run[@]}" "--base-url=$url" --out "$T/b" --cache "$T/b.sqlite"
stop_sim
for d in a b; do
	check "run $d: neither the query nor the password is in any file of the run directory" \
		test -z "$(grep -rl -e 'api-version' -e 'pw-not-to-write' "$T/$d")"
	check "run $d: the recorded command line names the endpoint without them" python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))
want = 'http://$hostport/openai/deployments/dep'
args = [a.split('=', 1)[-1] for a in r['argv']]
sys.exit(not (want in args and (' ' + want + ' ' in r['command'] or '=' + want + ' ' in r['command'])))" "$T/$d/run.json"
done
done_testing
