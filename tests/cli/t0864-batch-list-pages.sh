#!/usr/bin/env bash
# A restarted batch run finds the batch it made but did not record (killed
# while the creation's answer was on its way) also when more than a page of
# newer batches sits on the server: the list is read page after page
# (GET /v1/batches?limit=100&after=ID while has_more), as OpenAI's is, and
# no second batch is created. The sim pages its list the same way.
. "$(dirname "$0")/lib.sh"
data=$SELFEXP_HOME/data/demo.tsv
bstat() { sim_stats | python3 -c "import json,sys; print(json.load(sys.stdin)['batches']['$1'])"; }

start_sim --batch-delay 600000
bopts=(--data "$data" --limit 4 --conditions pe --model sim --no-progress --out "$T/run"
	--cache "$T/c.sqlite" --base-url "$SIM_URL" --batch --batch-poll 0.02 --no-wait)
check_exit "--no-wait submits the first stage's batch: exit 6" 6 "$X" run "${bopts[@]}"
first=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["batches"][0]["batch_id"])' "$T/run/batches.json")
check "... and records its id ($first)" test -n "$first"
# what a kill in the creation window leaves: the file id recorded, the batch id not
python3 - "$T/run/batches.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for b in d["batches"]:
    b["batch_id"] = None
json.dump(d, open(sys.argv[1], "w"), indent="\t")
PY
# 150 other batches, newer than the run's: its own is now on the list's second page
printf '%s\n' '{"custom_id":"f","method":"POST","url":"/v1/chat/completions","body":{"model":"sim","messages":[{"role":"user","content":"x"}]}}' > "$T/filler.jsonl"
ffid=$(curl -sf -F purpose=batch -F "file=@$T/filler.jsonl" "$SIM_URL/files" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
for i in $(seq 1 150); do
	curl -sf -o /dev/null -H 'Content-Type: application/json' \
		-d "{\"input_file_id\":\"$ffid\",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"24h\"}" \
		"$SIM_URL/batches" || break
done
check_eq "151 batches on the server" 151 "$(bstat batches_created)"
pyt - "$SIM_URL" "$first" <<'PY'
import json, sys, urllib.request
url, first = sys.argv[1], sys.argv[2]
get = lambda q: json.load(urllib.request.urlopen(url + "/batches?" + q))
p1 = get("limit=100")
p2 = get("limit=100&after=" + p1["data"][-1]["id"])
print(("ok " if len(p1["data"]) == 100 and p1["has_more"] is True else "not ok ") +
      "the sim's first page: 100 batches, has_more")
print(("ok " if len(p2["data"]) == 51 and p2["has_more"] is False and p2["data"][-1]["id"] == first
       else "not ok ") + "its second page (after=): the other 51, the run's last, no more")
ids = [b["id"] for b in p1["data"] + p2["data"]]
print(("ok " if len(set(ids)) == 151 else "not ok ") + "no batch on both pages")
PY
check_exit "the same command again: the batch is still pending (exit 6)" 6 "$X" run "${bopts[@]}"
check_eq "... no batch was created again: found on the second page" 151 "$(bstat batches_created)"
check_eq "... batches.json names the run's batch again" "$first" \
	"$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["batches"][0]["batch_id"])' "$T/run/batches.json")"
done_testing
