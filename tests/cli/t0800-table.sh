#!/usr/bin/env bash
# selfexp table: golden outputs of every format and layout on the small run
# directory in tests/golden/run-small (regenerate with scripts/update-golden and
# read the diff), the shape of each format, and the usage errors.
. "$(dirname "$0")/lib.sh"

RUN=$TESTS_DIR/golden/run-small
G=$TESTS_DIR/golden/table
for layout in paper long; do
	for fmt in md tex csv html; do
		"$X" table "$RUN" --format "$fmt" --layout "$layout" > "$T/$layout.$fmt" 2> "$T/err"
		if cmp -s "$G/$layout.$fmt" "$T/$layout.$fmt"; then
			ok "table --format $fmt --layout $layout matches tests/golden/table/$layout.$fmt"
		else
			fail "table --format $fmt --layout $layout differs from the golden (scripts/update-golden)"
			diff -u "$G/$layout.$fmt" "$T/$layout.$fmt" | head -n 20 | sed 's/^/#   /'
		fi
	done
done
"$X" table "$RUN" --format tex --standalone > "$T/standalone.tex"
check "tex --standalone matches its golden" cmp -s "$G/paper-standalone.tex" "$T/standalone.tex"
check "default format is md, layout paper" cmp -s <("$X" table "$RUN") "$G/paper.md"
"$X" table "$RUN" -o "$T/out.csv" --format csv
check "-o writes the file" cmp -s "$T/out.csv" "$G/paper.csv"

pyt - "$T" <<'PY'
import csv, re, sys
T = sys.argv[1]
# csv: tidy, 6 fields, numeric or NA values, no duplicate keys
for layout in ("paper", "long"):
    rows = list(csv.reader(open("%s/%s.csv" % (T, layout))))
    head, body = rows[0], rows[1:]
    ok = head == ["table", "condition", "method", "metric", "stat", "value"] and body
    ok = ok and all(len(r) == 6 for r in body)
    bad = [r for r in body if r[5] != "NA" and not re.match(r"^-?[0-9.e+-]+$", r[5])]
    keys = [tuple(r[:5]) for r in body]
    print(("ok" if ok and not bad else "not ok"), "%s.csv is tidy (%d rows, 6 fields, numbers or NA)" % (layout, len(body)))
    print(("ok" if len(keys) == len(set(keys)) else "not ok"), "%s.csv has one row per (table, condition, method, metric, stat)" % layout)
paper = {tuple(r[:5]): r[5] for r in list(csv.reader(open(T + "/paper.csv")))[1:]}
need = [("faithfulness", "pe", "self", "comprehensiveness", "mean"),
        ("faithfulness", "ep-topk", "topk", "sufficiency", "ci_hi"),
        ("accuracy", "ep", "", "parse_failures", "count"),
        ("agreement_spearman", "pe", "self~occlusion", "spearman", "n")]
print(("ok" if all(k in paper for k in need) else "not ok"), "paper.csv has the faithfulness, accuracy and agreement values")
# markdown: every table row has as many cells as its header
for layout in ("paper", "long"):
    good = True; tables = 0; cols = None
    for line in open("%s/%s.md" % (T, layout)):
        if line.startswith("|"):
            n = len(re.split(r"(?<!\\)\|", line.strip())) - 2
            if cols is None: cols = n; tables += 1
            elif n != cols: good = False
        else:
            cols = None
    print(("ok" if good and tables else "not ok"), "%s.md: %d tables, every row as wide as its header" % (layout, tables))
md = open(T + "/paper.md").read()
print(("ok" if md.count("**") >= 10 else "not ok"), "paper.md marks the best values in bold")
print(("ok" if "Excluded (parse failures, failed requests)" in md and "n (scored)" in md else "not ok"), "paper.md states n and the parse failures excluded")
# tex: balanced environments, booktabs rules, escaped underscores
for name in ("paper.tex", "long.tex", "standalone.tex"):
    s = open("%s/%s" % (T, name)).read()
    envs = re.findall(r"\\(begin|end)\{(\w+)\}", s)
    stack = []; good = True
    for be, env in envs:
        if be == "begin": stack.append(env)
        elif not stack or stack.pop() != env: good = False
    good = good and not stack and "\\toprule" in s and "\\bottomrule" in s
    print(("ok" if good else "not ok"), "%s: environments balanced, booktabs rules" % name)
s = open(T + "/standalone.tex").read()
print(("ok" if s.startswith("\\documentclass") and "\\usepackage{booktabs}" in s and s.rstrip().endswith("\\end{document}") else "not ok"), "--standalone is a complete document")
PY

# LaTeX that compiles as is: the standalone documents, and the fragment
# \input into a document that loads booktabs, as a paper would
if command -v pdflatex > /dev/null 2>&1; then
	"$X" table "$RUN" --format tex --layout long --standalone > "$T/long-standalone.tex"
	printf '%s\n' '\documentclass{article}' '\usepackage{booktabs}' '\usepackage[margin=2cm]{geometry}' \
		'\begin{document}' '\input{paper.tex}' '\end{document}' > "$T/fragment.tex"
	for doc in standalone long-standalone fragment; do
		(cd "$T" && pdflatex -interaction=nonstopmode -halt-on-error "$doc.tex" > "$doc.pdflatex.log" 2>&1)
		if check "pdflatex compiles $doc.tex" test -s "$T/$doc.pdf"; then :; else
			grep -A3 '^!' "$T/$doc.log" | head -n 8 | sed 's/^/#   /'; fi
		check "$doc.tex: no table wider than the text (no Overfull \\hbox)" \
			test -z "$(grep 'Overfull .hbox' "$T/$doc.log")"
	done
else
	ok "pdflatex compiles the LaTeX output # SKIP pdflatex not installed (Debian: texlive-latex-recommended)"
fi

check_exit "unknown format is a usage error" 2 "$X" table "$RUN" --format xls
check_exit "unknown layout is a usage error" 2 "$X" table "$RUN" --layout wide
check_exit "no run directory is a usage error" 2 "$X" table
check_exit "a directory without run.json fails with 1" 1 "$X" table "$T"
check "the message names the directory" grep -q "is not a run directory" "$T/last.err"
done_testing
