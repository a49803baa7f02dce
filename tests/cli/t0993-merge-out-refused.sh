#!/usr/bin/env bash
# merge OUT SHARDS...: when OUT holds a run of another configuration (or one
# that cannot be read back), merge is refused before it touches OUT: it used
# to join the shards' caches into OUT/cache.sqlite (megabytes, in a run
# directory it then refused to write) and only then say "pass --force".
# A shard whose cache cannot be read is found before OUT is created. With
# --force, or an OUT of the same configuration, the merge goes ahead.
. "$(dirname "$0")/lib.sh"

start_sim
common=(--data "$SELFEXP_HOME/data/demo.tsv" --limit 4 --model sim --lime-samples 10
	--bootstrap 20 --no-progress --base-url "$SIM_URL")
for i in 0 1; do
	"$X" run "${common[@]}" --shard "$i/2" --out "$T/s$i" --cache "$T/c$i.sqlite" 2> "$T/err" ||
		{ fail "shard $i/2 exits $?"; sed 's/^/#   /' "$T/err"; }
done
"$X" run "${common[@]}" --temperature 0.5 --out "$T/other" --cache "$T/other.sqlite" 2> "$T/err" ||
	{ fail "the other run exits $?"; sed 's/^/#   /' "$T/err"; }
stop_sim
ls -A "$T/other" > "$T/other.ls"
(cd "$T/other" && md5sum -- *) > "$T/other.sums"

check_exit "merge into a run of another configuration exits 1" 1 \
	"$X" merge "$T/other" "$T/s0" "$T/s1"
check "... naming the difference" grep -q "holds a run of another configuration (.*temperature: 0.5 there, 0 here" "$T/last.err"
check "... with no cache.sqlite left in it" test ! -e "$T/other/cache.sqlite"
check "... nor any other new file" bash -c "ls -A '$T/other' | cmp -s - '$T/other.ls'"
check "... and its files as they were" bash -c "cd '$T/other' && md5sum -c --quiet '$T/other.sums'"

# a run directory that cannot be read back: refused too, nothing joined
mkdir "$T/broken"
echo '{"config": {' > "$T/broken/run.json"
check_exit "merge into an unreadable run directory exits 1" 1 "$X" merge "$T/broken" "$T/s0" "$T/s1"
check "... saying --force replaces it" grep -q "cannot be read back; pass --force" "$T/last.err"
check "... with no cache.sqlite left in it" test ! -e "$T/broken/cache.sqlite"

# a shard whose cache is gone: refused before OUT (and its cache) is created
mv "$T/c1.sqlite" "$T/c1.away"
check_exit "merge with a shard's cache gone exits 1" 1 "$X" merge "$T/gone" "$T/s0" "$T/s1"
check "... naming the cache" grep -q "the cache of '$T/s1': cannot read '$T/c1.sqlite'" "$T/last.err"
check "... and OUT not created" test ! -e "$T/gone"
mv "$T/c1.away" "$T/c1.sqlite"

# the same configuration in OUT (a merge done before) and --force still work
check_exit "merge into a new OUT exits 0" 0 "$X" merge "$T/m" "$T/s0" "$T/s1"
check_exit "merge again into the same OUT exits 0" 0 "$X" merge "$T/m" "$T/s0" "$T/s1"
check_exit "merge --force into the other run exits 0" 0 "$X" merge "$T/other" "$T/s0" "$T/s1" --force
check "... and OUT is the merged run" cmp -s "$T/m/summary.json" "$T/other/summary.json"
done_testing
