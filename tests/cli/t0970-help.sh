#!/usr/bin/env bash
# Every way of asking for help is an answer, not a usage error: each
# command's --help, 'selfexp help CMD', and 'selfexp help --help' (which used
# to print the usage on stderr and exit 2) print on stdout and exit 0.
. "$(dirname "$0")/lib.sh"

for cmd in prompt data parse sim cache run demo score answers merge table report compare version; do
	check_exit "$cmd --help exits 0" 0 "$X" "$cmd" --help
	check "... printing its usage on stdout" grep -q "^usage: selfexp $cmd" "$T/last.out"
	check_exit "help $cmd exits 0" 0 "$X" help "$cmd"
	check "... printing the same" grep -q "^usage: selfexp $cmd" "$T/last.out"
done
for args in "--help" "-h" "help" "help --help" "help -h" "help help"; do
	# shellcheck disable=SC2086
	check_exit "selfexp $args exits 0" 0 "$X" $args
	check "... with the command list on stdout" grep -q "^  compare " "$T/last.out"
	check "... and nothing on stderr" test ! -s "$T/last.err"
done
check_exit "help of an unknown command is a usage error" 2 "$X" help nosuch
check_exit "selfexp alone is a usage error" 2 "$X"
check_exit "version with an argument is a usage error" 2 "$X" version extra
check_exit "version prints the version" 0 "$X" version
check "... and only it" grep -qx "selfexp [0-9][0-9.]*" "$T/last.out"
check "the exit statuses listed include 6, batches pending" \
	grep -q "6 batches pending" <("$X" --help)
done_testing
