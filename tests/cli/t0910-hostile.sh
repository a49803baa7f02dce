#!/usr/bin/env bash
# A hostile or broken server (tests/cli/hostile.py): every mode gets a bounded,
# clear outcome in bounded time and bounded memory, and the key is sent as the
# Authorization header but never copied into a message, record or cache, even
# when the server echoes it back.
. "$(dirname "$0")/lib.sh"

if ! start_pyserver hostile; then # the server is ours: its failing to start is a failure, not a skip
	fail "tests/cli/hostile.py started and printed its URL"
	done_testing; exit 1
fi
H=$PYSERVER_URL

key="sk-hostile-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export OPENAI_API_KEY=$key
printf 'sentence\tlabel\ngood movie .\t1\nbad film !\t0\n' > "$T/d2.tsv"
python3 -c "
print('sentence\tlabel')
for i in range(16): print('review number %d is fine .\t1' % i)" > "$T/d16.tsv"
# under AddressSanitizer, freed memory sits in a quarantine (256 MB) that max RSS would count
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0:thread_local_quarantine_size_kb=0
base=(--conditions pe --explainers self --no-metrics --model sim --no-progress --timeout 2 --retries 2)

# check_rss WHAT MB: bounded memory; under valgrind its shadow memory counts too
check_rss() {
	if under_valgrind; then ok "# SKIP max RSS under valgrind (its own memory counts): $1"
	else check "$1: max RSS $2 MB < 100 MB" test "$2" -lt 100; fi
}
# hrun MODE DATA [args...]: run against MODE; sets rc, secs (wall time), rss (max RSS in MB)
# (GNU time when installed, else a python3 wrapper: both read the child's rusage)
if [ -x /usr/bin/time ] && /usr/bin/time -f %M true 2> /dev/null; then
	timed() { /usr/bin/time -o "$1" -f "%x %e %M" "${@:2}"; }
else
	timed() { python3 -c '
import resource, subprocess, sys, time
t = time.monotonic(); rc = subprocess.call(sys.argv[2:])
open(sys.argv[1], "w").write("%d %.1f %d\n" % (rc, time.monotonic() - t,
    resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))' "$@"; }
fi
hrun() {
	local mode=$1 data=$2; shift 2
	timed "$T/$mode.stats" "$X" run --data "$data" --out "$T/$mode/run" --cache "$T/$mode/cache.sqlite" \
		--base-url "$H/$mode/v1" "${base[@]}" "$@" > "$T/$mode.out" 2> "$T/$mode.err"
	read -r rc secs rss < <(tail -n 1 "$T/$mode.stats")
	rss=$((rss / 1024))
}
# reasons MODE: the distinct "error" values of the run's records
reasons() { grep -Eho '"error":"([^"\\]|\\.)*"' "$T/$1/run/records.jsonl" 2> /dev/null | sort -u | tr '\n' '|'; }
within() { awk -v s="$1" -v m="$2" 'BEGIN { exit !(s < m) }'; }

# partial MODE DATA EXPECTED-REASON MAX-SECONDS [args]: exit 5, every record failed with the reason
partial() {
	local mode=$1 data=$2 want=$3 max=$4; shift 4
	hrun "$mode" "$data" "$@"
	check_eq "$mode: exit 5 (partial run)" 5 "$rc"
	r=$(reasons "$mode")
	case "$r" in *"$want"*) ok "$mode: records.jsonl gives the reason ($want)";;
	*) fail "$mode: records.jsonl gives the reason ($want)"; echo "#   got: $r";; esac
	if within "$secs" "$max"; then ok "$mode: done in ${secs}s (< ${max}s)"; else fail "$mode: took ${secs}s (>= ${max}s)"; fi
}

