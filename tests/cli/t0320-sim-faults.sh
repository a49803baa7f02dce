#!/usr/bin/env bash
# selfexp sim: each fault on its own, faults at the configured rate, retries succeed,
# --rpm refuses the excess, latency does not hold a worker thread, stopping with requests pending.
. "$(dirname "$0")/lib.sh"

PYTHONPATH=$TESTS_DIR/cli python3 -c 'import simc, sys; sys.stdout.write(simc.body("pred", "a fine , funny film ."))' > "$T/req.json"
post() { curl -s -o "$T/out" -D "$T/hdr" -w '%{http_code}' "$SIM_URL/chat/completions" --data-binary @"$T/req.json" "$@"; }

# each fault alone, at rate 1
start_sim --fault-rate 1 --faults 429
check_eq "429 fault: status 429" 429 "$(post)"
grep -qi '^retry-after: [0-9]' "$T/hdr" && ok "429 fault: Retry-After header" || fail "429 fault: Retry-After header"
grep -q '"code":"rate_limit_exceeded"' "$T/out" && ok "429 fault: OpenAI error body" || fail "429 fault: error body"
start_sim --fault-rate 1 --faults 500
check_eq "500 fault: status 500" 500 "$(post)"
grep -q '"type":"server_error"' "$T/out" && ok "500 fault: error body" || fail "500 fault: error body"
start_sim --fault-rate 1 --faults 503
check_eq "503 fault: status 503" 503 "$(post)"
start_sim --fault-rate 1 --faults reset
post > /dev/null; check_eq "reset fault: connection closed without a response (curl 52)" 52 "$?"
start_sim --fault-rate 1 --faults truncate
post > /dev/null; check_eq "truncate fault: body shorter than its Content-Length (curl 18)" 18 "$?"
start_sim --fault-rate 1 --faults garbage
check_eq "garbage fault: status 200" 200 "$(post)"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/out" 2> /dev/null && fail "garbage fault: body is not JSON" || ok "garbage fault: body is not JSON"
start_sim --fault-rate 1 --faults stall --threads 1
post -m 1 > /dev/null; check_eq "stall fault: no answer before the client gives up (curl 28)" 28 "$?"
check_eq "a stall holds no worker thread: /health answers at once (--threads 1)" 200 \
	"$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$SIM_BASE/health")"
start_sim --fault-rate 1 --faults stall --stall-ms 200
post -m 5 > /dev/null; check_eq "stall fault: closed after --stall-ms (curl 52)" 52 "$?"

# all faults at rate 0.35 over 350 attempts, classified by the client; retries succeed
start_sim --confidence-decimals 6 && export URL_OK=$SIM_URL
start_sim --fault-rate 0.35 --stall-ms 20000 --confidence-decimals 6
pyt - <<'PY'
import json, os, urllib.request
from concurrent.futures import ThreadPoolExecutor
from simc import *
url = os.environ["SIM_URL"]
N, RATE = 350, 0.35
reviews = [f"review number {i} is a fine , funny film ." for i in range(N)]

def classify(i):
    st, h, b = chat(url, body("pred", reviews[i]), timeout=1.0)
    if st == "timeout": return "stall"
    if st == "reset": return "reset"
    if st == "truncated": return "truncate"
    if st == 200:
        try:
            json.loads(b)
            return "ok"
        except ValueError:
            return "garbage"
    if st == 429 and "Retry-After" in h: return "429"
    return str(st)

with ThreadPoolExecutor(16) as ex:
    got = list(ex.map(classify, range(N)))
counts = {k: got.count(k) for k in set(got)}
print(f"# client saw {counts}")
stats = json.load(urllib.request.urlopen(os.environ["SIM_BASE"] + "/stats"))
print(f"# server says {stats['by_fault']}")
faults = N - counts.get("ok", 0)
print(("ok" if abs(faults / N - RATE) < 0.08 else "not ok") + f" faults in {faults / N:.3f} of attempts (rate {RATE})")
for f in ["429", "500", "503", "reset", "stall", "truncate", "garbage"]:
    c = counts.get(f, 0)
    exp = N * RATE / 7
    print(("ok" if exp / 3 <= c <= exp * 2.2 else "not ok") + f" fault {f}: {c} times (expected ~{exp:.0f})")
    print(("ok" if stats["by_fault"][f] == c else "not ok") + f" /stats counts fault {f} as the client saw it ({stats['by_fault'][f]})")
others = set(counts) - {"ok", "429", "500", "503", "reset", "stall", "truncate", "garbage"}
print(("ok" if not others else "not ok") + f" no other outcomes {others or ''}")

# a retried request eventually gets the same answer as from a sim without faults
same = tries_total = 0
for i in range(20):
    b = body("pe", reviews[i])
    for tries in range(1, 40):
        st, h, raw = chat(url, b, timeout=1.0)
        if st == 200:
            try:
                ans = content(raw)[0]
                break
            except ValueError:
                pass
    tries_total += tries
    st, h, raw = chat(os.environ["URL_OK"], b)
    same += ans == content(raw)[0]
print(("ok" if same == 20 else "not ok") + f" retried requests succeed with the fault-free answer ({same}/20, {tries_total} attempts)")
PY

# --rpm: a token bucket with a burst of one second's worth (rpm/60, at least 1)
start_sim --rpm 6
codes=
for i in 1 2 3 4 5 6 7 8; do codes="$codes $(post)"; done
check_eq "--rpm 6: a burst of one answered, the excess refused with 429" " 200 429 429 429 429 429 429 429" "$codes"
ra=$(sed -n 's/^[Rr]etry-[Aa]fter: *\([0-9]*\).*/\1/p' "$T/hdr")
check "--rpm: 429 carries Retry-After >= 1 ('$ra')" test "${ra:-0}" -ge 1
grep -q '"rate_limited":7' <(sim_stats) && ok "/stats counts 7 rate-limited requests" || fail "/stats rate_limited"

# latency: suspended connections, not sleeping threads
start_sim --latency-ms 300 --threads 1
pyt - <<'PY'
import os, time
from concurrent.futures import ThreadPoolExecutor
from simc import *
url = os.environ["SIM_URL"]
def one(i):
    t = time.monotonic()
    st, h, b = chat(url, body("pred", f"film {i} ."))
    return st, time.monotonic() - t
t0 = time.monotonic()
with ThreadPoolExecutor(32) as ex:
    res = list(ex.map(one, range(32)))
wall = time.monotonic() - t0
print(("ok" if all(st == 200 for st, _ in res) else "not ok") + " 32 concurrent delayed requests all answered")
print(("ok" if min(d for _, d in res) >= 0.29 else "not ok") + f" each waited --latency-ms 300 (min {min(d for _, d in res):.3f} s)")
print(("ok" if wall < 2.0 else "not ok") + f" with one worker thread they waited together: {wall:.2f} s for 32 x 0.3 s")
PY
curl -s -m 10 "$SIM_URL/chat/completions" --data-binary @"$T/req.json" > /dev/null &
sleep 0.1
start=$(date +%s%N)
stop_sim "$SIM_PID"; rc=$?
check_eq "SIGTERM with a request pending: exit 0" 0 "$rc"
check "... and promptly" test $((($(date +%s%N) - start) / 1000000)) -lt 2000
done_testing
