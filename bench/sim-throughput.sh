#!/usr/bin/env bash
# Throughput of `selfexp sim` on loopback, zero latency, measured with wrk.
# usage: bench/sim-throughput.sh [COND [SECONDS [CONNECTIONS [SIM_THREADS]]]]
# Prints wrk's report and one summary line; append that line to BENCHMARKS.md by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
cond=${1:-pe} secs=${2:-10} conns=${3:-64} threads=${4:-$(nproc)}
bin=${SELFEXP_BIN:-./selfexp}
tmp=$(mktemp -d)
trap 'kill "$pid" 2> /dev/null || true; wait "$pid" 2> /dev/null || true; rm -rf "$tmp"' EXIT

review="it 's a charming and often affecting journey , with a lovely cast and a script that never condescends ."
"$bin" prompt show "$cond" --review "$review" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(json.dumps({"model": "gpt-3.5-turbo", "messages": d["messages"], "temperature": 0, "top_p": 1, "max_tokens": 1024}))' > "$tmp/body.json"
cat > "$tmp/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$tmp/body.json", "rb")
wrk.body = f:read("*a")
f:close()
LUA

"$bin" sim --port 0 --threads "$threads" --quiet > "$tmp/url" &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/url" ] && break; sleep 0.05; done
url=$(head -n 1 "$tmp/url")
cmd="wrk -t2 -c$conns -d${secs}s -s post.lua $url/chat/completions"
wrk -t2 -c"$conns" -d"${secs}s" -s "$tmp/post.lua" "$url/chat/completions" | tee "$tmp/wrk.out"
rps=$(awk '/Requests\/sec/ {print $2}' "$tmp/wrk.out")
stats=$(curl -s "${url%/v1}/stats")
echo "summary: $(date -u +%Y-%m-%d) cond=$cond sim_threads=$threads cores=$(nproc) body=$(wc -c < "$tmp/body.json")B: $rps req/s  ($cmd)"
echo "stats: $stats" | cut -c1-200
