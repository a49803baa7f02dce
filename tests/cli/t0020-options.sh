#!/usr/bin/env bash
# The options of `selfexp run` and `selfexp demo` come from one table: every
# long option getopt accepts is in the command's --help, every option --help
# lists is accepted under that name, --prob documents sample:N, and the demo
# keeps its own options (and its --seed range).
. "$(dirname "$0")/lib.sh"
export LC_ALL=C
cd "$T" || exit 1

# documented CMD: the long options in the left column of `selfexp CMD --help`,
# one a line, sorted (the column ends at two spaces; a label that fills it is
# followed by a help line that names no option)
documented() {
	"$X" "$1" --help | awk '/^  -/ { s = substr($0, 3); i = index(s, "  ");
		if (i) s = substr(s, 1, i - 1); print s }' | grep -oE -- '--[a-z][a-z-]*' | sort -u
}
# probe CMD OPT: getopt_long's message for --OPT=1 --OPT, which never runs the
# command: an option without argument refuses the first, one with an argument
# takes 1 and then lacks one for the second
probe() { "$X" "$1" "--$2=1" "--$2" 2>&1 > /dev/null | head -n 1; }
# accepted CMD: the long options getopt_long takes, sorted, from its messages
# (glibc) for each letter: an ambiguous prefix lists every option it starts,
# a unique one names its option in full (so does a refused value 1)
accepted() {
	local l msg
	for l in {a..z}; do
		msg=$(probe "$1" "$l")
		case "$msg" in
		*"is ambiguous; possibilities:"*) echo "${msg#*possibilities:}" | grep -oE -- "'--[a-z-]+'" | tr -d "'";;
		*"requires an argument"* | *"doesn't allow an argument"*) echo "$msg" | grep -oE -- "'--[a-z-]+'" | tr -d "'";;
		*"invalid value '1' for --"*) msg=${msg#*"invalid value '1' for "}; echo "${msg%% *}";;
		esac
	done | sort -u
}

for cmd in run demo; do
	documented "$cmd" > "$T/$cmd.doc"
	check "$cmd --help lists options" test -s "$T/$cmd.doc"
	bad=
	while read -r opt; do
		case "$(probe "$cmd" "${opt#--}")" in
		*unrecognized* | *ambiguous*) bad="$bad $opt";;
		esac
	done < "$T/$cmd.doc"
	check_eq "every option $cmd --help lists is accepted under its name" "" "$bad"
	if probe "$cmd" c | grep -q "possibilities:"; then
		accepted "$cmd" > "$T/$cmd.acc"
		if diff "$T/$cmd.acc" "$T/$cmd.doc" > "$T/$cmd.diff"; then
			ok "$cmd: the options getopt accepts are the ones --help lists"
		else
			fail "$cmd: the options getopt accepts are the ones --help lists"
			sed 's/^/#   (< accepted, > documented) /' "$T/$cmd.diff"
		fi
	else
		ok "# SKIP getopt_long does not list the possibilities of an ambiguous prefix (not glibc)"
	fi
done

check_eq "demo --help lists the demo's options" \
	"--compat --conditions --confidence-decimals --explain --help --no-progress --out --preset --seed --style" \
	"$(tr '\n' ' ' < "$T/demo.doc" | sed 's/ $//')"
check "run's own options are not the demo's" grep -q "unrecognized option '--data=1'" <(probe demo data)

# --prob sample:N: documented, accepted, range checked
"$X" run --help > "$T/run.help"
check "run --help documents --prob sample:N" grep -q '^  --prob verbal|logprob|sample:N$' "$T/run.help"
check "run --help says what sample:N is" \
	grep -q 'frequency of label 1$' "$T/run.help"
check "run --help gives the range of N and the temperature" \
	grep -q 'over N sampled choices (N in 2..128; temperature 1$' "$T/run.help"
data=$SELFEXP_HOME/data/demo.tsv
check_exit "--prob sample:4 is accepted (dry run)" 0 "$X" run --data "$data" --out "$T/p" --prob sample:4 --dry-run
check_exit "--prob sample:129 is a usage error" 2 "$X" run --data "$data" --out "$T/p" --prob sample:129 --dry-run
check "and says which values are" grep -qF "invalid value 'sample:129' for --prob (expected verbal, logprob or sample:N with N in 2..128)" "$T/last.err"

# --seed: a run takes any uint64_t, the demo 0..2147483647 (it seeds the sim too)
check_exit "run --seed 2147483648 is accepted (dry run)" 0 "$X" run --data "$data" --out "$T/s" --seed 2147483648 --dry-run
check_exit "demo --seed 2147483648 is a usage error" 2 "$X" demo --seed 2147483648
check "and says so" grep -qF "demo: invalid value '2147483648' for --seed (expected a non-negative integer)" "$T/last.err"
check "nothing was written" test ! -e "$T/out"

done_testing
