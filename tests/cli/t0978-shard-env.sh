#!/usr/bin/env bash
# --shard auto from a Slurm job array with a step (--array=0-6:2: task ids
# 0, 2, 4, 6, SLURM_ARRAY_TASK_STEP=2, _COUNT=4) runs shards 0..3 of 4, which
# merge into the whole run; it used to take the task id itself as the index,
# so tasks 0 and 2 ran shards 0 and 2 and tasks 4 and 6 failed with "invalid
# value 'auto'" (shards 1 and 3 never ran). A variable that is set but wrong
# is a usage error naming it and its value, never taken as absent ("no shard
# in the environment"), and a task outside the array says so.
. "$(dirname "$0")/lib.sh"

start_sim
common=(--data "$SELFEXP_HOME/data/demo.tsv" --limit 12 --conditions pe --explainers self --no-metrics
	--model sim --no-progress --base-url "$SIM_URL" --cache "$T/c.sqlite")
slurm() { env SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_MAX=6 SLURM_ARRAY_TASK_STEP=2 SLURM_ARRAY_TASK_COUNT=4 "$@"; }

check_exit "the whole run exits 0" 0 "$X" run "${common[@]}" --out "$T/whole"
for id in 0 2 4 6; do
	check_exit "array task $id of --array=0-6:2: exit 0" 0 slurm SLURM_ARRAY_TASK_ID=$id \
		"$X" run "${common[@]}" --shard auto --out "$T/task$id"
	check_eq "... runs shard $((id / 2)) of 4" "$((id / 2)) 4" "$(python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))["config"]
print(c["shard"]["index"], c["shard"]["count"])' "$T/task$id/run.json" 2> /dev/null)"
done
check_exit "the four tasks merge" 0 "$X" merge "$T/m" "$T/task0" "$T/task2" "$T/task4" "$T/task6"
check "... into the whole run's records" cmp -s "$T/whole/records.jsonl" "$T/m/records.jsonl"

# set but wrong: exit 2, naming the variable and its value (nothing sent)
before=$(sim_asked)
while IFS='|' read -r vars shard want; do
	check_exit "--shard $shard with $vars: exit 2" 2 env $vars "$X" run "${common[@]}" --shard "$shard" --out "$T/bad"
	check_eq "... the message" "selfexp: --shard $shard: $want" "$(head -n 1 "$T/last.err")"
done <<'EOF_CASES'
SLURM_ARRAY_TASK_ID=abc SLURM_ARRAY_TASK_COUNT=4|auto|SLURM_ARRAY_TASK_ID='abc' is not an integer >= 0
SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_COUNT=4x|auto|SLURM_ARRAY_TASK_COUNT='4x' is not an integer in 1..1000000
SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_MIN=one SLURM_ARRAY_TASK_COUNT=4|auto|SLURM_ARRAY_TASK_MIN='one' is not an integer >= 0
SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_STEP=0 SLURM_ARRAY_TASK_COUNT=4|auto|SLURM_ARRAY_TASK_STEP='0' is not an integer in 1..1000000
SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_MIN=2 SLURM_ARRAY_TASK_COUNT=4|auto|the array task (SLURM_ARRAY_TASK_ID=1, _MIN=2, _STEP=1) is not one of the array's tasks
SLURM_ARRAY_TASK_ID=3 SLURM_ARRAY_TASK_STEP=2 SLURM_ARRAY_TASK_COUNT=4|auto|the array task (SLURM_ARRAY_TASK_ID=3, _MIN=0, _STEP=2) is not one of the array's tasks
SLURM_ARRAY_TASK_ID=5 SLURM_ARRAY_TASK_COUNT=4|auto|shard 5 (from SLURM_ARRAY_TASK_ID=5, _MIN=0, _STEP=1) is not below the shard count 4
JOB_COMPLETION_INDEX=x|auto/4|JOB_COMPLETION_INDEX='x' is not an integer in 0..999999
JOB_COMPLETION_INDEX=7|auto/4|shard 7 (from JOB_COMPLETION_INDEX=7) is not below the shard count 4
EOF_CASES
check "nothing written" test ! -e "$T/bad"
check_eq "nothing sent" "$before" "$(sim_asked)"
done_testing
