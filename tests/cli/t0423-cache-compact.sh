#!/usr/bin/env bash
# The compact cache (schema version 3, docs/cache.md): a run stores its
# answers compressed and reads them back unchanged; a cache of the old
# layout (version 2) is read as it is; `cache compact` converts it in place,
# and a kill -9 at any moment of it loses nothing: the file still opens and
# exports line for line what it did before.
. "$(dirname "$0")/lib.sh"

data=$SELFEXP_HOME/data/demo.tsv
opts=(--data "$data" --limit 12 --model sim --conditions ep,pe --explainers self,occlusion,lime
	--lime-samples 40 --bootstrap 20 --no-progress)
start_sim
check_exit "a run stores its answers" 0 "$X" run "${opts[@]}" --out "$T/a" --cache "$T/new.sqlite" \
	--base-url "$SIM_URL"
"$X" cache stats --cache "$T/new.sqlite" --json > "$T/new.stats"
pyt - "$T/new.stats" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
def check(what, cond): print(("ok " if cond else "not ok ") + what)
check("over 1,000 rows (%d): a dictionary was trained" % s["rows"], s["rows"] > 1000 and s["dictionaries"] == 1)
check("no row in the old layout", s["legacy_rows"] == 0)
check("stored compressed: %d of %d bytes" % (s["stored_bytes"], s["bytes"]), s["stored_bytes"] * 5 < s["bytes"])
PY
"$X" cache export --cache "$T/new.sqlite" > "$T/new.jsonl" 2> /dev/null

# the same answers in the layout of schema version 2, written with SQLite itself
python3 - "$T/new.jsonl" "$T/old.sqlite" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[2])
db.execute("PRAGMA journal_mode=WAL")
db.execute("CREATE TABLE responses (key TEXT PRIMARY KEY NOT NULL, host TEXT NOT NULL, request TEXT NOT NULL,"
           " response TEXT NOT NULL, prompt_tokens INTEGER, completion_tokens INTEGER, latency_ms REAL,"
           " created REAL NOT NULL, endpoint TEXT, insecure INTEGER)")
for line in open(sys.argv[1]):
    d = json.loads(line)
    raw = line.split('"request":', 1)[1].split(',"response":', 1)[0]
    db.execute("INSERT INTO responses VALUES (?,?,?,?,?,?,?,?,?,?)",
               (d["key"], d["host"], raw, json.dumps(d["response"], separators=(",", ":")),
                d.get("prompt_tokens"), d.get("completion_tokens"), d["latency_ms"], d["created"],
                d.get("endpoint"), int(d["insecure"]) if "insecure" in d else None))
db.execute("PRAGMA user_version=2")
db.commit()
db.close()
PY
cp "$T/old.sqlite" "$T/old.orig"
# an answer stored again replaces the old layout's row: one row per key
cp "$T/old.sqlite" "$T/dup.sqlite"
check_exit "import of the same answers over the version 2 cache" 0 "$X" cache import --cache "$T/dup.sqlite" "$T/new.jsonl"
check "... replaces every one" grep -Eq "imported ([0-9]+) rows: 0 new, \1 replaced" "$T/last.err"
"$X" cache stats --cache "$T/dup.sqlite" --json > "$T/dup.stats"
check "... and leaves one row per key, none in the old layout" python3 -c '
import json, sys
s = json.load(open(sys.argv[1])); n = sum(1 for _ in open(sys.argv[2]))
sys.exit(not (s["rows"] == n and s["legacy_rows"] == 0))' "$T/dup.stats" "$T/new.jsonl"
"$X" cache export --cache "$T/old.sqlite" > "$T/old.jsonl" 2> /dev/null
# (the same lines; their order may differ: the export rounded the times the copy was made from)
check "a version 2 cache exports the same lines as the compact one" \
	cmp -s <(sort "$T/new.jsonl") <(sort "$T/old.jsonl")
cp -r "$T/a" "$T/s"
stop_sim
check_exit "score reads the version 2 cache as it is (the sim is stopped)" 0 "$X" score "$T/s" \
	--cache "$T/old.sqlite"
