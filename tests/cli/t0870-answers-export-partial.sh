#!/usr/bin/env bash
# answers export of a partial run (run.json "complete": false) says the run is
# partial and how to finish it; before, it only said "pass the cache the run
# filled with --cache", though that was the cache given. Exit 5, nothing on
# stdout, as before; once the run is finished the export is complete.
. "$(dirname "$0")/lib.sh"

opts=(--data "$SELFEXP_HOME/data/demo.tsv" --limit 2 --model sim --lime-samples 10
	--bootstrap 20 --no-progress --cache "$T/c.sqlite")
start_sim
check_exit "a run stopped by --max-requests 40 exits 5" 5 "$X" run "${opts[@]}" --out "$T/run" \
	--base-url "$SIM_URL" --max-requests 40
check_eq "... and its run.json says incomplete" False "$(python3 -c '
import json,sys; print(json.load(open(sys.argv[1]))["complete"])' "$T/run/run.json")"

check_exit "answers export of the partial run exits 5" 5 "$X" answers export "$T/run"
check_eq "... writing nothing" 0 "$(wc -c < "$T/last.out" | tr -d ' ')"
check "... saying the run is partial and how to finish it" grep -qF \
	"nothing written; the run is partial (run.json: \"complete\": false): finish it first (run it again with the same options and --out '$T/run'), then export" \
	"$T/last.err"
check "... naming the cache it read" grep -qF "are not in the cache '$T/c.sqlite'" "$T/last.err"

check_exit "the same run without the cap finishes it" 0 "$X" run "${opts[@]}" --out "$T/run" \
	--base-url "$SIM_URL"
stop_sim
check_exit "answers export of the finished run exits 0" 0 "$X" answers export "$T/run"
check "... with answers" test -s "$T/last.out"
check_exit "with a cache that lacks them it exits 5" 5 "$X" answers export "$T/run" \
	--cache "$T/none.sqlite"
check "... saying to pass the cache the run filled" grep -qF \
	"nothing written; pass the cache the run filled with --cache" "$T/last.err"
check "... not that the run is partial" sh -c "! grep -q 'the run is partial' '$T/last.err'"
done_testing
