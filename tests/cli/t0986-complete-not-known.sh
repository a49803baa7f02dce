#!/usr/bin/env bash
# A run.json without "complete" (every selfexp since 0.1.0 writes it, so
# only damage takes it away) is not known to be complete: table says so in
# its header line, report in its Run section, and compare does not gate it
# (exit 5, saying why, on stderr and in --markdown). Before, table and
# compare read it as complete (compare exit 0). merge refuses such a shard
# (saying why) unless --partial. score restores the field.
. "$(dirname "$0")/lib.sh"

start_sim
common=(--data "$SELFEXP_HOME/data/demo.tsv" --limit 4 --model sim --lime-samples 10
	--bootstrap 20 --no-progress --base-url "$SIM_URL")
"$X" run "${common[@]}" --out "$T/base" --cache "$T/c.sqlite" 2> "$T/err" ||
	{ fail "the complete run exits $?"; sed 's/^/#   /' "$T/err"; }
"$X" run "${common[@]}" --shard 0/1 --out "$T/s" --cache "$T/c.sqlite" 2> "$T/err" ||
	{ fail "the complete shard run exits $?"; sed 's/^/#   /' "$T/err"; }
stop_sim
cp -r "$T/base" "$T/new"
python3 - "$T/new/run.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); del d['complete']
json.dump(d, open(sys.argv[1], 'w'), indent=1)
PY

check_exit "table of it exits 0" 0 "$X" table "$T/new"
check "... saying it is not known to be complete" \
	grep -q 'NOT KNOWN TO BE COMPLETE: run.json has no "complete"' "$T/last.out"
check_exit "report of it exits 0" 0 "$X" report "$T/new" -o "$T/r.html"
check "... saying it is not known to be complete" \
	grep -q "This run is not known to be complete" "$T/r.html"
check_exit "compare with it as the new run exits 5" 5 \
	"$X" compare "$T/base" "$T/new" --markdown "$T/c.md"
check "... saying why" grep -q "'$T/new/run.json' has no \"complete\"" "$T/last.err"
check "... and so does the markdown" grep -q "The new run is not known to be complete" "$T/c.md"
check_exit "compare with it as the base run exits 5" 5 "$X" compare "$T/new" "$T/base"
check_exit "compare of the complete runs exits 0" 0 "$X" compare "$T/base" "$T/base"

python3 - "$T/s/run.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); del d['complete']
json.dump(d, open(sys.argv[1], 'w'), indent=1)
PY
check_exit "merge of a shard without \"complete\" exits 1" 1 "$X" merge "$T/m" "$T/s" --cache "$T/c.sqlite"
check "... saying why" grep -q "'$T/s/run.json' has no \"complete\".*not known to be complete" "$T/last.err"
check_exit "merge --partial of it exits 0 (the merge recomputes from the cache)" 0 \
	"$X" merge "$T/m" "$T/s" --partial --cache "$T/c.sqlite"

check_exit "score of it exits 0" 0 "$X" score "$T/new" --cache "$T/c.sqlite"
check "... writing \"complete\": true again" grep -q '"complete":[[:space:]]*true' "$T/new/run.json"
check_exit "compare then exits 0" 0 "$X" compare "$T/base" "$T/new"
done_testing
