#!/usr/bin/env bash
# Signals that come together count as one: GNU timeout signals the run and
# then its whole process group (two SIGTERMs), and a SIGTERM and a SIGINT sent
# at once are one stop. Each ends the run as partial: exit 5 (124 from
# timeout), a run directory with "complete": false, no temporary file; never
# the abort (exit 130, nothing written) that only a second Ctrl-C, after the
# first was acknowledged on stderr, asks for.
. "$(dirname "$0")/lib.sh"
need_shared
command -v timeout > /dev/null || skip_all "GNU timeout is not installed"
dev=$SELFEXP_SHARED/data/sst2/dev.tsv
opts=(--data "$dev" --limit 20 --conditions pe --model sim --no-progress --concurrency 2)
start_sim --latency-ms 50

partial_dir() {  # WHAT DIR: a consistent partial run directory
	check "$1: run.json says incomplete" python3 -c '
import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r["complete"] is False else 1)' "$2/run.json"
	check "$1: records.jsonl is complete JSON lines" python3 -c '
import json,sys
for l in open(sys.argv[1]): json.loads(l)' "$2/records.jsonl"
	check "$1: no temporary file is left" test -z "$(ls -A "$2" | grep tmp)"
}

timeout 2 "$X" run "${opts[@]}" --base-url "$SIM_URL" --out "$T/t/run" --cache "$T/t.db" \
	> /dev/null 2> "$T/t.err"
check_eq "timeout 2 selfexp run: exit 124 (timeout's: the run ended on its SIGTERM)" 124 "$?"
partial_dir "timeout" "$T/t/run"
grep -q "partial run\|stopped early" "$T/t.err" && ok "timeout: the run reports itself partial" ||
	{ fail "timeout: the run reports itself partial"; sed 's/^/#   /' "$T/t.err"; }
grep -q "aborted" "$T/t.err" && fail "timeout: not aborted" || ok "timeout: not aborted"

timeout --preserve-status 2 "$X" run "${opts[@]}" --base-url "$SIM_URL" --out "$T/p/run" \
	--cache "$T/p.db" > /dev/null 2> "$T/p.err"
check_eq "timeout --preserve-status: the run's own exit 5" 5 "$?"
partial_dir "timeout --preserve-status" "$T/p/run"

before=$(sim_asked)
"$X" run "${opts[@]}" --base-url "$SIM_URL" --out "$T/s/run" --cache "$T/s.db" > /dev/null 2> "$T/s.err" &
pid=$!
wait_sending "$before"
kill -TERM $pid; kill -INT $pid
wait $pid
check_eq "SIGTERM and SIGINT at once: exit 5, not 130" 5 "$?"
partial_dir "TERM+INT" "$T/s/run"
check_eq "TERM+INT: acknowledged once on stderr" 1 "$(grep -c 'selfexp: stopping' "$T/s.err")"
done_testing
