#!/usr/bin/env bash
# A batch run killed with SIGKILL and started again polls the batches it made
# instead of making them again: first at the two moments where the server has
# a file or a batch whose id the run has not recorded yet (the sim holds its
# answers to uploads and creations back, --batch-api-ms), then at five random
# moments; the sim's counters show every file uploaded and every batch
# created once, and the run that finishes writes what a live run writes.
# KILL_SEED=N reproduces a choice of random moments.
. "$(dirname "$0")/lib.sh"
data=$SELFEXP_HOME/data/demo.tsv
opts=(--data "$data" --limit 12 --conditions ep,pe --model sim --no-progress)
bstat() { sim_stats | python3 -c "import json,sys; print(json.load(sys.stdin)['batches']['$1'])"; }
# wait_stat KEY N: until the sim's batches counter KEY reaches N (at most 30 s)
wait_stat() {
	local i
	for i in $(seq 1 1500); do [ "$(bstat "$1")" -ge "$2" ] && return 0; sleep 0.02; done
	return 1
}

start_sim --preset literature
check_exit "the live run exits 0" 0 "$X" run "${opts[@]}" --out "$T/live/run" --base-url "$SIM_URL"
stop_sim

start_sim --preset literature --batch-delay 150 --batch-api-ms 2000
bopts=("${opts[@]}" --out "$T/k/run" --cache "$T/k.sqlite" --base-url "$SIM_URL" --batch --batch-poll 0.02)
# 1. killed while the upload's answer is on its way: the file exists, its id is not recorded
"$X" run "${bopts[@]}" > /dev/null 2>&1 &
pid=$!
wait_stat files_uploaded 1
kill9 $pid
wait $pid 2> /dev/null
check_eq "killed after the first upload, before its answer" "1 0" "$(bstat files_uploaded) $(bstat batches_created)"
check "the run had recorded the file by name only" python3 -c '
import json, sys
b = json.load(open(sys.argv[1]))["batches"]
sys.exit(0 if len(b) == 1 and b[0]["file_id"] is None and b[0]["batch_id"] is None else 1)' "$T/k/run/batches.json"
# 2. killed while the creation's answer is on its way: the batch exists, its id is not recorded
"$X" run "${bopts[@]}" > /dev/null 2>&1 &
pid=$!
wait_stat batches_created 1
kill9 $pid
wait $pid 2> /dev/null
check_eq "restarted: found the file by its name (no second upload), killed after creating" "1 1" \
	"$(bstat files_uploaded) $(bstat batches_created)"
check "the run had recorded the file id, not the batch id" python3 -c '
import json, sys
b = json.load(open(sys.argv[1]))["batches"]
sys.exit(0 if len(b) == 1 and b[0]["file_id"] and b[0]["batch_id"] is None else 1)' "$T/k/run/batches.json"
# 3. the same in the second stage
"$X" run "${bopts[@]}" > /dev/null 2> "$T/k3.err" &
pid=$!
wait_stat batches_created 2
kill9 $pid
wait $pid 2> /dev/null
check_eq "restarted: found the batch by its file (no second batch), killed after the next creation" "2 2" \
	"$(bstat files_uploaded) $(bstat batches_created)"

# 4. five random kills
seed=${KILL_SEED:-$RANDOM}
echo "# KILL_SEED=$seed"
delays=$(python3 -c "import random; r = random.Random($seed); print(' '.join('%.3f' % r.uniform(0.05, 1.5) for _ in range(5)))")
killed=0
for d in $delays; do
	"$X" run "${bopts[@]}" > /dev/null 2>&1 &
	pid=$!
	sleep "$d"
	if kill -0 $pid 2> /dev/null; then kill9 $pid; killed=$((killed + 1)); fi
	wait $pid 2> /dev/null
	echo "# kill after ${d}s: $(bstat files_uploaded) files, $(bstat batches_created) batches"
done
check "at least three of the five random kills hit a running run ($killed)" test $killed -ge 3
check_exit "the run after the kills exits 0" 0 "$X" run "${bopts[@]}"
check "records.jsonl equals the live run's" cmp "$T/live/run/records.jsonl" "$T/k/run/records.jsonl"
check "summary.json equals the live run's" cmp "$T/live/run/summary.json" "$T/k/run/summary.json"
pyt - "$(sim_stats)" "$T/k/run/batches.json" "$T/k/run/run.json" <<'EOF'
import json, sys
st = json.loads(sys.argv[1])["batches"]
rec = json.load(open(sys.argv[2]))["batches"]
run = json.load(open(sys.argv[3]))
def check(what, cond, extra=""):
    print(("ok " if cond else "not ok ") + what + ("" if cond else " # " + extra))
# elicit, explain ep, evaluate ep, explain pe, evaluate pe
check("5 files uploaded and 5 batches created, as without kills", st["files_uploaded"] == 5 and st["batches_created"] == 5, str(st))
ids = [b["batch_id"] for b in rec]
check("batches.json names each of them once", sorted(ids) == ["batch_sim%06d" % i for i in range(1, 6)], str(ids))
check("one batch per stage", sorted(b["stage"] for b in rec) ==
      sorted(["elicit ep,pe", "explain ep", "evaluate ep", "explain pe", "evaluate pe"]), str([b["stage"] for b in rec]))
check("every one collected with every line answered", all(b["collected"] and b["answered"] == b["requests"] for b in rec))
check("run.json lists them and says complete", run["complete"] is True and len(run["batches"]["list"]) == 5)
EOF
check "no temporary file is left" test -z "$(find "$T/k" -name '*.tmp.*')"
stop_sim
done_testing
