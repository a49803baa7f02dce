#!/usr/bin/env bash
# Recorded answers (issue 16): `selfexp answers export DIR` writes every
# answer a run used, and `run --answers FILE --offline` on a fresh cache
# reproduces the run's records.jsonl and summary.json byte for byte, at
# concurrency 1 and 64, on the demo sample with the demo's whole protocol
# (all five conditions, self, occlusion and LIME, the metrics). Recorded
# answers come before the cache, are counted as "recorded", and a bad line
# stops the run before anything is sent.
. "$(dirname "$0")/lib.sh"

data=$SELFEXP_HOME/data/demo.tsv
common=(--data "$data" --model sim --conditions ep,pe,ep-topk,pe-topk,pred --bootstrap 50
	--no-progress)

start_sim --preset literature
check_exit "the original run, from the sim" 0 "$X" run "${common[@]}" --out "$T/a" \
	--cache "$T/a.sqlite" --base-url "$SIM_URL" --concurrency 64
stop_sim

check_exit "answers export writes the run's answers" 0 "$X" answers export "$T/a"
cp "$T/last.out" "$T/answers.jsonl"
check "it says how many" grep -Eq "^selfexp: answers: [0-9]+ answers of 36 reviews" "$T/last.err"
pyt - "$T/answers.jsonl" "$T/a" <<'PY'
import json, sys
def check(what, cond): print(("ok " if cond else "not ok ") + what)
lines = [json.loads(l) for l in open(sys.argv[1])]
run = json.load(open(sys.argv[2] + "/run.json"))
check("%d lines, each with condition, review, answer and model" % len(lines),
      lines and all(set(l) == {"condition", "review", "answer", "model"} and l["model"] == "sim"
                    for l in lines))
check("one line per (condition, review)", len({(l["condition"], l["review"]) for l in lines}) == len(lines))
check("all five conditions", {l["condition"] for l in lines} == {"ep", "pe", "ep-topk", "pe-topk", "pred"})
check("the empty review is there (the metrics ask for it)", any(l["review"] == "" for l in lines))
check("as many answers as the run sent distinct requests (%d)" % run["counts"]["sent"],
      len(lines) == run["counts"]["sent"])
recs = [json.loads(l) for l in open(sys.argv[2] + "/records.jsonl")]
by = {(l["condition"], l["review"]): l["answer"] for l in lines}
self_recs = [r for r in recs if r["method"] in ("self", "topk") and "answer" in r]
check("every elicited answer is in it, under its review text (%d)" % len(self_recs),
      self_recs and all(by.get((r["condition"], " ".join(r["tokens"]))) == r["answer"]
                        for r in self_recs))
PY

# ---- the replay, with no server at all, at concurrency 1 and 64
for c in 1 64; do
	check_exit "replay at --concurrency $c on a fresh cache, offline" 0 "$X" run "${common[@]}" \
		--out "$T/b$c" --cache "$T/b$c.sqlite" --answers "$T/answers.jsonl" --offline \
		--concurrency "$c"
	check "... records.jsonl byte for byte ($c)" cmp "$T/a/records.jsonl" "$T/b$c/records.jsonl"
	check "... summary.json byte for byte ($c)" cmp "$T/a/summary.json" "$T/b$c/summary.json"
done
check "the summary line counts the recorded answers" \
	grep -Eq "\(([0-9]+) distinct, \1 recorded, 0 from cache, 0 sent" "$T/last.err"
# ---- --dry-run counts what the files answer: all of elicit and explain here, nothing to send
check_exit "--dry-run with the answers" 0 "$X" run "${common[@]}" --out "$T/dry" \
	--answers "$T/answers.jsonl" --offline --dry-run
pyt - "$T/last.out" <<'PY'
import sys
def check(what, cond): print(("ok " if cond else "not ok ") + what)
head, *rows = [l.split() for l in open(sys.argv[1]) if l.split() and not l.startswith("estimated")]
check("--dry-run --answers: a recorded column", head[:4] == ["stage", "naive", "distinct", "recorded"])
byst = {" ".join(r[:2]): r[2:] for r in rows if r[0] in ("elicit", "explain", "evaluate")}
known = [k for k in byst if not k.startswith("evaluate")]
check("... every elicit and explain request recorded (%d stages)" % len(known),
      len(known) == 10 and all(byst[k][1] == byst[k][2] != "0" for k in known))
