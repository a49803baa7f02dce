#!/usr/bin/env bash
# A cache on read-only media can be read: cache stats, cache export, score
# and run --offline open it for reading only (no WAL switch, no -shm beside
# it: SQLite's immutable mode when the -shm cannot be made), and a command
# that must write (run, import, vacuum) says the cache is read-only and the
# way out. Read-only media: a read-only bind mount in a private mount
# namespace (root, or a user namespace), else a file of mode 444 in a
# directory of mode 555 (a user other than root).
. "$(dirname "$0")/lib.sh"

data=$SELFEXP_HOME/data/demo.tsv
opts=(--data "$data" --limit 3 --model sim --conditions pe --explainers self,occlusion
	--bootstrap 20 --no-progress)

start_sim
mkdir -p "$T/media" "$T/ro"
check_exit "a run fills the cache" 0 "$X" run "${opts[@]}" --out "$T/a" --cache "$T/media/c.sqlite" \
	--base-url "$SIM_URL"
stop_sim
# a version 1 cache too (no endpoint, insecure columns): read, not migrated
python3 - "$T/media/v1.sqlite" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("PRAGMA journal_mode=WAL")
db.execute("CREATE TABLE responses (key TEXT PRIMARY KEY NOT NULL, host TEXT NOT NULL, request TEXT NOT NULL,"
           " response TEXT NOT NULL, prompt_tokens INTEGER, completion_tokens INTEGER, latency_ms REAL,"
           " created REAL NOT NULL)")
db.execute("INSERT INTO responses VALUES ('k1', 'h', '{\"model\":\"m\"}', "
           "'{\"choices\":[{\"message\":{\"content\":\"(1, 0.9)\"},\"finish_reason\":\"stop\"}]}', 3, 4, 1.0, 1700000000)")
db.execute("PRAGMA user_version=1")
db.commit()
db.close()
PY
"$X" cache export --cache "$T/media/c.sqlite" > "$T/export.rw" 2> /dev/null
"$X" cache stats --cache "$T/media/c.sqlite" > "$T/stats.rw"
rm -f "$T/media/"*-wal "$T/media/"*-shm
check_eq "a read-write open that writes nothing leaves no -wal or -shm" "c.sqlite v1.sqlite" \
	"$(cd "$T/media" && echo *)"

# run_ro SCRIPT: run the bash SCRIPT with $RO the read-only view of $T/media
if [ "$(id -u)" = 0 ] && unshare -m true 2> /dev/null; then
	ro_how="a read-only bind mount (unshare -m)"
	run_ro() { RO=$T/ro unshare -m bash -c "mount --bind '$T/media' '$T/ro' && mount -o remount,bind,ro '$T/ro' && $1"; }
elif unshare -rm true 2> /dev/null; then
	ro_how="a read-only bind mount (unshare -rm)"
	run_ro() { RO=$T/ro unshare -rm bash -c "mount --bind '$T/media' '$T/ro' && mount -o remount,bind,ro '$T/ro' && $1"; }
elif [ "$(id -u)" != 0 ]; then
	ro_how="mode 444 files in a mode 555 directory"
	run_ro() { chmod 444 "$T/media/"*; chmod 555 "$T/media"; RO=$T/media bash -c "$1"; local rc=$?
		chmod 755 "$T/media"; chmod 644 "$T/media/"*; return $rc; }
else
	skip_all "no read-only media: root cannot make a private read-only bind mount (unshare -m) and chmod does not stop root"
fi
echo "# read-only media: $ro_how"
export X T SIM_URL
# the probe: the media really is read-only
check "the media refuses writes" run_ro '! touch "$RO/probe" 2> /dev/null'

run_ro '"$X" cache stats --cache "$RO/c.sqlite" > "$T/stats.ro" 2> "$T/stats.err"; echo $? > "$T/stats.rc"'
check_eq "cache stats on read-only media exits 0" 0 "$(cat "$T/stats.rc")"
check_eq "... with the same rows" "$(grep ^rows "$T/stats.rw")" "$(grep ^rows "$T/stats.ro")"
run_ro '"$X" cache export --cache "$RO/c.sqlite" > "$T/export.ro" 2> /dev/null; echo $? > "$T/export.rc"'
check_eq "cache export on read-only media exits 0" 0 "$(cat "$T/export.rc")"
check "... and exports the same lines" cmp -s "$T/export.rw" "$T/export.ro"
run_ro '"$X" cache export --cache "$RO/v1.sqlite" > "$T/v1.ro" 2> /dev/null; echo $? > "$T/v1.rc"'
check_eq "a version 1 cache on read-only media exports (no migration needed)" "0 1" \
	"$(cat "$T/v1.rc") $(wc -l < "$T/v1.ro")"
cp -r "$T/a" "$T/s"
run_ro '"$X" score "$T/s" --cache "$RO/c.sqlite" > /dev/null 2> "$T/score.err"; echo $? > "$T/score.rc"'
check_eq "score from a read-only cache exits 0" 0 "$(cat "$T/score.rc")"
check "... and reproduces summary.json" cmp -s "$T/a/summary.json" "$T/s/summary.json"
run_ro '"$X" run '"${opts[*]}"' --out "$T/off" --cache "$RO/c.sqlite" --base-url "$SIM_URL" --offline > /dev/null 2> "$T/off.err"; echo $? > "$T/off.rc"'
check_eq "run --offline from a read-only cache exits 0 (the sim is stopped)" 0 "$(cat "$T/off.rc")"
check "... with the same summary" cmp -s "$T/a/summary.json" "$T/off/summary.json"

# commands that write say so, and how to get on
for cmd in "run ${opts[*]} --out $T/w --cache \$RO/c.sqlite --base-url $SIM_URL" \
	"cache import --cache \$RO/c.sqlite $T/export.rw" "cache vacuum --cache \$RO/c.sqlite"; do
	run_ro '"$X" '"$cmd"' > /dev/null 2> "$T/w.err"; echo $? > "$T/w.rc"'
	check_eq "'${cmd%% --*}' on a read-only cache fails (exit 1)" 1 "$(cat "$T/w.rc")"
	grep -q "is read-only.*copy the cache to a writable place" "$T/w.err" &&
		ok "... saying it is read-only, with the way out" || fail "read-only message: $(cat "$T/w.err")"
done

# answers still in the write-ahead log, without their -shm: refused, not half read
python3 - "$T/media/c.sqlite" <<'PY'
import os, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("PRAGMA wal_autocheckpoint=0")
db.execute("UPDATE answers SET latency_ms = latency_ms + 1")
db.commit()
os._exit(0)  # no checkpoint at close: the rows stay in the -wal
PY
rm -f "$T/media/c.sqlite-shm"
if [ -s "$T/media/c.sqlite-wal" ]; then
	run_ro '"$X" cache stats --cache "$RO/c.sqlite" > /dev/null 2> "$T/wal.err"; echo $? > "$T/wal.rc"'
	check_eq "a read-only cache whose -wal holds answers but has no -shm fails" 1 "$(cat "$T/wal.rc")"
	grep -q "write-ahead log.*copy both files" "$T/wal.err" && ok "... naming the log and the way out" ||
		fail "wal message: $(cat "$T/wal.err")"
else
	fail "the -wal should hold the update"
fi
check_exit "the writable cache still reads its -wal" 0 "$X" cache stats --cache "$T/media/c.sqlite"

done_testing
