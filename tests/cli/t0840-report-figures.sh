#!/usr/bin/env bash
# The report's figures (issue 19), checked against the run directory they come
# from: a forest plot per faithfulness metric whose rows are summary.json's
# means and intervals; deletion curves whose points are the records' per-bin
# probabilities averaged over reviews, with summary.json's AOPC in the legend
# (and that AOPC equal to the area the curve shows); a reliability diagram per
# condition whose bins give back summary.json's ECE. Every figure has a title,
# a description, axis labels and a tooltip on every mark.
. "$(dirname "$0")/lib.sh"

check_exit "selfexp demo (36 reviews, every condition and explainer)" 0 \
	"$X" demo --no-progress --out "$T/demo"
check "the report is there" test -s "$T/demo/report.html"

pyt - "$T/demo" <<'PY'
import json, math, re, sys
from html.parser import HTMLParser
D = sys.argv[1]
h = open(D + "/report.html", encoding="utf-8").read()
S = json.load(open(D + "/summary.json"))
R = [json.loads(l) for l in open(D + "/records.jsonl")]
conds = S["conditions"]
faith = ["comprehensiveness", "sufficiency", "df_mit", "df_frac", "rankdel",
         "aopc_comprehensiveness", "aopc_sufficiency"]

def close(a, b, tol=1e-5):
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) <= tol)

def num(s):
    return None if s in ("", "nan", "-nan", None) else float(s)

m = re.search(r'<section id="figures">(.*?)</section>', h, re.S)
print(("ok" if m else "not ok"), "the report has a Figures section")
fig = m.group(1) if m else ""
print(("ok" if '<a href="#figures">' in h else "not ok"), "the navigation links to it")

# ---- forest plots: one per metric, rows = summary.json's (condition, method) with a mean
for key in faith:
    want = [(c, meth, a[key]) for c, v in conds.items() for meth, a in v["methods"].items()
            if a.get(key) and a[key]["mean"] is not None]
    f = re.search(r'<figure class="fig forest" data-metric="%s" data-rows="(\d+)">(.*?)</figure>' % key, fig, re.S)
    if not f:
        print("not ok forest plot of %s is missing" % key)
        continue
    rows = re.findall(r'<g class="row" data-cond="([^"]*)" data-method="([^"]*)" data-mean="([^"]*)" data-lo="([^"]*)" data-hi="([^"]*)"><title>([^<]*)</title>', f.group(2))
    same = len(rows) == len(want) and all(
        r[0] == w[0] and r[1] == w[1] and close(num(r[2]), w[2]["mean"]) and
        close(num(r[3]), w[2]["ci_lo"]) and close(num(r[4]), w[2]["ci_hi"])
        for r, w in zip(rows, want))
    print(("ok" if same and want else "not ok"),
          "forest plot of %s: %d rows, means and intervals as summary.json gives them" % (key, len(rows)))
    tip = rows[0][5] if rows else ""
    print(("ok" if "95 % interval [" in tip and "n = " in tip else "not ok"),
          "forest plot of %s: each row has a tooltip with its interval and n (%r)" % (key, tip))

# ---- deletion curves: recomputed from records.jsonl
def curve(cond, meth, k):
    at = ("comprehensiveness_at", "sufficiency_at")[k]
    ao = ("aopc_comprehensiveness", "aopc_sufficiency")[k]
    px, pts, n = 0.0, [0.0] * 5, 0
    for r in R:
        mt = r.get("metrics")
        if r["condition"] != cond or r["method"] != meth or not mt or mt.get(ao) is None:
            continue
        y = r.get("label_x", r["prediction"]["label"])
        p = r["p_pos_x"] if y == 1 else 1 - r["p_pos_x"]
        if any(v is None for v in mt[at]):
            continue
        n += 1
        px += p
        pts = [a + p - v for a, v in zip(pts, mt[at])]
    return (px / n, [a / n for a in pts], n) if n else (None, None, 0)

