#!/usr/bin/env bash
# A restarted batch run finds the input file it uploaded but did not record
# (killed while the upload's answer was on its way) also when more than a
# page of newer files sits on the server: GET /v1/files?purpose=batch&limit=100
# is read page after page (&after=ID while has_more), as OpenAI's list is, and
# the file is not uploaded again. A list it cannot read to its end (a server
# that ignores the cursor and always says has_more) is an error that names
# the list, not "not there": nothing is uploaded or created, so no request can
# run twice.
. "$(dirname "$0")/lib.sh"
data=$SELFEXP_HOME/data/demo.tsv
bstat() { sim_stats | python3 -c "import json,sys; print(json.load(sys.stdin)['batches']['$1'])"; }
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["batches"][0][sys.argv[2]])' "$T/run/batches.json" "$1"; }
# what a kill in the upload window leaves: the entry recorded, its file and batch ids not
forget_ids() {
	python3 - "$T/run/batches.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for b in d["batches"]:
    b["file_id"] = None
    b["batch_id"] = None
json.dump(d, open(sys.argv[1], "w"), indent="\t")
PY
}

start_sim --batch-delay 600000
bopts=(--data "$data" --limit 4 --conditions pe --model sim --no-progress --out "$T/run"
	--cache "$T/c.sqlite" --batch --batch-poll 0.02 --no-wait)
check_exit "--no-wait uploads the first stage's file and submits its batch: exit 6" 6 \
	"$X" run "${bopts[@]}" --base-url "$SIM_URL"
fid=$(field file_id)
bid=$(field batch_id)
check "... and records the file's id ($fid)" test -n "$fid"
forget_ids
cp "$T/run/batches.json" "$T/batches.forgotten"
# 150 other batch files, newer than the run's: its own is now on the list's second page
printf '%s\n' '{"custom_id":"f","method":"POST","url":"/v1/chat/completions","body":{"model":"sim","messages":[{"role":"user","content":"x"}]}}' > "$T/filler.jsonl"
for i in $(seq 1 150); do
	curl -sf -o /dev/null -F purpose=batch -F "file=@$T/filler.jsonl;filename=other-$i.jsonl" \
		"$SIM_URL/files" || break
done
check_eq "151 files on the server" 151 "$(bstat files_uploaded)"
pyt - "$SIM_URL" "$fid" <<'PY'
import json, sys, urllib.request
url, fid = sys.argv[1], sys.argv[2]
get = lambda q: json.load(urllib.request.urlopen(url + "/files?" + q))
p1 = get("purpose=batch&limit=100")
p2 = get("purpose=batch&limit=100&after=" + p1["data"][-1]["id"])
print(("ok " if len(p1["data"]) == 100 and p1["has_more"] is True else "not ok ") +
      "the sim's first page of files: 100, has_more")
print(("ok " if len(p2["data"]) == 51 and p2["has_more"] is False and p2["data"][-1]["id"] == fid
       else "not ok ") + "its second page (after=): the other 51, the run's last, no more")
print(("ok " if len(get("purpose=batch")["data"]) == 151 else "not ok ") +
      "without limit: all 151 (the default page is 10,000)")
PY
check_exit "the same command again: the batch is still pending (exit 6)" 6 \
	"$X" run "${bopts[@]}" --base-url "$SIM_URL"
check_eq "... the file was not uploaded again: found on the second page" 151 "$(bstat files_uploaded)"
check_eq "... nor its batch created again" 1 "$(bstat batches_created)"
check_eq "... batches.json names the run's file again" "$fid" "$(field file_id)"
check_eq "... and its batch" "$bid" "$(field batch_id)"

# a server whose list never ends: the run stops before it sends anything
cp "$T/batches.forgotten" "$T/run/batches.json"
start_pyserver stuck_list
check_exit "a file list that never ends: exit 1" 1 "$X" run "${bopts[@]}" --base-url "$PYSERVER_URL"
check "... the error names the list and why it stopped" \
	grep -q "listing the uploaded files: .* the list goes on: its next page cannot be asked for" "$T/last.err"
check "... and says nothing was sent again" grep -q "not sending it again" "$T/last.err"
check "... the list was asked for with the cursor once" \
	test "$(grep -c '^GET /v1/files?purpose=batch&limit=100&after=file-old$' "$T/stuck_list.log")" = 1
check "... and nothing was uploaded or created" \
	test "$(grep -c '^POST' "$T/stuck_list.log")" = 0
check_eq "... batches.json still holds the entry, without ids" None "$(field file_id)"
done_testing
