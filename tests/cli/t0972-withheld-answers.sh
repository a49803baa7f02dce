#!/usr/bin/env bash
# A 200 that holds no answer of the model (tests/cli/withheld.py): a content
# filter's (content null or "", finish_reason "content_filter") and a
# reasoning model's cap spent before any text (content "", finish_reason
# "length"). Such a request fails with the reason (not "unparseable", as if
# the model had answered nonsense), is not cached and is not retried; the run
# is partial (exit 5), its tokens are counted, and a re-run after the server
# recovers sends only those requests and ends complete. The sim's
# openai-reasoning dialect spends its reasoning tokens inside the cap, as
# OpenAI's reasoning models do.
. "$(dirname "$0")/lib.sh"

start_sim
if ! start_pyserver withheld "$SIM_URL" "$T/switch"; then
	fail "tests/cli/withheld.py started and printed its URL"
	done_testing; exit 1
fi
W=$PYSERVER_URL
printf 'sentence\tlabel\ngood movie .\t1\nbad film !\t0\na fine cast .\t1\nbad acting .\t0\n' > "$T/d.tsv"
opts=(--data "$T/d.tsv" --conditions pe --explainers self --no-metrics --model sim --no-progress
	--timeout 10 --retries 2)
rows() { python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from answers").fetchone()[0])' "$1"; }
sent() { grep -c "\"mode\": \"$1\"" "$T/withheld.log"; }
# records RUN: "status:error" of each record, by review
records() { python3 -c 'import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    print(r["id"], r["status"], r.get("error") or "")' "$1/records.jsonl"; }
complete() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["complete"])' "$1/run.json"; }

for mode in filter filterempty cut; do
	case $mode in
	cut) why='no answer: the completion cap was spent before any text (finish_reason "length", 1024 reasoning tokens); pass a larger --max-tokens';;
	*) why='no answer: the server'"'"'s content filter withheld it (finish_reason "content_filter")';;
	esac
	d=$T/$mode
	touch "$T/switch"
	check_exit "$mode: exit 5 (partial run)" 5 "$X" run "${opts[@]}" --out "$d/run" --cache "$d/c.sqlite" \
		--base-url "$W/$mode/v1"
	grep -qF "$why" "$T/last.err" && ok "$mode: stderr gives the reason" ||
		{ fail "$mode: stderr gives the reason"; sed 's/^/#   /' "$T/last.err"; }
	check_eq "$mode: run.json complete false" False "$(complete "$d/run")"
	check_eq "$mode: the reviews without an answer failed with the reason, the others ok" \
		"1 ok |2 failed $why|3 ok |4 failed $why" "$(records "$d/run" | paste -sd '|')"
	check_eq "$mode: only the 2 answers are cached" 2 "$(rows "$d/c.sqlite")"
	check_eq "$mode: no request was sent twice (4 requests, none retried)" 4 "$(sent "$mode")"
	if [ $mode = cut ]; then
		check "$mode: the withheld answers' tokens are counted (2 x 1024 completion tokens, and more)" python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))["counts"]
sys.exit(not (c["completion_tokens"] > 2048 and c["reasoning_tokens"] == 2048))' "$d/run/run.json"
	fi
	rm -f "$T/switch"
	check_exit "$mode: the re-run after the server recovers exits 0" 0 "$X" run "${opts[@]}" \
		--out "$d/run" --cache "$d/c.sqlite" --base-url "$W/$mode/v1"
	check_eq "$mode: ... it sent only the 2 missing requests" 6 "$(sent "$mode")"
	check_eq "$mode: ... and is complete" True "$(complete "$d/run")"
	check_eq "$mode: ... every record ok" "1 ok |2 ok |3 ok |4 ok " "$(records "$d/run" | paste -sd '|')"
done
stop_sim

# the sim as a reasoning model: its 64 reasoning tokens come out of max_completion_tokens
start_sim --dialect openai-reasoning
pyt - "$SIM_URL" <<'PY'
import json, sys, urllib.request
def ask(cap):
    body = json.dumps({"model": "o4-mini", "max_completion_tokens": cap, "messages": [
        {"role": "user", "content": "<review> good movie . <review>"}]}).encode()
    with urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/chat/completions", data=body)) as r:
        return json.load(r)
a = ask(40)
c = a["choices"][0]
print(("ok" if c["message"]["content"] == "" and c["finish_reason"] == "length" else "not ok")
      + " sim openai-reasoning: a cap of 40 leaves no text, finish_reason length")
u = a["usage"]
print(("ok" if u["completion_tokens"] == 40 and u["completion_tokens_details"]["reasoning_tokens"] == 40
       else "not ok") + " ... and bills the 40 tokens as reasoning: %s" % json.dumps(u))
a = ask(1000)
print(("ok" if a["choices"][0]["message"]["content"] and a["choices"][0]["finish_reason"] == "stop"
       and a["usage"]["completion_tokens_details"]["reasoning_tokens"] == 64 else "not ok")
      + " ... a cap of 1000 leaves room for the answer")
PY
ropts=(--data "$T/d.tsv" --conditions pe --explainers self --no-metrics --model o4-mini --no-progress
	--base-url "$SIM_URL" --cache "$T/r.sqlite")
before=$(sim_asked)
check_exit "reasoning model, --max-tokens 50: exit 5 (no answer had)" 5 "$X" run "${ropts[@]}" --out "$T/r50" --max-tokens 50
grep -qF 'no answer: the completion cap was spent before any text (finish_reason "length", 50 reasoning tokens); pass a larger --max-tokens' "$T/last.err" &&
	ok "... the reason names the way out" || { fail "... the reason names the way out"; sed 's/^/#   /' "$T/last.err"; }
check_eq "... nothing cached" 0 "$(rows "$T/r.sqlite")"
check_exit "... the same run again: exit 5" 5 "$X" run "${ropts[@]}" --out "$T/r50" --max-tokens 50
check_eq "... it asked again (nothing was taken for an answer)" 8 "$(($(sim_asked) - before))"
check_exit "reasoning model, --max-tokens 1000: exit 0" 0 "$X" run "${ropts[@]}" --out "$T/r1000" --max-tokens 1000
check_eq "... every record ok" "1 ok |2 ok |3 ok |4 ok " "$(records "$T/r1000" | paste -sd '|')"
done_testing
