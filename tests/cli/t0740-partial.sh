#!/usr/bin/env bash
# A run that did not get every answer it needed is partial, whatever the
# stage: exit 5, "complete": false, the failures counted by stage and
# condition with their reasons, in summary.json, run.json, the table and the
# report. A partial result never replaces a complete run (run and score),
# and --offline lists every miss in misses.jsonl.
. "$(dirname "$0")/lib.sh"

data=$SELFEXP_HOME/data/demo.tsv
common=(--data "$data" --limit 6 --model sim --conditions ep,pe --lime-samples 20 --bootstrap 20
	--no-progress)

# ---- failures in every stage: 500s and no retries
start_sim --fault-rate 0.15 --faults 500
check_exit "a run whose requests fail (no retries) exits 5" 5 "$X" run "${common[@]}" \
	--out "$T/faulty" --cache "$T/faulty.sqlite" --base-url "$SIM_URL" --retries 0
cp "$T/last.err" "$T/faulty.err"
stop_sim
check "it says partial run" grep -q "partial run" "$T/faulty.err"
check "it names the failures by stage and the reason" \
	grep -Eq "requests failed: elicit [0-9]+, explain [0-9]+, evaluate [0-9]+; why:" "$T/faulty.err"
check "... with the reasons and their counts" grep -Eq "^selfexp: +[0-9]+  after 1 attempts: http 500" "$T/faulty.err"
pyt - "$T/faulty" <<'PY'
import json, sys
d = sys.argv[1]
def check(what, cond): print(("ok " if cond else "not ok ") + what)
run = json.load(open(d + "/run.json"))
summ = json.load(open(d + "/summary.json"))
recs = [json.loads(l) for l in open(d + "/records.jsonl")]
f = run["failures"]
check("run.json says complete: false", run["complete"] is False)
check("failures in the explain and evaluate stages, not only elicit",
      f["explain"]["by_condition"]["ep"] + f["explain"]["by_condition"]["pe"] > 0 and
      f["evaluate"]["by_condition"]["ep"] + f["evaluate"]["by_condition"]["pe"] > 0)
total = sum(sum(f[s]["by_condition"].values()) for s in ("elicit", "explain", "evaluate"))
check("the stages add up to failures.requests (%d)" % total, total == f["requests"])
check("and to the engine's failed count", total == run["counts"]["failed"])
check("every reason counted names HTTP 500",
      all("500" in r for s in ("elicit", "explain", "evaluate") for r in f[s]["reasons"]))
by = sum(c["failed_requests"] for c in summ["conditions"].values())
check("summary.json's failed_requests add up too", by == total)
lime = [r for r in recs if r["method"] == "lime" and r.get("lime")]
bad = [r for r in lime if r["lime"]["samples_failed"] > 0.1 * r["lime"]["samples"]]
check("LIME fits over 10 %% failed samples are not used (%d of them)" % len(bad),
      all(r["lime"]["status"] == "failed" and r["importance"] is None and "metrics" not in r
          and ("more than 10 %" in r["error"] or "unperturbed review" in r["error"])
          for r in bad))
# a failed unperturbed review (sample 0) fails the fit however few samples failed
few = [r for r in lime if 0 < r["lime"]["samples_failed"] <= 0.1 * r["lime"]["samples"]]
part = [r for r in few if "unperturbed review" not in r.get("error", "")]
check("fits with a few failed samples are marked partial",
      all(r["lime"]["status"] == "partial" for r in part))
check("... unless the unperturbed review failed: then the fit failed",
      all(r["lime"]["status"] == "failed" and r["importance"] is None
          for r in few if r not in part))
occ = [r for r in recs if r["method"] == "occlusion" and r["importance"] is None]
check("occlusion with a missing deletion is not an explanation (%d)" % len(occ),
      all("error" in r for r in occ))
und = [r for r in recs if r.get("metrics") and any(v is None for k, v in r["metrics"].items()
                                                     if not k.endswith("_at"))]
check("every null metric carries a reason (%d records)" % len(und),
      all(set(k for k, v in r["metrics"].items() if v is None and not k.endswith("_at"))
          <= set(r.get("metrics_undefined", {})) for r in und))
# strict JSON: no duplicate keys anywhere
def strict(pairs):
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), keys
    return dict(pairs)
ok = True
for l in open(d + "/records.jsonl"):
    try:
        json.loads(l, object_pairs_hook=strict)
    except AssertionError:
        ok = False
