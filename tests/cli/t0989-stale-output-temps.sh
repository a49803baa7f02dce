#!/usr/bin/env bash
# table -o / report -o / compare --markdown / cache export -o killed mid-write
# leave FILE.tmp.PID beside FILE; the next write of the same FILE removes
# those of processes that are gone, as a run's writer does in its directory.
# A live process's temporary is never touched, nor another file's, nor a
# name that only looks like one. Before, they stayed for good (only a run's
# writer cleaned, and only its own directory).
. "$(dirname "$0")/lib.sh"

small_run
mkdir -p "$T/o"

# a real kill -9 in the middle of report -o (held in its fsync by strace)
_tracer=
_stop_tracer() { [ -n "$_tracer" ] && kill "$_tracer" 2> /dev/null; [ -n "$_tracer" ] && wait "$_tracer" 2> /dev/null; _tracer=; }
_cleanup_fns+=(_stop_tracer)
if command -v strace > /dev/null && strace -o /dev/null true 2> /dev/null; then
	strace -f -o /dev/null -e inject=fsync:delay_enter=5000000 \
		"$X" report "$T/run" -o "$T/o/r.html" > /dev/null 2>&1 &
	_tracer=$!
	for i in $(seq 1 400); do
		ls "$T/o" | grep -q '^r\.html\.tmp\.[0-9]*$' && break
		sleep 0.025
	done
	tmp=$(ls "$T/o" | grep '^r\.html\.tmp\.[0-9]*$' | head -n 1)
	check "report -o held in fsync has its temporary" test -n "$tmp"
	[ -n "$tmp" ] && kill9 "${tmp##*.}"
	_stop_tracer
	check "... the writer is gone" bash -c "! kill -0 ${tmp##*.} 2> /dev/null"
	check "... leaving its temporary" test -e "$T/o/$tmp"
	check_exit "report -o the same file exits 0" 0 "$X" report "$T/run" -o "$T/o/r.html"
	check "... and removes the dead writer's temporary" test ! -e "$T/o/$tmp"
else
	ok "# SKIP no usable strace: the kill -9 mid-write is left to the cases below"
fi

# what a kill leaves, by a PID that is gone; and one of a live process
dead=$(sh -c 'echo $$')
sleep 30 & live=$!
_stop_live() { kill "$live" 2> /dev/null; wait "$live" 2> /dev/null; }
_cleanup_fns+=(_stop_live)
for f in t.md t.md.tmp.$dead t.md.tmp.$live other.md.tmp.$dead t.md.tmp.${dead}x \
	 t.mdx.tmp.$dead; do
	echo partial > "$T/o/$f"
done
check_exit "table -o t.md exits 0" 0 "$X" table "$T/run" -o "$T/o/t.md"
check "... removes t.md.tmp.PID of the dead process" test ! -e "$T/o/t.md.tmp.$dead"
check "... keeps the live process's" test -e "$T/o/t.md.tmp.$live"
check "... keeps another file's" test -e "$T/o/other.md.tmp.$dead"
check "... keeps names that only look like one" test -e "$T/o/t.md.tmp.${dead}x" -a -e "$T/o/t.mdx.tmp.$dead"
check "... and leaves none of its own" test "$(ls "$T/o" | grep -c "tmp\.$$\$")" = 0
echo partial > "$T/o/c.md.tmp.$dead"; echo partial > "$T/o/e.jsonl.tmp.$dead"
check_exit "compare --markdown exits 0" 0 "$X" compare "$T/run" "$T/run" --markdown "$T/o/c.md"
check "... removing its dead temporary" test ! -e "$T/o/c.md.tmp.$dead"
check_exit "cache export -o exits 0" 0 "$X" cache export --cache "$T/cache.sqlite" -o "$T/o/e.jsonl"
check "... removing its dead temporary" test ! -e "$T/o/e.jsonl.tmp.$dead"
# through a link: the temporaries beside the target are the ones
mkdir -p "$T/tgt"; echo partial > "$T/tgt/l.md.tmp.$dead"; ln -s ../tgt/l.md "$T/o/l.md"
check_exit "table -o a link exits 0" 0 "$X" table "$T/run" -o "$T/o/l.md"
check "... removing the dead temporary beside its target" test ! -e "$T/tgt/l.md.tmp.$dead"
done_testing
