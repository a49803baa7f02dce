#!/usr/bin/env bash
# A command whose stdout cannot be written (a full disk: /dev/full) does not
# report success: compare printed its verdicts into nothing and exited 0,
# cache stats likewise. Every command's stdout is checked once it returns:
# exit 1 and a message, where it would have exited 0; a gate failure (4) or
# a partial run (5) keeps its status.
. "$(dirname "$0")/lib.sh"

[ -c /dev/full ] || skip_all "no /dev/full"
small_run

full() { "$@" > /dev/full 2> "$T/full.err"; }
for cmd in "compare $T/run $T/run" "cache stats --cache $T/cache.sqlite" \
	   "cache stats --json --cache $T/cache.sqlite" "table $T/run" \
	   "answers export $T/run" "cache export --cache $T/cache.sqlite" "prompt list"; do
	# shellcheck disable=SC2086
	full "$X" $cmd
	check_eq "${cmd//$T\//} > /dev/full exits 1" 1 $?
	check "... saying it could not write" grep -q "cannot write" "$T/full.err"
done
# the same commands into a pipe that takes everything still succeed
check_exit "compare into a file exits 0" 0 "$X" compare "$T/run" "$T/run"
check "... and prints the verdicts" grep -q "0 regressed" "$T/last.out"
check_exit "cache stats into a file exits 0" 0 "$X" cache stats --cache "$T/cache.sqlite"
done_testing
