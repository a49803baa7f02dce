#!/usr/bin/env bash
# selfexp run, first stage, against the simulated model over loopback HTTP:
# every answer parsed, a re-run sends nothing and writes the same records,
# kill -9 then re-run gives the uninterrupted run's records, faults change
# nothing, pacing avoids 429s, an unreachable endpoint writes nothing.
. "$(dirname "$0")/lib.sh"
need_shared

dev=$SELFEXP_SHARED/data/sst2/dev.tsv
stage1=(--conditions ep,pe,pred --explainers self --no-metrics --model sim --no-progress)
unique_bodies() { sim_stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["unique_bodies"])'; }

# 1. 872 dev reviews x {ep, pe, pred} at --concurrency 64 against --latency-ms 50
start_sim --latency-ms 50
check_exit "run on SST-2 dev (872 x 3) exits 0" 0 "$X" run --data "$dev" --out "$T/a/run" \
	--base-url "$SIM_URL" --concurrency 64 "${stage1[@]}"
python3 - "$T/a/run/records.jsonl" > "$T/check1" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
bad = [r for r in recs if r["status"] not in ("ok", "ok_with_repairs") or r["prediction"] is None]
print(len(recs), len(bad))
PY
check_eq "2616 records, every answer parsed" "2616 0" "$(cat "$T/check1")"
sent1=$(sim_asked)
check_eq "the sim answered each distinct request once" "2616" "$sent1"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); r=json.load(open(sys.argv[2])); print(s["conditions"]["pe"]["reviews"], r["counts"]["sent"])' \
	"$T/a/run/summary.json" "$T/a/run/run.json" > "$T/sum1"
check_eq "summary.json counts reviews, run.json requests sent" "872 2616" "$(cat "$T/sum1")"

# 2. the same run again on the same cache: nothing sent, identical records
check_exit "second run exits 0" 0 "$X" run --data "$dev" --out "$T/a/run2" --cache "$T/a/.selfexp/cache.sqlite" \
	--base-url "$SIM_URL" --concurrency 64 "${stage1[@]}"
check_eq "second run sends zero requests (sim /stats)" "$sent1" "$(sim_asked)"
check "second run writes a byte-identical records.jsonl" cmp -s "$T/a/run/records.jsonl" "$T/a/run2/records.jsonl"
stop_sim

# 3. kill -9 in the middle, then a re-run
start_sim --latency-ms 50
"$X" run --data "$dev" --out "$T/k/run" --base-url "$SIM_URL" --concurrency 64 "${stage1[@]}" \
	> /dev/null 2>&1 &
pid=$!
wait_sending 0  # then half a second into the sending (2,616 requests take 2 s or more)
sleep 0.5
kill9 $pid 2>/dev/null
wait $pid 2>/dev/null
before=$(sim_asked)
check "the run was killed part-way ($before of 2616 requests sent)" test "$before" -gt 0 -a "$before" -lt 2616
check "a killed run leaves no run.json" test ! -e "$T/k/run/run.json"
check_exit "re-run after kill -9 exits 0" 0 "$X" run --data "$dev" --out "$T/k/run" \
	--base-url "$SIM_URL" --concurrency 64 "${stage1[@]}"
check "re-run after kill -9 gives the uninterrupted run's records" cmp -s "$T/a/run/records.jsonl" "$T/k/run/records.jsonl"
total=$(sim_asked); uniq=$(unique_bodies)
check "no request sent twice beyond those in flight at the kill ($((total - uniq)) <= 64)" test $((total - uniq)) -le 64
check_eq "every request was answered once in all" "2616" "$uniq"
stop_sim

# 4. faults of every kind at rate 0.2: the same records as a fault-free run
start_sim --latency-ms 5 --fault-rate 0.2 --faults 429,500,503,reset,stall,truncate,garbage --stall-ms 3000
check_exit "run against a faulty sim exits 0" 0 "$X" run --data "$dev" --limit 200 --out "$T/f/run" \
	--base-url "$SIM_URL" --concurrency 64 --timeout 1 --retries 12 "${stage1[@]}"
head -n 600 "$T/a/run/records.jsonl" > "$T/f/want.jsonl"
check "faults change nothing in the records" cmp -s "$T/f/want.jsonl" "$T/f/run/records.jsonl"
sim_stats > "$T/f/stats.json"
python3 - "$T/f/stats.json" > "$T/f/faults" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
f = s.get("by_fault", {})
print(" ".join(k for k in ("429", "500", "503", "reset", "stall", "truncate", "garbage") if f.get(k, 0) > 0))
PY
check_eq "every fault type happened" "429 500 503 reset stall truncate garbage" "$(cat "$T/f/faults")"
stop_sim

# 5. pacing: the client's --rpm keeps a rate-limited sim from refusing anything
start_sim --rpm 1200
check_exit "paced run exits 0" 0 "$X" run --data "$dev" --limit 100 --conditions pred --explainers self \
	--no-metrics --model sim --no-progress --out "$T/p/run" --base-url "$SIM_URL" --concurrency 32 --rpm 1200
n429=$(sim_stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["by_status"].get("429", 0))')
if under_valgrind; then
	ok "# SKIP timing under valgrind: no 429 with --rpm matching the sim's limit"
else
	check_eq "no 429 answered with --rpm matching the sim's limit" "0" "$n429"
fi
check_exit "unpaced run exits 0 (429s retried)" 0 "$X" run --data "$dev" --limit 100 --conditions pred --explainers self \
	--no-metrics --model sim --no-progress --out "$T/p/run2" --cache "$T/p/other.sqlite" \
	--base-url "$SIM_URL" --concurrency 32 --retries 40 --model sim-other
n429=$(sim_stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["by_status"].get("429", 0))')
check "without --rpm the same sim does refuse (so the check above means something)" test "$n429" -gt 0
stop_sim

# 6. the endpoint down: exit 3, a clear message, nothing written
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
check_exit "unreachable endpoint exits 3" 3 "$X" run --data "$dev" --limit 5 --out "$T/d/run" \
	--base-url "http://127.0.0.1:$port/v1" "${stage1[@]}"
grep -q "127.0.0.1" "$T/last.err" && ok "the message names the endpoint" || fail "the message names the endpoint"
check "no run directory is left behind" test ! -e "$T/d/run"

# 7. the key is never written anywhere
start_sim
mkdir -p "$T/s"
key="sk-test-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
OPENAI_API_KEY=$key "$X" run --data "$dev" --limit 20 --out "$T/s/run" --base-url "$SIM_URL" \
	--progress "${stage1[@]}" > "$T/s/out" 2> "$T/s/err"
check_eq "run with a key exits 0" "0" "$?"
if grep -rqa -- "$key" "$T/s" ; then fail "the key appears in the cache, run directory or output"; else ok "the key appears nowhere in the cache, run directory, stdout or stderr"; fi
printf '%s\n' "$key" > "$T/s/keyfile"; chmod 644 "$T/s/keyfile"
check_exit "a key file readable by others is refused" 1 "$X" run --data "$dev" --limit 2 --out "$T/s/run2" \
	--base-url "$SIM_URL" --api-key-file "$T/s/keyfile" "${stage1[@]}"
grep -q "chmod 600" "$T/last.err" && ok "the refusal says how to fix it" || fail "the refusal says how to fix it"
stop_sim

done_testing
