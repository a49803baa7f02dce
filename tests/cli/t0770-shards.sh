#!/usr/bin/env bash
# Shards and merge: --shard i/N runs the reviews whose id hashes to i of N;
# `selfexp merge` joins the shards' run directories and caches into one run
# byte for byte equal to the unsharded run (N = 1, 3, 7); shards that do not
# belong together and caches that answer one key differently are refused.
. "$(dirname "$0")/lib.sh"

data=$SELFEXP_HOME/data/demo.tsv
start_sim --confidence-decimals 3 --explain noisy:0.2
common=(--data "$data" --limit 18 --model sim --conditions ep,pe-topk --lime-samples 12
	--bootstrap 50 --seed 5 --no-progress --base-url "$SIM_URL")
check_exit "the unsharded run exits 0" 0 "$X" run "${common[@]}" --out "$T/whole" --cache "$T/whole.sqlite"
for n in 1 3 7; do
	dirs=() total=0
	for ((i = 0; i < n; i++)); do
		"$X" run "${common[@]}" --shard "$i/$n" --out "$T/s$n/$i" --cache "$T/s$n/c$i.sqlite" 2> "$T/err" ||
			{ fail "shard $i/$n exits $?"; sed 's/^/#   /' "$T/err"; }
		dirs+=("$T/s$n/$i")
		total=$((total + $(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['reviews'])" "$T/s$n/$i/summary.json")))
	done
	check_eq "the $n shards hold every review once" 18 "$total"
	check_exit "merge of $n shards exits 0" 0 "$X" merge "$T/m$n" "${dirs[@]}"
	check "... records.jsonl byte for byte the unsharded run's" cmp -s "$T/whole/records.jsonl" "$T/m$n/records.jsonl"
	check "... summary.json byte for byte too" cmp -s "$T/whole/summary.json" "$T/m$n/summary.json"
done
check "a shard's run.json records its shard" python3 -c "
import json, sys
c = json.load(open('$T/s3/1/run.json'))['config']['shard']
sys.exit(not (c == {'index': 1, 'count': 3}))"
check "the assignment depends on the id only (a second run of shard 1/3 has the same reviews)" bash -c "
'$X' run ${common[*]} --shard 1/3 --out '$T/again' --cache '$T/again.sqlite' 2> /dev/null &&
cmp -s '$T/s3/1/records.jsonl' '$T/again/records.jsonl'"

check_exit "a missing shard is refused" 1 "$X" merge "$T/x" "$T/s3/0" "$T/s3/1"
check "... naming it" grep -q "shard 2 of 3 is missing" "$T/last.err"
check_exit "a shard given twice is refused" 1 "$X" merge "$T/x" "$T/s3/0" "$T/s3/1" "$T/s3/1"
check_exit "shards of another N are refused" 1 "$X" merge "$T/x" "$T/s3/0" "$T/s7/1" "$T/s3/2"
"$X" run "${common[@]/--seed/--seed}" --seed 6 --shard 2/3 --out "$T/other" --cache "$T/other.sqlite" 2> /dev/null
check_exit "a shard of another configuration is refused" 1 "$X" merge "$T/x" "$T/s3/0" "$T/s3/1" "$T/other"
check "... naming the difference" grep -q 'seed: "5" there, "6" here' "$T/last.err"
check_exit "a run without --shard is refused" 1 "$X" merge "$T/x" "$T/whole"

check_exit "--shard auto without a Slurm array is a usage error" 2 "$X" run "${common[@]}" --shard auto --out "$T/y"
check "... saying what to set" grep -q "SLURM_ARRAY_TASK_ID" "$T/last.err"
check_exit "--shard auto in a Slurm array task (ids 1..3) runs shard 1 of 3" 0 env SLURM_ARRAY_TASK_ID=2 \
	SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_COUNT=3 "$X" run "${common[@]}" --shard auto --out "$T/auto" \
	--cache "$T/auto.sqlite"
check "... the same reviews as --shard 1/3" cmp -s "$T/s3/1/records.jsonl" "$T/auto/records.jsonl"
check_exit "--shard auto/3 with JOB_COMPLETION_INDEX=1 too" 0 env JOB_COMPLETION_INDEX=1 "$X" run "${common[@]}" \
	--shard auto/3 --out "$T/k8s" --cache "$T/auto.sqlite"
check "... the same reviews" cmp -s "$T/s3/1/records.jsonl" "$T/k8s/records.jsonl"
port=${SIM_URL#http://127.0.0.1:}; port=${port%%/v1}
stop_sim

# a cache conflict: the same requests answered differently by two servers on one endpoint
start_sim --port "$port" --explain random --seed 9
check_exit "the same shard against another model on the same endpoint exits 0" 0 "$X" run "${common[@]}" \
	--shard 1/3 --out "$T/conf" --cache "$T/conf.sqlite"
stop_sim
check_exit "cache merge of caches that disagree exits 1" 1 "$X" cache merge "$T/joined.sqlite" \
	"$T/s3/c1.sqlite" "$T/conf.sqlite"
check "... naming the conflict" grep -q "answers [0-9]* keys differently" "$T/last.err"
check_exit "merge with that shard is refused" 1 "$X" merge "$T/z" "$T/s3/0" "$T/conf" "$T/s3/2" \
	--cache "$T/joined.sqlite"
check_exit "cache merge of caches that agree exits 0" 0 "$X" cache merge "$T/ok.sqlite" "$T/s3/c0.sqlite" \
	"$T/s3/c1.sqlite" "$T/s3/c0.sqlite"
check "... counting the rows already there" grep -q "rows added, [1-9][0-9]* already there, 0 conflicts" "$T/last.err"
done_testing
