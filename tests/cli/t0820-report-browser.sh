#!/usr/bin/env bash
# The report in a real browser, offline: headless Chromium renders it with no
# JavaScript error, the sorting/filtering script runs, the key elements are in
# the DOM, and a screenshot is kept in build/test-artifacts/report.png.
# Then the figures (forest plots, deletion curves, reliability diagrams) at 36
# reviews (selfexp demo) and at 1,000 (a sim run over 1,000 SST-2 test
# sentences, E-P, self and occlusion): in the DOM with a non-zero size, no
# console message and no Content-Security-Policy violation, no review card whose
# tokens run out of it (a long review wraps), screenshots of the
# page and of the figures kept in build/test-artifacts/ (report-36.png,
# figures-36.png, report-1000.png, figures-1000.png; not committed). Size and
# render time are printed as diagnostics (BENCHMARKS.md), never asserted.
# Chromium is an optional test dependency (scripts/deps.sh); without it: SKIP.
. "$(dirname "$0")/lib.sh"

CHROMIUM=
for c in chromium chromium-browser google-chrome; do
	command -v "$c" > /dev/null 2>&1 && { CHROMIUM=$c; break; }
done
[ -n "$CHROMIUM" ] || skip_all "chromium is not installed (apt-get install chromium; scripts/deps.sh tries)"

RUN=$TESTS_DIR/golden/run-small
ART=$SELFEXP_HOME/${BUILD:-build/default}/test-artifacts
mkdir -p "$ART"
"$X" report "$RUN" -o "$T/report.html" > /dev/null 2>&1
check "report written" test -s "$T/report.html"

browse_file() { # browse_file HTML [chromium args...]
	local f=$1; shift
	timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-background-networking \
		--disable-component-update --disable-sync --no-first-run --user-data-dir="$T/prof" \
		--enable-logging=stderr --v=0 "$@" "file://$f"
}
browse() { browse_file "$T/report.html" "$@"; }
browse --dump-dom > "$T/dom.html" 2> "$T/chromium.log"
rc=$?
if [ "$rc" -ne 0 ] && ! [ -s "$T/dom.html" ]; then
	if grep -qiE 'cannot open display|no usable sandbox|failed to launch' "$T/chromium.log"; then
		skip_all "chromium cannot run here: $(grep -iE 'display|sandbox|launch' "$T/chromium.log" | head -n 1)"
	fi
fi
check "chromium --dump-dom renders the report (exit $rc)" test -s "$T/dom.html"
check "no uncaught JavaScript error in the console log" sh -c "! grep -q 'Uncaught' '$T/chromium.log'"
js_error() { grep -qE '<title>JS-ERROR|<html[^>]* data-js-error=' "$1" || grep -q 'Uncaught' "$2"; }
check "no JavaScript error trapped by the page (title, data-js-error)" sh -c "! grep -qE '<title>JS-ERROR|<html[^>]* data-js-error=' '$T/dom.html'"
check "the sorting/filtering script ran (data-ready on <html>)" grep -q 'data-ready="[0-9]' "$T/dom.html"
check "the script counted the cards" grep -qE 'id="shown">32 of 32 shown<' "$T/dom.html"
for key in 'id="t-accuracy"' 'id="t-faithfulness"' 'class="heat"' 'id="cards"' 'id="failures"' 'class="card"'; do
	check "the DOM has $key" grep -q "$key" "$T/dom.html"
done
check "cards are sorted by disagreement, highest first (and some card has one)" python3 - "$T/dom.html" <<'PY'
import re, sys
d = [float(x) if x else None for x in re.findall(r'<div class="card"[^>]* data-dis="([^"]*)"', open(sys.argv[1]).read())]
v = [x for x in d if x is not None]
sys.exit(0 if v and v == sorted(v, reverse=True) and d[:len(v)] == v else 1)
PY

# the detector itself: a report with a broken script is caught
cp "$T/report.html" "$T/good.html"
sed -i 's|</body>|<script>no_such_function();</script></body>|' "$T/report.html"
browse --dump-dom > "$T/bad-dom.html" 2> "$T/bad.log"
check "a script error in the page would be detected" js_error "$T/bad-dom.html" "$T/bad.log"
mv "$T/good.html" "$T/report.html"

