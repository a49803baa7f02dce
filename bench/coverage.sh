#!/usr/bin/env bash
# Simulated coverage of selfexp's 95 % intervals (bench/coverage.c): the
# percentile bootstrap selfexp used before, plain and expanded BCa, the studentized
# bootstrap (summary.json's interval for continuous metrics), Wilson and
# Clopper-Pearson for proportions (with their exact coverage), and the ECE's
# intervals, for n = 10, 30, 100 (ECE: 30, 100, 300); and candidates for the
# skewed mean computed in the benchmark itself (Hall's transformation
# bootstrap-t, Hall's transformation with the normal quantile, the symmetric,
# fast double and double bootstrap-t) on the normal, exponential and lognormal rows.
# Builds bench/coverage.c against the library of `make` (build/default), runs
# it and appends the tables to BENCHMARKS.md with the command and the machine.
# Never part of `make check`.
# usage: bench/coverage.sh [R [B [SEED]]]   (defaults 2000 samples per row, B = 1000, seed 1)
# COVERAGE_NO_APPEND=1 prints the tables without touching BENCHMARKS.md.
# COVERAGE_ROWS=normal,lognormal keeps only those distributions' rows (first word
# of the name) and skips the proportions' minima and the ECE tables.
# COVERAGE_INNER=C adds the double bootstrap-t with C inner resamples per outer
# one (n = 10 and 30 only; it costs about C + 1 times the bootstrap-t).
set -euo pipefail
cd "$(dirname "$0")/.."
R=${1:-2000} B=${2:-1000} SEED=${3:-1}
build=${BUILD:-build/default}
make -s -j"$(nproc)" > /dev/null
mkdir -p "$build/bench"
# the flags of the Makefile's CFLAGS_ALL and LDLIBS_ALL
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wvla -Wwrite-strings -Iinclude \
	-include include/selfexp/banned.h $(cat "$build/pkg.cflags") \
	-o "$build/bench/coverage" bench/coverage.c "$build/libselfexp.a" \
	$(cat "$build/pkg.libs") -lm -lpthread
out=$(mktemp)
trap 'rm -f "$out"' EXIT
t0=$(date +%s)
"$build/bench/coverage" "$R" "$B" "$SEED" | tee "$out"
secs=$(( $(date +%s) - t0 ))
[ -n "${COVERAGE_NO_APPEND:-}" ] && exit 0
{
	echo
	echo "## Interval coverage (bench/coverage.sh)"
	echo
	echo "Measured $(date -u '+%Y-%m-%d %H:%M') UTC on $(nproc) cores ($(uname -m)), commit" \
		"$(git rev-parse --short HEAD 2> /dev/null || echo '?'), in ${secs} s, by" \
		"\`bench/coverage.sh $R $B $SEED\`."
	echo
	cat "$out"
} >> BENCHMARKS.md
echo "coverage: appended to BENCHMARKS.md" >&2
