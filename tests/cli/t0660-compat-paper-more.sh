#!/usr/bin/env bash
# --compat paper, the rest of the paper's code (issue 16), each against values
# computed by hand on a tiny input answered by recorded answers (--answers):
# - --perturb-prompt ep-pe: top-k deletions sent under the E-P prompt and
#   scored with that prompt's prediction on the review;
# - an answer without a usable prediction counts as (0, 0.5) under --compat
#   paper only, and the substitutions are counted;
# - the paper's alignment: each listed word to the first token exactly equal.
# (RankDel of top-k lists: tests/unit/test_metrics.c, test_compat_rankdel_topk.)
. "$(dirname "$0")/lib.sh"

printf 'sentence\tlabel\tid\ngood bad film\t1\tr1\ndull\t1\tr2\n' > "$T/tiny.tsv"
line() { python3 -c 'import json,sys; print(json.dumps({"condition": sys.argv[1], "review": sys.argv[2], "answer": sys.argv[3]}))' "$@"; }
{
	line ep-topk "good bad film" "['good']
(1, 0.9)"
	line ep "good bad film" "(1, 0.7)"
	line ep "bad film" "(1, 0.4)"
	line ep "good" "(1, 0.8)"
	line ep "good bad" "(1, 0.6)"
	line ep "good film" "(1, 0.9)"
	line ep "" "(0, 0.5)"
	line ep-topk "dull" "no idea"
	line ep "dull" "(0, 0.9)"
} > "$T/base.jsonl"
{ cat "$T/base.jsonl"; line ep "film" "(0, 0.8)"; } > "$T/a.jsonl"
{ cat "$T/base.jsonl"; line ep "film" "I cannot tell"; } > "$T/sub.jsonl"
common=(--data "$T/tiny.tsv" --model m --conditions ep-topk --explainers self --bootstrap 10
	--no-progress --offline)

# ---- top-k deletions under the E-P prompt
check_exit "--perturb-prompt ep-pe: every input recorded under ep" 0 "$X" run "${common[@]}" \
	--perturb-prompt ep-pe --answers "$T/a.jsonl" --out "$T/epe" --cache "$T/epe.sqlite"
check_exit "by default the top-k deletions go under ep-topk (not recorded: partial)" 5 "$X" run \
	"${common[@]}" --answers "$T/a.jsonl" --out "$T/own" --cache "$T/own.sqlite"
check_exit "--perturb-prompt takes no other value" 2 "$X" run "${common[@]}" --perturb-prompt ep \
	--answers "$T/a.jsonl" --out "$T/x" --cache "$T/x.sqlite"
check_exit "--compat paper with ep-pe and an unparseable deletion" 0 "$X" run "${common[@]}" \
	--perturb-prompt ep-pe --compat paper --answers "$T/sub.jsonl" --out "$T/sub-paper" \
	--cache "$T/sp.sqlite"
check "it says how many answers were substituted" \
	grep -q "compat paper: 2 answers without a usable prediction were counted as (0, 0.5)" "$T/last.err"
check_exit "the same without --compat paper" 0 "$X" run "${common[@]}" --perturb-prompt ep-pe \
	--answers "$T/sub.jsonl" --out "$T/sub-none" --cache "$T/sn.sqlite"
check "... says nothing of substitutions" bash -c "! grep -q substituted '$T/last.err'"
pyt - "$T" <<'PY'
import json, sys
T = sys.argv[1]
def check(what, cond): print(("ok " if cond else "not ok ") + what)
def near(a, b): return a is not None and abs(a - b) < 1e-12
def rec(d, id_):
    return next(json.loads(l) for l in open("%s/%s/records.jsonl" % (T, d))
                if json.loads(l)["id"] == id_ and json.loads(l)["method"] == "topk")
def run(d): return json.load(open("%s/%s/run.json" % (T, d)))
def summ(d): return json.load(open("%s/%s/summary.json" % (T, d)))["conditions"]["ep-topk"]

# q(x) = 0.7 under ep (not the top-k prompt's 0.9); ranking good, bad, film.
# comp = 1/4 [(0.7-0.4) + (0.7-0.2) + (0.7-0.5)] = 0.25
# suff = 1/4 [(0.7-0.5) + (0.7-0.8) + (0.7-0.6)] = 0.05
# DF_MIT: x \ {good} keeps label 1: 0; DF_Frac: the label changes at j = 2: 2/3
m = rec("epe", "r1")["metrics"]
check("ep-pe: comprehensiveness 0.25 (with the top-k prompt's 0.9 it would be 0.4)", near(m["comprehensiveness"], 0.25))
check("ep-pe: sufficiency 0.05", near(m["sufficiency"], 0.05))
check("ep-pe: DF_MIT 0, DF_Frac 2/3", near(m["df_mit"], 0) and near(m["df_frac"], 2 / 3))
check("ep-pe: run.json says perturb_prompt ep-pe", run("epe")["perturb_prompt"] == "ep-pe"
      and run("epe")["config"]["perturb_prompt"] == "ep-pe")
