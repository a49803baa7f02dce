#!/usr/bin/env bash
# Waits the server asks for (tests/cli/waits.py in front of the sim): a wait
# over --max-wait fails the request at once, naming the header and the flag
# (Retry-After in seconds and as an HTTP date, x-ratelimit-reset-requests and
# -tokens); shorter waits are honoured, measured on the server's clock
# (Retry-After: 2 -> the retry comes >= 1.9 s later; retry-after-ms: 1500 ->
# >= 1.4 s and < 10 s, so neither ignoring it, nor reading it as seconds or
# ten times too long, passes), and a wait of 5 s or more is said once on
# stderr. An endpoint that is not the API (python3 -m http.server, which
# answers 501 to POST; a web page) is exit 3 at once, nothing retried.
. "$(dirname "$0")/lib.sh"

start_sim
start_pyserver waits "$SIM_URL" || { fail "waits.py starts"; done_testing; exit; }
W=$PYSERVER_URL

printf 'sentence\tlabel\ngood movie .\t1\nbad film !\t0\na dull , witty plot\t1\n' > "$T/d3.tsv"
base=(--data "$T/d3.tsv" --conditions pe --explainers self --no-metrics --model sim --no-progress
	--timeout 5 --retries 2 --cache "$T/cache.db")
# wrun MODE [args...]: run against MODE (bounded by timeout(1): a hang fails, never blocks);
# sets rc and secs; stderr in $T/MODE.err
wrun() {
	local m=$1 t0; shift
	t0=$(date +%s.%N)
	timeout -k 5 200 "$X" run "${base[@]}" --base-url "$W/$m/v1" --out "$T/$m/run" "$@" \
		> "$T/$m.out" 2> "$T/$m.err"
	rc=$?
	secs=$(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$(date +%s.%N)")
}
within() { python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)" "$1" "$2"; }

# a wait over --max-wait (default 120 s): the request fails at once, naming the header
for spec in "huge:Retry-After:999999 s" "date:Retry-After:" "reset:x-ratelimit-reset-requests:359996400 s" \
	"tokens:x-ratelimit-reset-tokens:360 s"; do
	m=${spec%%:*}; rest=${spec#*:}; hdr=${rest%%:*}; asked=${rest#*:}
	wrun "$m"
	check_eq "$m: exit 5 (those requests failed)" 5 "$rc"
	within "$secs" 60 && ok "$m: ends at once (${secs}s), not after the wait" ||
		fail "$m: took ${secs}s"
	if grep -q "asked to wait ${asked}.*($hdr), longer than --max-wait 120 s" "$T/$m.err"; then
		ok "$m: the message names $hdr and --max-wait"
	else
		fail "$m: the message names $hdr and --max-wait"; sed 's/^/#   /' "$T/$m.err"
	fi
	n=$(grep -c "\"mode\": \"$m\"" "$T/waits.log")
	check_eq "$m: each request sent once (no retry)" 3 "$n"
	check "$m: run.json says incomplete" python3 -c '
import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["complete"] is False else 1)' "$T/$m/run/run.json"
done
wrun ra2-short --max-wait 1
check_eq "--max-wait 1 against Retry-After: 2: exit 5" 5 "$rc"
grep -q "asked to wait 2 s (Retry-After), longer than --max-wait 1 s" "$T/ra2-short.err" &&
	ok "--max-wait 1: the message says so" || { fail "--max-wait 1: the message"; sed 's/^/#   /' "$T/ra2.err"; }

# waits within --max-wait are honoured: the gap between a body's 429 and its retry
: > "$T/waits.log"
gaps() {  # MODE: the seconds from each body's first arrival to its second, sorted
	python3 -c '
import collections, json, sys
t = collections.defaultdict(list)
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["mode"] == sys.argv[2]: t[r["body"]].append(r["t"])
print(" ".join("%.2f" % (sorted(v)[1] - sorted(v)[0]) if len(v) > 1 else "none" for v in t.values()))' "$T/waits.log" "$1"
}
gap_ok() {  # WHAT MIN MAX GAPS...
	local what=$1 lo=$2 hi=$3 g; shift 3
	[ $# -eq 3 ] || { fail "$what: 3 bodies retried (gaps: $*)"; return; }
	for g in "$@"; do
		if [ "$g" = none ] || ! python3 -c "import sys; sys.exit(0 if $lo <= float(sys.argv[1]) < $hi else 1)" "$g"; then
			fail "$what (gaps: $*)"; return
		fi
	done
	ok "$what (gaps: $*)"
}
wrun ra2
check_eq "Retry-After: 2: exit 0" 0 "$rc"
gap_ok "Retry-After: 2: each retry came >= 1.9 s after its 429" 1.9 60 $(gaps ra2)
wrun u503
check_eq "503 with Retry-After: 2: exit 0" 0 "$rc"
gap_ok "503 with Retry-After: 2 (no hold: that request alone waits): each retry came >= 1.9 s later" 1.9 60 $(gaps u503)
wrun ms1500
check_eq "retry-after-ms: 1500: exit 0" 0 "$rc"
gap_ok "retry-after-ms: 1500 (Retry-After: 30 beside it): each retry came 1.4 .. 10 s later" 1.4 10 $(gaps ms1500)
check "no notice for waits under 5 s" test "$(cat "$T/ra2.err" "$T/ms1500.err" | grep -c 'asked to wait')" -eq 0
wrun ra6
check_eq "Retry-After: 6: exit 0" 0 "$rc"
gap_ok "Retry-After: 6: each retry came >= 5.9 s later" 5.9 60 $(gaps ra6)
n=$(grep -c "the server asked to wait 6 s (Retry-After); holding every request until then (--max-wait 120 s)" "$T/ra6.err")
check_eq "a wait of 6 s is said on stderr, once for the 3 requests it held" 1 "$n"

# not the API: exit 3 at once, nothing retried, nothing written
wrun html
check_eq "a 200 text/html page: exit 3" 3 "$rc"
grep -q "'$W/html/v1' is not an OpenAI-compatible chat endpoint: .*Content-Type 'text/html.*check --base-url" "$T/html.err" &&
	ok "html: the message says it is not the API and names --base-url" ||
	{ fail "html: the message"; sed 's/^/#   /' "$T/html.err"; }
check "html: nothing written" test ! -e "$T/html/run"
n=$(grep -c '"mode": "html"' "$T/waits.log")
check "html: no request was retried ($n sent for 3 reviews)" test "$n" -le 3

mkdir "$T/www"
(cd "$T/www" && exec "$PY3" -u -m http.server 0 --bind 127.0.0.1 > "$T/www.out" 2> "$T/www.err") &
HPID=$!
_stop_www() { kill -TERM "$HPID" 2> /dev/null; wait "$HPID" 2> /dev/null; }
_cleanup_fns+=(_stop_www)
for i in $(seq 1 200); do grep -q 'port [0-9]' "$T/www.out" 2> /dev/null && break; sleep 0.05; done
hport=$(grep -o 'port [0-9]*' "$T/www.out" | head -n 1 | cut -d' ' -f2)
W0=$W; W=http://127.0.0.1:$hport
wrun v1x; W=$W0    # base URL http://127.0.0.1:PORT/v1x/v1
check_eq "python3 -m http.server (501 to POST): exit 3" 3 "$rc"
grep -q "is not an OpenAI-compatible chat endpoint: POST '.*/chat/completions' answered http 501.*check --base-url" "$T/v1x.err" &&
	ok "http.server: the message says it is not the API and names --base-url" ||
	{ fail "http.server: the message"; sed 's/^/#   /' "$T/v1x.err"; }
within "$secs" 30 && ok "http.server: at once (${secs}s)" || fail "http.server: took ${secs}s"
n=$(grep -c '"POST ' "$T/www.err")
check "http.server: no request was retried ($n POSTs for 3 reviews)" test "$n" -le 3
check "http.server: nothing written" test ! -e "$T/v1x/run"
done_testing
