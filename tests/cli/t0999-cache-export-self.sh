#!/usr/bin/env bash
# cache export -o never writes over the cache it exports (by its name,
# another spelling, a link, or its -wal/-shm file): `cache export --cache
# C -o C` replaced the SQLite file with its own JSONL export and exited 0,
# losing the cache. Other outputs are written as before.
. "$(dirname "$0")/lib.sh"

start_sim
"$X" run --data "$SELFEXP_HOME/data/demo.tsv" --limit 2 --out "$T/run" --base-url "$SIM_URL" \
	--model sim --lime-samples 10 --bootstrap 20 --cache "$T/c.sqlite" --no-progress \
	2> "$T/run.err"
check_eq "a small run exits 0" 0 $? || sed 's/^/#   /' "$T/run.err"
stop_sim
C=$T/c.sqlite
rows() { "$X" cache stats --json --cache "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rows"])'; }
n=$(rows "$C")
check "the cache has rows" test "$n" -gt 0
cp "$C" "$T/c.orig"

check_exit "cache export -o the cache itself exits 1" 1 "$X" cache export --cache "$C" -o "$C"
check "... naming it" grep -q "'$C' is the cache being exported; export elsewhere" "$T/last.err"
check_exit "... spelled another way" 1 "$X" cache export --cache "$C" -o "$T/./c.sqlite"
ln -s c.sqlite "$T/link"
check_exit "... through a link" 1 "$X" cache export --cache "$C" -o "$T/link"
python3 - "$C" <<'PY'
import sqlite3, sys, os
c = sqlite3.connect(sys.argv[1])
c.execute("pragma journal_mode=wal")
c.execute("pragma wal_autocheckpoint=0")
c.execute("create table if not exists probe(x)")
c.commit()
os._exit(0)  # leave the -wal file behind, as a process that is still running does
PY
check "the cache has a -wal file now" test -e "$C-wal"
check_exit "cache export -o its -wal file exits 1" 1 "$X" cache export --cache "$C" -o "$C-wal"
check "the cache still has every row" test "$(rows "$C")" = "$n"
check_exit "cache export -o another file exits 0" 0 "$X" cache export --cache "$C" -o "$T/rows.jsonl"
check_eq "... with one line per row" "$n" "$(wc -l < "$T/rows.jsonl" | tr -d ' ')"
done_testing
