#!/usr/bin/env python3
"""A server that asks for waits, for tests/cli/t0530-waits.sh.

    python3 waits.py LOGFILE UPSTREAM

listens on a free loopback port (threaded), prints its root URL
(http://127.0.0.1:PORT) on stdout, and serves POST /MODE/v1/chat/completions
according to MODE (MODE-NAME for one of several servers in the same mode, each
with its own first arrivals), passing what it answers normally on to UPSTREAM (the sim's
base URL, http://127.0.0.1:PORT/v1):

  ra2       the first arrival of each body: 429 with Retry-After: 2; then upstream
  ms1500    the first arrival of each body: 429 with retry-after-ms: 1500 and
            Retry-After: 30 (retry-after-ms is the one to follow); then upstream
  ra6       the first arrival of each body: 429 with Retry-After: 6; then upstream
  u503      the first arrival of each body: 503 with Retry-After: 2; then upstream
  huge      always 429 with Retry-After: 999999
  date      always 429 with Retry-After: an HTTP date in 2099
  reset     always 429 with x-ratelimit-reset-requests: 99999h
  tokens    always 429 with x-ratelimit-reset-tokens: 6m0s (360 s)
  html      always 200 text/html (a web page, not the API)
  outage    an outage, for held attempts (t0531): the first 2 arrivals go upstream;
            then every arrival gets a 503 for 2.5 s (the first 4 of them fail
            as usual, the 5th starts the client's outage hold, the rest are
            held attempts); the next arrival goes upstream (the hold ends);
            after it, each body that had one usual failure at most and two
            failures in all gets one 500 more (a usual failure again), then
            goes upstream. A client that counts held attempts against
            --retries 2 fails those requests.

Every request is appended to LOGFILE as one JSON line
{"mode": MODE or MODE-NAME, "body": SHA-256 of the body, "t": monotonic seconds, "status": ...}.
Stops on SIGTERM.
"""
import hashlib
import json
import signal
import socketserver
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

LOCK = threading.Lock()
SEEN = set()
LOG_PATH = None
UPSTREAM = None

ALWAYS = {
    "huge": [("Retry-After", "999999")],
    "date": [("Retry-After", "Thu, 01 Jan 2099 00:00:00 GMT")],
    "reset": [("x-ratelimit-reset-requests", "99999h")],
    "tokens": [("x-ratelimit-reset-tokens", "6m0s")],
}
FIRST = {
    "ra2": [("Retry-After", "2")],
    "ms1500": [("retry-after-ms", "1500"), ("Retry-After", "30")],
    "ra6": [("Retry-After", "6")],
    "u503": [("Retry-After", "2")],
}


# the outage mode's state: phase A (passing), B (down), C (up again)
OUT = {"phase": "A", "passed": 0, "b_start": None, "b_count": 0, "usual": {}, "held": {},
       "again": set()}


def outage_status(sha, t):
    """The status the outage mode answers (200: pass upstream); called under LOCK."""
    o = OUT
    if o["phase"] == "A":
        o["passed"] += 1
        if o["passed"] >= 2:
            o["phase"] = "B"
        return 200
    if o["phase"] == "B":
        if o["b_start"] is None:
            o["b_start"] = t
        if t - o["b_start"] < 2.5:
            o["b_count"] += 1
            d = o["usual"] if o["b_count"] <= 4 else o["held"]
            d[sha] = d.get(sha, 0) + 1
            return 503
        o["phase"] = "C"
        return 200
    u, h = o["usual"].get(sha, 0), o["held"].get(sha, 0)
    if u <= 1 and u + h >= 2 and sha not in o["again"]:
        o["again"].add(sha)
        return 500
    return 200


class Server(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body, ctype="application/json", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        t = time.monotonic()
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        seg = self.path.strip("/").split("/")[0]
        mode = seg.split("-")[0]
        sha = hashlib.sha256(body).hexdigest()
        with LOCK:
            first = (seg, sha) not in SEEN
            SEEN.add((seg, sha))
            forced = outage_status(sha, t) if mode == "outage" else 200
        status = 200
        if forced != 200:
            status = forced
            err = json.dumps({"error": {"message": "down", "type": "server_error"}})
            self.send(status, err.encode())
        elif mode in ALWAYS or (mode in FIRST and first):
            status = 503 if mode == "u503" else 429
            err = json.dumps({"error": {"message": "slow down", "type": "rate_limit"}})
            self.send(status, err.encode(), headers=ALWAYS.get(mode) or FIRST[mode])
        elif mode == "html":
            self.send(200, b"<!DOCTYPE html><html><body>a web page</body></html>\n",
                      ctype="text/html; charset=utf-8")
        else:
            req = urllib.request.Request(UPSTREAM + "/chat/completions", data=body,
                                         headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    status, out = r.status, r.read()
            except urllib.error.HTTPError as e:
                status, out = e.code, e.read()
            self.send(status, out)
        with LOCK, open(LOG_PATH, "a") as f:
            f.write(json.dumps({"mode": seg, "body": sha, "t": t, "status": status}) + "\n")


def main():
    global LOG_PATH, UPSTREAM
    LOG_PATH, UPSTREAM = sys.argv[1], sys.argv[2].rstrip("/")
    srv = Server(("127.0.0.1", 0), Handler)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    print("http://127.0.0.1:%d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
