#!/usr/bin/env bash
# sim --require-header NAME[=VALUE] refuses a NAME no request can carry (empty,
# not an HTTP header name, longer than the 127 bytes the server compares):
# `--require-header =x` started a sim that answered 401 "missing or wrong
# header ''" to every chat request. A good NAME works as before.
. "$(dirname "$0")/lib.sh"

long=$(printf 'a%.0s' $(seq 1 128))
for v in "=x" "" "a b" "x:y=1" "$long"; do
	# timeout: a sim that starts after all is stopped (exit 124, not 2)
	check_exit "sim --require-header '${v:0:12}' is a usage error" 2 \
		timeout 10 "$X" sim --port 0 --quiet --require-header "$v"
	check "... naming the value and what is expected" grep -qF \
		"invalid value '$v' for --require-header (expected NAME[=VALUE], NAME a header name of 1..127" \
		"$T/last.err"
	check_eq "... and it serves nothing" "" "$(cat "$T/last.out")"
done

start_sim --require-header X-Sim-Key=s3
body='{"model":"sim","messages":[{"role":"user","content":"<review>good</review>"}]}'
post() { curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/json' "$@" \
	-d "$body" "$SIM_URL/chat/completions"; }
check_eq "a chat request without the header gets 401" 401 "$(post)"
check_eq "... with a wrong value 401" 401 "$(post -H 'X-Sim-Key: no')"
check_eq "... with the header and value 200" 200 "$(post -H 'X-Sim-Key: s3')"
stop_sim
check_eq "the sim stops with exit 0" 0 $?
done_testing
