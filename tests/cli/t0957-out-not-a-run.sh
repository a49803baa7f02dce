#!/usr/bin/env bash
# run --out DIR over a directory that is not a run of selfexp: result files
# (summary.json, records.jsonl, misses.jsonl) without run.json and without
# the ledger a killed run leaves are someone else's, and are not replaced
# unless --force says so; --out naming a file is refused with its name; a
# killed run (only its ledger there) still resumes.
. "$(dirname "$0")/lib.sh"

start_sim
opts=(--data "$SELFEXP_HOME/data/demo.tsv" --limit 3 --conditions ep --explainers self
	--model sim --base-url "$SIM_URL" --no-progress --cache "$T/c.sqlite")
mkdir "$T/mine"
echo "my results" > "$T/mine/summary.json"
echo "my records" > "$T/mine/records.jsonl"
echo "my notes" > "$T/mine/notes.txt"
check_exit "--out over a directory with a summary.json and records.jsonl but no run.json" 1 \
	"$X" run "${opts[@]}" --out "$T/mine"
check_eq "... says so, naming them and the way out" \
	"selfexp: '$T/mine' holds summary.json, records.jsonl but no run.json: not a run of selfexp, and the run would replace them; choose another --out, or pass --force to replace them" \
	"$(cat "$T/last.err")"
check_eq "... and leaves them alone" "my results|my records|my notes" \
	"$(cat "$T/mine/summary.json")|$(cat "$T/mine/records.jsonl")|$(cat "$T/mine/notes.txt")"
check "... and adds nothing" test "$(ls "$T/mine" | wc -l)" -eq 3
check_exit "with --force it replaces them" 0 "$X" run "${opts[@]}" --out "$T/mine" --force
check "... with the run's" grep -q '"complete":	true' "$T/mine/run.json"
check_eq "... and leaves the rest" "my notes" "$(cat "$T/mine/notes.txt")"

echo "a file" > "$T/file"
check_exit "--out naming a regular file" 1 "$X" run "${opts[@]}" --out "$T/file"
check_eq "... says so" "selfexp: --out '$T/file' is not a directory; choose another --out" \
	"$(cat "$T/last.err")"

# what a killed run leaves: its ledger alone; the next run resumes there
mkdir "$T/killed"
cp "$T/mine/ledger.jsonl" "$T/killed/"
check_exit "a directory holding only a run's ledger is resumed" 0 "$X" run "${opts[@]}" --out "$T/killed"
mkdir "$T/empty"
check_exit "an empty directory is fine" 0 "$X" run "${opts[@]}" --out "$T/empty"
stop_sim
done_testing
