#!/usr/bin/env python3
"""A server that sends 200s without the model's answer, for tests/cli/t0972-withheld-answers.sh.

    python3 withheld.py LOGFILE UPSTREAM SWITCH

listens on a free loopback port (threaded), prints its root URL
(http://127.0.0.1:PORT) on stdout, and serves POST /MODE/v1/chat/completions:
while the file SWITCH exists, a request whose review holds the word "bad"
gets a well-formed 200 with no answer in it, according to MODE:

  filter       content null, finish_reason "content_filter" (OpenAI, Azure)
  filterempty  content "", finish_reason "content_filter"
  cut          content "", finish_reason "length", usage with reasoning tokens
               (a reasoning model whose cap went on its hidden tokens)

Every other request (and every request while SWITCH is absent) is passed on
to UPSTREAM (the sim's base URL, http://127.0.0.1:PORT/v1). Every request is
appended to LOGFILE as one JSON line {"mode", "withheld": true/false}. Stops on
SIGTERM.
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
LOG_PATH = UPSTREAM = SWITCH = None


class Server(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def no_answer(mode):
    content = None if mode == "filter" else ""
    finish = "length" if mode == "cut" else "content_filter"
    usage = {"prompt_tokens": 300, "completion_tokens": 1024, "total_tokens": 1324}
    if mode == "cut":
        usage["completion_tokens_details"] = {"reasoning_tokens": 1024}
    return {"id": "chatcmpl-w", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "finish_reason": finish,
                         "message": {"role": "assistant", "content": content}}],
            "usage": usage}


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
        try:
            user = json.loads(body)["messages"][-1]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            user = ""
        withheld = (mode in ("filter", "filterempty", "cut") and os.path.exists(SWITCH)
                    and "bad" in user.split())
        with LOCK, open(LOG_PATH, "a") as f:
            f.write(json.dumps({"mode": mode, "withheld": withheld}) + "\n")
        if withheld:
            self.send(200, json.dumps(no_answer(mode)).encode())
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
    global LOG_PATH, UPSTREAM, SWITCH
    LOG_PATH, UPSTREAM, SWITCH = sys.argv[1], sys.argv[2].rstrip("/"), sys.argv[3]
    srv = Server(("127.0.0.1", 0), Handler)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    print("http://127.0.0.1:%d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
