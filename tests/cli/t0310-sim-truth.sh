#!/usr/bin/env bash
# selfexp sim: answers carry the model's truth (computed here from data/sim-weights.txt):
# faithful values, exact P with --confidence-decimals 6, top-k, the other explain modes, seeds.
. "$(dirname "$0")/lib.sh"
need_shared
export DEV=$SELFEXP_SHARED/data/sst2/dev.tsv

start_sim --confidence-decimals 6 || { fail "start sim"; done_testing; exit 1; }
pyt - <<'PY'
import os, re
from simc import *
m = Model()
cl = Client(os.environ["SIM_URL"])
rows = [l.rstrip("\n").split("\t") for l in open(os.environ["DEV"], encoding="utf-8")][1:61]
bad_p = bad_v = bad_k = bad_acc = 0
for sent, gold in rows:
    toks = sent.split()
    p = m.p_pos(toks)
    lab = int(p > 0.5)
    st, h, raw = cl.post("/v1/chat/completions", body("pe", sent))
    c, d = content(raw)
    pair = PAIR_RE.search(c)
    if int(pair.group(1)) != lab or abs(float(pair.group(2)) - (p if lab else 1 - p)) > 1e-6 + 1e-12:
        bad_p += 1
        print(f"# P: {sent!r}: {pair.group(0)} want {lab} {p if lab else 1 - p:.6f}")
    vals = imp_values(c)
    want = m.faithful(toks)
    if len(vals) != len(want) or any(abs(a - b) > 1e-9 for a, b in zip(vals, want)):
        bad_v += 1
        print(f"# values: {sent!r}: {vals} want {want}")
    st, h, raw = cl.post("/v1/chat/completions", body("ep-topk", sent))
    c = content(raw)[0]
    k = topk_k(len(toks))
    order = sorted(range(len(toks)), key=lambda i: (-(want[i] if lab else -want[i]), i))[:k]
    words = [unquote(w) for w in re.findall(WORD, TOPK_LIST_RE.search(c).group(0)[1:-1]) if w.strip()]
    if words != [toks[i] for i in order]:
        bad_k += 1
        print(f"# top-k: {sent!r}: {words} want {[toks[i] for i in order]}")
print(("ok" if bad_p == 0 else "not ok") + f" --confidence-decimals 6: label and P(label) exact to 1e-6 on 60 dev sentences ({bad_p} off)")
print(("ok" if bad_v == 0 else "not ok") + f" faithful values = w_i / max|w| rounded to 3 decimals on 60 dev sentences ({bad_v} off)")
print(("ok" if bad_k == 0 else "not ok") + f" top-k words = the k largest toward the label ({bad_k} off)")
PY
stop_sim

# the other explain modes against faithful
start_sim --explain inverted && url_inv=$SIM_URL
start_sim --explain coarse && url_coarse=$SIM_URL
start_sim --explain random --seed 1 && url_r1=$SIM_URL
start_sim --explain random --seed 1 && url_r1b=$SIM_URL
start_sim --explain random --seed 2 && url_r2=$SIM_URL
start_sim --explain noisy:0.2 && url_noisy=$SIM_URL
export url_inv url_coarse url_r1 url_r1b url_r2 url_noisy
pyt - <<'PY'
import os, math
from simc import *
m = Model()
rows = [l.split("\t")[0] for l in open(os.environ["DEV"], encoding="utf-8")][1:31]
def values(url, sent):
    st, h, raw = chat(url, body("ep", sent))
    return imp_values(content(raw)[0])
inv = coarse = rnd = same = diff = 0
noise = []
for sent in rows:
    f = m.faithful(sent.split())
    inv += values(os.environ["url_inv"], sent) != [round(-x, 3) + 0.0 for x in f]
    half = [math.copysign(math.floor(abs(2 * x) + 0.5) / 2, x) + 0.0 for x in f]
    coarse += any(a != b and abs(abs(2 * x) % 1 - 0.5) > 0.002  # ties: f was rounded first
                  for a, b, x in zip(values(os.environ["url_coarse"], sent), half, f))
    r1 = values(os.environ["url_r1"], sent)
    rnd += not all(-1 <= v <= 1 for v in r1)
    same += r1 == values(os.environ["url_r1b"], sent)
    diff += r1 != values(os.environ["url_r2"], sent)
    nz = values(os.environ["url_noisy"], sent)
    noise += [a - b for a, b in zip(nz, f) if abs(b) < 0.7]
sd = math.sqrt(sum(x * x for x in noise) / len(noise))
print(("ok" if inv == 0 else "not ok") + f" inverted = -faithful ({inv} off)")
print(("ok" if coarse == 0 else "not ok") + f" coarse = faithful rounded to halves ({coarse} off)")
print(("ok" if rnd == 0 else "not ok") + " random values lie in [-1, 1]")
print(("ok" if same == len(rows) else "not ok") + " the same seed gives the same random values")
print(("ok" if diff == len(rows) else "not ok") + " another seed gives other random values")
print(("ok" if 0.15 < sd < 0.25 else "not ok") + f" noisy:0.2 adds noise of sd ~0.2 (measured {sd:.3f})")
PY

# temperature > 0: the label is sampled with P(pos)
pyt - <<'PY'
import json, os
from simc import *
m = Model()
sent = "the film is n't bad , but it is not very good either ."
p = m.p_pos(sent.split())
cl = Client(os.environ["url_inv"])
ones = 0
for seed in range(400):
    st, h, raw = cl.post("/v1/chat/completions", body("pred", sent, temperature=1, seed=seed))
    ones += PAIR_RE.search(content(raw)[0]).group(1) == "1"
print(("ok" if abs(ones / 400 - p) < 0.08 else "not ok") + f" temperature 1: label 1 in {ones / 400:.3f} of samples, P(pos) = {p:.3f}")
PY
done_testing
