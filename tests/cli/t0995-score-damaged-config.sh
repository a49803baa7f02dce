#!/usr/bin/env bash
# score (and merge, answers export, a resumed run) rebuild a run from the
# configuration its run.json records; a field of it that a run always
# writes, missing or null, is a damaged run.json: exit 1 naming the field,
# the run directory as it was. Before, a missing field took its default:
# score of a --bootstrap 20 run whose "bootstrap" was lost rewrote
# summary.json with 1000 resamples and exited 0.
. "$(dirname "$0")/lib.sh"

small_run --seed 7
cp -r "$T/run" "$T/orig"
check_exit "score of the intact run exits 0" 0 "$X" score "$T/run"
check "... and reproduces summary.json" cmp -s "$T/orig/summary.json" "$T/run/summary.json"

damage() { # how key: a copy of the run whose config lacks key (how=del) or has it null
	rm -rf "$T/d"
	cp -r "$T/orig" "$T/d"
	python3 - "$T/d/run.json" "$1" "$2" <<'PY'
import json, sys
path, how, key = sys.argv[1:]
j = json.load(open(path))
o = j["config"]
*parents, last = key.split(".")
for p in parents:
    o = o[p]
if how == "del":
    del o[last]
else:
    o[last] = None
json.dump(j, open(path, "w"), indent=1)
PY
}
for key in bootstrap seed lime.samples generation.temperature conditions prob; do
	damage del "$key"
	check_exit "score without config.$key exits 1" 1 "$X" score "$T/d"
	check "... naming it" grep -q "the configuration has no '$key' (the file is damaged)" "$T/last.err"
	check "... and summary.json as it was" cmp -s "$T/orig/summary.json" "$T/d/summary.json"
done
damage null bootstrap
check_exit "score with config.bootstrap null exits 1" 1 "$X" score "$T/d"
check "... and summary.json as it was" cmp -s "$T/orig/summary.json" "$T/d/summary.json"
damage del bootstrap
check_exit "answers export without config.bootstrap exits 1" 1 "$X" answers export "$T/d"
check "... writing nothing" test ! -s "$T/last.out"
done_testing
