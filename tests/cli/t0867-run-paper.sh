#!/usr/bin/env bash
# scripts/run-paper.sh, the paper's protocol and its outputs, against the sim
# on a few demo reviews: every table and the report are written; a partial
# run (faults, no retries) still writes them and exits 5; and a step that
# fails leaves the previous run's good files whole (they are written with
# -o, not through a shell redirection that empties them first).
. "$(dirname "$0")/lib.sh"

script=$SELFEXP_HOME/scripts/run-paper.sh
data=$SELFEXP_HOME/data/demo.tsv
paper() { # paper OUT [extra run options]
	local out=$1
	shift
	SELFEXP=${SELFEXP:-$X} SELFEXP_MODEL=sim OPENAI_API_KEY=sk-test-0000 bash "$script" \
		--data "$data" --out "$out" \
		-- --limit 4 --no-progress "$@"
}
files=(tables.md tables.tex tables-standalone.tex results.csv report.html)

start_sim --preset literature
export OPENAI_BASE_URL=$SIM_URL
check_exit "run-paper.sh on 4 demo reviews" 0 paper "$T/a"
for f in "${files[@]}"; do
	check "... wrote $f" test -s "$T/a/$f"
done
check "... the tables are the paper's five conditions" grep -q "P-E top-k" "$T/a/tables.md"
check "... and it says where they are" grep -q "^run-paper.sh: tables in $T/a/tables" "$T/last.out"
stop_sim

start_sim --preset literature --fault-rate 0.2 --faults 500
export OPENAI_BASE_URL=$SIM_URL
check_exit "a partial run (20 % faults, no retries): exit 5" 5 paper "$T/b" --retries 0
for f in "${files[@]}"; do
	check "... still wrote $f" test -s "$T/b/$f"
done
stop_sim

# A table step that fails: a selfexp whose `table --format tex` exits 1.
cat > "$T/selfexp" <<EOF
#!/usr/bin/env bash
[ "\$1" = table ] && [ "\$3 \$4" = "--format tex" ] && { echo "selfexp: table: broken" >&2; exit 1; }
exec "$X" "\$@"
EOF
chmod +x "$T/selfexp"
cp "$T/a/tables.tex" "$T/good.tex"
start_sim --preset literature
export OPENAI_BASE_URL=$SIM_URL
paper_broken() { SELFEXP=$T/selfexp paper "$T/a"; }
check_exit "run-paper.sh again, its tex step failing: the step's exit 1" 1 paper_broken
check "... which said why" grep -q "selfexp: table: broken" "$T/last.err"
check "... the previous tables.tex is left whole" cmp "$T/good.tex" "$T/a/tables.tex"
stop_sim
done_testing
