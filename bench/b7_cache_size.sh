#!/usr/bin/env bash
# Figure 7, the size of the cache on disk and the speed of its lookups
# (issue 17, "A compact cache"), for each LABEL=BINARY given:
#   demo   `selfexp demo` (36 reviews, 5 conditions... as the demo runs):
#          rows, file bytes (after `cache vacuum`), bytes per stored answer
#   dev    `run` of all conditions and all explainers on the first B7_REVIEWS
#          (default 400) reviews of SST-2 dev against `selfexp sim`: file bytes
#   hits/s `score` of each run directory (every answer from the cache,
#          offline): distinct requests answered per second, best of B7_REPEAT
#          (default 3)
# Results: records.jsonl and summary.json of every binary's runs are compared
# with the first binary's (identical is the target). Then the first binary's
# caches are converted with the last binary's `cache compact` and measured.
# Never asserted in tests. Appends a section to BENCHMARKS.md.
#
# usage: bench/b7_cache_size.sh [LABEL=BINARY ...]
#   default: after=./selfexp; e.g. before=/tmp/selfexp-before after=./selfexp
set -euo pipefail
cd "$(dirname "$0")/.."
reviews=${B7_REVIEWS:-400}
repeat=${B7_REPEAT:-3}
shared=${SELFEXP_SHARED:-../shared}
dev=$shared/data/sst2/dev.tsv
bench_md=${BENCHMARKS_MD:-BENCHMARKS.md}
[ $# -gt 0 ] || set -- after=./selfexp
[ -r "$dev" ] || { echo "b7: cannot read '$dev'; set SELFEXP_SHARED" >&2; exit 1; }
for arg in "$@"; do
	bin=${arg#*=}
	[ -x "$bin" ] || { echo "b7: '$bin' is not an executable (arguments are LABEL=BINARY)" >&2; exit 1; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/selfexp-b7.XXXXXX")
sim_pid=
cleanup() { [ -n "$sim_pid" ] && kill "$sim_pid" 2> /dev/null; wait 2> /dev/null; rm -rf "$work"; }
trap cleanup EXIT
last=${!#}
last=${last#*=}
"$last" sim --port 0 --quiet > "$work/sim.out" 2> "$work/sim.err" &
sim_pid=$!
for _ in $(seq 1 200); do grep -q '^http' "$work/sim.out" && break; sleep 0.05; done
url=$(head -n 1 "$work/sim.out")
dev_args=(--data "$dev" --limit "$reviews" --conditions ep,pe,ep-topk,pe-topk,pred
	--explainers self,occlusion,lime --no-progress)

stat_json() { "$1" cache stats --cache "$2" --json 2> /dev/null; }
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2], ""))' "$1" "$2"; }
# hits BINARY DIR CACHE: best distinct-answers-per-second of `score DIR`
hits() {
	local best=0 i t0 t1 n
	for i in $(seq 1 "$repeat"); do
		t0=$(date +%s.%N)
		"$1" score "$2" --cache "$3" > /dev/null 2> "$work/score.err"
		t1=$(date +%s.%N)
		n=$(sed -n 's/.* \([0-9]*\) from cache.*/\1/p' "$work/score.err" | tail -n 1)
		best=$(python3 -c "print(max($best, $n / ($t1 - $t0)))")
	done
	printf '%.0f' "$best"
}
rows_md=()
cmds=()
first=
for arg in "$@"; do
	label=${arg%%=*} bin=${arg#*=}
	d=$work/$label
	mkdir -p "$d"
	cmds+=("$bin demo --out $d/demo/run" "$bin cache vacuum --cache $d/demo/.selfexp/cache.sqlite")
	"$bin" demo --out "$d/demo/run" > /dev/null 2> "$d/demo.err"
	"$bin" cache vacuum --cache "$d/demo/.selfexp/cache.sqlite" > /dev/null
	s=$(stat_json "$bin" "$d/demo/.selfexp/cache.sqlite")
	demo_rows=$(field "$s" rows) demo_bytes=$(field "$s" file_bytes)
	demo_hits=$(hits "$bin" "$d/demo/run" "$d/demo/.selfexp/cache.sqlite")
	cmds+=("$bin run ${dev_args[*]} --base-url $url --out $d/dev/run --cache $d/dev/cache.sqlite")
	"$bin" run "${dev_args[@]}" --base-url "$url" --out "$d/dev/run" --cache "$d/dev/cache.sqlite" \
		2> "$d/dev.err" > /dev/null
	"$bin" cache vacuum --cache "$d/dev/cache.sqlite" > /dev/null
	s=$(stat_json "$bin" "$d/dev/cache.sqlite")
	dev_rows=$(field "$s" rows) dev_bytes=$(field "$s" file_bytes)
	dev_hits=$(hits "$bin" "$d/dev/run" "$d/dev/cache.sqlite")
	same=-
	if [ -n "$first" ]; then
		same=identical
		for f in demo/run/records.jsonl demo/run/summary.json dev/run/records.jsonl dev/run/summary.json; do
			cmp -s "$work/$first/$f" "$d/$f" || same="differ ($f)"
		done
	else
		first=$label
	fi
	rows_md+=("| $label | $demo_rows | $demo_bytes | $((demo_bytes / demo_rows)) | $demo_hits | $dev_rows | $dev_bytes | $((dev_bytes / dev_rows)) | $dev_hits | $same |")
	cmds+=("# $label = $bin ($("$bin" --version 2> /dev/null | head -n 1))")
done
# the first binary's caches, converted by the last binary
compact_md=()
for c in demo/.selfexp/cache.sqlite dev/cache.sqlite; do
	f=$work/$first/$c
	before=$(stat -c %s "$f")
	"$last" cache export --cache "$f" > "$work/e1" 2> /dev/null
	t0=$(date +%s.%N)
	"$last" cache compact "$f" > /dev/null
	t1=$(date +%s.%N)
	"$last" cache export --cache "$f" > "$work/e2" 2> /dev/null
	after=$(stat -c %s "$f")
	s=$(stat_json "$last" "$f")
	rows=$(field "$s" rows)
	cmp -s "$work/e1" "$work/e2" && same=identical || same=differs
	compact_md+=("| ${c%%/*} | $before | $after | $((after / rows)) | $(python3 -c "print('%.1f' % ($t1 - $t0))") | $same |")
	cmds+=("$last cache compact $f")
done
{
	echo
	echo "## 7. Cache size and lookups (bench/b7_cache_size.sh)"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores. File bytes after \`cache vacuum\`, WAL included;"
	echo "hits/s: distinct requests answered per second by \`score\` (all from the cache, offline), best of $repeat."
	echo "dev: all five conditions, self + occlusion + LIME, first $reviews reviews of SST-2 dev."
	echo
	echo "| binary | demo rows | demo bytes | bytes/answer | demo hits/s | dev rows | dev bytes | bytes/answer | dev hits/s | results vs $first |"
	echo "|---|---|---|---|---|---|---|---|---|---|"
	printf '%s\n' "${rows_md[@]}"
	echo
	echo "\`$last cache compact\` on the caches $first wrote:"
	echo
	echo "| cache | bytes before | bytes after | bytes/answer | seconds | export before/after |"
	echo "|---|---|---|---|---|---|"
	printf '%s\n' "${compact_md[@]}"
	echo
	echo "Commands (in a temporary directory, removed afterwards; the sim at $url):"
	echo
	echo '```'
	printf '%s\n' "${cmds[@]}"
	echo '```'
} | tee -a "$bench_md"
