#!/usr/bin/env bash
# Batch mode (docs/batch.md): the whole protocol on the demo data through
# --batch against the sim writes records.jsonl and summary.json byte for byte
# as a live run; run.json records the batches and what they cost at half the
# price; --dry-run --batch shows both estimates; --no-wait exits 6 and the
# same command picks up; the options batch mode refuses say so.
. "$(dirname "$0")/lib.sh"
data=$SELFEXP_HOME/data/demo.tsv
opts=(--data "$data" --conditions ep,pe,ep-topk,pe-topk,pred --model sim --no-progress
	--price-in 2 --price-out 8)

start_sim --preset literature
check_exit "the live run exits 0" 0 "$X" run "${opts[@]}" --out "$T/live/run" --base-url "$SIM_URL"
live_chat=$(sim_stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["chat_requests"])')
stop_sim

start_sim --preset literature --batch-delay 30
check_exit "the batch run exits 0" 0 "$X" run "${opts[@]}" --out "$T/bat/run" --cache "$T/bat.sqlite" \
	--base-url "$SIM_URL" --batch --batch-poll 0.02
check "it polled, and said each batch's status and counts" \
	grep -q "^selfexp: batch batch_sim000001 (elicit ep,pe,ep-topk,pe-topk,pred, round 1): completed, 180/180 done, 0 failed$" "$T/last.err"
check "records.jsonl is byte-identical to the live run's" cmp "$T/live/run/records.jsonl" "$T/bat/run/records.jsonl"
check "summary.json is byte-identical to the live run's" cmp "$T/live/run/summary.json" "$T/bat/run/summary.json"
sim_stats > "$T/stats.json"
pyt - "$T/live/run/run.json" "$T/bat/run/run.json" "$T/bat/run/batches.json" "$T/stats.json" "$live_chat" <<'EOF'
import json, sys
live, bat, rec, stats = (json.load(open(p)) for p in sys.argv[1:5])
live_chat = int(sys.argv[5])
st = stats["batches"]
def check(what, cond, extra=""):
    print(("ok " if cond else "not ok ") + what + (" # " + extra if extra and not cond else ""))
check("no chat request went to the live endpoint", stats["chat_requests"] == 0, str(stats["chat_requests"]))
check("the batches' lines are the live run's requests (%d)" % live_chat,
      stats["batch_lines"] == live_chat and st["lines"] == live_chat, "%s vs %d" % (stats["batch_lines"], live_chat))
# elicit once, then explain and evaluate per condition: 1 + 2 x 5
check("one batch per stage and condition: 11 created, 11 files", st["batches_created"] == 11 and st["files_uploaded"] == 11, str(st))
lst = bat["batches"]["list"]
check("run.json lists the 11 batches with their ids", len(lst) == 11 and all(b["batch_id"].startswith("batch_sim") for b in lst))
check("run.json's list is DIR/batches.json's", lst == rec["batches"])
check("every batch collected, every line answered",
      all(b["collected"] and b["status"] == "completed" and b["answered"] == b["requests"] and b["failed"] == 0 for b in lst))
cost = sum(b["cost"] for b in lst)
lc, bc = live["counts"], bat["counts"]
check("the batches' costs add up to run.json's cost", abs(cost - bc["cost_usd"]) < 1e-9, "%r vs %r" % (cost, bc["cost_usd"]))
check("the same tokens as live", lc["prompt_tokens"] == bc["prompt_tokens"] and lc["completion_tokens"] == bc["completion_tokens"])
check("at half the live price (%.4f vs %.4f)" % (bc["cost_usd"], lc["cost_usd"]),
      lc["cost_usd"] > 0 and abs(bc["cost_usd"] - lc["cost_usd"] / 2) < 1e-9)
check("run.json says the mode and the discount", bat["batches"]["mode"] == "api" and bat["batches"]["discount"] == 0.5)
check("complete", bat["complete"] is True)
EOF

# run again: everything is in the cache, no batch is made
before=$(sim_stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["batches"]["batches_created"])')
check_exit "a second batch run exits 0" 0 "$X" run "${opts[@]}" --out "$T/bat/run" --cache "$T/bat.sqlite" \
	--base-url "$SIM_URL" --batch
