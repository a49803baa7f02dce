#!/usr/bin/env bash
# selfexp merge checks that the shards read the same data: the SHA-256 of the
# data file each shard's run.json records (data.sha256) must agree between
# shards and with the file as it is now (OUT is computed from it).
. "$(dirname "$0")/lib.sh"

head -n 13 "$SELFEXP_HOME/data/demo.tsv" > "$T/d.tsv"
cp "$T/d.tsv" "$T/d.orig"
common=(--data "$T/d.tsv" --model sim --conditions ep --explainers self,occlusion --bootstrap 20
	--no-progress)
start_sim
shard() { "$X" run "${common[@]}" --base-url "$SIM_URL" --shard "$1/2" --out "$T/$2" --cache "$T/$2.sqlite" 2> "$T/err" ||
	{ echo "# shard $1 of $2: exit $?"; sed 's/^/#   /' "$T/err"; }; }
shard 0 a0; shard 1 a1
check "run.json records the data file's SHA-256" python3 -c '
import hashlib, json, sys
d = json.load(open(sys.argv[1]))["data"]
sys.exit(d.get("sha256") != hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest())' "$T/a0/run.json" "$T/d.tsv"
check_exit "the shards of one file merge" 0 "$X" merge "$T/m" "$T/a0" "$T/a1"

# the file changes between the shards: the second read other data
printf 'x1\tan added review\t1\n' >> "$T/d.tsv"
shard 1 b1
check_exit "shards that read different data are refused" 1 "$X" merge "$T/mb" "$T/a0" "$T/b1"
grep -q "read different data (SHA-256 .* of '.*d.tsv'); run every shard on the same file" "$T/last.err" &&
	ok "... naming the hashes and the way out" || fail "message: $(cat "$T/last.err")"
check "... and nothing written" test ! -e "$T/mb"

# the file changed after both shards read it
check_exit "shards of a file that changed since are refused" 1 "$X" merge "$T/mc" "$T/a0" "$T/a1"
grep -q "has changed since the shards read it.*restore it or run the shards again" "$T/last.err" &&
	ok "... saying the file changed" || fail "message: $(cat "$T/last.err")"
cp "$T/d.orig" "$T/d.tsv"
check_exit "restored, they merge again" 0 "$X" merge "$T/md" "$T/a0" "$T/a1"

# a shard of an older selfexp (no hash) beside one that has it
python3 - "$T/a1/run.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); del d["data"]["sha256"]
json.dump(d, open(sys.argv[1], "w"))
PY
check_exit "a shard without the hash beside one with it is refused" 1 "$X" merge "$T/me" "$T/a0" "$T/a1"
grep -q "does not (written by an older selfexp); run the shard again" "$T/last.err" &&
	ok "... naming the older shard" || fail "message: $(cat "$T/last.err")"
stop_sim
done_testing
