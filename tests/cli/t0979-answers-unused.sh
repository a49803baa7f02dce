#!/usr/bin/env bash
# Recorded answers (--answers) that answer no request of the run (a review
# text tokenised differently, a review not in the data, another condition)
# are no longer dropped in silence: run.json counts each file's answers and
# unused ones (answers[].answers, .unused) and stderr says how many answered
# nothing. It used to say nothing: a file none of whose lines matched sent
# every request to the (paid) endpoint, and the only sign was "0 recorded".
. "$(dirname "$0")/lib.sh"

start_sim
opts=(--data "$SELFEXP_HOME/data/demo.tsv" --limit 3 --conditions pe --explainers self --no-metrics
	--model sim --no-progress)
answers() { python3 -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1]))["answers"]))' "$1/run.json"; }
field() { python3 -c 'import json, sys; print([f[sys.argv[2]] for f in json.load(open(sys.argv[1]))["answers"]])' "$1/run.json" "$2"; }

check_exit "a run exits 0" 0 "$X" run "${opts[@]}" --base-url "$SIM_URL" --out "$T/a" --cache "$T/a.sqlite"
"$X" answers export "$T/a" > "$T/good.jsonl" 2> /dev/null
check_eq "its answers exported (3 lines)" 3 "$(wc -l < "$T/good.jsonl")"

check_exit "replayed from them offline: exit 0" 0 "$X" run "${opts[@]}" --answers "$T/good.jsonl" --offline \
	--out "$T/b" --cache "$T/b.sqlite"
check_eq "... run.json: 3 answers, none unused" "[3] [0]" "$(field "$T/b" answers) $(field "$T/b" unused)"
check "... and stderr says nothing of unused answers" test -z "$(grep 'answered no request' "$T/last.err")"

# the same answers with their review texts tokenised differently (two spaces), one of a review
# the data does not have, one of a condition the run does not have
python3 - "$T/good.jsonl" > "$T/bad.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for r in rows:
    r["review"] = r["review"].replace(" ", "  ")
    print(json.dumps(r))
print(json.dumps(dict(rows[0], review="a review of another data file")))
print(json.dumps(dict(rows[0], condition="ep")))
PY
before=$(sim_asked)
check_exit "answers that match nothing, online: exit 0 (answered by the model)" 0 "$X" run "${opts[@]}" \
	--answers "$T/bad.jsonl" --base-url "$SIM_URL" --out "$T/c" --cache "$T/c.sqlite"
check_eq "... every request went to the model" 3 "$(($(sim_asked) - before))"
check_eq "... run.json: 5 answers, 5 unused" "[5] [5]" "$(field "$T/c" answers) $(field "$T/c" unused)"
check_eq "... stderr says so" "selfexp: 5 of the 5 recorded answers (--answers) answered no request of this run: their condition or review text is not one it sends (run.json answers[].unused; 'selfexp answers export' shows what a run sends)" \
	"$(grep 'answered no request' "$T/last.err")"

check_exit "both files, offline: exit 0" 0 "$X" run "${opts[@]}" --answers "$T/good.jsonl" \
	--answers "$T/bad.jsonl" --offline --out "$T/d" --cache "$T/d.sqlite"
check_eq "... run.json per file: 3 and 5 answers, 0 and 5 unused" "[3, 5] [0, 5]" \
	"$(field "$T/d" answers) $(field "$T/d" unused)"
grep -q "selfexp: 5 of the 8 recorded answers (--answers) answered no request" "$T/last.err" &&
	ok "... stderr counts them" || { fail "... stderr counts them"; sed 's/^/#   /' "$T/last.err"; }
done_testing
