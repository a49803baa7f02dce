#!/usr/bin/env bash
# --prob sample:N asks for N choices a request, and every choice is billed:
# --max-cost reserves N times max_tokens of completion for each request in
# flight, so a run with a cap stops under it; --dry-run counts N choices an
# answer and says what a server without n (N requests an input) would cost.
. "$(dirname "$0")/lib.sh"
data=$SELFEXP_HOME/data/demo.tsv
opts=(--data "$data" --limit 4 --model sim --conditions ep --explainers self --no-progress
	--prob sample:16 --temperature 1 --price-in 1 --price-out 1000 --max-tokens 200)
cost() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["counts"]["cost_usd"])' "$1/run.json"; }

start_sim --dialect vllm
check_exit "a run without a cap" 0 "$X" run "${opts[@]}" --out "$T/full" --cache "$T/full.sqlite" \
	--base-url "$SIM_URL" --concurrency 32
full=$(cost "$T/full")
sent=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["counts"]["sent"])' "$T/full/run.json")
# a cap of 20 requests' cost: a request reserves 16 x 200 completion tokens ($3.20), some 7 times
# what it costs, so 2 fit at once under the cap; reserving one choice's 200 ($0.20) would let
# all 32 go out together and spend 32 requests' cost
cap=$(python3 -c "print('%.6f' % (20 * $full / $sent))")
echo "# the whole run cost \$$full for $sent requests; cap \$$cap"
check_exit "the same run with --max-cost stops early (exit 5)" 5 "$X" run "${opts[@]}" --out "$T/m" \
	--cache "$T/m.sqlite" --base-url "$SIM_URL" --concurrency 32 --max-cost "$cap"
d=$T/m
[ -e "$d/run.json" ] || d=$T/m.partial
spent=$(cost "$d")
check "... and spent no more than the cap (\$$spent <= \$$cap)" \
	python3 -c "import sys; sys.exit(not ($spent <= $cap + 1e-9))"
check "... having spent something (the cap lets a request through)" \
	python3 -c "import sys; sys.exit(not ($spent > 0))"
stop_sim

plain=(--data "$data" --limit 4 --model gpt-4o --conditions ep --explainers self --no-progress
	--temperature 1 --price-in 1 --price-out 1 --base-url http://127.0.0.1:9/v1 --out "$T/d")
check_exit "--dry-run without sampling" 0 "$X" run "${plain[@]}" --dry-run
cp "$T/last.out" "$T/dry1"
check_exit "--dry-run with --prob sample:3" 0 "$X" run "${plain[@]}" --dry-run --prob sample:3
pyt - "$T/dry1" "$T/last.out" <<'PY'
import re, sys
def total(path):
    for line in open(path):
        if line.startswith("total"):
            f = line.split()
            return float(f[-2]), float(f[-1])
(p1, c1), (p3, c3) = total(sys.argv[1]), total(sys.argv[2])
print(("ok " if p3 == p1 else "not ok ") + "the same prompt tokens (%g, %g)" % (p1, p3))
print(("ok " if abs(c3 - 3 * c1) <= 3 else "not ok ") +
      "three times the completion tokens: three choices an answer (%g, %g)" % (c1, c3))
out = open(sys.argv[2]).read()
m = re.search(r"estimated cost: <= \$([0-9.]+)", out)
f = re.search(r"sent 3 requests an input instead: <= \$([0-9.]+), with 3 times the prompt tokens", out)
print(("ok " if m and f else "not ok ") + "it says what a server without n would cost")
if m and f:
    want = float(m.group(1)) + 2 * p3 / 1e6
    print(("ok " if abs(float(f.group(1)) - want) < 0.01 else "not ok ") +
          "... the estimate plus twice its prompt tokens (%s, %.2f)" % (f.group(1), want))
PY
# A reasoning model bills hidden tokens the completion estimate leaves out: the worst case at the cap.
check_exit "--dry-run for a reasoning model" 0 "$X" run "${plain[@]/gpt-4o/o3-mini}" --dry-run \
	--max-tokens 50000
pyt - "$T/last.out" <<'PY'
import re, sys
out = open(sys.argv[1]).read()
t = [l.split() for l in out.splitlines() if l.startswith("total")][0]
distinct, prompt = int(t[2].lstrip("<=")), float(t[-2])
m = re.search(r"with every answer at the cap of 50000 completion tokens \(--max-tokens\) it costs at most \$([0-9.]+)", out)
print(("ok " if m else "not ok ") + "it gives the worst case of a reasoning model")
if m:
    want = (prompt + distinct * 50000) / 1e6
    print(("ok " if abs(float(m.group(1)) - want) < 0.006 else "not ok ") +
          "... every distinct request's prompt and 50000 completion tokens (%s, %.4f)" % (m.group(1), want))
PY
check_exit "... with --unset max_tokens" 0 "$X" run "${plain[@]/gpt-4o/o3-mini}" --dry-run \
	--unset max_tokens
check "... it says there is no upper bound" grep -q "leaves them no cap: there is no upper bound" \
	"$T/last.out"
done_testing
