#!/usr/bin/env bash
# compare --markdown starts with one verdict line per metric, for a
# pull-request comment, checked on exact text from a fixture pair of run
# directories (tests/golden/compare: the demo's 36 reviews under E-P against
# sim --explain faithful as the base and --explain noisy:0.3 as the new run;
# scripts/update-golden regenerates the expected files): worse, better, worse
# within the tolerance, no significant change, unchanged, no value in the new
# run, not compared.
. "$(dirname "$0")/lib.sh"

G=$TESTS_DIR/golden/compare
M=accuracy,parse_failures,comprehensiveness,sufficiency,df_mit,df_frac,rankdel,occlusion:comprehensiveness

check_exit "noisy self-explanations against faithful ones: exit 4" 4 \
	"$X" compare "$G/base" "$G/new" --metrics "$M" --markdown "$T/base-new.md"
check "the Markdown is the expected file (tests/golden/compare/base-new.md)" diff -u "$G/base-new.md" "$T/base-new.md"
check_exit "the other way round: exit 0" 0 \
	"$X" compare "$G/new" "$G/base" --metrics "$M" --markdown "$T/new-base.md"
check "the Markdown is the expected file (new-base.md)" diff -u "$G/new-base.md" "$T/new-base.md"
check_exit "with --tolerance 0.05: exit 4 (df_frac and rankdel still beyond it)" 4 \
	"$X" compare "$G/base" "$G/new" --metrics "$M" --tolerance 0.05 --markdown "$T/tolerance.md"
check "the Markdown is the expected file (tolerance.md)" diff -u "$G/tolerance.md" "$T/tolerance.md"

# the exact lines, whatever the expected files say
line() { # line FILE TEXT: FILE has the line TEXT
	check "$(basename "$1"): $2" grep -qxF -- "$2" "$1"
}
line "$T/base-new.md" "### selfexp compare: 4 metrics regressed"
line "$T/base-new.md" "- comprehensiveness (ep/self): 0.353 -> 0.309 (-0.044, 95% CI [-0.056, -0.035], Holm p < 0.001, n = 36): **worse**"
line "$T/base-new.md" "- df_mit (ep/self): 0.167 -> 0.111 (-0.056, 95% CI [-0.174, +0.050], Holm p = 0.500, n = 36): no significant change"
line "$T/base-new.md" "- accuracy (ep): 0.917 -> 0.917 (every one of the 36 differences is zero): unchanged"
line "$T/base-new.md" "- comprehensiveness (ep/occlusion): 0.344 -> 0.344 (every one of the 36 differences is zero): unchanged"
line "$T/new-base.md" "- rankdel (ep/self): 0.690 -> 0.950 (+0.260, 95% CI [+0.197, +0.339], Holm p < 0.001, n = 36): better"
line "$T/tolerance.md" "- sufficiency (ep/self): 0.007 -> 0.025 (+0.018, 95% CI [+0.013, +0.024], Holm p < 0.001, n = 36): worse, within the tolerance"
line "$T/tolerance.md" "- rankdel (ep/self): 0.950 -> 0.690 (-0.260, 95% CI [-0.339, -0.197], Holm p < 0.001, n = 36): **worse**"
check_exit "the other way round with --tolerance 0.05: exit 0" 0 \
	"$X" compare "$G/new" "$G/base" --metrics "$M" --tolerance 0.05 --markdown "$T/tol-back.md"
line "$T/tol-back.md" "- comprehensiveness (ep/self): 0.309 -> 0.353 (+0.044, 95% CI [+0.035, +0.056], Holm p < 0.001, n = 36): better, within the tolerance"
check "the verdicts come before the table, one per row" python3 - "$T/base-new.md" <<'PY'
import sys
t = open(sys.argv[1]).read().split("\n")
v = [i for i, l in enumerate(t) if l.startswith("- ")]
rows = [i for i, l in enumerate(t) if l.startswith("| ") and not l.startswith("| Condition")]
sys.exit(0 if len(v) == len(rows) == 8 and max(v) < min(rows) else 1)
PY

# a metric the new run no longer has, and one the two runs never have for the same review
mkdir -p "$T/lost" "$T/apart-b" "$T/apart-n"
python3 - "$G" "$T" <<'PY'
import json, shutil, sys
G, T = sys.argv[1:3]
def rewrite(src, dst, fn):
    for f in ("run.json", "summary.json"):
        shutil.copy("%s/%s" % (src, f), "%s/%s" % (dst, f))
    with open(dst + "/records.jsonl", "w") as out:
        for i, l in enumerate(open(src + "/records.jsonl")):
            r = json.loads(l)
            if r["method"] == "self" and r.get("metrics"):
                fn(r, int(r["id"][1:]))
            out.write(json.dumps(r) + "\n")
def drop(r, i): r["metrics"]["rankdel"] = None
def odd(r, i):
    if i % 2: r["metrics"]["rankdel"] = None
def even(r, i):
    if i % 2 == 0: r["metrics"]["rankdel"] = None
rewrite(G + "/new", T + "/lost", drop)
rewrite(G + "/base", T + "/apart-b", odd)
rewrite(G + "/new", T + "/apart-n", even)
PY
check_exit "rankdel gone from the new run: exit 4" 4 "$X" compare "$G/base" "$T/lost" --metrics rankdel --markdown "$T/lost.md"
line "$T/lost.md" "- rankdel (ep/self): **worse**: no value in the new run"
check_exit "rankdel of the two runs on different reviews: exit 0" 0 "$X" compare "$T/apart-b" "$T/apart-n" --metrics rankdel --markdown "$T/apart.md"
line "$T/apart.md" "- rankdel (ep/self): not compared: no review has a value in both runs"
done_testing
