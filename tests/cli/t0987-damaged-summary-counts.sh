#!/usr/bin/env bash
# A summary.json condition without one of the counts the accuracy table
# shows (failed_requests, failed, parse_failures, reviews) is damaged: table
# and report fail (exit 1) naming the condition and the count and saying to
# rewrite it with score. Before, a summary without failed_requests fell back
# to the old-format "failed" and showed "Failed requests 0": a clean result.
# A run of selfexp 0.1.0 (no failed_requests) still reads from its "failed".
. "$(dirname "$0")/lib.sh"

start_sim
common=(--data "$SELFEXP_HOME/data/demo.tsv" --limit 4 --model sim --lime-samples 10
	--bootstrap 20 --no-progress --base-url "$SIM_URL")
"$X" run "${common[@]}" --out "$T/r" --cache "$T/c.sqlite" 2> "$T/err" ||
	{ fail "the complete run exits $?"; sed 's/^/#   /' "$T/err"; }
stop_sim
cut() { # dir key: the run with key removed from the ep condition of its summary
	rm -rf "$T/$2"; cp -r "$T/r" "$T/$2"
	python3 - "$T/$2/summary.json" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); del d['conditions']['ep'][sys.argv[2]]
json.dump(d, open(sys.argv[1], 'w'), indent=1)
PY
}
for key in failed_requests failed parse_failures; do
	cut r "$key"
	check_exit "table of a summary without ep's $key exits 1" 1 "$X" table "$T/$key"
	check "... naming it" grep -q "condition 'ep' has no count '$key'.*damaged.*selfexp score" "$T/last.err"
	check "... printing no table" test ! -s "$T/last.out"
done
check_exit "report of a summary without failed_requests exits 1" 1 \
	"$X" report "$T/failed_requests" -o "$T/r.html"
check "... writing no report" test ! -e "$T/r.html"
check_exit "table of the whole summary exits 0" 0 "$X" table "$T/r"

# selfexp 0.1.0 wrote no failed_requests: its "failed" stands in
cut r failed_requests
python3 - "$T/failed_requests/run.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); d['selfexp_version'] = '0.1.0'
json.dump(d, open(sys.argv[1], 'w'), indent=1)
PY
check_exit "table of a 0.1.0 summary without failed_requests exits 0" 0 \
	"$X" table "$T/failed_requests"
check "... showing its failed count" grep -q "^| Failed requests | 0 |" "$T/last.out"
check_exit "the golden 0.1.0 run reads" 0 "$X" table "$SELFEXP_HOME/tests/golden/run-small"
done_testing