partial huge "$T/d16.tsv" "response body over the 8388608 byte cap" 20 --concurrency 16
check_rss "huge" "$rss"
partial hugestream "$T/d16.tsv" "byte cap" 30 --concurrency 16
check_rss "hugestream (no Content-Length)" "$rss"
partial gzipbomb "$T/d16.tsv" "byte cap" 40 --concurrency 16
check_rss "gzipbomb (inflates past the cap)" "$rss"
partial slow "$T/d2.tsv" "after 3 attempts: Operation timed out" 20
check_rss "slow (endless trickle)" "$rss"
partial badjson "$T/d2.tsv" "after 3 attempts: malformed answer: response: invalid json" 20
partial shape "$T/d2.tsv" 'malformed answer: response has no \"choices\" array' 20
partial error200 "$T/d2.tsv" "malformed answer: response is an error: overloaded" 20
partial nochoices "$T/d2.tsv" 'response has an empty \"choices\" array' 20
partial close "$T/d2.tsv" "after 3 attempts: Empty reply from server" 20
check "each bad 200 and each dropped connection was retried (2 requests x 3 attempts)" \
	test "$(grep -c '"mode": "close"' "$T/hostile.log")" -eq 6

for m in redirect301 redirect307; do
	hrun $m "$T/d2.tsv"
	check_eq "$m: exit 3 (not the API)" 3 "$rc"
	grep -q "redirect to 'http://.*/trap/v1/chat/completions', which is not followed" "$T/$m.err" &&
		ok "$m: the message names the redirect and the way out" ||
		{ fail "$m: the message names the redirect"; sed 's/^/#   /' "$T/$m.err"; }
	check "$m: nothing written" test ! -e "$T/$m/run"
done
check "a redirect is never followed (the other host got no request, so never the key)" \
	test "$(grep -c '"mode": "trap"' "$T/hostile.log")" -eq 0

hrun 401 "$T/d2.tsv"
check_eq "401: exit 3" 3 "$rc"
grep -q "refused the request (http 401: Incorrect API key provided" "$T/401.err" && ok "401: a clear message" || fail "401: a clear message"
check "401: nothing written" test ! -e "$T/401/run"
hrun 404 "$T/d2.tsv"
check_eq "404 before any answer: exit 3 (wrong base URL or model)" 3 "$rc"
grep -q "answered http 404 for '.*/404/v1/chat/completions'.*check --base-url" "$T/404.err" &&
	ok "404: the message names the URL and the way out" || { fail "404: the message"; sed 's/^/#   /' "$T/404.err"; }

# the endpoint down: exit 3 in bounded time
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
H0=$H; H=http://127.0.0.1:$port
hrun down "$T/d2.tsv"
H=$H0
check_eq "unreachable endpoint: exit 3" 3 "$rc"
within "$secs" 15 && ok "unreachable endpoint: done in ${secs}s" || fail "unreachable: took ${secs}s"

# the key: sent as the Authorization header, never copied anywhere
hrun ok "$T/d2.tsv"
check_eq "ok: exit 0" 0 "$rc"
check_eq "the key arrives as 'Authorization: Bearer KEY'" "Bearer $key" \
	"$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["mode"] == "ok": print(r["authorization"]); break' "$T/hostile.log")"
check "the servers echoed the key back (so the next check means something)" \
	grep -q "you sent: Bearer $key" <(curl -s -H "Authorization: Bearer $key" -d '{}' "$H/error200/v1/chat/completions")
mv "$T/hostile.log" "$T/../hostile.log.$$"
if grep -rqa -- "$key" "$T"; then
	fail "the key appears in no message, record, cache or run file"
	grep -rla -- "$key" "$T" | sed 's/^/#   /'
else ok "the key appears in no message, record, cache or run file (all modes, echoed back in error bodies)"; fi
mv "$T/../hostile.log.$$" "$T/hostile.log"
grep -q '\*\*\*\*\*\*\*\*' "$T/401.err" && ok "an echoed key is shown as stars" || fail "an echoed key is shown as stars"
done_testing
