#!/usr/bin/env bash
# selfexp score recomputes a run from its run.json and the cache alone: the
# recorded configuration, not the shell it runs in (no OPENAI_*, any working
# directory), reproduces summary.json and records.jsonl byte for byte; a
# 0.1.0 run.json (no "config") is still read; a template that changed since
# the run is refused.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/work/data" "$T/work/runs"
cp "$SELFEXP_HOME/data/demo.tsv" "$T/work/data/demo.tsv"
cp -r "$SELFEXP_HOME/prompts" "$T/work/prompts"
start_sim --confidence-decimals 3 --style mixed --explain noisy:0.2
# relative paths, the endpoint from the environment, the default cache (runs/.selfexp/)
(cd "$T/work" && OPENAI_BASE_URL=$SIM_URL OPENAI_API_KEY=sk-test "$X" run --data data/demo.tsv \
	--limit 6 --out runs/a --prompts prompts --model sim --conditions ep,pe-topk \
	--lime-samples 20 --bootstrap 50 --seed 11 --no-progress > "$T/run.out" 2> "$T/run.err")
check_eq "run with OPENAI_BASE_URL set exits 0" 0 $?
stop_sim
R=$T/work/runs/a
check "the cache went to the default place" test -s "$T/work/runs/.selfexp/cache.sqlite"
check "run.json records the configuration" grep -q '"config"' "$R/run.json"
check "run.json holds no key" bash -c "! grep -q sk-test '$R/run.json'"
cp "$R/summary.json" "$T/summary.orig"
cp "$R/records.jsonl" "$T/records.orig"

# from /, with an empty environment: no OPENAI_BASE_URL, no SELFEXP_*, no HOME
(cd / && env -i PATH=/usr/bin:/bin "$X" score "$R" > "$T/score.out" 2> "$T/score.err")
rc=$?
check_eq "env -i selfexp score from / exits 0" 0 "$rc" || sed 's/^/#   /' "$T/score.err"
check "... and reproduces summary.json byte for byte" cmp -s "$T/summary.orig" "$R/summary.json"
check "... and records.jsonl byte for byte" cmp -s "$T/records.orig" "$R/records.jsonl"
check "... with nothing missing from the cache" grep -q ' 0 failed' "$T/score.err"

# a run.json as selfexp 0.1.0 wrote it: no "config"; paths relative to its cwd
python3 - "$R/run.json" <<'PY'
import json, sys
p = sys.argv[1]
j = json.load(open(p))
del j["config"]
j["selfexp_version"] = "0.1.0"
json.dump(j, open(p, "w"), indent=2)
PY
rm "$R/summary.json"
# such a run read rows keyed by the host alone, and so does its score: not this cache's
C=$T/work/runs/.selfexp/cache.sqlite
(cd / && env -i PATH=/usr/bin:/bin "$X" score "$R" > "$T/score.out" 2> "$T/score.err")
check_eq "score of a 0.1.0 run.json over endpoint-keyed rows: all missing, exit 5" 5 $?
# the cache as 0.1.0 wrote it: the same rows, keyed by the host
"$X" cache export --cache "$C" -o "$T/rows.jsonl" 2> /dev/null
rm -f "$C" "$C-wal" "$C-shm"
"$X" cache import --cache "$C" --host 127.0.0.1 "$T/rows.jsonl" 2> /dev/null
(cd / && env -i PATH=/usr/bin:/bin "$X" score "$R" > "$T/score.out" 2> "$T/score.err")
check_eq "score of a 0.1.0 run.json exits 0" 0 $?
check "... and reproduces summary.json byte for byte" cmp -s "$T/summary.orig" "$R/summary.json"
check "... saying its answers came from host-keyed rows" grep -q "keyed by the host '127.0.0.1' alone" "$T/score.err"

# the template changed since the run: refused, nothing rewritten
cp "$T/summary.orig" "$R/summary.json"
echo "changed" >> "$T/work/prompts/ep"
check_exit "score after a template changed exits 1" 1 "$X" score "$R"
check "... naming the template" grep -q "template '.*prompts/ep' has changed since the run" "$T/last.err"
check "... and leaves summary.json as it was" cmp -s "$T/summary.orig" "$R/summary.json"

echo '{"config": {"format": 99}}' > "$R/run.json"
check_exit "score of an unknown configuration format exits 1" 1 "$X" score "$R"
check "... naming the format" grep -q "configuration format 99" "$T/last.err"
done_testing
