#!/usr/bin/env bash
# Runs every unit test binary given as arguments and every CLI test in
# tests/cli/t*.sh, all of which speak TAP, and ends with "N passed, N failed".
# A test program that dies without reporting a failure counts as one failure;
# so does one whose plan ("1..N") is missing, repeated, or disagrees with the
# number of results it printed. A process that a test started and left running
# when all have ended is killed and counts as one failure.
# Environment: SELFEXP_BIN, SELFEXP_SHARED, SELFEXP_HOME (set by make check);
# TESTS=pattern runs only the programs whose name contains pattern; JOBS=N
# sets how many run at once.
set -u
cd "$(dirname "$0")/.."
passed=0 failed=0 skipped=0
log_dir=${BUILD:-build/default}/test-logs
mkdir -p "$log_dir"
export CMOCKA_MESSAGE_OUTPUT=TAP
export SELFEXP_BIN SELFEXP_SHARED SELFEXP_HOME
export TEST_TMP_ROOT=${TEST_TMP_ROOT:-$(mktemp -d)}
trap 'rm -rf "$TEST_TMP_ROOT"' EXIT
# Every process a test starts inherits this mark (or names TEST_TMP_ROOT on
# its command line, for those started under env -i): what still carries it
# when every test has ended was left running, and fails the check.
export SELFEXP_TEST_MARK="selfexp-test-$$-$RANDOM$RANDOM"

# leftovers: PID and command of each process still marked, one a line
leftovers() {
	local d pid
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		[ "$pid" = $$ ] && continue
		if grep -qsF "SELFEXP_TEST_MARK=$SELFEXP_TEST_MARK" "$d/environ" ||
			tr '\0' ' ' 2> /dev/null < "$d/cmdline" | grep -qF "$TEST_TMP_ROOT"; then
			echo "$pid $(tr '\0' ' ' 2> /dev/null < "$d/cmdline" | cut -c1-120)"
		fi
	done
}

# exec_one NAME CMD...: run one test program into its log; its exit status and
# duration go to NAME's .rc file. Safe to run several at once.
exec_one() {
	local name=$1; shift
	local log="$log_dir/${name//\//-}.log" t0=$SECONDS rc
	"$@" > "$log" 2>&1 < /dev/null
	rc=$?
	echo "$rc $((SECONDS - t0))" > "$log.rc"
}

# report_one NAME: count the TAP lines of NAME's log and print its summary line.
report_one() {
	local name=$1
	local log="$log_dir/${name//\//-}.log" rc dt p f s
	read -r rc dt < "$log.rc"
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	s=$(grep -ciE '^(not )?ok .*# skip|^1\.\.0 # skip' "$log")
	# cmocka 1.1's TAP output reports skip() as "not ok N # SKIP": a skip, not a failure.
	f=$((f - $(grep -ciE '^not ok .*# skip' "$log" || true)))
	p=$((p - $(grep -ciE '^ok .*# skip' "$log" || true)))
	# the plan: exactly one "1..N", and N results; a program that stops
	# early, prints a check twice or never says how many it meant to run fails
	local plans planned results
	results=$(grep -cE '^(not )?ok ' "$log")
	plans=$(grep -cE '^1\.\.[0-9]+' "$log")
	planned=$(grep -oE '^1\.\.[0-9]+' "$log" | head -n 1 | cut -c4-)
	if [ "$plans" -ne 1 ]; then
		f=$((f + 1))
		echo "not ok - $name printed $plans plans (TAP \"1..N\" lines), expected one" >> "$log"
	elif [ "$planned" -ne "$results" ]; then
		f=$((f + 1))
		echo "not ok - $name planned $planned results but printed $results" >> "$log"
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name exited with status $rc without reporting a failure" >> "$log"
	fi
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	if [ "$f" -gt 0 ]; then
		printf '%-40s FAIL (%d passed, %d failed, %ds), log: %s\n' "$name" "$p" "$f" "$dt" "$log"
		grep -E '^not ok|^# |ERROR|error:|Sanitizer' "$log" | head -n 30 | sed 's/^/    /'
	else
		printf '%-40s ok (%d, %ds)%s\n' "$name" "$p" "$dt" "$([ "$s" -gt 0 ] && echo ", $s skipped: $(grep -ihoE '# skip.*' "$log" | head -n 1)")"
	fi
}

# Test programs run JOBS at a time (default 4: most CLI tests wait on the
# network or the simulated model's latency, not on the CPU); the summary
# lines come out in order.
jobs_max=${JOBS:-4}
names=()
launch() {
	local name=$1
	case "$name" in *"${TESTS:-}"*) ;; *) return ;; esac
	names+=("$name")
	while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
	exec_one "$@" &
}
for bin in "$@"; do
	launch "unit/$(basename "$bin")" "$bin"
done
for t in tests/cli/t*.sh; do
	[ -e "$t" ] || continue
	launch "cli/$(basename "$t" .sh)" bash "$t"
done
wait
for name in "${names[@]}"; do
	report_one "$name"
done
left=$(leftovers)
if [ -n "$left" ]; then
	failed=$((failed + 1))
	echo "processes left running by the tests (now killed):"
	echo "$left" | sed 's/^/    /'
	echo "$left" | while read -r pid _; do kill -9 "$pid" 2> /dev/null; done
fi
[ "$skipped" -gt 0 ] && echo "$skipped skipped (see the reasons above)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
