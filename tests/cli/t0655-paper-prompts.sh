#!/usr/bin/env bash
# The paper repository's open-model prompts ship as the template set
# paper-llama3 (issue 16): `--prompts paper-llama3` sends, byte for byte,
# the system prompts of ../shared/data/paper-prompts/llama3/ ({k} filled in)
# and the user message `<review> {review} <review>`, as a small server that
# records the requests sees them; `make install` installs the set.
. "$(dirname "$0")/lib.sh"
need_shared
src=$SELFEXP_SHARED/data/paper-prompts/llama3

pyt - "$SELFEXP_HOME/prompts/paper-llama3" "$src" <<'PY'
import hashlib, os, re, sys
def check(what, cond): print(("ok " if cond else "not ok ") + what)
d, src = sys.argv[1], sys.argv[2]
readme = open(d + "/README.md").read()
for c in ("ep", "pe", "ep-topk", "pe-topk", "pred"):
    want = open("%s/%s.system.txt" % (src, c), "rb").read()
    t = open("%s/%s" % (d, c), "rb").read()
    sysp = t.split(b"=== system ===\n", 1)[1].rsplit(b"\n=== user ===\n", 1)
    check("%s: the system section is the source byte for byte" % c, sysp[0] == want)
    check("%s: the user section is <review> {review} <review>" % c,
          sysp[1] == b"<review> {review} <review>\n")
    h = hashlib.sha256(want).hexdigest()
    check("%s: README.md gives its SHA-256" % c, re.search(r"\| `%s` \|.*`%s` \|" % (re.escape(c), h), readme))
PY

# a server that records every request body and answers (1, 0.9)
cat > "$T/rec.py" <<'PY'
import http.server, json, sys
log = open(sys.argv[1], "a")
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        log.write(body.decode() + "\n"); log.flush()
        out = json.dumps({"id": "x", "object": "chat.completion", "model": "m",
                          "choices": [{"index": 0, "finish_reason": "stop",
                                       "message": {"role": "assistant", "content": "(1, 0.9)"}}],
                          "usage": {"prompt_tokens": 1, "completion_tokens": 1}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
"$PY3" "$T/rec.py" "$T/bodies.jsonl" > "$T/port" &
srv=$!
_stop_rec() { kill "$srv" 2> /dev/null; wait "$srv" 2> /dev/null; }
_cleanup_fns+=(_stop_rec)
for i in $(seq 1 200); do [ -s "$T/port" ] && break; sleep 0.025; done
url=http://127.0.0.1:$(cat "$T/port")/v1

check_exit "a run with --prompts paper-llama3" 0 "$X" run --data "$SELFEXP_HOME/data/demo.tsv" \
	--limit 3 --model m --conditions ep,pe,ep-topk,pe-topk,pred --explainers self,occlusion \
	--no-metrics --prompts paper-llama3 --max-tokens 2048 --out "$T/run" --cache "$T/c.sqlite" \
	--base-url "$url" --no-progress --bootstrap 10
_stop_rec
pyt - "$T/bodies.jsonl" "$src" "$T/run" "$SELFEXP_HOME/prompts/paper-llama3" <<'PY'
import hashlib, json, re, sys
def check(what, cond): print(("ok " if cond else "not ok ") + what)
bodies = [json.loads(l) for l in open(sys.argv[1])]
src = {c: open("%s/%s.system.txt" % (sys.argv[2], c)).read()
       for c in ("ep", "pe", "ep-topk", "pe-topk", "pred")}
seen = set(); bad = []
for b in bodies:
    sysm, user = b["messages"][0]["content"], b["messages"][1]["content"]
    m = re.fullmatch(r"<review> (.*) <review>", user, re.S)
    n = len(m.group(1).split()) if m else 0
    k = max(n // 5, 1)
    hit = [c for c, t in src.items() if t.replace("{k}", str(k)) == sysm]
    if not m or len(hit) != 1 or b["max_tokens"] != 2048:
        bad.append(b)
    seen.update(hit)
check("%d requests, every one a source system prompt byte for byte and <review> TEXT <review>"
      % len(bodies), bodies and not bad)
check("all five prompts were sent", seen == set(src))
run = json.load(open(sys.argv[3] + "/run.json"))
check("run.json records the set's directory", run["config"]["prompts"]["dir"] == sys.argv[4])
check("and each template's SHA-256",
      all(run["templates"][c] == hashlib.sha256(open(sys.argv[4] + "/" + c, "rb").read()).hexdigest()
          for c in src))
PY

check_exit "prompt list --prompts paper-llama3" 0 "$X" prompt list --prompts paper-llama3
check "... lists the set's templates" grep -q "prompts/paper-llama3/pe-topk$" "$T/last.out"
check_exit "a name that is no set is a directory path" 1 "$X" prompt list --prompts no-such-set
make -s -C "$SELFEXP_HOME" install BUILD="${BUILD:-build/default}" PREFIX=/usr DESTDIR="$T/inst" > /dev/null 2>&1
check "make install installs the set" cmp "$SELFEXP_HOME/prompts/paper-llama3/ep" \
	"$T/inst/usr/share/selfexp/prompts/paper-llama3/ep"
check "... with its README" test -f "$T/inst/usr/share/selfexp/prompts/paper-llama3/README.md"
done_testing
