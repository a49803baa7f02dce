#!/usr/bin/env bash
# The run's ledger (DIR/ledger.jsonl): every process of a run records what it
# sent and spent as it goes, so after kill -9 and restarts run.json's
# "totals" count every request the server saw ("counts" is the last process
# alone), and --max-cost caps the total, not each process.
. "$(dirname "$0")/lib.sh"

data=$SELFEXP_HOME/data/demo.tsv
opts=(--data "$data" --limit 6 --model sim --conditions ep,pe --explainers self,occlusion
	--bootstrap 20 --concurrency 4 --no-progress --price-in 1 --price-out 2)

# answers 300 ms away: a run killed 0.1 s after the sim saw a request has
# requests on their way back (the sim counted them, the run has no answer)
start_sim --latency-ms 300
# killed_run DIR CACHE N [args]: start a run, kill -9 it 0.1 s after the sim has seen more than N requests
killed_run() {
	local dir=$1 cache=$2 n=$3 pid; shift 3
	"$X" run "${opts[@]}" --out "$dir" --cache "$cache" --base-url "$SIM_URL" "$@" \
		> /dev/null 2>&1 &
	pid=$!
	wait_sending "$n" || echo "# the sim saw no more than $n requests"
	sleep 0.1
	kill9 "$pid"
	wait "$pid" 2> /dev/null
}
# A request is in the ledger before it goes out; one handed to the network
# just before the process dies may never reach the server, so the ledger may
# exceed the server's count by what was in flight. Here the --concurrency 4
# requests of a wave leave together and the next wave only 0.3 s later, so
# at the kill every request sent has reached the sim and the two agree exactly.
killed_run "$T/r" "$T/c.sqlite" 10
killed_run "$T/r" "$T/c.sqlite" 30
killed_run "$T/r" "$T/c.sqlite" 50
check "the killed runs wrote no run.json" test ! -e "$T/r/run.json"
check_eq "each killed process has its line in the ledger" 3 "$(wc -l < "$T/r/ledger.jsonl")"
check_exit "the restarted run completes" 0 "$X" run "${opts[@]}" --out "$T/r" --cache "$T/c.sqlite" \
	--base-url "$SIM_URL" --concurrency 32
check "it says what all processes sent" grep -Eq "all 4 processes of this run: [0-9]+ sent" "$T/last.err"
sim_stats > "$T/stats.json"
pyt - "$T/r" "$T/stats.json" <<'PY'
import json, sys
d, stats = sys.argv[1], json.load(open(sys.argv[2]))
def check(what, cond): print(("ok " if cond else "not ok ") + what)
def strict(pairs):
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), keys
    return dict(pairs)
run = json.load(open(d + "/run.json"))
t, c = run["totals"], run["counts"]
check("totals.sent %d == the sim's chat_requests %d" % (t["sent"], stats["chat_requests"]),
      t["sent"] == stats["chat_requests"])
check("totals.attempts == chat_requests too (no faults)", t["attempts"] == stats["chat_requests"])
check("totals count 4 processes", t["processes"] == 4)
check("counts is the last process alone (%d sent of %d)" % (c["sent"], t["sent"]), c["sent"] < t["sent"])
lines = [json.loads(l, object_pairs_hook=strict) for l in open(d + "/ledger.jsonl")]
check("every ledger line is strict JSON with the same configuration",
      len({l["config"] for l in lines}) == 1)
check("the lines add up to the totals (with the last process)",
      sum(l["sent"] for l in lines) + (c["sent"] if len(lines) == 3 else 0) == t["sent"])
check("the cost adds up", abs(sum(l["cost_usd"] for l in lines) + (c["cost_usd"] if len(lines) == 3 else 0)
                              - t["cost_usd"]) < 1e-9)
PY

# another configuration in the same directory starts a total of its own
check_exit "a run of another configuration (--force) completes" 0 "$X" run "${opts[@]}" --limit 3 \
	--out "$T/r" --cache "$T/c.sqlite" --base-url "$SIM_URL" --force --concurrency 32
check_eq "... and counts only its own process" 1 \
	"$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"]["processes"])' "$T/r/run.json")"

# --max-cost applies to the total: the full run's cost, from a clean run
check_exit "a clean run on a fresh cache" 0 "$X" run "${opts[@]}" --out "$T/full" \
	--cache "$T/full.sqlite" --base-url "$SIM_URL" --concurrency 32
full=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["counts"]["cost_usd"])' "$T/full/run.json")
seen=$(sim_asked)
twothirds=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["counts"]["sent"] * 2 // 3)' "$T/full/run.json")
killed_run "$T/m" "$T/m.sqlite" $((seen + twothirds)) --concurrency 32
spent=$(python3 -c '
import json, sys
print(sum(json.loads(l)["cost_usd"] for l in open(sys.argv[1])))' "$T/m/ledger.jsonl")
# a cap a little over what the killed process spent: alone, the restart would fit under it
cap=$(python3 -c "print('%.6f' % ($spent * 1.05))")
echo "# full run \$$full, the killed process spent \$$spent, cap \$$cap"
check "the killed process spent about two thirds, so that the rest alone fits under the cap" \
	python3 -c "import sys; sys.exit(not ($full - $spent < $cap))"
check_exit "the restart with --max-cost stops early (exit 5)" 5 "$X" run "${opts[@]}" --out "$T/m" \
	--cache "$T/m.sqlite" --base-url "$SIM_URL" --max-cost "$cap" --concurrency 32
check "... saying --max-cost was reached" grep -q "max-cost" "$T/last.err"
pyt - "$T/m.partial" "$T/m" "$cap" <<'PY'
import json, os, sys
d = sys.argv[1] if os.path.exists(sys.argv[1] + "/run.json") else sys.argv[2]
run = json.load(open(d + "/run.json"))
cap = float(sys.argv[3])
def check(what, cond): print(("ok " if cond else "not ok ") + what)
check("run.json of the stopped run: complete false", run["complete"] is False)
check("totals.cost_usd %.6f <= the cap %.6f" % (run["totals"]["cost_usd"], cap),
      run["totals"]["cost_usd"] <= cap + 1e-9)
check("the last process spent less than the cap minus the earlier spend",
      run["counts"]["cost_usd"] <= cap - (run["totals"]["cost_usd"] - run["counts"]["cost_usd"]) + 1e-9)
PY
stop_sim

# a run that cannot reach its endpoint writes nothing, not even a ledger
dead=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
check_exit "a run whose endpoint is down exits 3" 3 "$X" run "${opts[@]}" --out "$T/d" \
	--cache "$T/d.sqlite" --base-url "http://127.0.0.1:$dead/v1"
check "... and leaves no run directory (no ledger)" test ! -e "$T/d"
done_testing
