#!/usr/bin/env python3
"""A server that stops serving a key mid-run, for tests/cli/t0974 and t0975.

    python3 cutoff.py LOGFILE UPSTREAM SWITCH N

listens on a free loopback port (threaded), prints its root URL
(http://127.0.0.1:PORT) on stdout, and serves POST /MODE/v1/chat/completions:
while the file SWITCH exists, the first N requests of each MODE are passed on
to UPSTREAM (the sim's base URL, http://127.0.0.1:PORT/v1) and every later one
is refused as MODE says:

  revoked  401 invalid_api_key (the key was revoked mid-run)
  quota    429 insufficient_quota (OpenAI: the account's quota is used up;
           no retry gets through)

While SWITCH is absent every request is passed on. Every request is appended
to LOGFILE as one JSON line {"mode", "refused": true/false}. Stops on SIGTERM.
"""
import json
import os
import signal
import socketserver
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

LOCK = threading.Lock()
SEEN = {}
LOG_PATH = UPSTREAM = SWITCH = None
PASS = 0
REFUSALS = {
    "revoked": (401, {"error": {"message": "Incorrect API key provided: sk-...0000.",
                                "type": "invalid_request_error", "param": None,
                                "code": "invalid_api_key"}}),
    "quota": (429, {"error": {"message": "You exceeded your current quota, please check "
                              "your plan and billing details.", "type": "insufficient_quota",
                              "param": None, "code": "insufficient_quota"}}),
}


class Server(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        mode = self.path.strip("/").split("/")[0]
        with LOCK:
            SEEN[mode] = SEEN.get(mode, 0) + 1
            refused = mode in REFUSALS and os.path.exists(SWITCH) and SEEN[mode] > PASS
            with open(LOG_PATH, "a") as f:
                f.write(json.dumps({"mode": mode, "refused": refused}) + "\n")
        if refused:
            status, err = REFUSALS[mode]
            self.send(status, json.dumps(err).encode())
            return
        req = urllib.request.Request(UPSTREAM + "/chat/completions", data=body,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, out = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, out = e.code, e.read()
        self.send(status, out)


def main():
    global LOG_PATH, UPSTREAM, SWITCH, PASS
    LOG_PATH, UPSTREAM, SWITCH = sys.argv[1], sys.argv[2].rstrip("/"), sys.argv[3]
    PASS = int(sys.argv[4])
    srv = Server(("127.0.0.1", 0), Handler)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    print("http://127.0.0.1:%d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
