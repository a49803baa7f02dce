#!/usr/bin/env bash
# --explanations lines that name a condition the run does not have explain
# nothing in it: they are counted as the file's "unused" in run.json (not as
# explanations), and a method left with no line for any condition of the run
# is an error naming the file, its first line, the method and the conditions
# (exit 1, nothing sent, nothing written); it used to drop out of the run
# silently, exit 0, with run.json claiming its lines as explanations.
. "$(dirname "$0")/lib.sh"

start_sim
printf 'id\tsentence\tlabel\nr1\tgood movie .\t1\nr2\tbad film !\t0\n' > "$T/d.tsv"
opts=(--data "$T/d.tsv" --conditions pe --explainers self --no-progress --model sim
	--base-url "$SIM_URL" --lime-samples 5 --bootstrap 10 --cache "$T/c.sqlite")
# explanations files: mine names ep only; theirs names pe on one line, ep on another
printf '%s\n' '{"id":"r1","method":"mine","values":[0.5,0.1,0],"condition":"ep"}' \
	'{"id":"r2","method":"mine","values":[-0.5,0.1,0],"condition":"ep-topk"}' > "$T/ep.jsonl"
printf '%s\n' '{"id":"r1","method":"theirs","values":[0.5,0.1,0],"condition":"pe"}' \
	'{"id":"r2","method":"theirs","values":[-0.5,0.1,0],"condition":"ep"}' > "$T/mixed.jsonl"

before=$(sim_asked)
check_exit "a method of conditions the run does not have: exit 1" 1 \
	"$X" run "${opts[@]}" --out "$T/a" --explanations "$T/ep.jsonl"
check_eq "... the message names the file, line, method and conditions, and the way out" \
	"selfexp: '$T/ep.jsonl' line 1: method 'mine' explains only conditions ep, ep-topk, which the run does not have (--conditions pe): add them to --conditions, or leave \"condition\" out of the method's lines" \
	"$(cat "$T/last.err")"
check "... nothing written" test ! -e "$T/a"
check_eq "... nothing sent" "$before" "$(sim_asked)"
check_exit "... the same with --dry-run: exit 1" 1 \
	"$X" run "${opts[@]}" --out "$T/a1" --explanations "$T/ep.jsonl" --dry-run
grep -q "method 'mine' explains only conditions ep, ep-topk" "$T/last.err" && ok "... with the message" ||
	{ fail "... with the message"; sed 's/^/#   /' "$T/last.err"; }
check_exit "... with it among other files: exit 1" 1 \
	"$X" run "${opts[@]}" --out "$T/a2" --explanations "$T/mixed.jsonl" --explanations "$T/ep.jsonl"
grep -q "method 'mine' explains only conditions ep, ep-topk" "$T/last.err" && ok "... with the message" ||
	{ fail "... with the message"; sed 's/^/#   /' "$T/last.err"; }
check "... nothing written" test ! -e "$T/a1" -a ! -e "$T/a2"

check_exit "a method with a line for the run's condition: exit 0" 0 \
	"$X" run "${opts[@]}" --out "$T/b" --explanations "$T/mixed.jsonl"
check "... run.json counts its line for ep as unused, not as an explanation" python3 -c '
import json, sys
x = json.load(open(sys.argv[1]))["explanations"]
f, m = x["files"][0], x["methods"]["theirs"]
ok = f["explanations"] == 1 and f["unused"] == 1 and m["explanations"] == 1 and m["conditions"] == ["pe"]
print("#  ", json.dumps(x)) if not ok else None
sys.exit(not ok)' "$T/b/run.json"
check_eq "... r1 has its explanation, r2 none (recorded as missing)" "r1 ok [0.5, 0.1, 0]|r2 ok None" \
	"$(python3 -c '
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["method"] == "theirs": print(r["id"], r["status"], r["importance"])' "$T/b/records.jsonl" | paste -sd '|')"
check_exit "score reproduces the run" 0 "$X" score "$T/b" --cache "$T/c.sqlite"
done_testing
