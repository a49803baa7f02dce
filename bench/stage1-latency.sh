#!/usr/bin/env bash
# Issue 5's figure: the first stage of `selfexp run` (872 SST-2 dev reviews x
# {ep, pe, pred}) against `selfexp sim --latency-ms 50` at --concurrency 64.
# The ideal rate is 64 / 0.05 s = 1280 requests/s; prints the achieved rate
# and appends a row to BENCHMARKS.md.
# usage: bench/stage1-latency.sh [LATENCY_MS] [CONCURRENCY]
set -euo pipefail
cd "$(dirname "$0")/.."
lat=${1:-50}
conc=${2:-64}
shared=${SELFEXP_SHARED:-../shared}
X=./selfexp
[ -x "$X" ] || make -s
tmp=$(mktemp -d)
trap 'kill "$sim" 2>/dev/null || true; rm -rf "$tmp"' EXIT
"$X" sim --port 0 --quiet --latency-ms "$lat" > "$tmp/addr" &
sim=$!
for _ in $(seq 100); do grep -q http "$tmp/addr" 2>/dev/null && break; sleep 0.05; done
url=$(head -n 1 "$tmp/addr")
cmd="selfexp run --data $shared/data/sst2/dev.tsv --conditions ep,pe,pred --explainers self --no-metrics --model sim --concurrency $conc"
start=$(date +%s.%N)
"$X" run --data "$shared/data/sst2/dev.tsv" --out "$tmp/run" --base-url "$url" --conditions ep,pe,pred \
	--explainers self --no-metrics --model sim --no-progress --concurrency "$conc" 2> "$tmp/err"
end=$(date +%s.%N)
sent=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["counts"]["sent"])' "$tmp/run/run.json")
read -r rate eff < <(python3 -c "
t = $end - $start; r = $sent / t; ideal = $conc / ($lat / 1000.0)
print('%.0f %.3f' % (r, r / ideal))")
echo "stage 1: $sent requests in $(python3 -c "print('%.2f' % ($end - $start))") s: $rate req/s, $eff of the ideal $conc / ${lat} ms"
row="| $(date -u +%F) | $(nproc) | ${lat} ms | $conc | $sent | $rate | $eff | \`bench/stage1-latency.sh $lat $conc\` (= \`$cmd\` against \`selfexp sim --latency-ms $lat\`; wall time of the whole command, startup and writing included) |"
# one table: add the row under the section's last row, or start the section
python3 - "$row" << 'PY'
import sys
row, path = sys.argv[1], "BENCHMARKS.md"
head = "## selfexp run, first stage, latency-bound (bench/stage1-latency.sh)"
text = open(path).read()
if head not in text:
    text = text.rstrip("\n") + "\n\n" + head + "\n\n" + \
        "| date | cores | latency | concurrency | requests | req/s | of ideal | command |\n" + \
        "|---|---|---|---|---|---|---|---|\n"
lines = text.split("\n")
i = lines.index(head) + 1
while i < len(lines) and not lines[i].startswith("|"):
    i += 1
while i < len(lines) and lines[i].startswith("|"):
    i += 1
lines.insert(i, row)
open(path, "w").write("\n".join(lines))
PY
