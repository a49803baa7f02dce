#!/usr/bin/env bash
# -o FILE (table, report, compare --markdown, cache export) is written
# atomically, but what FILE names stays what it was: a FIFO (or a device,
# /dev/stdout, /dev/null) is written through, never replaced by a regular
# file (as root, a rename over /dev/null replaced the machine's /dev/null);
# a symbolic link keeps pointing where it did and its target gets the
# output; a directory is an error. (No test here touches /dev: without the
# guard it would replace the device node.)
. "$(dirname "$0")/lib.sh"

small_run
"$X" table "$T/run" > "$T/table.md"

# a FIFO: written through, and still a FIFO
_reader=
_stop_reader() { [ -n "$_reader" ] && kill "$_reader" 2> /dev/null; [ -n "$_reader" ] && wait "$_reader" 2> /dev/null; _reader=; }
_cleanup_fns+=(_stop_reader)
fifo_check() { # name command... (the command writes to $T/fifo)
	local what=$1; shift
	rm -f "$T/fifo" "$T/got"
	mkfifo "$T/fifo"
	# the reader gives up after a while: a writer that never opens the FIFO hangs nothing
	timeout 20 cat "$T/fifo" > "$T/got" &
	_reader=$!
	"$@" > "$T/fifo.out" 2> "$T/fifo.err"
	check_eq "$what into a FIFO exits 0" 0 $? || sed 's/^/#   /' "$T/fifo.err"
	check "... and the FIFO is still a FIFO" test -p "$T/fifo"
	if [ -p "$T/fifo" ]; then wait "$_reader"; else _stop_reader; fi
	_reader=
}
fifo_check "table -o" "$X" table "$T/run" -o "$T/fifo"
check "... and the reader got the table" cmp -s "$T/table.md" "$T/got"
fifo_check "report -o" "$X" report "$T/run" -o "$T/fifo"
check "... and the reader got the report" grep -q '</html>' "$T/got"
fifo_check "compare --markdown" "$X" compare "$T/run" "$T/run" --markdown "$T/fifo"
check "... and the reader got the markdown" grep -q 'selfexp compare' "$T/got"
fifo_check "cache export -o" "$X" cache export --cache "$T/cache.sqlite" -o "$T/fifo"
check "... and the reader got the rows" grep -q '"request"' "$T/got"

# a symbolic link: its target is replaced, the link stays
mkdir "$T/keep"
echo old > "$T/keep/table.md"
ln -s keep/table.md "$T/link.md"
check_exit "table -o a symbolic link exits 0" 0 "$X" table "$T/run" -o "$T/link.md"
check "... the link is still a link" test -L "$T/link.md"
check "... and its target holds the table" cmp -s "$T/table.md" "$T/keep/table.md"

# a directory: an error, the directory as it was
mkdir "$T/dir"
check_exit "table -o a directory exits 1" 1 "$X" table "$T/run" -o "$T/dir"
check "... saying so" grep -q "cannot write '.*dir': Is a directory" "$T/last.err"
check "... and leaves it a directory" test -d "$T/dir"
done_testing
