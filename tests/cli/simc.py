"""Helpers for the sim CLI tests (tests/cli/t03xx-sim-*.sh): build chat requests from
prompts/, send them, and compute the sim model's truth from data/sim-weights.txt.
Standard library only."""
import json
import math
import os
import re
import socket
import http.client
import urllib.parse

HOME = os.environ.get("SELFEXP_HOME", os.path.join(os.path.dirname(__file__), "..", ".."))
CONDS = ["ep", "pe", "ep-topk", "pe-topk", "pred"]


def template(cond, prompts=None):
    text = open(os.path.join(prompts or os.path.join(HOME, "prompts"), cond), encoding="utf-8").read()
    sys_part = text.split("=== system ===\n", 1)[1]
    system, user = sys_part.split("\n=== user ===\n", 1)
    return system, user[:-1] if user.endswith("\n") else user


def topk_k(n):
    return max(n // 5, 1)


def messages(cond, review):
    system, user = template(cond)
    n = len(review.split())
    def fill(s):
        return s.replace("{review}", review).replace("{k}", str(topk_k(n))).replace("{n}", str(n))
    return [{"role": "system", "content": fill(system)}, {"role": "user", "content": fill(user)}]


def body(cond, review, **extra):
    b = {"model": "gpt-3.5-turbo", "messages": messages(cond, review), "temperature": 0,
         "top_p": 1, "max_tokens": 1024}
    b.update(extra)
    return json.dumps(b)


class Client:
    def __init__(self, url, timeout=10):
        u = urllib.parse.urlparse(url)
        self.host, self.port, self.timeout = u.hostname, u.port, timeout
        self.conn = None

    def post(self, path, data):
        """(status, headers, body bytes) or (outcome string, None, None) for
        'reset', 'timeout', 'truncated'."""
        for _ in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request("POST", path, body=data.encode() if isinstance(data, str) else data,
                                  headers={"Content-Type": "application/json"})
                r = self.conn.getresponse()
                return r.status, dict(r.getheaders()), r.read()
            except http.client.IncompleteRead:
                self.close()
                return "truncated", None, None
            except (socket.timeout, TimeoutError):
                self.close()
                return "timeout", None, None
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as e:
                self.close()
                if isinstance(e, BrokenPipeError):
                    continue
                return "reset", None, None
        return "reset", None, None

    def get(self, path):
        c = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()

    def close(self):
        if self.conn:
            self.conn.close()
        self.conn = None


def chat(url, data, **kw):
    c = Client(url, **kw)
    st, h, b = c.post(urllib.parse.urlparse(url).path + "/chat/completions", data)
    c.close()
    return st, h, b


class Model:
    def __init__(self, path=None):
        path = path or os.path.join(HOME, "data", "sim-weights.txt")
        self.w = {}
        self.bias = None
        for line in open(path, encoding="utf-8"):
            line = line.rstrip("\n")
            if self.bias is None:
                if line.startswith("bias "):
                    self.bias = float(line[5:])
                continue
            if line:
                word, wt = line.split("\t")
                self.w[word] = float(wt)

    def contrib(self, tokens):
        return [self.w.get(t.translate(_LOWER), 0.0) for t in tokens]

    def p_pos(self, tokens):
        z = self.bias + sum(self.contrib(tokens))
        return 1 / (1 + math.exp(-z))

    def faithful(self, tokens):
        c = self.contrib(tokens)
        m = max((abs(x) for x in c), default=0.0)
        return [round(x / m, 3) + 0.0 if m else 0.0 for x in c]


_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

# Answer formats (what the paper's parser needs), permissive about layout.
WORD = r"""(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s,()\[\]'"][^,()\[\]]*?)"""
PAIR_RE = re.compile(r"\((0|1), (\d+(?:\.\d+)?)\)")
TUPLE_RE = re.compile(r"\((" + WORD + r"), (-?\d+\.\d+)\)")
IMP_LIST_RE = re.compile(r"\[(?:\(" + WORD + r", -?\d+\.\d+\)(?:, )?)*\]")
TOPK_LIST_RE = re.compile(r"\[(?:" + WORD + r"(?:, )?)*\]")


def unquote(w):
    if w[:1] in "'\"" and w[-1:] == w[:1]:
        return re.sub(r"\\(.)", r"\1", w[1:-1])
    return w


def content(resp_bytes):
    d = json.loads(resp_bytes)
    return d["choices"][0]["message"]["content"], d


def imp_values(c):
    """Values of the (quoted) importance list of an answer."""
    m = IMP_LIST_RE.search(c)
    return [float(v) for w, v in TUPLE_RE.findall(m.group(0))] if m else []
