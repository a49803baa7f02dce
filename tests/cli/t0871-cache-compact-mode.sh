#!/usr/bin/env bash
# cache compact keeps the file's permissions: the compact file is written
# beside the old one and renamed over it, and it had the mode of a new cache
# (0600), so a cache shared with a group (0664) or kept read-only for others
# (0644) was no longer readable by them after a compact that exited 0.
. "$(dirname "$0")/lib.sh"

start_sim
"$X" run --data "$SELFEXP_HOME/data/demo.tsv" --limit 1 --out "$T/run" --base-url "$SIM_URL" \
	--model sim --lime-samples 10 --bootstrap 20 --cache "$T/c.sqlite" --no-progress \
	2> "$T/run.err"
check_eq "a small run exits 0" 0 $? || sed 's/^/#   /' "$T/run.err"
stop_sim
"$X" cache export --cache "$T/c.sqlite" -o "$T/before.jsonl"
for mode in 664 644 640; do
	cp "$T/c.sqlite" "$T/m$mode.sqlite"
	chmod "$mode" "$T/m$mode.sqlite"
	check_exit "cache compact of a mode $mode cache exits 0" 0 "$X" cache compact "$T/m$mode.sqlite"
	check_eq "... and the file keeps mode $mode" "$mode" "$(stat -c %a "$T/m$mode.sqlite")"
	"$X" cache export --cache "$T/m$mode.sqlite" -o "$T/after.jsonl"
	check "... and every row" cmp -s "$T/before.jsonl" "$T/after.jsonl"
done
done_testing
