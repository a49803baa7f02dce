#!/usr/bin/env bash
# table -o, compare --markdown and --junit never write over a data file of a
# run directory (run.json, summary.json, records.jsonl, misses.jsonl,
# ledger.jsonl), by its name or through a symbolic link: `table DIR -o
# DIR/summary.json` replaced the run's summary with a Markdown table and
# exited 0. report -o and cache export -o refused already (t0810, t0400).
. "$(dirname "$0")/lib.sh"

small_run
R=$T/run
check "the run wrote its ledger" test -s "$R/ledger.jsonl"
(cd "$R" && md5sum run.json summary.json records.jsonl ledger.jsonl) > "$T/sums"

for f in summary.json run.json records.jsonl ledger.jsonl; do
	check_exit "table -o DIR/$f exits 1" 1 "$X" table "$R" -o "$R/$f"
	check "... naming the data file" grep -q "'$R/$f' is a data file of a run directory" "$T/last.err"
done
ln -s "$R/summary.json" "$T/summary-link.md"
check_exit "table -o a link to DIR/summary.json exits 1" 1 "$X" table "$R" -o "$T/summary-link.md"
check_exit "compare --markdown DIR/summary.json exits 1" 1 \
	"$X" compare "$R" "$R" --markdown "$R/summary.json"
check "... naming the data file" grep -q "'$R/summary.json' is a data file" "$T/last.err"
check_exit "compare --junit DIR/run.json exits 1" 1 "$X" compare "$R" "$R" --junit "$R/run.json"
check_exit "compare --junit a link to DIR/summary.json exits 1" 1 \
	"$X" compare "$R" "$R" --junit "$T/summary-link.md"
check "every data file of the run is as it was" bash -c "cd '$R' && md5sum -c --quiet '$T/sums'"
check "... and the link still a link" test -L "$T/summary-link.md"

# other names in the run directory, and files elsewhere, are written as before
check_exit "table -o DIR/table.md exits 0" 0 "$X" table "$R" -o "$R/table.md"
check_exit "compare --markdown DIR/compare.md exits 0" 0 \
	"$X" compare "$R" "$R" --markdown "$R/compare.md" --junit "$T/junit.xml"
check "... which it wrote" grep -q "selfexp compare" "$R/compare.md"
done_testing
