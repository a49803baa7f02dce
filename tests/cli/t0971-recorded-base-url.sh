#!/usr/bin/env bash
# Azure's ?api-version= and a password in --base-url go out with the
# requests and are written nowhere, and no message shows them: run.json recorded the command line as
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
# Messages (and the failures they become in run.json) show the URL without them too.
secret() { grep -l -e 'api-version' -e 'pw-not-to-write' "$@" 2> /dev/null; }
stop_sim
start_sim
check_exit "an OpenAI server that does not know Azure's path: exit 3" 3 \
	env OPENAI_API_KEY=az-key-00000000 "$X" "${run[@]}" --base-url "${url/$hostport/${SIM_BASE#http://}}" \
	--out "$T/c" --cache "$T/c.sqlite" --retries 0
check "... the message names the URL" grep -q "answered http 404 for 'http://${SIM_BASE#http://}/openai/deployments/dep/chat/completions'" "$T/last.err"
check "... without the password or the query, in the message or the run directory" \
	test -z "$(secret "$T/last.err"; grep -rl -e 'api-version' -e 'pw-not-to-write' "$T/c" 2> /dev/null)"
stop_sim
check_exit "nobody listening at the URL: exit 3" 3 env OPENAI_API_KEY=az-key-00000000 \
	"$X" "${run[@]}" --base-url "$url" --out "$T/d" --cache "$T/d.sqlite" --retries 0
check "... the message names the URL without the password or the query" \
	grep -q "cannot reach the API at 'http://$hostport/openai/deployments/dep'" "$T/last.err"
check "... nor is either in the run directory" \
	test -z "$(secret "$T/last.err"; grep -rl -e 'api-version' -e 'pw-not-to-write' "$T/d" 2> /dev/null)"
check_exit "the same with --batch" 3 env OPENAI_API_KEY=az-key-00000000 "$X" "${run[@]}" \
	--base-url "${url/\/openai\/deployments\/dep/\/v1}" --batch --out "$T/e" --cache "$T/e.sqlite" --retries 0
check "... its message names the files URL without them" \
	grep -q "cannot reach 'http://$hostport/v1/files'" "$T/last.err"
check "... and shows neither" test -z "$(secret "$T/last.err")"
check_exit "a URL that is not http(s): a usage error" 2 "$X" "${run[@]}" \
	--base-url "ftp://someone:pw-not-to-write-0000@$hostport/v1?api-version=1" --out "$T/f"
check "... whose message shows neither" test -z "$(secret "$T/last.err")"
check "... but the URL" grep -q "base URL 'ftp://$hostport/v1' is not" "$T/last.err"
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