ncurves = 0
for c, v in conds.items():
    f = re.search(r'<figure class="fig curves" data-cond="%s">(.*?)</figure>' % re.escape(c), fig, re.S)
    if not f:
        print("not ok deletion curves of %s are missing" % c)
        continue
    for meth in v["methods"]:
        for k, name in enumerate(("removed", "kept")):
            px, pts, n = curve(c, meth, k)
            got = [(float(pc), float(p)) for pc, p in re.findall(
                r'class="pt" data-method="%s" data-curve="%s" data-pct="([^"]*)" data-p="([^"]*)"' % (meth, name), f.group(1))]
            want = ([(0.0, px)] if k == 0 else []) + list(zip([1.0, 5.0, 10.0, 20.0, 50.0], pts or []))
            ok = n and len(got) == len(want) and all(a[0] == b[0] and close(a[1], b[1]) for a, b in zip(got, want))
            print(("ok" if ok else "not ok"),
                  "%s %s, top tokens %s: the curve is the records' mean P(label) at 0/1/5/10/20/50 %% (%s)" % (c, meth, name, got[:2]))
            lg = re.search(r'<g class="legend" data-method="%s" data-curve="%s" data-aopc="([^"]*)" data-n="(\d+)">.*?AOPC ([0-9.&a-z;-]+) \((\d+) reviews\)' % (meth, name), f.group(1))
            agg = v["methods"][meth][("aopc_comprehensiveness", "aopc_sufficiency")[k]]
            ok = lg and close(num(lg.group(1)), agg["mean"]) and int(lg.group(2)) == agg["n"] == n
            print(("ok" if ok else "not ok"),
                  "%s %s %s: the legend has summary.json's AOPC (%s) over its n (%s) reviews" % (c, meth, name, agg["mean"], agg["n"]))
            area = px - sum(pts) / 5 if n else None
            print(("ok" if n and close(area, agg["mean"], 1e-9) else "not ok"),
                  "%s %s %s: the AOPC is the area the curve shows (P(label|x) - mean of the points = %s)" % (c, meth, name, area))
            ncurves += 1
print(("ok" if ncurves >= 20 else "not ok"), "every (condition, method) has its two curves (%d)" % ncurves)

# ---- reliability diagrams: the ECE's bins, giving back summary.json's ECE
own = [r for r in R if r["method"] in ("self", "topk", "prediction")]
for c, v in conds.items():
    pairs = [(r["prediction"]["confidence"], r["prediction"]["label"] == r["gold"]) for r in own
             if r["condition"] == c and r["status"] in ("ok", "ok_with_repairs", "no_explanation")
             and r.get("prediction") and r.get("gold") is not None]
    f = re.search(r'<figure class="fig reliability" data-cond="%s" data-answers="(\d+)" data-ece="([^"]*)">(.*?)</figure>' % re.escape(c), fig, re.S)
    if not f:
        print("not ok reliability diagram of %s is missing" % c)
        continue
    bins = [(int(b), int(n), float(cf), float(a)) for b, n, cf, a in re.findall(
        r'<g class="bin" data-bin="(\d+)" data-n="(\d+)" data-conf="([^"]*)" data-acc="([^"]*)">', f.group(3))]
    want = {}
    for cf, ok in pairs:
        b = min(int(cf * 10), 9)
        want.setdefault(b, []).append((cf, ok))
    same = [b[0] for b in bins] == sorted(want) and all(
        b[1] == len(want[b[0]]) and close(b[2], sum(x for x, _ in want[b[0]]) / b[1]) and
        close(b[3], sum(o for _, o in want[b[0]]) / b[1]) for b in bins)
    print(("ok" if same and bins else "not ok"),
          "%s: the diagram's bins are the answers' (count, mean confidence, accuracy) per tenth (%d bins)" % (c, len(bins)))
    tot = sum(b[1] for b in bins)
    ece = sum(b[1] / tot * abs(b[3] - b[2]) for b in bins) if tot else None
    print(("ok" if tot == int(f.group(1)) == len(pairs) and close(ece, v["ece"], 1e-5) and close(num(f.group(2)), v["ece"]) else "not ok"),
          "%s: its bins give summary.json's ECE (%s vs %s) over %d answers" % (c, ece, v["ece"], tot))
    print(("ok" if re.search(r'>\s*\d+</text></g>', f.group(3)) else "not ok"),
          "%s: the bin counts are written on the diagram" % c)

# ---- accessibility: every figure has an accessible name and description, axis labels, tooltips
class P(HTMLParser):
    def __init__(s):
        super().__init__(); s.svgs = []; s.cur = None; s.stack = []; s.titles = 0; s.marks = 0
    def handle_starttag(s, tag, a):
        a = dict(a)
        if tag == "svg":
            s.cur = {"id": a.get("id"), "role": a.get("role"), "lab": a.get("aria-labelledby", ""),
                     "kids": [], "marks": 0, "titled": 0, "text": ""}
            s.svgs.append(s.cur)
        elif s.cur is not None:
            s.cur["kids"].append((tag, a.get("id")))
            if tag in ("circle", "polygon") or (tag == "rect" and a.get("fill") not in ("#f5f5f5",) and not a.get("x") == "0"):
                s.cur["marks"] += 1
        s.stack.append(tag)
    def handle_endtag(s, tag):
        while s.stack:
            t = s.stack.pop()
            if t == tag:
                break
        if tag == "svg":
            s.cur = None
    def handle_data(s, d):
        if s.cur is not None:
            s.cur["text"] += d
