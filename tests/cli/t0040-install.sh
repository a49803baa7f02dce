#!/usr/bin/env bash
# make install into a temporary PREFIX (and DESTDIR): the installed binary
# runs the demo from its own files without SELFEXP_HOME, and the manual page
# holds every command's --help text.
. "$(dirname "$0")/lib.sh"
H=$SELFEXP_HOME
check_exit "make install PREFIX=... DESTDIR=...: exit 0" 0 \
	make -s -C "$H" install BUILD="${BUILD:-build/default}" PREFIX=/opt/selfexp DESTDIR="$T/dest"
root=$T/dest/opt/selfexp
check_eq "data/paper100.tsv has the SHA-256 data/README.md gives" \
	"$(grep -o '[0-9a-f]\{64\}' "$H/data/README.md" | head -n 1)" "$(sha256sum < "$H/data/paper100.tsv" | cut -d' ' -f1)"
check "the binary is in PREFIX/bin" test -x "$root/bin/selfexp"
check "the prompts are in PREFIX/share/selfexp/prompts" test -s "$root/share/selfexp/prompts/ep"
for f in demo.tsv paper100.tsv prices.tsv sim-weights.txt; do
	check "data/$f is installed" cmp "$H/data/$f" "$root/share/selfexp/data/$f"
done
# moved elsewhere, as a package manager would unpack it: it finds its files there
mv "$T/dest/opt/selfexp" "$T/moved"
root=$T/moved
(cd "$T" && env -u SELFEXP_HOME "$root/bin/selfexp" demo --out "$T/demo" > "$T/demo.out" 2> "$T/demo.err")
check_eq "the installed demo, without SELFEXP_HOME: exit 0" 0 $?
check "... wrote its report" test -s "$T/demo/report.html"
check "... from the installed data, not the build tree's" \
	grep -q "\"path\":[[:space:]]*\"$root/share/selfexp/data/demo.tsv\"" "$T/demo/run.json"
check "... and the installed prompts" grep -q "\"$root/share/selfexp/prompts\"" "$T/demo/run.json"

man1=$root/share/man/man1/selfexp.1
check "the manual page is installed" test -s "$man1"
check "... names the version" grep -q "\"selfexp $("$X" --version | awk '{ print $NF }')\"" "$man1"
missing=
for c in prompt data parse sim cache run demo score merge table report compare; do
	# each line of the command's --help is in the page (roff-escaped: '\' as '\e', '-' as is)
	while IFS= read -r line; do
		[ -z "$line" ] && continue
		esc=$(printf '%s' "$line" | sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/")
		grep -qxF -- "$esc" "$man1" || { missing="$missing $c"; break; }
	done < <("$X" "$c" --help)
done
check_eq "every line of every command's --help is in the page" "" "$missing"
if command -v groff > /dev/null; then
	check_eq "groff renders it without a warning" "" "$(groff -man -Tutf8 -ww -z "$man1" 2>&1)"
else
	ok "# SKIP groff is not installed"
fi
done_testing