check("no record has a duplicate key (one \"error\")", ok)
PY
"$X" table "$T/faulty" --format csv > "$T/faulty.csv"
check "the table's failed-requests row is not zero" \
	bash -c "grep -E '^accuracy,(ep|pe),,failed_requests,count,' '$T/faulty.csv' | grep -vq ',0$'"
"$X" report "$T/faulty" -o "$T/faulty.html" 2> /dev/null
check "the report says the run is partial" grep -q "This run is partial: [0-9]* requests failed" "$T/faulty.html"

# ---- the server killed in the middle of a run: partial, never "done"
start_sim --latency-ms 40
"$X" run --data "$data" --limit 20 --model sim --no-progress --out "$T/killed" \
	--cache "$T/killed.sqlite" --base-url "$SIM_URL" --retries 1 --timeout 2 \
	> "$T/killed.out" 2> "$T/killed.err" &
run_pid=$!
wait_sending 600 || fail "the run never got going"
kill9 "$SIM_PID"
wait "$run_pid"
check_eq "a run whose server is killed exits 5" 5 $?
check "it says partial run" grep -q "partial run" "$T/killed.err"
check "run.json: complete false, the failures counted" python3 -c "
import json, sys
r = json.load(open('$T/killed/run.json'))
sys.exit(not (r['complete'] is False and r['failures']['requests'] > 0
              and r['failures']['requests'] == r['counts']['failed']))"

# ---- a partial result does not replace a complete run
start_sim
check_exit "a clean run exits 0" 0 "$X" run "${common[@]}" --out "$T/good" \
	--cache "$T/good.sqlite" --base-url "$SIM_URL"
stop_sim
check "... and says complete: true" grep -Eq '"complete":[[:space:]]*true' "$T/good/run.json"
cp -r "$T/good" "$T/good.orig"
start_sim --fault-rate 0.15 --faults 500
check_exit "the same run again with failures exits 5" 5 "$X" run "${common[@]}" --out "$T/good" \
	--cache "$T/other.sqlite" --base-url "$SIM_URL" --retries 0
stop_sim
check "it says the complete run was kept" grep -q "the complete run in .*/good was kept" "$T/last.err"
check "records.jsonl is byte for byte as it was" cmp -s "$T/good.orig/records.jsonl" "$T/good/records.jsonl"
check "summary.json too" cmp -s "$T/good.orig/summary.json" "$T/good/summary.json"
check "run.json too" cmp -s "$T/good.orig/run.json" "$T/good/run.json"
check "the partial result went beside it" grep -Eq '"complete":[[:space:]]*false' "$T/good.partial/run.json"

# ---- score with answers missing: exit 5, nothing replaced
check_exit "score with a cache that misses answers exits 5" 5 "$X" score "$T/good" --cache "$T/other.sqlite"
check "it left summary.json as it was" cmp -s "$T/good.orig/summary.json" "$T/good/summary.json"
check "and records.jsonl" cmp -s "$T/good.orig/records.jsonl" "$T/good/records.jsonl"
check "it says so" grep -q "was left as it was" "$T/last.err"
check_exit "score with the run's own cache exits 0" 0 "$X" score "$T/good" --cache "$T/good.sqlite"
check "... and reproduces summary.json" cmp -s "$T/good.orig/summary.json" "$T/good/summary.json"

# ---- --offline lists every miss
check_exit "an offline run on an empty cache exits 5" 5 "$X" run "${common[@]}" --out "$T/off" \
	--cache "$T/empty.sqlite" --offline --base-url http://127.0.0.1:9/v1
check "it counts the misses by stage on stderr (every elicitation of 6 reviews x 2 conditions)" \
	grep -Eq "[0-9]+ answers were missing from the cache \(offline\): elicit 12, explain [0-9]+, evaluate 0; why:" "$T/last.err"
n=$(sed -n 's/.* \([0-9]*\) answers were missing.*/\1/p' "$T/last.err")
check_eq "misses.jsonl lists each of them" "$n" "$(wc -l < "$T/off/misses.jsonl")"
check "with stage, condition, review and the text's SHA-256" \
	grep -q '"stage":"elicit","condition":"ep","prompt":"ep","review":"[^"]*","tokens":[0-9]*,"text_sha256":"[0-9a-f]\{64\}"' "$T/off/misses.jsonl"
done_testing