p = P(); p.feed(fig)
figs = [s for s in p.svgs if s["id"] and s["id"].startswith("fig-")]
print(("ok" if len(figs) == len(faith) + 2 * len(conds) else "not ok"),
      "%d figures: %d forest plots, %d deletion-curve and %d reliability figures" % (len(figs), len(faith), len(conds), len(conds)))
bad = [s["id"] for s in figs if s["role"] != "img" or s["lab"] != "%s-t %s-d" % (s["id"], s["id"])
       or s["kids"][:2] != [("title", s["id"] + "-t"), ("desc", s["id"] + "-d")]]
print(("ok" if not bad else "not ok"), "every figure is role=img, named by its own <title> and <desc> (%s)" % bad[:3])
lab = [s["id"] for s in figs if not (("mean with its 95 % interval" in s["text"]) or
       ("mean P(label)" in s["text"] and "% of the tokens removed" in s["text"] and "% of the tokens kept" in s["text"]) or
       ("verbal confidence" in s["text"] and "accuracy" in s["text"]))]
print(("ok" if not lab else "not ok"), "every figure labels its axes (%s)" % lab[:3])
# every data mark (point, bar, marker) is inside an element with a <title>
untitled = re.findall(r'<(?:circle|polygon)[^>]*class="pt"[^>]*>(?!<title>)', fig)
print(("ok" if not untitled else "not ok"), "every curve point has its own <title> tooltip (%d without)" % len(untitled))
gs = re.findall(r'<g class="(?:row|bin)"[^>]*>(<title>)?', fig)
print(("ok" if gs and all(gs) else "not ok"), "every forest row and reliability bin has a <title> tooltip (%d)" % len(gs))
# readable without colour: the methods differ in marker shape and dash pattern, not only in colour
bad = []
for f in re.findall(r'<figure class="fig curves".*?</figure>', fig, re.S):
    leg = re.findall(r'<g class="legend" data-method="([^"]*)" data-curve="removed"[^>]*><line[^>]*stroke-dasharray="([^"]*)"/><(\w+)', f)
    if len({(d, s) for _, d, s in leg}) != len(leg) or len({s for _, _, s in leg}) != len(leg) or len(leg) < 2:
        bad.append(leg)
print(("ok" if not bad else "not ok"),
      "in every deletion-curve figure each method has its own dash pattern and marker shape (%s)" % bad[:1])
PY

# a hostile summary.json: condition and method names with markup are not drawn raw
mkdir -p "$T/evil"
cp "$T/demo/run.json" "$T/evil/"
python3 - "$T/demo/summary.json" "$T/evil/summary.json" "$T/demo/records.jsonl" "$T/evil/records.jsonl" <<'PY'
import json, sys
with open(sys.argv[4], "w") as out:
    for l in open(sys.argv[3]):
        r = json.loads(l)
        if r["condition"] == "ep":
            r["condition"] = 'ep"><script>alert(1)</script>'
        out.write(json.dumps(r) + "\n")
s = json.load(open(sys.argv[1]))
c = s["conditions"]
c['ep"><script>alert(1)</script>'] = c.pop("ep")
m = c["pe"]["methods"]
m["x\"><img src=x onerror=alert(2)>"] = m.pop("lime")
json.dump(s, open(sys.argv[2], "w"))
PY
check_exit "report on a summary.json with markup in its names" 0 "$X" report "$T/evil" -o "$T/evil.html"
check "no raw markup from the names in the page" sh -c \
	"! grep -q '<script>alert(1)' '$T/evil.html' && ! grep -q '<img src=x' '$T/evil.html'"

# an old run (no label_x, no ece_ci): the figures are still drawn from what it has
check_exit "report on tests/golden/run-small" 0 "$X" report "$TESTS_DIR/golden/run-small" -o "$T/small.html"
check "it has forest plots, deletion curves and reliability diagrams" sh -c \
	"grep -q 'class=\"fig forest\"' '$T/small.html' && grep -q 'class=\"fig curves\"' '$T/small.html' && grep -q 'class=\"fig reliability\"' '$T/small.html'"
done_testing
