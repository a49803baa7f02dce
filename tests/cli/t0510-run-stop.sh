#!/usr/bin/env bash
# Stopping a run: --max-requests and Ctrl-C write a consistent partial run and
# exit 5; a re-run completes it; bad options are usage errors.
. "$(dirname "$0")/lib.sh"
need_shared
dev=$SELFEXP_SHARED/data/sst2/dev.tsv
opts=(--conditions pe --model sim --no-progress --limit 20)
start_sim --latency-ms 20

check_exit "--max-requests 100 stops the run with exit 5" 5 "$X" run --data "$dev" --out "$T/a/run" \
	--base-url "$SIM_URL" --max-requests 100 "${opts[@]}"
sent=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["complete"], r["counts"]["sent"])' "$T/a/run/run.json")
check_eq "run.json says incomplete, 100 sent" "False 100" "$sent"
check "records.jsonl is complete JSON lines" python3 -c '
import json,sys
for l in open(sys.argv[1]): json.loads(l)' "$T/a/run/records.jsonl"
check_exit "the same run without the cap completes it" 0 "$X" run --data "$dev" --out "$T/a/run" \
	--base-url "$SIM_URL" "${opts[@]}"

mkdir -p "$T/b"
before=$(sim_asked)
"$X" run --data "$dev" --out "$T/b/run" --base-url "$SIM_URL" "${opts[@]}" > /dev/null 2> "$T/b/err" &
pid=$!
wait_sending "$before"  # Ctrl-C once the run is sending
kill -INT $pid
wait $pid
check_eq "Ctrl-C stops the run with exit 5" "5" "$?"
check "Ctrl-C leaves a consistent run.json (complete false)" python3 -c '
import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r["complete"] is False else 1)' "$T/b/run/run.json"
check "no temporary file is left in the run directory" test -z "$(ls "$T/b/run" | grep tmp)"

check_exit "unknown condition is a usage error" 2 "$X" run --data "$dev" --out "$T/c" --conditions ep,nope
grep -q "nope" "$T/last.err" && ok "the message quotes the bad value" || fail "the message quotes the bad value"
check_exit "unknown explainer is a usage error" 2 "$X" run --data "$dev" --out "$T/c" --explainers shap
check_exit "missing --out is a usage error" 2 "$X" run --data "$dev"
check_exit "no endpoint is a usage error" 2 env -u OPENAI_BASE_URL "$X" run --data "$dev" --out "$T/c"
check_exit "a missing data file fails with exit 1" 1 "$X" run --data "$T/none.tsv" --out "$T/c" --base-url "$SIM_URL"
check "nothing is written when the data cannot be read" test ! -e "$T/c"
stop_sim
done_testing
