#!/usr/bin/env bash
# selfexp sim + selfexp parse: every style's answers parse back to the sim's truth
# (prediction, faithful values, top-k), truncated ones to what survives the cut.
. "$(dirname "$0")/lib.sh"
# parse is part of every build: a failing --help is a failure, not a reason to skip
if ! "$X" parse --help > /dev/null 2> "$T/parse-help.err"; then
	sed 's/^/#   /' "$T/parse-help.err"
	fail "selfexp parse --help exits 0"
	done_testing; exit 1
fi

for style in clean fenced prose echo unquoted truncated mixed; do
	start_sim --style "$style" --confidence-decimals 6 || { fail "start sim --style $style"; continue; }
	X=$X STYLE=$style pyt - <<'PY'
import json, os, subprocess
from simc import *
style, X = os.environ["STYLE"], os.environ["X"]
m = Model()
cl = Client(os.environ["SIM_URL"])
reviews = ["it 's a charming and often affecting journey , with a lovely cast .",
           "the story is far too predictable and the acting is just dreadful .",
           "a gorgeous , witty , seductive movie ."]
for cond in CONDS:
    bad = []
    for review in reviews:
        toks = review.split()
        st, h, raw = cl.post("/v1/chat/completions", body(cond, review))
        c, d = content(raw)
        finish = d["choices"][0]["finish_reason"]
        r = subprocess.run([X, "parse", "-c", cond, "-t", review, "--compact"], input=c.encode(),
                           capture_output=True)
        try:
            p = json.loads(r.stdout)
        except ValueError:
            bad.append(f"parse exit {r.returncode}: {r.stderr.decode()[:200]}")
            continue
        pp = m.p_pos(toks)
        lab = int(pp > 0.5)
        f = m.faithful(toks)
        truncated = finish == "length"
        lists = cond != "pred"
        if truncated and cond.startswith("ep"):
            # the cut list may keep some items (no_prediction) or none (unparseable)
            if p["status"] not in ("no_prediction", "unparseable") or p["prediction"]:
                bad.append(f"truncated {cond}: status {p['status']}")
            continue
        if p["status"] not in ("ok", "ok_with_repairs"):
            if not (truncated and p["status"] == "no_explanation"):
                bad.append(f"status {p['status']} for {c!r}")
                continue
        pr = p["prediction"]
        if not pr or pr["label"] != lab or abs(pr["confidence"] - (pp if lab else 1 - pp)) > 1e-6:
            bad.append(f"prediction {pr} want {lab} {pp:.6f}")
        if truncated:
            continue
        if cond in ("ep", "pe"):
            if p["values"] is None or any(v is None or abs(v - w) > 1e-9 for v, w in zip(p["values"], f)):
                bad.append(f"values {p['values']} want {f}")
        if cond.endswith("topk"):
            k = topk_k(len(toks))
            want = sorted(range(len(toks)), key=lambda i: (-(f[i] if lab else -f[i]), i))[:k]
            # a top-k word that occurs twice in the review aligns to its first occurrence
            want = [toks.index(toks[i]) for i in want]
            if p["topk"] != want:
                bad.append(f"topk {p['topk']} want {want}")
    print(("not ok " if bad else "ok ") + f"{style} {cond}: parse recovers the truth" + ("; ".join([""] + bad[:2]) if bad else ""))
PY
	stop_sim
done
done_testing