miss = [json.loads(l) for l in open(T + "/own/misses.jsonl")]
check("by default the misses are ep-topk requests", miss and all(x["prompt"] == "ep-topk" for x in miss))

# the deletion "film" has no prediction. --compat paper counts it as (0, 0.5):
# comp (y = 1) = 1/4 [(0.7-0.4) + (0.7-0.5) + (0.7-0.5)] = 0.175
# suff = 1/4 [|0.7-0.5| + |0.7-0.8| + |0.7-0.6|] = 0.1
# DF_Frac = 2 / (n + 1) = 0.5 (the substituted label 0 is a change)
m = rec("sub-paper", "r1")["metrics"]
check("paper: comprehensiveness 0.175", near(m["comprehensiveness"], 0.175))
check("paper: sufficiency 0.1", near(m["sufficiency"], 0.1))
check("paper: DF_Frac 0.5", near(m["df_frac"], 0.5))
r = rec("none" and "sub-none", "r1")
check("default: the metrics that need it are undefined, not made up",
      r["metrics"]["comprehensiveness"] is None and "comprehensiveness" in r["metrics_undefined"])
# review r2's elicited answer "no idea" has no prediction either
p = rec("sub-paper", "r2")["prediction"]
check("paper: the unparseable elicited answer is (0, 0.5), marked substituted",
      p == {"label": 0, "confidence": 0.5, "p_pos": 0.5, "substituted": True})
check("default: it has no prediction", rec("sub-none", "r2")["prediction"] is None)
check("run.json counts one elicited and one perturbed substitution",
      run("sub-paper")["counts"]["paper_substituted"] == {"elicit": 1, "perturbed": 1})
check("default run.json has no such count", "paper_substituted" not in run("sub-none")["counts"])
sp, sn = summ("sub-paper"), summ("sub-none")
check("paper: accuracy 0.5 (r2 counted as label 0), parse_substituted 1, parse failures 1",
      near(sp["accuracy"]["mean"], 0.5) and sp["parse_substituted"] == 1 and sp["parse_failures"] == 1)
check("default: accuracy 1 over the one usable answer, no parse_substituted",
      near(sn["accuracy"]["mean"], 1.0) and sn["accuracy"]["n"] == 1 and "parse_substituted" not in sn)
PY

# ---- alignment: first exact match
printf 'sentence\tlabel\tid\ngood good film\t1\tg2\nGood film .\t1\tg3\n' > "$T/align.tsv"
{
	line ep "good good film" "[('good', 0.5), ('good', 0.3), ('film', 0.1)]
(1, 0.8)"
	line ep "Good film ." "[('good', 0.5), ('film', 0.2), ('.', 0.0)]
(1, 0.8)"
} > "$T/align.jsonl"
for mode in none paper; do
	check_exit "alignment, --compat $mode" 0 "$X" run --data "$T/align.tsv" --model m \
		--conditions ep --explainers self --no-metrics --no-progress --offline --compat "$mode" \
		--answers "$T/align.jsonl" --out "$T/al-$mode" --cache "$T/al-$mode.sqlite"
done
pyt - "$T" <<'PY'
import json, sys
T = sys.argv[1]
def check(what, cond): print(("ok " if cond else "not ok ") + what)
def imp(mode, id_):
    r = next(json.loads(l) for l in open("%s/al-%s/records.jsonl" % (T, mode))
             if json.loads(l)["id"] == id_ and json.loads(l)["method"] == "self")
    return r["importance"], r["coverage"]
check("default: a word listed twice goes to successive tokens", imp("none", "g2")[0] == [0.5, 0.3, 0.1])
check("paper: both to the first 'good', the later value there, the second 'good' none",
      imp("paper", "g2") == ([0.3, None, 0.1], 2 / 3))
check("default: 'good' matches 'Good' after normalisation", imp("none", "g3")[0] == [0.5, 0.2, 0.0])
check("paper: only exact matches", imp("paper", "g3") == ([None, 0.2, 0.0], 2 / 3))
PY
done_testing
