#!/usr/bin/env bash
# compare of a partial run (run.json "complete": false) does not pass the
# gate: nothing regressed is exit 5, not 0, with a note on stderr naming the
# run and its failed requests and a line in --markdown. Before, a new run
# whose evaluate requests failed (invisible to failed_requests, which counts
# unanswered reviews) was gated over the metrics it had: exit 0,
# "0 regressed". A regression still exits 4 (t0830, gate-faulty).
. "$(dirname "$0")/lib.sh"

start_sim
common=(--data "$SELFEXP_HOME/data/demo.tsv" --limit 4 --model sim --lime-samples 10
	--bootstrap 20 --no-progress --base-url "$SIM_URL")
"$X" run "${common[@]}" --out "$T/base" --cache "$T/full.sqlite" 2> "$T/err" ||
	{ fail "the complete run exits $?"; sed 's/^/#   /' "$T/err"; }
stop_sim
# the new run, offline, from a cache without some of the answers
cp "$T/full.sqlite" "$T/few.sqlite"
python3 - "$T/few.sqlite" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
keys = [k for (k,) in c.execute("select key from answers order by key")]
c.executemany("delete from answers where key = ?", [(k,) for k in keys[::150]])
c.commit()
PY
check_exit "the new run with a few answers missing exits 5" 5 \
	"$X" run "${common[@]}" --offline --out "$T/new" --cache "$T/few.sqlite"
check "... and is partial" grep -q '"complete":.*false' "$T/new/run.json"

check_exit "compare of a complete run with itself exits 0" 0 "$X" compare "$T/base" "$T/base"
check_exit "compare with a partial new run exits 5" 5 \
	"$X" compare "$T/base" "$T/new" --markdown "$T/compare.md"
check "... saying which run is partial" \
	grep -q "'$T/new' is a partial run ([0-9]* requests failed)" "$T/last.err"
check "... printing the comparison all the same" grep -q "review ids in common" "$T/last.out"
check "... and the markdown says so" grep -q "The new run is partial" "$T/compare.md"
check_exit "a partial base run exits 5 too" 5 "$X" compare "$T/new" "$T/base"
check "... naming it" grep -q "'$T/new' is a partial run" "$T/last.err"
# a run stopped by a cap failed nothing: the note says what was not sent
start_sim
check_exit "a run stopped by --max-requests exits 5" 5 "$X" run "${common[@]}" --base-url "$SIM_URL" \
	--out "$T/capped" --cache "$T/capped.sqlite" --max-requests 5
stop_sim
check_exit "compare with it: exit 4 (the metrics it has no values for: their _defined rows regress)" 4 \
	"$X" compare "$T/base" "$T/capped"
check "... saying how many requests were not sent" \
	grep -q "'$T/capped' is a partial run (0 requests failed, [1-9][0-9]* not sent: a cap was reached" "$T/last.err"
done_testing
