#!/usr/bin/env bash
# The sim's presets: --explain-pe explains the predict-first conditions
# another way, --overconfidence over-states the verbal confidence, and
# `selfexp demo` (preset literature) shows an E-P / P-E difference its
# statistics detect, which --preset plain does not have; the predictions
# are the same under both.
. "$(dirname "$0")/lib.sh"

start_sim --confidence-decimals 6 --explain-pe inverted --overconfidence 0.5 || { fail "sim starts"; done_testing; exit 1; }
pyt - <<'PY'
import os
from simc import *
m = Model()
url = os.environ["SIM_URL"]
review = "it 's a charming and often affecting journey , with a lovely cast ."
toks = review.split()
p = m.p_pos(toks)
c = max(p, 1 - p)
want = c + (1 - c) * 0.5
for cond in ("pred", "ep", "pe"):
    st, h, b = chat(url, body(cond, review))
    txt, _ = content(b)
    label, conf = PAIR_RE.search(txt).groups()
    ok = abs(float(conf) - want) < 1e-6
    print(("ok" if ok else "not ok") + f" {cond}: confidence {conf} = c + (1 - c) * 0.5 = {want:.6f} (c = {c:.6f})")
ep, _ = content(chat(url, body("ep", review))[2])
pe, _ = content(chat(url, body("pe", review))[2])
f = m.faithful(toks)
print(("ok" if imp_values(ep) == f else "not ok") + " ep keeps the faithful values under --explain-pe")
print(("ok" if imp_values(pe) == [-v + 0.0 for v in f] else "not ok") + " pe explains as --explain-pe inverted says")
PY
stop_sim
check_exit "sim --overconfidence 1.5: usage error" 2 "$X" sim --overconfidence 1.5
check_exit "sim --preset unknown: usage error" 2 "$X" sim --preset nonesuch
check "... naming the presets" grep -q "expected literature or plain" "$T/last.err"

# The demo's story: E-P self-explanations more faithful than P-E's, detected
check_exit "demo (preset literature): exit 0" 0 "$X" demo --no-progress --out "$T/lit"
check_exit "demo --preset plain: exit 0" 0 "$X" demo --no-progress --preset plain --out "$T/plain"
pyt - "$T/lit/summary.json" "$T/plain/summary.json" <<'PY'
import json, math, sys
lit, plain = (json.load(open(p)) for p in sys.argv[1:3])
def res(ok, what): print(("ok" if ok else "not ok") + " " + what)
for key in ("comprehensiveness", "rankdel"):
    c = lit["comparisons"]["ep-vs-pe/self"][key]
    res(c["mean_diff"] > 0 and c["p_holm"] < 0.01,
        f"literature: E-P {key} above P-E's by {c['mean_diff']:.3f}, Holm p {c['p_holm']:.2g} < 0.01")
    c = plain["comparisons"]["ep-vs-pe/self"][key]
    res(c["mean_diff"] == 0, f"plain: E-P and P-E {key} equal (difference {c['mean_diff']})")
for cond in ("ep", "pe"):
    a, b = lit["conditions"][cond]["accuracy"]["mean"], plain["conditions"][cond]["accuracy"]["mean"]
    res(a == b, f"{cond}: the presets differ in explanations only (accuracy {a} in both)")
PY
done_testing
