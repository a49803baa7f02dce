#!/usr/bin/env python3
"""Plays `vllm run-batch` for the tests: answers every request file in DIR
that has no output file yet (NAME.jsonl -> NAME.output.jsonl), one line at a
time, by POSTing its body to URL/chat/completions, and writes the answers in
the OpenAI batch output format (errors as lines with "error", as vLLM does).

usage: fake_vllm_batch.py URL DIR [--fail-every N] [--cut-last]
  --fail-every N   every Nth line of a file is answered with an error line
  --cut-last       the output file's last line is cut off half-way
Prints the number of lines answered."""
import json
import os
import sys
import urllib.error
import urllib.request

url, d = sys.argv[1], sys.argv[2]
fail_every = int(sys.argv[sys.argv.index("--fail-every") + 1]) if "--fail-every" in sys.argv else 0
cut_last = "--cut-last" in sys.argv
n = 0
for name in sorted(os.listdir(d)):
    if not name.endswith(".jsonl") or name.endswith((".output.jsonl", ".errors.jsonl")):
        continue
    out = os.path.join(d, name[:-6] + ".output.jsonl")
    if os.path.exists(out):
        continue
    lines = []
    for i, line in enumerate(open(os.path.join(d, name), encoding="utf-8")):
        req = json.loads(line)
        assert req["method"] == "POST" and req["url"] == "/v1/chat/completions", req
        rid = "vllm-%s-%d" % (name, i)
        if fail_every and (i + 1) % fail_every == 0:
            lines.append({"id": rid, "custom_id": req["custom_id"], "response": None,
                          "error": {"code": "engine_error", "message": "simulated engine error"}})
            continue
        body = json.dumps(req["body"], separators=(",", ":"), ensure_ascii=False).encode()
        r = urllib.request.Request(url + "/chat/completions", data=body,
                                   headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(r) as resp:
                status, answer = resp.status, json.load(resp)
        except urllib.error.HTTPError as e:
            status, answer = e.code, json.load(e)
        lines.append({"id": rid, "custom_id": req["custom_id"],
                      "response": {"status_code": status, "request_id": rid, "body": answer},
                      "error": None})
        n += 1
    text = "".join(json.dumps(l) + "\n" for l in lines)
    if cut_last and lines:
        last = json.dumps(lines[-1])
        text = text[: len(text) - len(last) - 1] + last[: len(last) // 2]
    with open(out + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.rename(out + ".tmp", out)
print(n)