check("... and none of their tokens counted", all(byst[k][3:] == ["0", "0"] for k in known))
check("... the evaluate stage's: not known ('?')",
      all(byst[k][2] == "?" for k in byst if k.startswith("evaluate")))
PY
check "... nothing written" test ! -e "$T/dry"
"$X" run "${common[@]}" --out "$T/dry" --dry-run > "$T/dry.out" 2>&1
check "--dry-run without answers: no recorded column" sh -c "! grep -q recorded '$T/dry.out'"
sha=$(sha256sum "$T/answers.jsonl" | cut -d' ' -f1)
pyt - "$T/b64/run.json" "$T/answers.jsonl" "$sha" <<'PY'
import json, sys
def check(what, cond): print(("ok " if cond else "not ok ") + what)
run = json.load(open(sys.argv[1]))
c = run["counts"]
check("run.json counts: recorded = distinct, no cache hit, nothing sent",
      c["recorded"] == c["distinct_requests"] > 0 and c["cache_hits"] == 0 and c["sent"] == 0)
check("run.json names the answers file and its SHA-256 (and what it answered: all of it)",
      run["answers"] == [{"path": sys.argv[2], "sha256": sys.argv[3],
                          "answers": sum(1 for l in open(sys.argv[2]) if l.strip()), "unused": 0}] and
      run["config"]["endpoint"]["answers"] == [{"path": sys.argv[2], "sha256": sys.argv[3]}])
check("complete", run["complete"] is True)
PY
check_exit "the progress line counts recorded answers" 0 "$X" run "${common[@]}" --limit 2 \
	--out "$T/prog" --cache "$T/prog.sqlite" --answers "$T/answers.jsonl" --offline --progress
check "... 'recorded N' on it" grep -Eq "recorded [1-9][0-9]*  hits 0" "$T/last.err"

# ---- score and export of a replayed run take the recorded answers file again
cp "$T/b1/summary.json" "$T/b1.summary"
check_exit "score of the replayed run" 0 "$X" score "$T/b1"
check "... reproduces it" cmp "$T/b1.summary" "$T/b1/summary.json"
check_exit "export of the replayed run" 0 "$X" answers export "$T/b1"
check "... gives the same answers" cmp "$T/answers.jsonl" "$T/last.out"
cp "$T/answers.jsonl" "$T/changed.jsonl"
echo '{"condition":"ep","review":"an extra line","answer":"(1, 0.5)"}' >> "$T/changed.jsonl"
check_exit "a replayed run on its own answers file" 0 "$X" run "${common[@]}" --limit 2 \
	--out "$T/c" --cache "$T/c.sqlite" --answers "$T/changed.jsonl" --offline
echo '{"condition":"ep","review":"another line","answer":"(1, 0.5)"}' >> "$T/changed.jsonl"
check_exit "score refuses an answers file changed since the run" 1 "$X" score "$T/c"
check "... naming it and its SHA-256" grep -q "answers file '$T/changed.jsonl' has changed since the run (SHA-256" "$T/last.err"

# ---- offline misses: what neither the answers nor the cache hold
grep -v '"condition":"pred"' "$T/answers.jsonl" > "$T/nopred.jsonl"
check_exit "a replay without the pred answers is partial" 5 "$X" run "${common[@]}" \
	--out "$T/m" --cache "$T/m.sqlite" --answers "$T/nopred.jsonl" --offline
check "it says where the answers were missing" \
	grep -q "answers were missing from the recorded answers and the cache (offline)" "$T/last.err"
pyt - "$T/m" "$T/answers.jsonl" <<'PY'
import json, sys
def check(what, cond): print(("ok " if cond else "not ok ") + what)
d = sys.argv[1]
miss = [json.loads(l) for l in open(d + "/misses.jsonl")]
npred = sum(1 for l in open(sys.argv[2]) if json.loads(l)["condition"] == "pred")
el = [m for m in miss if m["stage"] == "elicit"]
check("misses.jsonl lists the pred requests, elicit first (%d lines, %d elicit)" % (len(miss), len(el)),
      0 < len(miss) <= npred and all(m["prompt"] == "pred" for m in miss) and len(el) == 36)
run = json.load(open(d + "/run.json"))
check("run.json: not complete, the misses counted",
      run["complete"] is False and run["failures"]["elicit"]["by_condition"]["pred"] > 0)