check "... and reproduces the run's summary" cmp -s "$T/a/summary.json" "$T/s/summary.json"
check_eq "reading it did not convert it" 2 "$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA user_version").fetchone()[0])' "$T/old.sqlite")"

# kill -9 during compact, at several moments: nothing is lost
interrupted=0 lost=0
for delay in 0 0.005 0.01 0.02 0.04 0.07 0.1 0.15 0.2 0.3 0.5; do
	"$X" cache compact "$T/old.sqlite" > /dev/null 2> "$T/compact.err" &
	pid=$!
	sleep "$delay"
	if kill -0 "$pid" 2> /dev/null; then
		kill9 "$pid"
		interrupted=$((interrupted + 1))
	fi
	wait "$pid" 2> /dev/null
	"$X" cache export --cache "$T/old.sqlite" > "$T/after.jsonl" 2> "$T/after.err" ||
		{ lost=$((lost + 1)); echo "# after a kill at ${delay}s the cache does not export: $(cat "$T/after.err")"; continue; }
	cmp -s "$T/old.jsonl" "$T/after.jsonl" || { lost=$((lost + 1)); echo "# after a kill at ${delay}s the export differs"; }
done
echo "# $interrupted of 11 compacts were killed while running"
check "at least one compact was killed while running" test "$interrupted" -ge 1
check_eq "every kill left a cache that exports the same lines" 0 "$lost"

check_exit "an uninterrupted compact" 0 "$X" cache compact "$T/old.sqlite"
check "it names the rows and sizes" grep -Eq "[0-9]+ rows \([0-9]+ of them in the old layout\), [0-9]+ -> [0-9]+ bytes" "$T/last.out"
"$X" cache export --cache "$T/old.sqlite" > "$T/compact.jsonl" 2> /dev/null
check "the compact file exports the same lines" cmp -s "$T/old.jsonl" "$T/compact.jsonl"
"$X" cache stats --cache "$T/old.sqlite" --json > "$T/c.stats"
pyt - "$T/c.stats" "$T/old.orig" <<'PY'
import json, os, sys
s = json.load(open(sys.argv[1]))
def check(what, cond): print(("ok " if cond else "not ok ") + what)
check("no row is left in the old layout", s["legacy_rows"] == 0 and s["rows"] > 1000)
check("the file is at most a fifth of the old one (%d of %d bytes)" % (s["file_bytes"], os.path.getsize(sys.argv[2])),
      s["file_bytes"] * 5 <= os.path.getsize(sys.argv[2]))
PY
check "no temporary file is left beside it" test ! -e "$T/old.sqlite.compact-tmp"
check_eq "the file is of schema version 3" 3 "$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA user_version").fetchone()[0])' "$T/old.sqlite")"
check_eq "and passes integrity_check" ok "$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA integrity_check").fetchone()[0])' "$T/old.sqlite")"
cp -r "$T/a" "$T/s2"
check_exit "score from the compacted cache" 0 "$X" score "$T/s2" --cache "$T/old.sqlite"
check "... reproduces the run's summary" cmp -s "$T/a/summary.json" "$T/s2/summary.json"

# another process has the file open: refused, nothing changed
cp "$T/old.orig" "$T/busy.sqlite"
python3 - "$T/busy.sqlite" "$T/hold" <<'PY' &
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
db.execute("SELECT count(*) FROM responses").fetchall()
open(sys.argv[2], "w").close()
for _ in range(200):
    if not os.path.exists(sys.argv[2]):
        break
    time.sleep(0.05)
PY
holder=$!
for _ in $(seq 1 100); do [ -e "$T/hold" ] && break; sleep 0.05; done
check_exit "compact of a cache another process has open fails" 1 "$X" cache compact "$T/busy.sqlite"
grep -q "in use by another process.*when no run uses it" "$T/last.err" && ok "... saying it is in use" ||
	fail "in-use message: $(cat "$T/last.err")"
rm -f "$T/hold"
wait "$holder"
check_eq "... and left it in the old layout" 2 "$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA user_version").fetchone()[0])' "$T/busy.sqlite")"
done_testing
