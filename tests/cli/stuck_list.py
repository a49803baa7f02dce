#!/usr/bin/env python3
"""A Batch API whose lists never end: GET /v1/files and GET /v1/batches answer
the same page, one item and "has_more": true, whatever `after` asks for (a
server that ignores the cursor). Anything else is a 404. Every request is
logged to LOG as "METHOD PATH?QUERY" (tests/cli/t0865-batch-file-pages.sh).

    python3 stuck_list.py LOG

Prints its root URL (http://127.0.0.1:PORT/v1) on stdout when listening; stops on SIGTERM.
"""
import http.server
import json
import signal
import sys

LOG = sys.argv[1]


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def note(self):
        with open(LOG, "a") as f:
            f.write("%s %s\n" % (self.command, self.path))

    def answer(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.note()
        path = self.path.split("?")[0]
        if path == "/v1/files":
            item = {"id": "file-old", "object": "file", "filename": "someone-else.jsonl",
                    "purpose": "batch", "bytes": 1, "created_at": 1}
        elif path == "/v1/batches":
            item = {"id": "batch_old", "object": "batch", "input_file_id": "file-other",
                    "status": "completed"}
        else:
            self.answer(404, {"error": {"message": "no such path", "type": "not_found"}})
            return
        self.answer(200, {"object": "list", "data": [item], "has_more": True})

    def do_POST(self):
        self.note()
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        self.answer(404, {"error": {"message": "not here", "type": "not_found"}})


signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print("http://127.0.0.1:%d/v1" % srv.server_address[1], flush=True)
try:
    srv.serve_forever()
except KeyboardInterrupt:
    pass
