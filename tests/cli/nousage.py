#!/usr/bin/env python3
"""A gateway that strips "usage" from the answers, for tests/cli/t0976-no-usage.sh,
or (with MODEL) names another model in them, for t0958-models-served.sh.

    python3 nousage.py LOGFILE UPSTREAM [MODEL]

listens on a free loopback port (threaded), prints its root URL
(http://127.0.0.1:PORT) on stdout, and passes POST /v1/chat/completions on to
UPSTREAM (the sim's base URL, http://127.0.0.1:PORT/v1), answering with the
upstream's answer less its "usage" object (some gateways and proxies do so;
the provider behind them bills all the same). With MODEL, the answer keeps its
usage and says "model": MODEL instead (a gateway that fell back to another
model); MODEL "-" leaves "model" out. Every request is appended to
LOGFILE as one line "sent". Stops on SIGTERM.
"""
import json
import signal
import socketserver
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

LOCK = threading.Lock()
LOG_PATH = UPSTREAM = MODEL = None


class Server(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with LOCK, open(LOG_PATH, "a") as f:
            f.write("sent\n")
        req = urllib.request.Request(UPSTREAM + "/chat/completions", data=body,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, out = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, out = e.code, e.read()
        if status == 200:
            o = json.loads(out)
            if MODEL is None:
                o.pop("usage", None)
            elif MODEL == "-":
                o.pop("model", None)
            else:
                o["model"] = MODEL
            out = json.dumps(o).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


def main():
    global LOG_PATH, UPSTREAM, MODEL
    LOG_PATH, UPSTREAM = sys.argv[1], sys.argv[2].rstrip("/")
    MODEL = sys.argv[3] if len(sys.argv) > 3 else None
    srv = Server(("127.0.0.1", 0), Handler)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    print("http://127.0.0.1:%d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
