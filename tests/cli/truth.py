"""The simulated model's ground truth, for the explainer and metric tests:
P(pos | tokens) = sigmoid(bias + sum of w(lowercase token)) from data/sim-weights.txt.
Standard library only."""
import json
import math
import os

HOME = os.environ.get("SELFEXP_HOME", os.path.join(os.path.dirname(__file__), "..", ".."))


def load_weights(path=None):
    path = path or os.path.join(HOME, "data", "sim-weights.txt")
    bias, w = 0.0, {}
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("bias "):
            bias = float(line.split()[1])
        elif "\t" in line and not line.startswith("# "):
            word, val = line.rsplit("\t", 1)
            w[word] = float(val)
    return bias, w


def lower(tok):
    return "".join(c.lower() if "A" <= c <= "Z" else c for c in tok)


def p_pos(bias, w, tokens):
    z = bias + sum(w.get(lower(t), 0.0) for t in tokens)
    return 1.0 / (1.0 + math.exp(-z))


def records(path, method=None, condition=None):
    for line in open(path, encoding="utf-8"):
        r = json.loads(line)
        if (method is None or r["method"] == method) and (condition is None or r["condition"] == condition):
            yield r


def ranks(xs):
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    r = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2.0 + 1
        i = j + 1
    return r


def spearman(a, b):
    ra, rb = ranks(a), ranks(b)
    ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
    num = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    den = math.sqrt(sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb))
    return num / den if den else None


def sim_p_pos(bias, w, tokens, decimals):
    """P(pos) as selfexp reads it (--prob verbal) from the sim's answer, computed
    the way the sim computes it: the logit summed left to right, its sigmoid, the
    label's confidence printed with `decimals` decimals. Equal to the double
    selfexp parses, bit for bit."""
    z = bias
    for t in tokens:
        z += w.get(lower(t), 0.0)
    p = 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))
    label = 1 if p > 0.5 else 0
    conf = float("%.*f" % (decimals, p if label else 1.0 - p))
    return conf if label else 1.0 - conf


def err(got, want):
    """|got - want|, or inf when either is missing (JSON null) or NaN, so
    that a maximum taken with worst() fails instead of crashing or passing."""
    if not isinstance(got, (int, float)) or not isinstance(want, (int, float)):
        return math.inf
    d = abs(got - want)
    return math.inf if math.isnan(d) else d


def worst(errs):
    """The largest error, inf when there is none or any is None or NaN
    (max() skips NaN depending on where it sits, and fails on None)."""
    errs = list(errs)
    if not errs:
        return math.inf
    return max(math.inf if not isinstance(e, (int, float)) or math.isnan(e) else e for e in errs)
