#!/usr/bin/env bash
# Every file of a run directory is JSON that any reader takes: valid UTF-8
# (a server's invalid bytes become U+FFFD, the raw bytes kept in
# answer_base64), no duplicate keys, and a \u0000 inside an answer is an
# error with a reason, never a silently cut text. Also against a hostile sim
# (--style mixed, faults).
. "$(dirname "$0")/lib.sh"

start_pyserver hostile || skip_all "hostile.py did not start: $(cat "$T/hostile.err")"
H=$PYSERVER_URL
printf 'sentence\tlabel\ngood film\t1\n' > "$T/one.tsv"

check_exit "a run whose answers are not UTF-8 exits 0" 0 "$X" run --data "$T/one.tsv" \
	--out "$T/bad" --cache "$T/bad.sqlite" --base-url "$H/badutf8/v1" --model m \
	--conditions pred --explainers self --no-metrics --no-progress
check_exit "a run whose answers hold \\u0000 exits 5" 5 "$X" run --data "$T/one.tsv" \
	--out "$T/nul" --cache "$T/nul.sqlite" --base-url "$H/nul/v1" --model m \
	--conditions pred --explainers self --no-metrics --no-progress --retries 0
check "... and names the NUL as the reason" grep -q 'NUL character' "$T/last.err"

start_sim --style mixed --fault-rate 0.2 --confidence-decimals 3 --stall-ms 300
check_exit "a run against a hostile sim exits 0 or 5" 0 bash -c "'$X' run --data '$SELFEXP_HOME/data/demo.tsv' \
	--limit 8 --out '$T/mixed' --cache '$T/mixed.sqlite' --base-url '$SIM_URL' --model sim \
	--conditions ep,pe,ep-topk --lime-samples 10 --bootstrap 20 --retries 1 --timeout 2 --no-progress; \
	rc=\$?; [ \$rc = 0 ] || [ \$rc = 5 ]"
stop_sim

pyt - "$T" <<'PY'
import base64, json, sys
T = sys.argv[1]
def check(what, cond): print(("ok " if cond else "not ok ") + what)
def strict(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key %r" % keys)
    return dict(pairs)
def read_all(path):
    raw = open(path, "rb").read()
    text = raw.decode("utf-8")          # raises on invalid UTF-8
    if path.endswith(".jsonl"):
        return [json.loads(l, object_pairs_hook=strict) for l in text.splitlines() if l]
    return [json.loads(text, object_pairs_hook=strict)]
for d in ("bad", "mixed"):
    for f in ("run.json", "summary.json", "records.jsonl"):
        try:
            read_all("%s/%s/%s" % (T, d, f))
            check("%s/%s: valid UTF-8 JSON without duplicate keys" % (d, f), True)
        except Exception as e:
            check("%s/%s: valid UTF-8 JSON without duplicate keys (%s)" % (d, f, e), False)
rec = read_all(T + "/bad/records.jsonl")[0]
check("the answer's bad bytes are U+FFFD", rec["answer"] == "(1, 0.9) caf\ufffd \ufffd\ufffd end")
raw = base64.b64decode(rec.get("answer_base64", ""))
check("answer_base64 holds the bytes as they came", raw == b"(1, 0.9) caf\xc3 \xff\xfe end")
check("the prediction still parses", rec["prediction"]["label"] == 1)
PY
# the cache's export too is UTF-8, and import takes the exact bytes back
"$X" cache export --cache "$T/bad.sqlite" -o "$T/bad.export.jsonl" 2> /dev/null
check "cache export of non-UTF-8 answers is valid UTF-8 JSON with response_base64" python3 -c "
import json, sys
rows = [json.loads(l) for l in open('$T/bad.export.jsonl', 'rb').read().decode('utf-8').splitlines()]
sys.exit(not (len(rows) == 1 and 'response_base64' in rows[0]))"
check_exit "... which import reads back" 0 "$X" cache import --cache "$T/re.sqlite" "$T/bad.export.jsonl"
check_exit "an offline run from the imported cache exits 0" 0 "$X" run --data "$T/one.tsv" \
	--out "$T/re" --cache "$T/re.sqlite" --base-url "$H/badutf8/v1" --model m \
	--conditions pred --explainers self --no-metrics --no-progress --offline
check "... with the same records, raw bytes included" cmp -s "$T/bad/records.jsonl" "$T/re/records.jsonl"
done_testing
