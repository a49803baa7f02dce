#!/usr/bin/env bash
# The report in a real browser, offline: headless Chromium renders it with no
# JavaScript error, the sorting/filtering script runs, the key elements are in
# the DOM, and a screenshot is kept in build/test-artifacts/report.png.
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

browse() {
	timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-background-networking \
		--disable-component-update --disable-sync --no-first-run --user-data-dir="$T/prof" \
		--enable-logging=stderr --v=0 "$@" "file://$T/report.html"
}
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
done_testing
