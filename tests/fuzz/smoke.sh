#!/usr/bin/env bash
# `make fuzz-smoke`: for each fuzz target given (build/fuzz/fuzz_<name>),
# replay tests/fuzz/regressions/<name>/ (every file must run clean), then
# fuzz for FUZZ_SECONDS seconds starting from a scratch copy of the seeds
# (tests/fuzz/corpus/<name>/ and the golden files listed in
# tests/fuzz/seeds.sh), so the repository is never modified. Fails when
# any target crashes; crashing inputs are kept in build/fuzz/crashes/<name>/.
set -u
cd "$(dirname "$0")/../.."
secs=${FUZZ_SECONDS:-20}
max_len=${FUZZ_MAX_LEN:-8192}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. tests/fuzz/seeds.sh
failed=0 start=$SECONDS
for bin in "$@"; do
	name=$(basename "$bin"); name=${name#fuzz_}
	corpus=$tmp/$name crashes=build/fuzz/crashes/$name
	mkdir -p "$corpus" "$crashes"
	fuzz_seeds "$name" "$corpus"
	opts=(-max_len="$max_len" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
	[ -f "tests/fuzz/$name.dict" ] && opts+=(-dict="tests/fuzz/$name.dict")
	regs=(tests/fuzz/regressions/"$name"/*)
	if [ -e "${regs[0]}" ]; then
		if ! "$bin" "${opts[@]}" "${regs[@]}" > "$tmp/$name.replay.log" 2>&1; then
			echo "fuzz: $name: a regression input crashes again, log:"
			tail -n 40 "$tmp/$name.replay.log" | sed 's/^/    /'
			failed=$((failed + 1))
			continue
		fi
	fi
	if "$bin" "${opts[@]}" -max_total_time="$secs" -artifact_prefix="$crashes/" \
		"$corpus" > "$tmp/$name.log" 2>&1; then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/$name.log")
		printf 'fuzz: %-8s ok, %s runs in %ss, %d regression inputs\n' "$name" "${execs:-?}" \
			"$secs" "$([ -e "${regs[0]}" ] && echo ${#regs[@]} || echo 0)"
	else
		echo "fuzz: $name: CRASH, inputs kept in $crashes/, log:"
		grep -vE '^#[0-9]+|^INFO:' "$tmp/$name.log" | tail -n 40 | sed 's/^/    /'
		failed=$((failed + 1))
	fi
done
echo "fuzz-smoke: $# targets, $failed failed, $((SECONDS - start)) s"
[ "$failed" -eq 0 ]