PY

# ---- recorded answers come before the cache
python3 - "$T/answers.jsonl" "$T/first.jsonl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
first = next(l for l in lines if l["condition"] == "ep")
first["answer"] += "\n"  # parsed the same: the run needs no other input
json.dump(first, open(sys.argv[2], "w")); open(sys.argv[2], "a").write("\n")
PY
check_exit "a run on the full cache with one recorded answer" 0 "$X" run "${common[@]}" --limit 1 \
	--conditions ep --out "$T/pre" --cache "$T/a.sqlite" --answers "$T/first.jsonl" --offline \
	--base-url "$SIM_URL"
pyt - "$T/pre" "$T/first.jsonl" <<'PY'
import json, sys
def check(what, cond): print(("ok " if cond else "not ok ") + what)
recs = [json.loads(l) for l in open(sys.argv[1] + "/records.jsonl")]
s = next(r for r in recs if r["method"] == "self")
first = json.loads(open(sys.argv[2]).read())
check("the recorded answer, not the cached one, is used", s["answer"] == first["answer"]
      and s["answer"].endswith("\n"))
c = json.load(open(sys.argv[1] + "/run.json"))["counts"]
check("recorded first, the rest from the cache", c["recorded"] >= 1 and c["cache_hits"] > 0
      and c["failed"] == 0)
PY

# ---- --perturb-prompt pred: perturbed texts are recorded under pred
start_sim --preset literature
check_exit "a run with --perturb-prompt pred" 0 "$X" run "${common[@]}" --limit 4 \
	--conditions ep,pe --perturb-prompt pred --out "$T/p" --cache "$T/p.sqlite" \
	--base-url "$SIM_URL"
stop_sim
"$X" answers export "$T/p" > "$T/p.jsonl"
check "its perturbed texts are exported under pred" \
	bash -c "grep -c '\"condition\":\"pred\"' '$T/p.jsonl' | grep -qv '^0$'"
check_exit "and replayed" 0 "$X" run "${common[@]}" --limit 4 --conditions ep,pe \
	--perturb-prompt pred --out "$T/p2" --cache "$T/p2.sqlite" --answers "$T/p.jsonl" --offline
check "... byte for byte" cmp "$T/p/records.jsonl" "$T/p2/records.jsonl"
python3 - "$T/p.jsonl" "$T/p-ep.jsonl" <<'PY'
import json, sys
out = open(sys.argv[2], "w")
lines = [json.loads(l) for l in open(sys.argv[1])]
ep = {l["review"] for l in lines if l["condition"] == "ep"}
for l in lines:
    # the ep elicits, and every other pred answer relabelled ep
    if l["condition"] == "ep" or (l["condition"] == "pred" and l["review"] not in ep):
        l["condition"] = "ep"
        out.write(json.dumps(l) + "\n")
PY
check_exit "perturbed texts recorded under ep do not answer pred requests" 5 "$X" run \
	"${common[@]}" --limit 4 --conditions ep,pe --perturb-prompt pred --out "$T/p3" \
	--cache "$T/p3.sqlite" --answers "$T/p-ep.jsonl" --offline

# ---- bad lines: file, line and problem, exit 1, nothing sent
start_sim
good='{"condition":"ep","review":"a film","answer":"(1, 0.9)"}'
bad_case() { # what, line 2 of the file, expected message part
	printf '%s\n%s\n' "$good" "$2" > "$T/bad.jsonl"
	check_exit "$1: exit 1" 1 "$X" run "${common[@]}" --limit 2 --out "$T/bad" \
		--cache "$T/bad.sqlite" --answers "$T/bad.jsonl" --base-url "$SIM_URL"
	check "$1: the message names file, line and problem" \
		grep -qF "'$T/bad.jsonl' line 2: $3" "$T/last.err"
}
bad_case "not JSON" '{"condition":"ep",' "not JSON"
bad_case "not an object" '["ep","a film","(1, 0.9)"]' "not a JSON object"
bad_case "no answer" '{"condition":"ep","review":"a film"}' 'no "answer"'
bad_case "no review" '{"condition":"ep","answer":"x"}' 'no "review"'
bad_case "a number for a review" '{"condition":"ep","review":3,"answer":"x"}' '"review" is not a string'
bad_case "unknown condition" '{"condition":"e-p","review":"x","answer":"y"}' "unknown condition 'e-p'"
bad_case "a model that is not a string" '{"condition":"ep","review":"x","answer":"y","model":1}' '"model" is not a string'
bad_case "a NUL escape" '{"condition":"ep","review":"x\u0000y","answer":"y"}' 'holds a NUL character'
bad_case "a lone surrogate" '{"condition":"ep","review":"x\ud800","answer":"y"}' ''
bad_case "a duplicate that disagrees" '{"condition":"ep","review":"a film","answer":"(0, 0.9)"}' \
	"another answer for condition 'ep' and this review than line 1 of '$T/bad.jsonl'"
