#!/usr/bin/env python3
"""A hostile or broken chat-completion server, for tests/cli/t0910-hostile.sh.

    python3 hostile.py LOGFILE

listens on a free loopback port (threaded, one thread per connection), prints
its root URL (http://127.0.0.1:PORT) on stdout, and serves
POST /MODE/v1/chat/completions according to MODE:

  ok          a well-formed answer "(1, 0.9)"
  huge        a 200 whose Content-Length and body are 3 x SX_CHAT_MAX_RESPONSE
  hugestream  a 200 body of 3 x the cap with no Content-Length (ends at close)
  gzipbomb    a 200 gzip body that inflates to 3 x the cap (a few kB on the wire)
  slow        a 200 that trickles one byte every 50 ms, forever
  badjson     a 200 whose body is not JSON
  shape       a 200 JSON object of the wrong shape
  error200    a 200 carrying an "error" object that echoes the Authorization header
  nochoices   a 200 with an empty "choices" array
  redirect301, redirect307
              a redirect to the same path on another host (127.0.0.2, or
              localhost), whose requests are logged under the mode "trap"
  close       closes every connection without answering
  401         401 with an error body that echoes the Authorization header
  404         404 model_not_found, echoing the Authorization header too
  badutf8     a 200 answer "(1, 0.9)" followed by bytes that are not UTF-8
  nul         a 200 answer "(1, 0.9)\u0000 and more" (a NUL inside the string)

Every request is appended to LOGFILE as one JSON line
{"mode": ..., "path": ..., "authorization": ..., "host": ...}. Stops on SIGTERM,
or when the process that started it is gone.
"""
import gzip
import json
import os
import signal
import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

CAP = 8 * 1024 * 1024  # SX_CHAT_MAX_RESPONSE in include/selfexp/chat.h
LOG_LOCK = threading.Lock()
GZIP_BOMB = gzip.compress(b'{"choices":[{"message":{"content":"' + b"a" * (3 * CAP), 6)
LOG_PATH = None
TRAP_HOST = "localhost"
PORT = 0

OK_ANSWER = {
    "id": "x", "object": "chat.completion", "created": 0, "model": "hostile",
    "choices": [{"index": 0, "finish_reason": "stop",
                 "message": {"role": "assistant", "content": "(1, 0.9)"}}],
    "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13},
}


class Server(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, status, obj, extra=()):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.send_json(200, {"status": "ok"})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        parts = self.path.strip("/").split("/")
        mode = parts[0] if parts else ""
        auth = self.headers.get("Authorization") or ""
        with LOG_LOCK, open(LOG_PATH, "a") as f:
            f.write(json.dumps({"mode": mode, "path": self.path, "authorization": auth,
                                "host": self.headers.get("Host") or ""}) + "\n")
        try:
            getattr(self, "mode_" + mode, self.mode_unknown)(auth)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def mode_unknown(self, auth):
        self.send_json(400, {"error": {"message": "unknown hostile mode"}})

    def mode_ok(self, auth):
        self.send_json(200, OK_ANSWER)

    mode_trap = mode_ok

    def mode_huge(self, auth):
        total = 3 * CAP
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(total))
        self.end_headers()
        chunk = b"a" * 65536
        for _ in range(total // len(chunk)):
            self.wfile.write(chunk)

    def mode_hugestream(self, auth):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        self.wfile.write(b'{"choices":[{"message":{"content":"')
        chunk = b"a" * 65536
        for _ in range(3 * CAP // len(chunk)):
            self.wfile.write(chunk)

    def mode_gzipbomb(self, auth):
        body = GZIP_BOMB
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def mode_slow(self, auth):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        self.wfile.write(b"{")
        self.wfile.flush()
        for _ in range(20 * 600):  # at most ten minutes, then give up
            time.sleep(0.05)
            self.wfile.write(b" ")
            self.wfile.flush()

    def mode_badjson(self, auth):
        body = b"this is not json {"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def mode_shape(self, auth):
        self.send_json(200, {"choices": {"message": "not a list"}, "data": [1, 2, 3]})

    def mode_error200(self, auth):
        self.send_json(200, {"error": {"message": "overloaded; you sent: " + auth,
                                       "type": "server_error"}})

    def mode_nochoices(self, auth):
        self.send_json(200, dict(OK_ANSWER, choices=[]))

    def redirect(self, status):
        rest = "/".join(self.path.strip("/").split("/")[1:])
        self.send_response(status)
        self.send_header("Location", "http://%s:%d/trap/%s" % (TRAP_HOST, PORT, rest))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def mode_redirect301(self, auth):
        self.redirect(301)

    def mode_redirect307(self, auth):
        self.redirect(307)

    def mode_close(self, auth):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def mode_401(self, auth):
        self.send_json(401, {"error": {"message": "Incorrect API key provided: " + auth,
                                       "type": "invalid_request_error",
                                       "code": "invalid_api_key"}})

    def send_raw(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def mode_badutf8(self, auth):
        self.send_raw(b'{"choices":[{"index":0,"message":{"role":"assistant","content":'
                      b'"(1, 0.9) caf\xc3 \xff\xfe end"},"finish_reason":"stop"}],'
                      b'"usage":{"prompt_tokens":5,"completion_tokens":5}}')

    def mode_nul(self, auth):
        self.send_raw(b'{"choices":[{"index":0,"message":{"role":"assistant","content":'
                      b'"(1, 0.9)\\u0000 and more"},"finish_reason":"stop"}],'
                      b'"usage":{"prompt_tokens":5,"completion_tokens":5}}')

    def mode_404(self, auth):
        self.send_json(404, {"error": {"message": "The model does not exist or you do not "
                                       "have access to it (" + auth + ")",
                                       "code": "model_not_found"}})


def main():
    global LOG_PATH, TRAP_HOST, PORT
    LOG_PATH = sys.argv[1]
    srv = Server(("127.0.0.1", 0), Handler)
    PORT = srv.server_address[1]
    servers = [srv]
    try:  # another host for the redirects: the same port on 127.0.0.2
        trap = Server(("127.0.0.2", PORT), Handler)
        servers.append(trap)
        TRAP_HOST = "127.0.0.2"
    except OSError:
        pass
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    print("http://127.0.0.1:%d" % PORT, flush=True)
    print("trap host " + TRAP_HOST, file=sys.stderr, flush=True)
    parent = os.getppid()
    while os.getppid() == parent:  # the test that started us died without stopping us
        time.sleep(0.5)


if __name__ == "__main__":
    main()
