#!/usr/bin/env bash
# cache import takes no answer that is not one: a line whose response the
# content filter withheld (finish_reason "content_filter") or whose cap was
# spent before any text (finish_reason "length", no text) is a bad line, as
# runs never cache such a response. Before, import took it, replaced the good
# answer the cache held for its key and exited 0; the next run sent (and
# billed) every such request again.
. "$(dirname "$0")/lib.sh"

start_sim
"$X" run --data "$SELFEXP_HOME/data/demo.tsv" --limit 1 --out "$T/run" --base-url "$SIM_URL" \
	--model sim --lime-samples 10 --bootstrap 20 --cache "$T/c.sqlite" --no-progress \
	2> "$T/run.err"
check_eq "a small run exits 0" 0 $? || sed 's/^/#   /' "$T/run.err"
stop_sim
C=$T/c.sqlite
"$X" cache export --cache "$C" -o "$T/rows.jsonl"
check_eq "cache export exits 0" 0 $?
python3 - "$T" <<'PY'
import json, sys
t = sys.argv[1]
r = json.loads(open(t + "/rows.jsonl").readline())
def write(name, finish, content):
    x = json.loads(json.dumps(r))
    x["response"]["choices"][0]["finish_reason"] = finish
    x["response"]["choices"][0]["message"]["content"] = content
    open(t + "/" + name, "w").write(json.dumps(x) + "\n")
write("filtered.jsonl", "content_filter", "")
write("cut.jsonl", "length", " \n")
write("cut-text.jsonl", "length", r["response"]["choices"][0]["message"]["content"])
PY
"$X" cache export --cache "$C" -o "$T/before.jsonl"

check_exit "import of a line the content filter withheld exits 1" 1 \
	"$X" cache import --cache "$C" "$T/filtered.jsonl"
check "... saying why and the way out" grep -q \
	"'$T/filtered.jsonl' line 1: response has no answer: the content filter withheld it (finish_reason \"content_filter\"); runs never cache one: drop the line" \
	"$T/last.err"
check_exit "import of a line cut before any text exits 1" 1 \
	"$X" cache import --cache "$C" "$T/cut.jsonl"
check "... saying why" grep -q "line 1: response has no answer: no text (finish_reason \"length\")" \
	"$T/last.err"
"$X" cache export --cache "$C" -o "$T/after.jsonl"
check "the cache keeps every answer it held" cmp -s "$T/before.jsonl" "$T/after.jsonl"

rm -f "$T/new.sqlite"
check_exit "import of a withheld line into a new cache exits 1" 1 \
	"$X" cache import --cache "$T/new.sqlite" "$T/filtered.jsonl"
check_exit "an answer cut after some text is still taken" 0 \
	"$X" cache import --cache "$C" "$T/cut-text.jsonl"
check "... replacing the one held" grep -q "1 replaced an existing answer" "$T/last.err"
done_testing