printf '%s\n{"condition":"pe","review":"caf\xe9","answer":"x"}\n' "$good" > "$T/bad.jsonl"
check_exit "invalid UTF-8: exit 1" 1 "$X" run "${common[@]}" --limit 2 --out "$T/bad" \
	--cache "$T/bad.sqlite" --answers "$T/bad.jsonl" --base-url "$SIM_URL"
check "invalid UTF-8: named with its byte" grep -qF "'$T/bad.jsonl' line 2: invalid UTF-8 at byte 32" "$T/last.err"
printf '%s\n' '{"condition":"ep","review":"a film","answer":"(0, 0.1)"}' > "$T/other.jsonl"
printf '%s\n' "$good" > "$T/good.jsonl"
check_exit "a duplicate across two files that disagrees: exit 1" 1 "$X" run "${common[@]}" \
	--limit 2 --out "$T/bad" --cache "$T/bad.sqlite" --answers "$T/good.jsonl" \
	--answers "$T/other.jsonl" --base-url "$SIM_URL"
check "... naming both files" grep -qF "'$T/other.jsonl' line 1: another answer for condition 'ep' and this review than line 1 of '$T/good.jsonl'" "$T/last.err"
check_eq "none of the bad files sent a request" 0 "$(sim_asked)"
printf '%s\n\n%s\n' "$good" "$good" > "$T/twice.jsonl"
check_exit "a duplicate that agrees, and a blank line, are fine" 0 "$X" run "${common[@]}" \
	--limit 1 --conditions ep --out "$T/twice" --cache "$T/twice.sqlite" \
	--answers "$T/twice.jsonl" --base-url "$SIM_URL"
for prob in logprob sample:4; do
	check_exit "--answers with --prob $prob is a usage error" 2 "$X" run "${common[@]}" \
		--limit 1 --prob "$prob" --out "$T/lp" --cache "$T/lp.sqlite" \
		--answers "$T/good.jsonl" --base-url "$SIM_URL"
	check "... naming both options and saying why" grep -q \
		"^selfexp: run: --answers does not go with --prob ${prob%%:*}.*use --prob verbal" \
		"$T/last.err"
	check "... before anything is written" test ! -e "$T/lp" -a ! -e "$T/lp.sqlite"
done
stop_sim

# ---- the demo itself: export, then replay with the run options the demo uses
check_exit "selfexp demo" 0 "$X" demo --out "$T/demo/d" --no-progress
check_exit "answers export of the demo" 0 "$X" answers export "$T/demo/d"
cp "$T/last.out" "$T/demo.jsonl"
for c in 1 64; do
	check_exit "the demo replayed at --concurrency $c" 0 "$X" run --data "$data" \
		--conditions ep,pe,ep-topk,pe-topk,pred --answers "$T/demo.jsonl" --offline \
		--out "$T/demo-r$c" --cache "$T/demo-r$c.sqlite" --concurrency "$c" --no-progress
	check "... records.jsonl byte for byte ($c)" cmp "$T/demo/d/records.jsonl" "$T/demo-r$c/records.jsonl"
	check "... summary.json byte for byte ($c)" cmp "$T/demo/d/summary.json" "$T/demo-r$c/summary.json"
done

check_exit "answers without a subcommand" 2 "$X" answers
check_exit "answers export without a directory" 2 "$X" answers export
check_exit "answers export of a directory that is no run" 1 "$X" answers export "$T"
rm -f "$T/nocache.sqlite"
check_exit "answers export with an empty cache: exit 5" 5 "$X" answers export "$T/a" \
	--cache "$T/nocache.sqlite"
check_eq "... and nothing on stdout" "" "$(cat "$T/last.out")"
done_testing
