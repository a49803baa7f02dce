#!/usr/bin/env bash
# An outage: the sim is killed in the middle of a run and started again on the
# same port 3 s later, with --retries 2 (whose backoff, under 2 s, an outage of
# 3 s outlasts). The engine holds the whole queue and probes with one
# request until the server answers (within --max-wait), so no request fails:
# the run completes (exit 0) with the records and summary of a clean run.
# A server that stays down past --max-wait fails what is left (exit 5), after
# that long and not after every request's retries. Attempts that failed during
# the hold do not count against --retries: requests held during an outage and
# failing once more afterwards (tests/cli/waits.py's outage mode, at
# --concurrency 1) are retried, not failed. With --retries 0 there is no
# hold: every request is sent once.
. "$(dirname "$0")/lib.sh"
SECONDS=0
need_shared
dev=$SELFEXP_SHARED/data/sst2/dev.tsv
opts=(--data "$dev" --limit 8 --conditions pe --explainers self,occlusion --model sim --no-progress
	--concurrency 4 --bootstrap 50 --retries 2)

# the reference: a clean run
start_sim --latency-ms 20
check_exit "a clean run: exit 0" 0 "$X" run "${opts[@]}" --base-url "$SIM_URL" --out "$T/clean" \
	--cache "$T/clean.db"
stop_sim

start_sim --latency-ms 20
port=${SIM_BASE##*:}
url=$SIM_URL
"$X" run "${opts[@]}" --base-url "$url" --out "$T/out" --cache "$T/out.db" > /dev/null 2> "$T/out.err" &
rpid=$!
_stop_run() { kill -KILL "$rpid" 2> /dev/null; wait "$rpid" 2> /dev/null; }
_cleanup_fns+=(_stop_run)
wait_sending 40
kill9 "$SIM_PID"; wait "$SIM_PID" 2> /dev/null
sleep 3
kill -0 "$rpid" 2> /dev/null && ok "the run is still going while the server is down" ||
	fail "the run is still going while the server is down"
start_sim --latency-ms 20 --port "$port"
check_eq "the sim is back on the same port" "$url" "$SIM_URL"
wait "$rpid"
check_eq "the run completes: exit 0" 0 "$?"
grep -q "requests in a row failed .*holding every request and probing the server" "$T/out.err" &&
	ok "stderr says the queue is held" || { fail "stderr says the queue is held"; sed 's/^/#   /' "$T/out.err"; }
grep -q "the server answers again after .* of holding; going on" "$T/out.err" &&
	ok "stderr says when the server answers again" || fail "stderr says when the server answers again"
check "run.json: complete, no request failed" python3 -c '
import json,sys; r=json.load(open(sys.argv[1]))
print("# counts:", r["counts"])
sys.exit(0 if r["complete"] is True and r["counts"]["failed"] == 0 and r["counts"]["retries"] > 0 else 1)' "$T/out/run.json"
check "records.jsonl is that of the clean run" cmp "$T/clean/records.jsonl" "$T/out/records.jsonl"
check "summary.json is that of the clean run" cmp "$T/clean/summary.json" "$T/out/summary.json"

# down for good: the hold gives up after --max-wait, and what is left fails
"$X" run "${opts[@]}" --base-url "$url" --out "$T/down" --cache "$T/down.db" --max-wait 3 \
	> /dev/null 2> "$T/down.err" &
rpid=$!
# more than --concurrency (4) requests after the start: one answer at least came back, so
# the engine knows the server worked (else it is "cannot reach the API", exit 3)
wait_sending "$(($(sim_asked) + 5))"
kill9 "$SIM_PID"; wait "$SIM_PID" 2> /dev/null
wait "$rpid"
check_eq "a server down past --max-wait: exit 5" 5 "$?"
grep -q "did not answer for [0-9]* s (connection errors or 5xx; --max-wait 3 s)" "$T/down.err" &&
	ok "the message names --max-wait" || { fail "the message names --max-wait"; sed 's/^/#   /' "$T/down.err"; }
check "run.json: incomplete" python3 -c '
import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r["complete"] is False else 1)' "$T/down/run.json"

# held attempts are not retries: waits.py's outage mode in front of the sim
start_sim
if ! start_pyserver waits "$SIM_URL"; then
	fail "waits.py starts"
else
	W=$PYSERVER_URL
	timeout -k 5 200 "$X" run "${opts[@]}" --concurrency 1 --base-url "$W/outage/v1" --out "$T/held" \
		--cache "$T/held.db" > /dev/null 2> "$T/held.err"
	check_eq "held during an outage, failing once more after it: still complete (exit 0)" 0 "$?" ||
		sed 's/^/#   /' "$T/held.err"
	check "... the server did fail held requests after the outage (not vacuous)" python3 -c '
import json,sys
log=[json.loads(l) for l in open(sys.argv[1])]
st=[x["status"] for x in log]
n503, n500 = st.count(503), st.count(500)
print("# waits.py: %d answers, %d 503 (outage), %d 500 (after it)" % (len(st), n503, n500))
sys.exit(0 if n503 >= 6 and n500 >= 1 else 1)' "$T/waits.log"
	check "... run.json: complete, none failed" python3 -c '
import json,sys; r=json.load(open(sys.argv[1]))
sys.exit(0 if r["complete"] is True and r["counts"]["failed"] == 0 else 1)' "$T/held/run.json"
fi

# --retries 0: a request is sent once, also when failures in a row would start a hold. Half the
# answers fail (500), so at --concurrency 1 five in a row come soon; with --retries 1 they start
# a hold (not vacuous)
start_sim --fault-rate 0.5 --faults 500 --seed 3
r0=(--data "$dev" --limit 8 --conditions pe --explainers self --model sim --no-progress
	--concurrency 1 --bootstrap 20 --base-url "$SIM_URL")
check_exit "with --retries 1, failures in a row start a hold (exit 5: some fail twice)" 5 \
	"$X" run "${r0[@]}" --retries 1 --out "$T/r1" --cache "$T/r1.db"
check "... it says it holds" grep -q "holding every request" "$T/last.err"
n0=$(sim_asked)
check_exit "with --retries 0: a partial run (exit 5)" 5 "$X" run "${r0[@]}" --retries 0 \
	--out "$T/r0" --cache "$T/r0.db"
check "... no hold" sh -c "! grep -q 'holding every request' '$T/last.err'"
pyt - "$T/r0/run.json" "$(( $(sim_asked) - n0 ))" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["counts"]
asked = int(sys.argv[2])
print(("ok " if c["retries"] == 0 and c["attempts"] == c["sent"] else "not ok ") +
      "run.json: 0 retries, one attempt a request (%d attempts, %d sent)" % (c["attempts"], c["sent"]))
print(("ok " if asked == c["sent"] else "not ok ") +
      "the sim saw each request once (%d requests, %d sent)" % (asked, c["sent"]))
print(("ok " if c["failed"] > 10 else "not ok ") + "many failed (%d), each after one attempt" % c["failed"])
PY
stop_sim
echo "# took $SECONDS s"
done_testing