browse --screenshot="$T/shot.png" --window-size=1280,2000 > /dev/null 2> "$T/shot.log"
(cd "$T" && [ -s shot.png ]) || mv "$(ls -t "$T"/*.png ./screenshot.png 2> /dev/null | head -n 1)" "$T/shot.png" 2> /dev/null
check "a screenshot was taken" test -s "$T/shot.png"
check "the screenshot is a PNG" sh -c "head -c 8 '$T/shot.png' | od -An -c | grep -q 'P   N   G'"
cp "$T/shot.png" "$ART/report.png" 2> /dev/null && echo "# screenshot kept in $ART/report.png"

# ---- the figures, at 36 and at 1,000 reviews
# probe SRC DST: a copy of the report that records CSP violations from the first
# byte on (data-csp on <html>) and the rendered size of every figure (data-figs)
probe() {
	python3 - "$1" "$2" <<'PY'
import sys
src, dst = sys.argv[1:3]
h = open(src, encoding="utf-8").read()
early = ("<script>window.__csp=[];document.addEventListener('securitypolicyviolation',"
         "function(e){window.__csp.push(e.violatedDirective+' '+e.blockedURI);});</script>")
late = ("<script>(function(){var out=[];"
        "document.querySelectorAll('figure.fig svg').forEach(function(s){"
        "var r=s.getBoundingClientRect();out.push(s.id+':'+Math.round(r.width)+'x'+Math.round(r.height));});"
        "document.documentElement.setAttribute('data-figs',out.join(' '));"
        "var ovf=0,worst=0;document.querySelectorAll('.card').forEach(function(c){"
        "var t=c.querySelector('table');if(!t)return;"
        "var d=t.getBoundingClientRect().right-c.getBoundingClientRect().right;"
        "if(d>1){ovf++;worst=Math.max(worst,Math.round(d));}});"
        "document.documentElement.setAttribute('data-ovf',ovf+' '+worst);"
        "setTimeout(function(){document.documentElement.setAttribute('data-csp',"
        "window.__csp.length+' '+window.__csp.join('|'));},0);})();</script>")
h = h.replace("<head>\n", "<head>\n" + early, 1).replace("</body>", late + "</body>", 1)
open(dst, "w", encoding="utf-8").write(h)
PY
}
# figures_only SRC DST: the report with every section but the figures hidden, for a screenshot
figures_only() {
	sed 's|</head>|<style>main>section:not(#figures){display:none}</style></head>|' "$1" > "$2"
}
# figures NAME RUNDIR REVIEWS: the figures of RUNDIR's report in Chromium
figures() {
	local name=$1 run=$2 n=$3 t0 t1
	check_exit "$name: report" 0 "$X" report "$run" -o "$T/$name.html"
	probe "$T/$name.html" "$T/$name-probe.html"
	t0=$(date +%s%N)
	browse_file "$T/$name-probe.html" --dump-dom > "$T/$name.dom" 2> "$T/$name.log"
	t1=$(date +%s%N)
	check "$name: chromium renders it" grep -q 'data-figs=' "$T/$name.dom"
	echo "# $name: $n reviews, report $(wc -c < "$T/$name.html") bytes, script done at" \
		"$(grep -o 'data-ready="[0-9]*"' "$T/$name.dom" | tr -dc 0-9) ms, chromium --dump-dom" \
		"$(( (t1 - t0) / 1000000 )) ms"
	check "$name: no console message (errors, CSP reports)" sh -c "! grep -q ':CONSOLE' '$T/$name.log'"
	check "$name: no Content-Security-Policy violation" grep -q 'data-csp="0 "' "$T/$name.dom"
	check "$name: no JavaScript error trapped by the page" sh -c "! grep -qE '<title>JS-ERROR|<html[^>]* data-js-error=' '$T/$name.dom'"
	check "$name: every review's tokens wrap inside its card (data-ovf: cards overflowing, by px: $(grep -o 'data-ovf="[^"]*"' "$T/$name.dom"))" \
		grep -q 'data-ovf="0 0"' "$T/$name.dom"
	pyt - "$T/$name.dom" "$run/summary.json" "$name" <<'PY'
import json, re, sys
dom, S, name = open(sys.argv[1], encoding="utf-8").read(), json.load(open(sys.argv[2])), sys.argv[3]
m = re.search(r'data-figs="([^"]*)"', dom)
figs = dict(f.split(":") for f in m.group(1).split()) if m and m.group(1) else {}
conds = list(S["conditions"])
want = ["fig-forest-" + k for k in ("comprehensiveness", "sufficiency", "df_mit", "df_frac",
        "rankdel", "aopc_comprehensiveness", "aopc_sufficiency")]
want += ["fig-curves-" + c for c in conds] + ["fig-rel-" + c for c in conds]
missing = [w for w in want if w not in figs]
print(("ok" if not missing else "not ok"), "%s: every figure is in the DOM (%d; missing %s)" % (name, len(figs), missing))
zero = [k for k, v in figs.items() if min(int(x) for x in v.split("x")) <= 0]
print(("ok" if figs and not zero else "not ok"), "%s: every figure has a non-zero rendered size (%s)" % (name, zero or sorted(figs.items())[:2]))
pts = len(re.findall(r'class="pt"', dom))
bins = len(re.findall(r'<g class="bin"', dom))
print(("ok" if pts and bins else "not ok"), "%s: the curves have points (%d) and the diagrams bins (%d)" % (name, pts, bins))
PY
	browse_file "$T/$name.html" --screenshot="$T/$name.png" --window-size=1280,2000 > /dev/null 2> "$T/$name-shot.log"
	figures_only "$T/$name.html" "$T/$name-fig.html"
	browse_file "$T/$name-fig.html" --screenshot="$T/$name-fig.png" --window-size=1500,3200 > /dev/null 2> "$T/$name-figshot.log"
	check "$name: screenshots of the page and of the figures" sh -c \
		"head -c 8 '$T/$name.png' | od -An -c | grep -q 'P   N   G' && head -c 8 '$T/$name-fig.png' | od -An -c | grep -q 'P   N   G'"
	cp "$T/$name.png" "$ART/report-$n.png" 2> /dev/null
	cp "$T/$name-fig.png" "$ART/figures-$n.png" 2> /dev/null && echo "# kept $ART/report-$n.png and $ART/figures-$n.png"
}

check_exit "selfexp demo: 36 reviews, every condition and explainer" 0 "$X" demo --no-progress --out "$T/demo"
figures demo36 "$T/demo" 36

# the detectors: a CSP violation and a console message in the page would be seen
sed 's|</body>|<img src="https://example.invalid/x.png"><script>console.log("x")</script></body>|' \
	"$T/demo36.html" > "$T/bad-csp.html"
probe "$T/bad-csp.html" "$T/bad-csp-probe.html"
browse_file "$T/bad-csp-probe.html" --dump-dom > "$T/bad-csp.dom" 2> "$T/bad-csp.log"
check "a CSP violation would be detected (data-csp)" grep -q 'data-csp="1 img-src' "$T/bad-csp.dom"
check "a console message would be detected (the log)" grep -q ':CONSOLE' "$T/bad-csp.log"
# and a figure drawn at zero size would be too
sed 's|<svg xmlns="http://www.w3.org/2000/svg" id="fig-rel-ep" width="[0-9]*"|<svg xmlns="http://www.w3.org/2000/svg" id="fig-rel-ep" width="0"|' \
	"$T/demo36.html" > "$T/zero.html"
probe "$T/zero.html" "$T/zero-probe.html"
browse_file "$T/zero-probe.html" --dump-dom > "$T/zero.dom" 2> /dev/null
check "a zero-size figure would be detected" grep -qE 'data-figs="[^"]*fig-rel-ep:0x' "$T/zero.dom"

if [ -d "$SELFEXP_SHARED/data/sst2" ]; then
	start_sim --preset literature
	check "a run over 1,000 SST-2 test sentences (E-P, self and occlusion)" "$X" run \
		--data "$SELFEXP_SHARED/data/sst2/test.tsv" --limit 1000 --model sim --base-url "$SIM_URL" \
		--conditions ep --explainers self,occlusion --out "$T/big" --cache "$T/big.sqlite" \
		--no-progress --concurrency 64
	stop_sim
	figures big1000 "$T/big" 1000
else
	echo "# shared data not found at '$SELFEXP_SHARED': the 1,000-review check is left out"
fi
done_testing
