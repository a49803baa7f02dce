#!/usr/bin/env bash
# Batch faults: lines failed (error file), a batch that fails, one that
# expires half done, downloads cut off: the failed lines go out again in new
# batches and the run ends complete with the live run's results. Lines that
# fail every time end the run partial (exit 5), each counted once. Ctrl-C
# while waiting leaves the batch pending; the same command collects it. An
# endpoint without a Batch API is exit 3.
. "$(dirname "$0")/lib.sh"
data=$SELFEXP_HOME/data/demo.tsv
opts=(--data "$data" --limit 12 --conditions ep,pe --model sim --no-progress)

start_sim --preset literature
check_exit "the live run exits 0" 0 "$X" run "${opts[@]}" --out "$T/live/run" --base-url "$SIM_URL"
stop_sim

# 1. every recoverable fault at once (--retries 15: with 10 % of lines failing in each
# round, no request can plausibly fail 16 rounds in a row)
start_sim --preset literature --batch-faults lines,fail,expire,cut --batch-fail-rate 0.1
check_exit "with lines failed, a failed and an expired batch, cut downloads: exit 0" 0 \
	"$X" run "${opts[@]}" --out "$T/f/run" --cache "$T/f.sqlite" --base-url "$SIM_URL" --batch \
	--batch-poll 0.02 --retries 15
check "records.jsonl equals the live run's" cmp "$T/live/run/records.jsonl" "$T/f/run/records.jsonl"
check "summary.json equals the live run's" cmp "$T/live/run/summary.json" "$T/f/run/summary.json"
pyt - "$(sim_stats)" "$T/f/run/batches.json" "$T/f/run/run.json" <<'EOF'
import json, sys
st = json.loads(sys.argv[1])["batches"]
rec = json.load(open(sys.argv[2]))["batches"]
run = json.load(open(sys.argv[3]))
def check(what, cond, extra=""):
    print(("ok " if cond else "not ok ") + what + ("" if cond else " # " + extra))
check("the first batch failed, the second expired", rec[0]["status"] == "failed" and rec[1]["status"] == "expired",
      str([b["status"] for b in rec[:2]]))
e = rec[1]
check("the expired batch's answers (%d of its first half of %d) were kept, the rest failed" % (e["answered"], e["requests"]),
      0 < e["answered"] <= e["requests"] // 2 and e["answered"] + e["failed"] == e["requests"])
check("lines failed (%d) and went out again in later rounds" % st["lines_failed"],
      st["lines_failed"] > 0 and max(b["round"] for b in rec) >= 3)
check("every cut download was tried again (%d cut of %d)" % (st["downloads_cut"], st["downloads"]),
      st["downloads_cut"] > 0 and st["downloads"] > st["downloads_cut"])
answered = sum(b["answered"] for b in rec)
check("each request answered once over all batches (%d)" % answered, answered == run["counts"]["sent"])
check("complete, nothing failed", run["complete"] is True and run["failures"]["requests"] == 0)
EOF
stop_sim

# 2. lines that always fail: partial, counted once each
start_sim --preset literature --batch-faults always --batch-fail-rate 0.05
check_exit "lines failing in every round: partial, exit 5" 5 \
	"$X" run "${opts[@]}" --out "$T/a/run" --cache "$T/a.sqlite" --base-url "$SIM_URL" --batch \
	--batch-poll 0.02 --retries 2
check "the reason names the rounds and the server's error" \
	grep -q "after 3 batch rounds: http 500: simulated fault: the line failed" "$T/last.err"
pyt - "$(sim_stats)" "$T/a/run/run.json" <<'EOF'
import json, sys
st = json.loads(sys.argv[1])["batches"]
run = json.load(open(sys.argv[2]))
f = run["failures"]["requests"]
print(("ok " if f > 0 and st["lines_failed"] == 3 * f else "not ok ") +
      "each failed request counted once (%d), though sent in 3 rounds (%d failed lines)" % (f, st["lines_failed"]))
print(("ok " if run["complete"] is False and run["counts"]["failed"] == f else "not ok ") + "run.json: complete false")
EOF
stop_sim

# 3. --no-wait over stages, with failed lines left in an earlier stage: a restart in that stage
# does not touch the later stage's batches (which would lose their answers and pay twice)
start_sim --preset literature --batch-faults always --batch-fail-rate 0.05 --batch-delay 100
rc=6 n=0
while [ $rc = 6 ] && [ $n -lt 100 ]; do
	"$X" run "${opts[@]}" --out "$T/w/run" --cache "$T/w.sqlite" --base-url "$SIM_URL" --batch \
		--no-wait --retries 0 > /dev/null 2> "$T/w.err"
	rc=$?
	n=$((n + 1))
	[ $rc = 6 ] && sleep 0.12
done
check_eq "--no-wait with lines failing in every stage: partial in the end" 5 "$rc"
pyt - "$(sim_stats)" "$T/w/run/batches.json" "$T/w/run/run.json" <<'EOF'
import json, sys
st = json.loads(sys.argv[1])["batches"]
rec = json.load(open(sys.argv[2]))["batches"]
f = json.load(open(sys.argv[3]))["failures"]["requests"]
print(("ok " if f == st["lines_failed"] and f > 0 else "not ok ") +
      "failed exactly the lines the sim failed (%d of %d), no answer lost" % (f, st["lines_failed"]))
ok = st["batches_created"] == 5 and len(rec) == 5 and all(b["round"] == 1 and b["collected"] for b in rec)
print(("ok " if ok else "not ok ") + "one batch per stage, each collected by its own stage (%s; %s)" %
      (st["batches_created"], [(b["stage"], b["round"]) for b in rec]))
EOF
stop_sim

# 4. Ctrl-C while waiting: exit 5, the batch stays recorded; the same command collects it
start_sim --preset literature --batch-delay 1500
"$X" run "${opts[@]}" --out "$T/c/run" --cache "$T/c.sqlite" --base-url "$SIM_URL" --batch \
	--batch-poll 0.05 > /dev/null 2> "$T/c.err" &
pid=$!
for i in $(seq 1 600); do
	[ "$(sim_stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["batches"]["batches_created"])')" -ge 1 ] && break
	sleep 0.02
done
kill -INT $pid
wait $pid
check_eq "Ctrl-C while waiting for a batch: exit 5" 5 "$?"
check "the batch is still recorded, not collected" python3 -c '
import json, sys
b = json.load(open(sys.argv[1]))["batches"]
sys.exit(0 if len(b) == 1 and b[0]["batch_id"] and not b[0]["collected"] else 1)' "$T/c/run/batches.json"
check_exit "the same command then exits 0" 0 "$X" run "${opts[@]}" --out "$T/c/run" --cache "$T/c.sqlite" \
	--base-url "$SIM_URL" --batch --batch-poll 0.05
check "records.jsonl equals the live run's" cmp "$T/live/run/records.jsonl" "$T/c/run/records.jsonl"
check_eq "five batches in all: the interrupted one was collected, not made again" 5 \
	"$(sim_stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["batches"]["batches_created"])')"

# 5. no Batch API at the base URL
check_exit "an endpoint without /files and /batches: exit 3" 3 \
	"$X" run "${opts[@]}" --out "$T/n/run" --cache "$T/n.sqlite" --base-url "$SIM_BASE/nope/v1" --batch
check "it says so and what to do" grep -q "^selfexp: uploading a batch file: '$SIM_BASE/nope/v1/files' answered http 404.*; the endpoint has no Batch API (try without --batch, or --batch-dir DIR for files to run elsewhere)$" "$T/last.err"
stop_sim
done_testing
