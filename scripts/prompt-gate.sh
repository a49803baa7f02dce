#!/usr/bin/env bash
# Gate a prompt change: run the baseline prompts (prompts/ at BASE, taken with
# `git show BASE:prompts/...` into a temporary directory) and the working
# tree's prompts on the same sample, with one shared response cache, then
# `selfexp compare` them. Exit 0 when nothing regressed, 4 when something did,
# 5 when nothing did but a run is partial (some requests failed: run again, the
# cache keeps what came), 2 on unusable input (see selfexp compare --help);
# other codes from selfexp run.
#
# usage: scripts/prompt-gate.sh [--base REV] [--data FILE] [--limit N]
#                               [--conditions LIST] [--model NAME] [--out DIR]
#                               [-- extra selfexp compare options]
#   --base REV         git revision of the baseline prompts (default origin/main,
#                      else main)
#   --data FILE        reviews (default data/paper100.tsv)
#   --limit N          first N reviews (default 100)
#   --conditions LIST  prompt conditions (default ep,pe)
#   --model NAME       model (default $SELFEXP_MODEL or gpt-3.5-turbo)
#   --out DIR          where the two runs (DIR/base, DIR/new), compare.md and
#                      compare.xml go (default out/prompt-gate); a run there of
#                      other prompts or options (an earlier gate) is replaced,
#                      one of the same resumes; the shared cache keeps every answer
# environment: OPENAI_BASE_URL, OPENAI_API_KEY; SELFEXP (default ./selfexp);
#   SELFEXP_CACHE (the shared cache, default DIR/cache.sqlite)
set -euo pipefail
cd "$(dirname "$0")/.."

X=${SELFEXP:-./selfexp}
base_rev=
data=data/paper100.tsv
limit=100
conditions=ep,pe
model=${SELFEXP_MODEL:-gpt-3.5-turbo}
out=out/prompt-gate
extra=()
usage() { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; }  # the comment above
while [ $# -gt 0 ]; do
	case "$1" in
	--base) base_rev=$2; shift 2;;
	--data) data=$2; shift 2;;
	--limit) limit=$2; shift 2;;
	--conditions) conditions=$2; shift 2;;
	--model) model=$2; shift 2;;
	--out) out=$2; shift 2;;
	-h|--help) usage; exit 0;;
	--) shift; extra=("$@"); break;;
	*) echo "prompt-gate.sh: unknown option '$1'" >&2; usage >&2; exit 2;;
	esac
done
if [ -z "$base_rev" ]; then
	if git rev-parse -q --verify origin/main > /dev/null; then base_rev=origin/main; else base_rev=main; fi
fi
git rev-parse -q --verify "$base_rev^{commit}" > /dev/null ||
	{ echo "prompt-gate.sh: unknown git revision '$base_rev' (use --base)" >&2; exit 2; }
[ -r "$data" ] || { echo "prompt-gate.sh: cannot read '$data' (give one with --data)" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/prompts" "$out"
for f in $(git ls-tree --name-only "$base_rev" prompts/); do
	git show "$base_rev:$f" > "$tmp/prompts/$(basename "$f")"
done
cache=${SELFEXP_CACHE:-$out/cache.sqlite}

run() { # run NAME PROMPTS_DIR
	local rc=0
	"$X" run --data "$data" --limit "$limit" --conditions "$conditions" --model "$model" \
		--prompts "$2" --cache "$cache" --out "$out/$1" --seed 0 --no-progress --force || rc=$?
	[ "$rc" -eq 0 ] || [ "$rc" -eq 5 ] || { echo "prompt-gate.sh: the $1 run failed (exit $rc)" >&2; exit "$rc"; }
}
echo "prompt-gate.sh: baseline prompts from $base_rev" >&2
run base "$tmp/prompts"
echo "prompt-gate.sh: working tree prompts" >&2
run new prompts

rc=0
"$X" compare "$out/base" "$out/new" --markdown "$out/compare.md" --junit "$out/compare.xml" \
	${extra[@]+"${extra[@]}"} || rc=$?
echo "prompt-gate.sh: $out/compare.md, $out/compare.xml" >&2
exit "$rc"
