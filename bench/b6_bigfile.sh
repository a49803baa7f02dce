#!/usr/bin/env bash
# Figure 6, big data files: peak RSS and wall time of `selfexp data stats FILE`
# and of `selfexp run --data FILE --limit 10 --dry-run` on a generated TSV of
# B6_MB MiB (default 300): SST-2 training sentences repeated in order, each
# row with a unique id (`id<TAB>sentence<TAB>label`, like paper100.tsv).
# Target: peak RSS under 100 MB for both. Measured from outside with
# /usr/bin/time -v (Debian package `time`: scripts/deps.sh time); never
# asserted in tests. Appends a section to BENCHMARKS.md.
#
# usage: bench/b6_bigfile.sh [LABEL=BINARY ...]
#   default: after=./selfexp; e.g. before=/tmp/selfexp-before after=./selfexp
#   to compare a build of main with this tree. B6_REPEAT runs (default 1) of
#   each command; the table shows the median wall time and the largest RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
mb=${B6_MB:-300}
repeat=${B6_REPEAT:-1}
shared=${SELFEXP_SHARED:-../shared}
src=$shared/data/sst2/train.tsv
bench_md=${BENCHMARKS_MD:-BENCHMARKS.md}
[ $# -gt 0 ] || set -- after=./selfexp
if [ ! -x /usr/bin/time ]; then
	echo "b6: /usr/bin/time is missing; install it with scripts/deps.sh time" >&2
	exit 1
fi
[ -r "$src" ] || { echo "b6: cannot read '$src'; set SELFEXP_SHARED" >&2; exit 1; }
for arg in "$@"; do
	bin=${arg#*=}
	[ -x "$bin" ] || { echo "b6: '$bin' is not an executable (arguments are LABEL=BINARY)" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/selfexp-b6.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
data=$tmp/big.tsv
# the sentences of train.tsv in order, over and over, ids 0, 1, 2, ... until B6_MB MiB
python3 - "$src" "$data" "$mb" << 'PY'
import sys
src, out, mb = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = [l.rstrip("\n").split("\t") for l in open(src, encoding="utf-8").readlines()[1:]]
target, size, i = mb * 1024 * 1024, 0, 0
with open(out, "w", encoding="utf-8") as f:
    f.write("id\tsentence\tlabel\n")
    while size < target:
        chunk = "".join("%d\t%s\t%s\n" % (i + k, s, l) for k, (s, l) in enumerate(rows))
        f.write(chunk)
        size += len(chunk.encode("utf-8"))
        i += len(rows)
PY
bytes=$(stat -c %s "$data")
nrows=$(($(wc -l < "$data") - 1))
echo "b6: $data: $bytes bytes, $nrows rows" >&2

# measure NAME CMD...: run CMD under /usr/bin/time -v B6_REPEAT times; sets
# rss_mb (largest), wall_s (median), rc (of the last run)
measure() {
	local name=$1 i
	shift
	local walls=() rss=0
	for ((i = 0; i < repeat; i++)); do
		rc=0
		/usr/bin/time -v -o "$tmp/time" "$@" > "$tmp/$name.out" 2> "$tmp/$name.err" || rc=$?
		local kb w
		kb=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$tmp/time")
		w=$(awk -F': ' '/Elapsed \(wall clock\)/ { print $2 }' "$tmp/time")
		# h:mm:ss or m:ss.ss -> seconds
		w=$(awk -v t="$w" 'BEGIN { n = split(t, a, ":"); s = 0; for (k = 1; k <= n; k++) s = s * 60 + a[k]; print s }')
		walls+=("$w")
		[ "$kb" -gt "$rss" ] && rss=$kb
	done
	rss_mb=$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')
	wall_s=$(printf '%s\n' "${walls[@]}" | sort -g | awk '{ a[NR] = $1 } END { printf "%.2f", a[int((NR + 1) / 2)] }')
}

rows=()
cmds=()
for arg in "$@"; do
	label=${arg%%=*}
	bin=${arg#*=}
	desc=$bin
	if ver=$("$bin" --version 2> /dev/null | head -n 1); then desc="$bin ($ver)"; fi

	measure "$label-stats" "$bin" data stats "$data"
	reviews=$(awk '$1 == "reviews" { print $2 }' "$tmp/$label-stats.out")
	[ "$rc" -eq 0 ] || reviews="exit $rc: $(head -c 200 "$tmp/$label-stats.err")"
	rows+=("| $label | data stats | $rss_mb | $wall_s | $rc | reviews: $reviews |")
	cmds+=("$bin data stats $data")

	rm -rf "$tmp/out-$label"
	measure "$label-run" "$bin" run --data "$data" --limit 10 --dry-run --out "$tmp/out-$label"
	if [ "$rc" -eq 0 ]; then
		out=$(awk '$1 == "total" { print "naive requests: " $2 }' "$tmp/$label-run.out")
	else
		out="exit $rc: $(tail -n 1 "$tmp/$label-run.err" | tr '|' '/' | head -c 200)"
	fi
	rows+=("| $label | run --limit 10 --dry-run | $rss_mb | $wall_s | $rc | $out |")
	cmds+=("$bin run --data $data --limit 10 --dry-run --out $tmp/out-$label")
	echo "b6: $label: done" >&2
	cmds+=("# $label = $desc")
done

{
	printf '\n## 6. Big data files (bench/b6_bigfile.sh)\n\n'
	printf 'Measured %s on %s cores (nproc), by `bench/b6_bigfile.sh %s`.\n\n' \
		"$(date -u '+%F %H:%M UTC')" "$(nproc)" "$*"
	printf 'A generated TSV of %s bytes (%s MiB), %s rows: the sentences of SST-2 train.tsv\n' "$bytes" "$mb" "$nrows"
	printf 'repeated, each row with a unique id. Peak RSS is /usr/bin/time -v'"'"'s maximum resident\n'
	printf 'set size; wall time its elapsed time (median of %s run(s)). Target: peak RSS under\n' "$repeat"
	printf '100 MB for both commands.\n\n'
	printf '| binary | command | peak RSS (MB) | wall (s) | exit | output |\n'
	printf '|---|---|---|---|---|---|\n'
	printf '%s\n' "${rows[@]}"
	printf '\nCommands (the data file is generated in a temporary directory and removed):\n\n```\n'
	printf '%s\n' "${cmds[@]}"
	printf '```\n'
} | tee -a "$bench_md"
