#!/usr/bin/env bash
# A partial result never replaces a partial run that had answers for more
# requests (run.json counts: requests - failed - skipped): score of a partial run with
# a cache that lost more rows left it byte for byte (exit 5, saying so);
# before, it rewrote records.jsonl and summary.json with the worse result
# (226 of 964 answers missing where the run had 5), while run.json still
# described the old one. A run into such a directory writes DIR.partial.
# A result as good or better still replaces it; the requests a cap skipped
# are not answers (a capped run does not block a better offline one).
. "$(dirname "$0")/lib.sh"

start_sim
common=(--data "$SELFEXP_HOME/data/demo.tsv" --limit 4 --model sim --lime-samples 10
	--bootstrap 20 --no-progress --base-url "$SIM_URL")
"$X" run "${common[@]}" --out "$T/full" --cache "$T/full.sqlite" 2> "$T/err" ||
	{ fail "the complete run exits $?"; sed 's/^/#   /' "$T/err"; }
stop_sim
drop() { # cache n: a copy of the full cache without every n-th row
	cp "$T/full.sqlite" "$1"
	python3 - "$1" "$2" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
keys = [k for (k,) in c.execute("select key from answers order by key")]
c.executemany("delete from answers where key = ?", [(k,) for k in keys[::int(sys.argv[2])]])
c.commit()
PY
}
drop "$T/few.sqlite" 200   # a few rows missing
drop "$T/many.sqlite" 3    # a third of them
# a partial run (offline, from the cache with a few rows missing)
check_exit "an offline run with a few answers missing exits 5" 5 \
	"$X" run "${common[@]}" --offline --out "$T/p" --cache "$T/few.sqlite"
few=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['counts']['failed'])" "$T/p/run.json")
check "... missing some" test "$few" -gt 0
cp -r "$T/p" "$T/p.orig"

check_exit "score with a cache that lost more rows exits 5" 5 \
	"$X" score "$T/p" --cache "$T/many.sqlite"
check "... saying the partial run was kept" \
	grep -q "left as it was (a partial result never replaces a partial run that had answers for more requests)" "$T/last.err"
for f in run.json summary.json records.jsonl misses.jsonl; do
	check "... $f byte for byte" cmp -s "$T/p.orig/$f" "$T/p/$f"
done
check_exit "run --offline into it with that cache exits 5" 5 \
	"$X" run "${common[@]}" --offline --out "$T/p" --cache "$T/many.sqlite"
check "... writing DIR.partial" grep -q "the partial run in $T/p, which had answers for more requests, was kept; this partial result is in $T/p.partial" "$T/last.err"
check "... and DIR as it was" cmp -s "$T/p.orig/summary.json" "$T/p/summary.json"
check "... and DIR.partial is the worse run" python3 -c "
import json, sys
sys.exit(not json.load(open('$T/p.partial/run.json'))['counts']['failed'] > $few)"

# a run stopped by a cap has answers for what it sent and found, not for the
# requests it skipped: the offline run with a third of the answers missing
# has more, and replaces it
start_sim
check_exit "a run stopped at --max-requests 5 exits 5" 5 \
	"$X" run "${common[@]}" --base-url "$SIM_URL" --max-requests 5 \
	--out "$T/cap" --cache "$T/cap.sqlite"
stop_sim
check_exit "an offline run into it with a third of the answers missing exits 5" 5 \
	"$X" run "${common[@]}" --offline --out "$T/cap" --cache "$T/many.sqlite"
check "... and replaces it (no DIR.partial)" test ! -e "$T/cap.partial"

# as good: replaced (the same bytes); better (complete): replaced
check_exit "score with the same cache exits 5" 5 "$X" score "$T/p" --cache "$T/few.sqlite"
check "... and writes the same summary" cmp -s "$T/p.orig/summary.json" "$T/p/summary.json"
check_exit "score with the full cache exits 0" 0 "$X" score "$T/p" --cache "$T/full.sqlite"
check "... and replaces the partial summary with the complete one" \
	cmp -s "$T/full/summary.json" "$T/p/summary.json"
done_testing
