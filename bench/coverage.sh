#!/usr/bin/env bash
# Simulated coverage of selfexp's 95 % intervals (bench/coverage.c): the
# percentile bootstrap selfexp used before, plain and expanded BCa, the studentized
# bootstrap (summary.json's interval for continuous metrics), Wilson and
# Clopper-Pearson for proportions (with their exact coverage), and the ECE's
# intervals, for n = 10, 30, 100 (ECE: 30, 100, 300); and candidates for the
# skewed mean computed in the benchmark itself (Hall's transformation
# bootstrap-t, Hall's transformation with the normal quantile, the symmetric,
# fast double and double bootstrap-t, Cornish-Fisher) on the normal, exponential and
# lognormal rows; then, on the same samples, the variance-stabilised bootstrap-t
# (B1 = 100, B2 = 25, B3 = B) and empirical likelihood (chi-squared, Bartlett-corrected,
# bootstrap-calibrated), with the CPU time of an aggregate of each.
# Builds bench/coverage.c against the library of `make` (build/default), runs
# it and appends the tables to BENCHMARKS.md with the command and the machine.
# Never part of `make check`.
# usage: bench/coverage.sh [R [B [SEED]]]   (defaults 2000 samples per row, B = 1000, seed 1)
# COVERAGE_NO_APPEND=1 prints the tables without touching BENCHMARKS.md.
# COVERAGE_ROWS=normal,lognormal keeps only those distributions' rows (first word
# of the name) and skips the proportions' minima and the ECE tables.
# COVERAGE_POP=NAME=FILE,... populations of metric values (one number a line) to sample
# from; by default they come from a run of 400 SST-2 dev reviews against the sim (below),
# COVERAGE_POP=none skips them; COVERAGE_POP_ONLY=1 prints only their table.
# COVERAGE_INNER=C adds the double bootstrap-t with C inner resamples per outer
# one (n = 10 and 30 only; it costs about C + 1 times the bootstrap-t).
# COVERAGE_VSEL_ONLY=1 prints only the variance-stabilised and empirical likelihood
# table; COVERAGE_SHOW=K adds every interval of its first K samples a row (stderr).
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
pop=$(mktemp -d)
trap 'rm -rf "$out" "$pop"; [ -n "${simpid:-}" ] && kill "$simpid" 2> /dev/null' EXIT
# Populations of selfexp's own per-review metric values: a run of the first 400 SST-2 dev reviews
# against the sim (--preset literature, as the demo), conditions ep and pe, self and occlusion;
# each population is one metric of one (condition, method) over those reviews. COVERAGE_POP given
# (NAME=FILE,...) is used as it is; COVERAGE_POP=none skips them.
shared=${SELFEXP_SHARED:-../shared}
if [ -z "${COVERAGE_POP:-}" ] && [ -r "$shared/data/sst2/dev.tsv" ]; then
	./selfexp sim --port 0 --quiet --preset literature > "$pop/sim.url" &
	simpid=$!
	for i in $(seq 1 200); do grep -q '^http' "$pop/sim.url" && break; sleep 0.025; done
	./selfexp run --data "$shared/data/sst2/dev.tsv" --limit 400 --conditions ep,pe \
		--explainers self,occlusion --model sim --base-url "$(head -n 1 "$pop/sim.url")" \
		--out "$pop/run" --cache "$pop/cache.sqlite" --no-progress --bootstrap 10 --seed 1 2> "$pop/run.err" ||
		{ echo "coverage: the run for the populations failed:" >&2; cat "$pop/run.err" >&2; exit 1; }
	kill "$simpid"; wait "$simpid" 2> /dev/null || true; simpid=
	COVERAGE_POP=$(python3 - "$pop" <<'PY'
import json, sys
d = sys.argv[1]
want = [("ep", "self", "comprehensiveness"), ("pe", "self", "comprehensiveness"),
        ("pe", "self", "sufficiency"), ("ep", "occlusion", "df_frac"),
        ("pe", "self", "aopc_sufficiency"), ("pe", "self", "agreement:occlusion:spearman")]
vals = {w: [] for w in want}
for line in open(d + "/run/records.jsonl"):
    r = json.loads(line)
    for c, m, k in want:
        if r["condition"] != c or r["method"] != m:
            continue
        if k.startswith("agreement:"):
            _, other, key = k.split(":")
            v = (r.get("agreement") or {}).get(other, {}).get(key)
        else:
            v = (r.get("metrics") or {}).get(k)
        if isinstance(v, (int, float)):
            vals[(c, m, k)].append(v)
items = []
for (c, m, k), v in vals.items():
    name = "%s %s %s" % (c, m, k.replace("agreement:occlusion:", "agreement with occlusion: "))
    path = "%s/%s-%s-%s.txt" % (d, c, m, k.replace(":", "_"))
    open(path, "w").write("".join("%.17g\n" % x for x in v))
    items.append("%s=%s" % (name, path))
print(",".join(items))
PY
)
	export COVERAGE_POP
fi
[ "${COVERAGE_POP:-}" = none ] && unset COVERAGE_POP
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
