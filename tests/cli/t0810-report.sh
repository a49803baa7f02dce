#!/usr/bin/env bash
# selfexp report: a self-contained HTML file, every review and parse failure
# present, untrusted text from the data and the answers escaped; selfexp demo
# ends by writing DIR/report.html.
. "$(dirname "$0")/lib.sh"

RUN=$TESTS_DIR/golden/run-small
check_exit "report on the small run exits 0" 0 "$X" report "$RUN" -o "$T/r.html"
check_eq "it prints the report's path" "$T/r.html" "$(cat "$T/last.out")"
check "the file is there" test -s "$T/r.html"

# a hostile run directory: markup in tokens, ids and answers
mkdir -p "$T/evil"
cp "$RUN/run.json" "$RUN/summary.json" "$T/evil/"
python3 - "$RUN/records.jsonl" "$T/evil/records.jsonl" <<'PY'
import json, sys
out = open(sys.argv[2], "w")
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["id"] == "d01":
        r["tokens"][0] = "<script>alert('tok')</script>"
        if "answer" in r:
            r["answer"] = "</pre><img src=x onerror=alert(1)>\"' & \x01 \xff"
            r["status"] = "unparseable"
    out.write(json.dumps(r) + "\n")
PY
check_exit "report on a run with markup in its data exits 0" 0 "$X" report "$T/evil" -o "$T/evil.html"

pyt - "$T" "$RUN" <<'PY'
import json, re, sys
T, RUN = sys.argv[1], sys.argv[2]
h = open(T + "/r.html", encoding="utf-8").read()
ext = re.findall(r"""(?:src|href)\s*=\s*["']?(?:https?:|//)|<link\b|@import|url\(""", h)
print(("ok" if not ext else "not ok"), "self-contained: no external script, style, font or image (%s)" % ext[:3])
print(("ok" if "Content-Security-Policy" in h and "default-src 'none'" in h else "not ok"), "a CSP forbids loading anything")
for key in ('id="meta"', 'id="tables"', 'id="charts"', 'id="reviews"', 'id="failures"', "<svg", 'id="f-sort"', 'id="f-status"', 'id="t-faithfulness"'):
    print(("ok" if key in h else "not ok"), "the report has %s" % key)
recs = [json.loads(l) for l in open(RUN + "/records.jsonl")]
own = [r for r in recs if r["method"] in ("self", "topk", "prediction")]
print(("ok" if h.count('<div class="card"') == len(own) else "not ok"), "one card per (review, condition): %d" % len(own))
bad = [r for r in own if r["status"] not in ("ok", "ok_with_repairs")]
m = re.search(r'<section id="failures">(.*?)</section>', h, re.S)
rows = m.group(1).count("<tr><td>") if m else -1
print(("ok" if rows == len(bad) and bad else "not ok"), "the parse failures are listed with their answers: %d" % rows)
print(("ok" if h.count('<details>') >= len(own) else "not ok"), "every card has its raw answer in a <details>")
e = open(T + "/evil.html", encoding="utf-8", errors="strict").read()
print(("ok" if "<script>alert" not in e and "<img src=x" not in e else "not ok"), "markup from tokens and answers is escaped")
print(("ok" if "&lt;script&gt;alert(&#39;tok&#39;)&lt;/script&gt;" in e and "&lt;/pre&gt;&lt;img src=x onerror=alert(1)&gt;&quot;&#39; &amp;" in e else "not ok"), "escaped text is shown as text")
print(("ok" if e.count("<script>") == 2 else "not ok"), "only the report's own two scripts")
PY

check_exit "a missing run directory fails with 1" 1 "$X" report "$T/nowhere"
check_exit "no argument is a usage error" 2 "$X" report

# selfexp demo ends with DIR/report.html
check_exit "selfexp demo --conditions pe exits 0" 0 "$X" demo --no-progress --conditions pe --out "$T/demo/run"
check "demo prints the report's path" grep -qx "report: $T/demo/run/report.html" "$T/last.out"
check "demo wrote the report" grep -q 'id="reviews"' "$T/demo/run/report.html"
# the table's notes name the intervals summary.json used (an old summary says it had none named)
check_exit "table of the demo run" 0 "$X" table "$T/demo/run" --format md
check "... notes: Clopper-Pearson for accuracy and df_mit" \
	grep -q "Intervals (95 %, docs/statistics.md): Clopper-Pearson for accuracy, .*df\\\\_mit" "$T/last.out"
check "... notes: the studentized bootstrap for comprehensiveness" \
	grep -q "studentized bootstrap for [^;]*comprehensiveness" "$T/last.out"
check_exit "table of a summary from selfexp 0.1" 0 "$X" table "$SELFEXP_HOME/tests/golden/run-small" --format md
check "... notes: the percentile bootstrap, no method named" \
	grep -q "Intervals (95 %): percentile bootstrap (this summary.json names no method" "$T/last.out"
done_testing
