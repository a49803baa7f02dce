#!/usr/bin/env bash
# --batch-dir: request files written, output files read, no API call. A
# script plays `vllm run-batch` (tests/cli/fake_vllm_batch.py answers each
# request file through the sim's chat endpoint into NAME.output.jsonl); the
# run, started again after each answer, ends with what a live run writes.
# Lines the tool failed go out again in a new request file within --retries;
# what still fails makes the run partial (exit 5) and is counted.
. "$(dirname "$0")/lib.sh"
data=$SELFEXP_HOME/data/demo.tsv
opts=(--data "$data" --limit 12 --conditions ep,pe --model sim --no-progress)
# nothing listens there: any API call would end the run with exit 3
nowhere=http://127.0.0.1:9/v1
vllm() { python3 "$TESTS_DIR/cli/fake_vllm_batch.py" "$SIM_URL" "$@"; }

start_sim --preset literature
check_exit "the live run exits 0" 0 "$X" run "${opts[@]}" --out "$T/live/run" --base-url "$SIM_URL" \
	--cache "$T/live.sqlite"

# 1. the round trip
bopts=("${opts[@]}" --out "$T/d/run" --cache "$T/d.sqlite" --base-url "$nowhere" --batch-dir "$T/files")
check_exit "the first --batch-dir run exits 6" 6 "$X" run "${bopts[@]}"
check "it wrote the elicit request file" test -s "$T/files/selfexp-0001-elicit-ep-pe.jsonl"
check "and said what to answer, and where" grep -q "^selfexp: elicit ep,pe: 1 request file to answer: '$T/files/selfexp-0001-elicit-ep-pe.jsonl' -> '$T/files/selfexp-0001-elicit-ep-pe.output.jsonl'; answer them" "$T/last.err"
check "no run directory files yet" test ! -e "$T/d/run/run.json"
pyt - "$T/files/selfexp-0001-elicit-ep-pe.jsonl" <<'EOF'
import json, re, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
ok = len(lines) == 24 and all(set(l) == {"custom_id", "method", "url", "body"} and l["method"] == "POST"
    and l["url"] == "/v1/chat/completions" and re.fullmatch("[0-9a-f]{64}", l["custom_id"])
    and l["body"]["model"] == "sim" for l in lines)
print(("ok " if ok else "not ok ") + "the request file: 24 lines (12 reviews x 2), OpenAI batch input format, custom_id a cache key")
print(("ok " if len({l["custom_id"] for l in lines}) == 24 else "not ok ") + "distinct custom_ids")
EOF
rc=6 n=1
while [ $rc = 6 ] && [ $n -lt 20 ]; do
	vllm "$T/files" > /dev/null
	"$X" run "${bopts[@]}" > "$T/d.out" 2> "$T/d.err"
	rc=$?
	n=$((n + 1))
done
check_eq "answered and run again until done: exit 0 after 6 runs (5 stages)" "0 6" "$rc $n"
check "records.jsonl equals the live run's" cmp "$T/live/run/records.jsonl" "$T/d/run/records.jsonl"
check "summary.json equals the live run's" cmp "$T/live/run/summary.json" "$T/d/run/summary.json"
check_eq "five request files and their outputs" "5 5" \
	"$(ls "$T/files" | grep -vc output) $(ls "$T/files" | grep -c '\.output\.jsonl$')"
check "run.json: mode dir, five batches collected" python3 -c '
import json, sys
b = json.load(open(sys.argv[1]))["batches"]
sys.exit(0 if b["mode"] == "dir" and len(b["list"]) == 5 and all(e["collected"] and e["batch_id"] is None for e in b["list"]) else 1)' "$T/d/run/run.json"

# 2. failed lines: a new request file for them (round 2), then done
bopts=("${opts[@]}" --conditions ep --explainers self --no-metrics --out "$T/f/run" --cache "$T/f.sqlite"
	--base-url "$nowhere" --batch-dir "$T/ffiles" --retries 1)
check_exit "--retries 1: the first run exits 6" 6 "$X" run "${bopts[@]}"
vllm "$T/ffiles" --fail-every 5 > /dev/null
check_exit "lines failed by the tool: exit 6 again, with a request file for them" 6 "$X" run "${bopts[@]}"
check_eq "the round-2 file holds the 2 failed lines" 2 "$(wc -l < "$T/ffiles/selfexp-0002-elicit-ep.jsonl")"
vllm "$T/ffiles" > /dev/null
check_exit "answered: exit 0" 0 "$X" run "${bopts[@]}"

# 3. failed lines with no rounds left, and a cut-off output file: partial, counted
bopts=("${opts[@]}" --conditions ep --explainers self --no-metrics --out "$T/p/run" --cache "$T/p.sqlite"
	--base-url "$nowhere" --batch-dir "$T/pfiles" --retries 0)
check_exit "--retries 0: the first run exits 6" 6 "$X" run "${bopts[@]}"
vllm "$T/pfiles" --fail-every 5 --cut-last > /dev/null
check_exit "2 failed lines and a cut last line, no round left: partial, exit 5" 5 "$X" run "${bopts[@]}"
check "the summary counts the 3 failed elicit requests" grep -q "^selfexp: 3 requests failed: elicit 3, explain 0, evaluate 0; why:" "$T/last.err"
check "with the tool's reason" grep -q "after 1 batch round: batch line failed: engine_error: simulated engine error" "$T/last.err"
check "and the missing answer's" grep -q "after 1 batch round: no answer in '$T/pfiles/selfexp-0001-elicit-ep.output.jsonl'" "$T/last.err"
check "run.json: complete false, 3 failed" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
sys.exit(0 if r["complete"] is False and r["failures"]["elicit"]["by_condition"]["ep"] == 3 else 1)' "$T/p/run/run.json"
check_eq "the batch record counts 9 answered, 2 failed" "9 2" "$(python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))["batches"][0]; print(e["answered"], e["failed"])' "$T/p/run/batches.json")"
stop_sim
check_exit "--batch with --batch-dir: a usage error" 2 "$X" run "${opts[@]}" --out "$T/both" \
	--base-url "$nowhere" --batch --batch-dir "$T/bothfiles"
check "... naming both" grep -q "^selfexp: run: --batch and --batch-dir do not go together" "$T/last.err"
check "... before anything is written" test ! -e "$T/both" -a ! -e "$T/bothfiles"
done_testing
