#!/usr/bin/env bash
# scripts/slurm/selfexp-array.sbatch on a real Slurm: a one-node cluster of
# Debian's slurm-wlm and munge made for this test (munged, slurmctld and
# slurmd as root, private sockets, ports and state under $T), an array of
# 3 shards against a sim on loopback, the dependent merge job; its merged
# run must equal an unsharded run byte for byte. Every daemon is stopped on
# exit. Skipped, with the reason, where Slurm cannot start here.
. "$(dirname "$0")/lib.sh"

for c in munged slurmctld slurmd sbatch squeue scontrol; do
	command -v "$c" > /dev/null || skip_all "'$c' not found (Debian packages slurm-wlm and munge)"
done
[ "$(id -u)" -eq 0 ] || skip_all "slurmd must run as root to start jobs"

S=$T/slurm
mkdir -p "$S/munge" "$S/state" "$S/spool" "$S/log"
chmod 755 "$S" "$S/munge"
head -c 1024 /dev/urandom > "$S/munge/munge.key"
chmod 400 "$S/munge/munge.key"
_daemons=()
_stop_daemons() {
	local p
	[ -n "${SLURM_CONF:-}" ] && scancel --quiet --user=root 2> /dev/null
	for p in "${_daemons[@]}"; do kill -TERM "$p" 2> /dev/null; done
	for p in "${_daemons[@]}"; do wait "$p" 2> /dev/null; done
}
_cleanup_fns+=(_stop_daemons)

read -r p1 p2 < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
host=$(hostname -s)
cat > "$S/slurm.conf" <<CONF
ClusterName=sxtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$p1
SlurmdPort=$p2
AuthType=auth/munge
AuthInfo=socket=$S/munge/sock
CredType=cred/munge
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/ctld.pid
SlurmdPidFile=$S/d.pid
SlurmctldLogFile=$S/log/ctld.log
SlurmdLogFile=$S/log/d.log
SlurmUser=root
SlurmdUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/builtin
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=sx Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$S/slurm.conf
munged -F -f --socket="$S/munge/sock" --key-file="$S/munge/munge.key" --log-file="$S/log/munged.log" \
	--pid-file="$S/munge/pid" --seed-file="$S/munge/seed" > "$S/log/munged.out" 2>&1 &
_daemons+=($!)
for i in $(seq 1 100); do [ -S "$S/munge/sock" ] && break; sleep 0.1; done
slurmctld -D -i > "$S/log/ctld.out" 2>&1 &
_daemons+=($!)
slurmd -D > "$S/log/d.out" 2>&1 &
_daemons+=($!)
up=
for i in $(seq 1 200); do
	sinfo -h -o %t 2> /dev/null | grep -q idle && { up=1; break; }
	sleep 0.1
done
if [ -z "$up" ]; then
	echo "# Slurm did not come up:"; tail -n 5 "$S"/log/* | sed 's/^/#   /'
	skip_all "a one-node Slurm cluster could not start on this machine"
fi
ok "a one-node Slurm cluster is up (slurmctld on port $p1)"

data=$SELFEXP_HOME/data/demo.tsv
start_sim --confidence-decimals 3 --explain noisy:0.2
common=(--data "$data" --limit 12 --model sim --conditions ep,pe-topk --lime-samples 12
	--bootstrap 50 --seed 5 --base-url "$SIM_URL")
check_exit "the unsharded run exits 0" 0 "$X" run "${common[@]}" --no-progress --out "$T/whole" \
	--cache "$T/whole.sqlite"

check_exit "submit prints the two job ids" 0 env SELFEXP="$X" \
	"$SELFEXP_HOME/scripts/slurm/selfexp-array.sbatch" submit "$T/out" 3 "${common[@]}"
merge_job=$(sed -n 's/.*merge job \([0-9]*\).*/\1/p' "$T/last.out")
array_job=$(sed -n 's/^array job \([0-9]*\).*/\1/p' "$T/last.out")
check "... both are numbers ('$array_job', '$merge_job')" test -n "$array_job" -a -n "$merge_job"
check "the merge job waits for the array (afterok)" bash -c \
	"scontrol show job '$merge_job' | grep -q 'Dependency=afterok:${array_job}'"
# a bound, not a timing: the jobs take seconds
for i in $(seq 1 1200); do
	[ -z "$(squeue -h -j "$array_job,$merge_job" 2> /dev/null)" ] && break
	sleep 0.25
done
check_eq "every job has left the queue" "" "$(squeue -h 2> /dev/null)"
for i in 0 1 2; do
	check "shard $i ran as array task $i (its run.json says shard $i of 3)" python3 -c "
import json, sys
c = json.load(open('$T/out/shard-$i/run.json'))['config']['shard']
sys.exit(not (c == {'index': $i, 'count': 3}))"
done
check "the merged records.jsonl is the unsharded run's byte for byte" \
	cmp -s "$T/whole/records.jsonl" "$T/out/merged/records.jsonl"
check "... and summary.json" cmp -s "$T/whole/summary.json" "$T/out/merged/summary.json"
check "the merge job wrote the table" grep -q "Accuracy\|accuracy" "$T/out/merged/table.md"
check "... and the report" grep -q "<svg" "$T/out/merged/report.html"
if [ -n "$(ls "$T/out/logs")" ] && ! cmp -s "$T/whole/records.jsonl" "$T/out/merged/records.jsonl"; then
	tail -n 5 "$T"/out/logs/* | sed 's/^/#   /'
fi

# a shard that cannot finish fails its task; the merge never runs over it
stop_sim
check_exit "submit against a stopped server" 0 env SELFEXP="$X" \
	"$SELFEXP_HOME/scripts/slurm/selfexp-array.sbatch" submit "$T/bad" 2 "${common[@]}" --retries 0
merge_job=$(sed -n 's/.*merge job \([0-9]*\).*/\1/p' "$T/last.out")
for i in $(seq 1 1200); do
	squeue -h -j "$merge_job" -o %r 2> /dev/null | grep -q DependencyNeverSatisfied && break
	[ -z "$(squeue -h -j "$merge_job" 2> /dev/null)" ] && break
	sleep 0.25
done
check "with failed shards the merge job never runs" test ! -e "$T/bad/merged"
check "... and the shard logs say why" grep -rqi "partial\|cannot\|refused\|unreachable" "$T/bad/logs"
check_exit "usage errors name the fix" 2 "$SELFEXP_HOME/scripts/slurm/selfexp-array.sbatch" submit "$T/x" zero
check "... naming N" grep -q "N must be a positive number" "$T/last.err"
done_testing
