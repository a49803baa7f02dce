#!/usr/bin/env bash
# An outage: the sim is killed in the middle of a run and started again on the
# same port 3 s later, with --retries 2 (whose backoff, under 2 s, an outage of
# 3 s outlasts). The engine holds the whole queue and probes with one
# request until the server answers (within --max-wait), so no request fails:
# the run completes (exit 0) with the records and summary of a clean run.
# A server that stays down past --max-wait fails what is left (exit 5), after
# that long and not after every request's retries.
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
wait_sending "$(sim_asked)"
kill9 "$SIM_PID"; wait "$SIM_PID" 2> /dev/null
wait "$rpid"
check_eq "a server down past --max-wait: exit 5" 5 "$?"
grep -q "did not answer for [0-9]* s (connection errors or 5xx; --max-wait 3 s)" "$T/down.err" &&
	ok "the message names --max-wait" || { fail "the message names --max-wait"; sed 's/^/#   /' "$T/down.err"; }
check "run.json: incomplete" python3 -c '
import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r["complete"] is False else 1)' "$T/down/run.json"
echo "# took $SECONDS s"
done_testing
