#!/usr/bin/env bash
# Sums up the memcheck logs of `make check-valgrind` (vg.<pid>.log in the
# directory given): processes run, errors, definitely lost bytes. Prints the
# reports that have errors and fails when there is any. A log without an
# "ERROR SUMMARY" is a process that never finished (killed, or valgrind
# itself died): its errors are unknown, so it fails too, unless the test
# killed it on purpose with SIGKILL and said so (lib.sh's kill9, crash.py:
# an empty vg.<pid>.killed beside the log).
set -u
dir=${1:?usage: summary.sh DIR}
procs=0 errors=0 lost=0 killed=0 bad=() unfinished=()
for log in "$dir"/vg.*.log; do
	[ -e "$log" ] || continue
	procs=$((procs + 1))
	e=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$log" | tr -d , | tail -n 1)
	l=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tr -d , | tail -n 1)
	if [ -z "$e" ]; then
		if [ -e "${log%.log}.killed" ]; then killed=$((killed + 1)); else unfinished+=("$log"); fi
		continue
	fi
	errors=$((errors + e)); lost=$((lost + ${l:-0}))
	if [ "$e" -gt 0 ] || [ "${l:-0}" -gt 0 ]; then bad+=("$log"); fi
done
for log in "${bad[@]}"; do
	echo "valgrind: $log:"
	grep -E '^==[0-9]+== ' "$log" | head -n 40
done
for log in "${unfinished[@]}"; do
	echo "valgrind: $log has no ERROR SUMMARY (the process did not finish and no test killed it on purpose):"
	tail -n 5 "$log" | sed 's/^/    /'
done
echo "valgrind: $procs processes ($killed killed on purpose, ${#unfinished[@]} unfinished)," \
	"$errors errors, $lost bytes definitely lost"
[ "$procs" -gt 0 ] && [ "$errors" -eq 0 ] && [ "$lost" -eq 0 ] && [ ${#unfinished[@]} -eq 0 ]