check_eq "and creates no batch (all cached)" "$before" \
	"$(sim_stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["batches"]["batches_created"])')"
stop_sim

# --no-wait: submit, exit 6, the same command picks up until done
start_sim --preset literature --batch-delay 150
rc=6 n=0
while [ $rc = 6 ] && [ $n -lt 200 ]; do
	"$X" run "${opts[@]}" --conditions ep --out "$T/nw/run" --cache "$T/nw.sqlite" --base-url "$SIM_URL" \
		--batch --no-wait > "$T/nw.out" 2> "$T/nw.err"
	rc=$?
	n=$((n + 1))
	[ $n = 1 ] && cp "$T/nw.err" "$T/nw.first.err"
	[ $rc = 6 ] && sleep 0.05
done
check_eq "--no-wait: exit 6 until the batches are done, then 0" 0 "$rc"
check "--no-wait: the first run exited 6 and said which batch to come back for" \
	grep -q "^selfexp: elicit ep: 1 batch pending: batch_sim000001 (validating); run the same command again to collect it$" "$T/nw.first.err"
check "--no-wait: no run directory files before the end, but batches.json" test -s "$T/nw/run/batches.json"
pyt - "$(sim_stats)" "$n" <<'EOF'
import json, sys
st = json.loads(sys.argv[1])["batches"]
n = int(sys.argv[2])
print(("ok " if st["batches_created"] == 3 and st["files_uploaded"] == 3 else "not ok ") +
      "--no-wait over %d invocations: 3 batches (elicit, explain, evaluate), each created once (%s)" % (n, st))
print(("ok " if n >= 4 else "not ok ") + "it took several invocations (%d)" % n)
EOF
check_exit "--no-wait's result equals a waiting run's" 0 "$X" run "${opts[@]}" --conditions ep \
	--out "$T/nwref/run" --base-url "$SIM_URL" --cache "$T/nw.sqlite"
check "records.jsonl of --no-wait equals the live one" cmp "$T/nwref/run/records.jsonl" "$T/nw/run/records.jsonl"
stop_sim

# dry run: both estimates
check_exit "--dry-run --batch exits 0" 0 "$X" run "${opts[@]}" --out "$T/dry/run" --dry-run --batch
check "--dry-run --batch shows the live estimate" grep -q '^estimated cost: \(<= \)\?\$[0-9.]* for model .sim. at \$2.00 / \$8.00' "$T/last.out"
pyt - "$T/last.out" <<'EOF'
import re, sys
t = open(sys.argv[1]).read()
live = float(re.search(r"^estimated cost: (?:<= )?\$([0-9.]+)", t, re.M).group(1))
m = re.search(r"^estimated cost as batches: (?:<= )?\$([0-9.]+) \(50 % of the live price", t, re.M)
print(("ok " if m and abs(float(m.group(1)) - live / 2) <= 0.006 else "not ok ") +
      "--dry-run --batch: the batch estimate is half the live one (%s)" % (m.group(0) if m else t))
EOF
check_exit "--dry-run without --batch exits 0" 0 "$X" run "${opts[@]}" --out "$T/dry/run" --dry-run
check "--dry-run without --batch shows no batch estimate" sh -c "! grep -q 'as batches' '$T/last.out'"
check_eq "the price table has a batch column for gpt-4o-mini" "0.5" \
	"$(awk -F'\t' '$1 == "gpt-4o-mini" { print $4 }' "$SELFEXP_HOME/data/prices.tsv")"

# what batch mode refuses
for o in "--max-cost 1" "--max-requests 10" "--rpm 60" "--tpm 1000" "--offline"; do
	# shellcheck disable=SC2086
	check_exit "--batch with $o is a usage error" 2 "$X" run "${opts[@]}" --out "$T/x/run" \
		--base-url http://127.0.0.1:9/v1 --batch $o
	check "  and says why (${o%% *})" grep -q "^selfexp: run: ${o%% *} does not go with --batch: " "$T/last.err"
done
check_exit "--no-wait without --batch is a usage error" 2 "$X" run "${opts[@]}" --out "$T/x/run" \
	--base-url http://127.0.0.1:9/v1 --no-wait
check "--help documents exit 6" grep -q "6 batches pending" <("$X" run --help)
check "nothing was written for the refused runs" test ! -e "$T/x"
done_testing
