#!/usr/bin/env bash
# Safe with the user's files and keys: a run of another configuration is not
# replaced without --force (the same configuration resumes); a cache inside a
# file the run writes is refused; no command writes over a run directory's
# data files; stale temporaries of killed runs are cleaned; a key with a
# control character, an empty key file or a directory is refused; SIGTERM
# (also twice at once, as `timeout` sends) ends the run as partial.
. "$(dirname "$0")/lib.sh"

data=$SELFEXP_HOME/data/demo.tsv
start_sim
common=(--data "$data" --model sim --conditions pe --explainers self,occlusion --bootstrap 10
	--no-progress --base-url "$SIM_URL" --cache "$T/c.sqlite")

check_exit "a first run exits 0" 0 "$X" run "${common[@]}" --limit 6 --out "$T/r"
cp -r "$T/r" "$T/r.orig"
check_exit "the same configuration again (resume) exits 0" 0 "$X" run "${common[@]}" --limit 6 \
	--out "$T/r" --concurrency 3 --retries 2
check_exit "another configuration over it is refused: exit 1" 1 "$X" run "${common[@]}" --limit 3 \
	--out "$T/r" --seed 4
check "... naming both values of each difference" \
	grep -q "holds a run of another configuration (data.limit: 6 there, 3 here; seed: \"0\" there, \"4\" here)" "$T/last.err"
check "... and --force" grep -q -- "--force" "$T/last.err"
check "... leaving the run as it was" cmp -s "$T/r.orig/summary.json" "$T/r/summary.json"
check_exit "with --force it is replaced" 0 "$X" run "${common[@]}" --limit 3 --out "$T/r" --force
check "... by the new run" grep -Eq '"reviews":[[:space:]]*3' "$T/r/summary.json"

check_exit "a cache that is the run's records.jsonl is refused" 1 "$X" run "${common[@]}" --limit 3 \
	--out "$T/s" --cache "$T/s/records.jsonl"
check "... saying which file" grep -q "is a file the run writes" "$T/last.err"
check "... before anything is written" test ! -e "$T/s/records.jsonl"
check_exit "a cache inside DIR under another name is fine" 0 "$X" run "${common[@]}" --limit 3 \
	--out "$T/s" --cache "$T/s/cache.sqlite"

cp "$T/r/records.jsonl" "$T/records.before"
check_exit "report -o DIR/records.jsonl is refused" 1 "$X" report "$T/r" -o "$T/r/records.jsonl"
check "... and the records are untouched" cmp -s "$T/records.before" "$T/r/records.jsonl"
check_exit "cache export -o DIR/summary.json is refused" 1 "$X" cache export --cache "$T/c.sqlite" \
	-o "$T/r/summary.json"

# stale temporaries of a killed process (a PID that is not running) are removed; a live one's kept
dead=999999
echo half > "$T/r/records.jsonl.tmp.$dead"
echo half > "$T/r/summary.json.tmp.$dead"
echo live > "$T/r/records.jsonl.tmp.$$"
check_exit "a resumed run over stale temporaries exits 0" 0 "$X" run "${common[@]}" --limit 3 --out "$T/r"
check "it removed the temporaries of the dead process" test ! -e "$T/r/records.jsonl.tmp.$dead" -a ! -e "$T/r/summary.json.tmp.$dead"
check "it kept the one of a live process" test -e "$T/r/records.jsonl.tmp.$$"
rm -f "$T/r/records.jsonl.tmp.$$"

# keys
printf 'sk-abc\r\nX-Injected: yes\n' > "$T/key"; chmod 600 "$T/key"
check_exit "a key file with CR/LF inside is refused" 1 "$X" run "${common[@]}" --limit 1 --out "$T/k" \
	--api-key-file "$T/key"
check "... saying control character, not printing the key" bash -c "grep -q 'control character' '$T/last.err' && ! grep -q 'sk-abc' '$T/last.err'"
check_exit "OPENAI_API_KEY with a newline is refused" 1 env "OPENAI_API_KEY=sk-abc
X-Injected2: yes" "$X" run "${common[@]}" --limit 1 --out "$T/k"
check "... and the server never saw the injected header" bash -c "! curl -sf '$SIM_BASE/stats' | grep -q Injected"
: > "$T/empty"; chmod 600 "$T/empty"
check_exit "an empty key file is refused" 1 "$X" run "${common[@]}" --limit 1 --out "$T/k" --api-key-file "$T/empty"
check "... saying it is empty" grep -q "is empty" "$T/last.err"
mkdir -p "$T/keydir"
check_exit "a directory as key file is refused" 1 "$X" run "${common[@]}" --limit 1 --out "$T/k" --api-key-file "$T/keydir"
check "... saying it is a directory" grep -q "is a directory" "$T/last.err"
stop_sim

# signals: SIGTERM twice at once (a process group kill, `timeout`) ends the run as partial
# answers 2 s away: the run is still waiting for those in flight when the second signal comes
start_sim --latency-ms 2000
common=(--data "$data" --model sim --conditions pe --explainers self,occlusion --bootstrap 10
	--no-progress --base-url "$SIM_URL")
before=$(sim_asked)
"$X" run "${common[@]}" --limit 20 --out "$T/t" --cache "$T/sig.sqlite" > /dev/null 2> "$T/t.err" &
pid=$!
wait_sending "$before"
# the second comes after the first was handled (signals sent together may merge into one)
kill -TERM $pid; sleep 0.3; kill -TERM $pid 2> /dev/null
wait $pid
check_eq "SIGTERM twice: exit 5 (partial), not 130" 5 $?
check "... the partial run is written" grep -Eq '"complete":[[:space:]]*false' "$T/t/run.json"
check "... and the first was acknowledged" grep -q "stopping: finishing the requests in flight" "$T/t.err"
before=$(sim_asked)
timeout --preserve-status -s TERM 3 "$X" run "${common[@]}" --limit 20 --out "$T/u" --cache "$T/sig2.sqlite" \
	> /dev/null 2>&1
check_eq "timeout 3 selfexp run: exit 5" 5 $?
check "... with its run directory" test -s "$T/u/run.json"
before=$(sim_asked)
"$X" run "${common[@]}" --limit 20 --out "$T/v" --cache "$T/sig3.sqlite" --concurrency 1 > /dev/null 2>&1 &
pid=$!
wait_sending "$before"
kill -INT $pid; sleep 1.5; kill -INT $pid 2> /dev/null
wait $pid
rc=$?
check_eq "a second Ctrl-C 1.5 s after the first aborts: exit 130" 130 "$rc"
check "... no temporary file left" test -z "$(find "$T/v" -name '*.tmp.*' 2>/dev/null)"
stop_sim
done_testing
