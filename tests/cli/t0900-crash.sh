#!/usr/bin/env bash
# Crash safety. The full protocol (ep,pe; self, occlusion, lime; metrics) on 20
# dev reviews is killed with SIGKILL at ten random moments spread over the
# elicit, explain and evaluate stages, restarted each time on the same cache
# and run directory; the run that finally completes writes the same
# records.jsonl and summary.json as an uninterrupted run, and the sim answered
# no request twice except those in flight at a kill. A second Ctrl-C exits at
# once (130) and leaves no half-written file.
# CRASH_SEED=N reproduces a given choice of moments.
. "$(dirname "$0")/lib.sh"
need_shared
dev=$SELFEXP_SHARED/data/sst2/dev.tsv
conc=4
opts=(--data "$dev" --limit 20 --conditions ep,pe --explainers self,occlusion,lime --model sim
	--concurrency $conc)
stat() { sim_stats | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["chat_requests"], s["unique_bodies"])'; }

# 1. the uninterrupted run, fresh cache
start_sim --latency-ms 6
check_exit "uninterrupted run exits 0" 0 "$X" run "${opts[@]}" --out "$T/ref/run" --no-progress --base-url "$SIM_URL"
read -r ref_total ref_unique < <(stat)
stop_sim

# 2. ten kills, then a run left to finish
seed=${CRASH_SEED:-$RANDOM}
echo "# CRASH_SEED=$seed"
kinds=elicit,elicit,explain,explain,explain,evaluate,evaluate,explain,evaluate,evaluate
start_sim --latency-ms 6
python3 "$TESTS_DIR/cli/crash.py" "$seed" "$kinds" -- "$X" run "${opts[@]}" --out "$T/k/run" \
	--base-url "$SIM_URL" > "$T/kills" 2> "$T/kills.err"
sed 's/^/# /' "$T/kills"
nkill=$(grep -c '^kill ' "$T/kills")
check_eq "ten runs were killed with SIGKILL (exit -9)" "10 10" "$nkill $(grep -c 'exit -9$' "$T/kills")"
check_eq "the kills fell in every stage" "elicit evaluate explain" \
	"$(sed -n 's/^kill [0-9]* stage \([a-z]*\)_.*/\1/p' "$T/kills" | sort -u | tr '\n' ' ' | sed 's/ $//')"
# A kill can land after the last rename (the run had finished writing): then
# run.json is there and complete. Anything else must not be there at all.
check "a killed run leaves no run.json, or only a finished run's" python3 -c '
import json, os, sys
p = sys.argv[1]
sys.exit(0 if not os.path.exists(p) or json.load(open(p))["complete"] is True else 1)' "$T/k/run/run.json"
check "a killed run leaves no temporary file" test -z "$(ls "$T/k/run" 2>/dev/null | grep '\.tmp\.')"
check_exit "the run after the kills exits 0" 0 "$X" run "${opts[@]}" --out "$T/k/run" --no-progress --base-url "$SIM_URL"
check "records.jsonl equals the uninterrupted run's" cmp "$T/ref/run/records.jsonl" "$T/k/run/records.jsonl"
check "summary.json equals the uninterrupted run's" cmp "$T/ref/run/summary.json" "$T/k/run/summary.json"
check "run.json says complete" python3 -c '
import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["complete"] is True else 1)' "$T/k/run/run.json"
read -r total unique < <(stat)
echo "# uninterrupted: $ref_total requests ($ref_unique distinct); with kills: $total ($unique distinct)"
check_eq "every distinct request of the uninterrupted run was answered" "$ref_unique" "$unique"
check "answered twice only what was in flight at a kill: $((total - unique)) <= $((nkill * conc))" \
	test $((total - unique)) -le $((nkill * conc))
check "no temporary file is left anywhere" test -z "$(find "$T/k" -name '*.tmp.*')"
check_eq "the cache passes sqlite3 integrity_check" ok "$(sqlite3 "$T/k/.selfexp/cache.sqlite" 'PRAGMA integrity_check')"
stop_sim

# 3. Ctrl-C twice: exit 130 at once, nothing half-written (tried at several moments)
start_sim --latency-ms 20
for gap in 0 0.01 0.05 0.2; do
	before=$(sim_asked)
	"$X" run "${opts[@]}" --out "$T/c$gap/run" --no-progress --base-url "$SIM_URL" > /dev/null 2>&1 &
	pid=$!
	wait_sending "$before"
	kill -INT $pid; sleep "$gap"; kill -INT $pid 2> /dev/null
	t0=$(date +%s%N)
	wait $pid; rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	if [ $rc = 130 ] || [ $rc = 5 ]; then ok "Ctrl-C twice ${gap}s apart: exit $rc (130, or 5 when the first finished first) in ${ms} ms"
	else fail "Ctrl-C twice ${gap}s apart: exit $rc"; fi
	check "Ctrl-C twice ${gap}s apart: no temporary file left" test -z "$(find "$T/c$gap" -name '*.tmp.*')"
	check "Ctrl-C twice ${gap}s apart: whatever file exists is whole" python3 -c '
import json, os, sys
d = sys.argv[1]
for n in ("run.json", "summary.json"):
    if os.path.exists(os.path.join(d, n)): json.load(open(os.path.join(d, n)))
if os.path.exists(os.path.join(d, "records.jsonl")):
    for l in open(os.path.join(d, "records.jsonl")): json.loads(l)' "$T/c$gap/run"
done
stop_sim
# The second Ctrl-C (a second after the first) does not wait: the first one waits for the answers in
# flight (3 s away here), the second exits 130 at once. (Two signals sent at
# once can arrive as one, so the gaps above accept 5 too.)
start_sim --latency-ms 3000
before=$(sim_asked)
"$X" run "${opts[@]}" --out "$T/slow/run" --no-progress --base-url "$SIM_URL" > /dev/null 2> "$T/slow.err" &
pid=$!
wait_sending "$before"
kill -INT $pid; sleep 1.2; t0=$(date +%s%N); kill -INT $pid
wait $pid; rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
check_eq "a second Ctrl-C while the first waits for answers in flight: exit 130" 130 "$rc"
check "... at once (${ms} ms, the answers were 3 s away)" test "$ms" -lt 2500
check "... and no temporary file left" test -z "$(find "$T/slow" -name '*.tmp.*')"
check "... and it says what it left: the run directory not written, the answers in the cache" \
	grep -q "aborted: '$T/slow/run' was not written .*answers received so far are in the cache" "$T/slow.err"
stop_sim
done_testing
