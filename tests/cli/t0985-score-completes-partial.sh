#!/usr/bin/env bash
# score that completes a partial run (the cache now holds every answer)
# brings run.json up to date: "complete": true and the failures of the result
# it wrote, with "scored" recording the score and what run.json said before,
# while "counts" and "totals" keep what the run's processes sent and spent.
# Before, run.json still said "complete": false, so table printed INCOMPLETE
# RUN, compare exited 5 and merge refused the shard until run was run again.
# A score that stays partial says so in run.json too; a complete run's
# run.json is kept byte for byte.
. "$(dirname "$0")/lib.sh"

start_sim
common=(--data "$SELFEXP_HOME/data/demo.tsv" --limit 4 --model sim --lime-samples 10
	--bootstrap 20 --no-progress --base-url "$SIM_URL" --shard 0/1)
check_exit "a run stopped at --max-requests 5 exits 5" 5 \
	"$X" run "${common[@]}" --max-requests 5 --out "$T/p" --cache "$T/p.sqlite"
check "... and is partial" grep -q '"complete":[[:space:]]*false' "$T/p/run.json"
# the same cache filled by a complete run into another directory
"$X" run "${common[@]}" --out "$T/full" --cache "$T/p.sqlite" 2> "$T/err" ||
	{ fail "the complete run exits $?"; sed 's/^/#   /' "$T/err"; }
stop_sim
cp -r "$T/p" "$T/p.orig"
# a cache without a few rows, for a score that stays partial
cp "$T/p.sqlite" "$T/few.sqlite"
python3 - "$T/few.sqlite" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
keys = [k for (k,) in c.execute("select key from answers order by key")]
c.executemany("delete from answers where key = ?", [(k,) for k in keys[::150]])
c.commit()
PY

check_exit "score with a cache that lacks a few answers exits 5" 5 \
	"$X" score "$T/p" --cache "$T/few.sqlite"
check "... run.json still partial, with the failures of the result written" python3 -c "
import json, sys
d = json.load(open('$T/p/run.json')); s = json.load(open('$T/p/summary.json'))
sys.exit(not (d['complete'] is False and d['failures']['requests'] > 0
              and d['scored']['counts']['failed'] > 0 and d['scored']['complete_before'] is False))"

check_exit "score with the full cache exits 0" 0 "$X" score "$T/p" --cache "$T/p.sqlite"
check "... summary.json as the complete run's" cmp -s "$T/full/summary.json" "$T/p/summary.json"
check "... run.json says complete, what score found, and what it said before" python3 -c "
import json, sys
d = json.load(open('$T/p/run.json')); o = json.load(open('$T/p.orig/run.json'))
ok = (d['complete'] is True and d['failures']['requests'] == 0
      and d['scored']['complete_before'] is False
      and d['scored']['counts']['failed'] == 0 and d['scored']['counts']['skipped'] == 0)
# what the run's processes did is kept
for k in ('counts', 'totals', 'config', 'started', 'finished', 'selfexp_version', 'command'):
    ok = ok and d.get(k) == o.get(k)
sys.exit(not ok)"
check_exit "table of it exits 0" 0 "$X" table "$T/p"
check "... without INCOMPLETE RUN" bash -c "! grep -q INCOMPLETE '$T/last.out'"
check_exit "report of it exits 0" 0 "$X" report "$T/p" -o "$T/p.html"
check "... listing the score among the run's facts" grep -q "rescored by selfexp score" "$T/p.html"
check "... and not calling it partial" bash -c "! grep -q 'This run did not complete' '$T/p.html'"
check_exit "compare of the complete run with it exits 0" 0 "$X" compare "$T/full" "$T/p"
check_exit "merge takes it as a complete shard" 0 "$X" merge "$T/m" "$T/p" --cache "$T/p.sqlite"
check "... and the merged run is complete" grep -q '"complete":[[:space:]]*true' "$T/m/run.json"

cp "$T/p/run.json" "$T/complete.json"
check_exit "score of the complete run exits 0" 0 "$X" score "$T/p" --cache "$T/p.sqlite"
check "... keeping its run.json byte for byte" cmp -s "$T/complete.json" "$T/p/run.json"
done_testing
