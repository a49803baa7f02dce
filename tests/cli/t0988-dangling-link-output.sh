#!/usr/bin/env bash
# -o FILE that is a dangling symbolic link (table, report, compare
# --markdown/--junit, cache export): the output goes to the path the link
# names (created there, through a chain of links too) and the link stays a
# link, as a shell's > would. Before, the rename put a regular file where the
# link was, and the path it named stayed empty. A dangling link to a data
# file of a run directory (a misses.jsonl that is not there now) is refused
# like the file itself; links that loop are an error.
. "$(dirname "$0")/lib.sh"

small_run
mkdir -p "$T/out" "$T/links"

link_check() { # name target-name command... (the command writes to $T/links/NAME)
	local name=$1 target=$2; shift 2
	rm -f "$T/links/$name" "$T/out/$target"
	ln -s "../out/$target" "$T/links/$name"
	check_exit "$name: a dangling link as the output exits 0" 0 "$@"
	check "... the link is still a link" test -L "$T/links/$name"
	check "... to the same path" test "$(readlink "$T/links/$name")" = "../out/$target"
	check "... whose file now holds the output" test -s "$T/out/$target"
}
link_check table.md table.md "$X" table "$T/run" -o "$T/links/table.md"
check "... the table" grep -q "selfexp table" "$T/out/table.md"
link_check report.html report.html "$X" report "$T/run" -o "$T/links/report.html"
link_check compare.md compare.md "$X" compare "$T/run" "$T/run" --markdown "$T/links/compare.md"
link_check junit.xml junit.xml "$X" compare "$T/run" "$T/run" --junit "$T/links/junit.xml"
link_check export.jsonl export.jsonl "$X" cache export --cache "$T/cache.sqlite" -o "$T/links/export.jsonl"

# a chain: links/a -> b -> ../out/chain.md (missing)
ln -s b "$T/links/a"; ln -s ../out/chain.md "$T/links/b"
check_exit "a chain of links ending in a dangling one exits 0" 0 "$X" table "$T/run" -o "$T/links/a"
check "... both links stay" test -L "$T/links/a" -a -L "$T/links/b"
check "... and the path at its end holds the table" grep -q "selfexp table" "$T/out/chain.md"

# a dangling link to a run directory's misses.jsonl (a complete run has none)
check "the complete run has no misses.jsonl" test ! -e "$T/run/misses.jsonl"
ln -s ../run/misses.jsonl "$T/links/m.jsonl"
check_exit "table -o a dangling link to DIR/misses.jsonl exits 1" 1 "$X" table "$T/run" -o "$T/links/m.jsonl"
check "... saying it is a data file" grep -q "is a data file of a run directory" "$T/last.err"
check "... writing nothing there" test ! -e "$T/run/misses.jsonl"

# links that loop
ln -s loop2 "$T/links/loop1"; ln -s loop1 "$T/links/loop2"
check_exit "table -o a loop of links exits 1" 1 "$X" table "$T/run" -o "$T/links/loop1"
check "... saying so" grep -q "Too many levels of symbolic links" "$T/last.err"
check "... the links stay" test -L "$T/links/loop1" -a -L "$T/links/loop2"
done_testing
