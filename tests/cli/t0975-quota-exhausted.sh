#!/usr/bin/env bash
# OpenAI's 429 insufficient_quota (the account's quota used up) is not a rate
# limit: no retry gets through until someone pays. The run stops at once as
# for a refused key (exit 3, the message says so and what to do), instead of
# retrying every request --retries times with backoff (7 attempts each, then
# exit 5); the answers it had are cached, and the same command after the
# account is paid sends only the rest and ends complete (tests/cli/cutoff.py).
. "$(dirname "$0")/lib.sh"

start_sim
if ! start_pyserver cutoff "$SIM_URL" "$T/switch" 3; then
	fail "tests/cli/cutoff.py started and printed its URL"
	done_testing; exit 1
fi
C=$PYSERVER_URL
opts=(--data "$SELFEXP_HOME/data/demo.tsv" --limit 8 --conditions pe --explainers self --no-metrics
	--model sim --no-progress --concurrency 1 --out "$T/run" --cache "$T/c.sqlite"
	--base-url "$C/quota/v1")
refused() { grep -c '"refused": true' "$T/cutoff.log"; }
passed() { grep -c '"refused": false' "$T/cutoff.log"; }
touch "$T/switch"
start=$(date +%s)
check_exit "429 insufficient_quota after 3 answers: exit 3" 3 "$X" run "${opts[@]}"
grep -q "the quota of the key's account is used up (http 429 insufficient_quota: You exceeded your current quota.*check the plan and billing of the account, then run the same command again" "$T/last.err" &&
	ok "... the message says so and what to do" || { fail "... the message"; sed 's/^/#   /' "$T/last.err"; }
check_eq "... no request retried: the one refused was the last sent" 1 "$(refused)"
check "... at once (under 5 s; retries with backoff took longer)" test $(($(date +%s) - start)) -lt 5
check_eq "... the 3 answers had are cached" 3 "$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from answers").fetchone()[0])' "$T/c.sqlite")"

rm -f "$T/switch"
check_exit "the account is paid: the same command exits 0" 0 "$X" run "${opts[@]}"
check_eq "... it sent only the 5 missing requests" 8 "$(passed)"
check "... and is complete" grep -q '"complete":	true' "$T/run/run.json"
done_testing
