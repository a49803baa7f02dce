#!/usr/bin/env bash
# Sums up the memcheck logs of `make check-valgrind` (vg.<pid>.log in the
# directory given): processes run, errors, definitely lost bytes. Prints the
# reports that have errors and fails when there is any.
set -u
dir=${1:?usage: summary.sh DIR}
procs=0 errors=0 lost=0 bad=()
for log in "$dir"/vg.*.log; do
	[ -e "$log" ] || continue
	procs=$((procs + 1))
	e=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$log" | tr -d , | tail -n 1)
	l=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tr -d , | tail -n 1)
	errors=$((errors + ${e:-0})); lost=$((lost + ${l:-0}))
	if [ "${e:-0}" -gt 0 ] || [ "${l:-0}" -gt 0 ]; then bad+=("$log"); fi
done
for log in "${bad[@]}"; do
	echo "valgrind: $log:"
	grep -E '^==[0-9]+== ' "$log" | head -n 40
done
echo "valgrind: $procs processes, $errors errors, $lost bytes definitely lost"
[ "$procs" -gt 0 ] && [ "$errors" -eq 0 ] && [ "$lost" -eq 0 ]
