#!/usr/bin/env bash
# The protocol of Huang et al. 2023 on the seeded sample of 100 SST test
# reviews (data/paper100.tsv): conditions E-P, P-E, their top-k
# variants and prediction only, self-explanations, occlusion and LIME
# (10 x tokens samples), every faithfulness and agreement metric; then the
# tables (Markdown, LaTeX, CSV) and the HTML report.
#
# usage: scripts/run-paper.sh [--out DIR] [--model NAME] [--data FILE] [--dry-run]
#                             [-- extra selfexp run options]
#   --out DIR     run directory (default out/paper-MODEL)
#   --model NAME  model name (default $SELFEXP_MODEL or gpt-3.5-turbo)
#   --data FILE   reviews (default data/paper100.tsv)
#   --dry-run     print the number of requests and the estimated cost, send nothing
#   -- --compat paper   score as the paper's own code did (docs/paper-compat.md)
# environment: OPENAI_BASE_URL and OPENAI_API_KEY (see selfexp run --help),
#   SELFEXP (the binary, default ./selfexp)
set -euo pipefail
cd "$(dirname "$0")/.."

X=${SELFEXP:-./selfexp}
model=${SELFEXP_MODEL:-gpt-3.5-turbo}
data=data/paper100.tsv
out=
dry=()
extra=()
usage() { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; }  # the comment above
while [ $# -gt 0 ]; do
	case "$1" in
	--out) out=$2; shift 2;;
	--model) model=$2; shift 2;;
	--data) data=$2; shift 2;;
	--dry-run) dry=(--dry-run); shift;;
	-h|--help) usage; exit 0;;
	--) shift; extra=("$@"); break;;
	*) echo "run-paper.sh: unknown option '$1'" >&2; usage >&2; exit 2;;
	esac
done
out=${out:-out/paper-${model//\//_}}
[ -n "${OPENAI_BASE_URL:-}" ] || { echo "run-paper.sh: set OPENAI_BASE_URL (and OPENAI_API_KEY)" >&2; exit 2; }
[ -r "$data" ] || { echo "run-paper.sh: cannot read '$data' (give one with --data)" >&2; exit 2; }

rc=0
"$X" run --data "$data" --out "$out" --model "$model" \
	--conditions ep,pe,ep-topk,pe-topk,pred --explainers self,occlusion,lime \
	--seed 2023 ${dry[@]+"${dry[@]}"} ${extra[@]+"${extra[@]}"} || rc=$?
[ ${#dry[@]} -gt 0 ] && exit "$rc"
# 5 = partial run: every item recorded, some failed; the tables say how many
[ "$rc" -eq 0 ] || [ "$rc" -eq 5 ] || exit "$rc"

# -o writes each file whole or not at all: a failing step leaves the last good one
"$X" table "$out" --format md -o "$out/tables.md"
"$X" table "$out" --format tex -o "$out/tables.tex"
"$X" table "$out" --format tex --standalone -o "$out/tables-standalone.tex"
"$X" table "$out" --format csv --layout long -o "$out/results.csv"
"$X" report "$out" -o "$out/report.html" > /dev/null
echo "run-paper.sh: tables in $out/tables.{md,tex}, tidy CSV in $out/results.csv," \
	"report in $out/report.html"
exit "$rc"
