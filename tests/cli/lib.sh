# Sourced by every tests/cli/t*.sh. Emits TAP: "ok N - what" / "not ok N - what".
# Provides: ok, fail, check (run a command, pass when it succeeds), check_eq,
# skip_all, need_shared, a per-test scratch directory $T, and the sim helpers
# start_sim / stop_sim / sim_stats and pyt (python3 checks as TAP), see below.
set -u
SELFEXP_BIN=${SELFEXP_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/selfexp}
SELFEXP_SHARED=${SELFEXP_SHARED:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/shared}
SELFEXP_HOME=${SELFEXP_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
export SELFEXP_HOME
X=$SELFEXP_BIN
# Debian's python3 directly: a version manager's shim on PATH (pyenv) costs
# a second per start, and the tests start python often.
# PY3: the interpreter itself, for servers a test starts in the background, so
# that $! is the server's PID and the cleanup stops it.
PY3=$(command -v /usr/bin/python3 || command -v python3)
if [ -x /usr/bin/python3 ]; then
	python3() { /usr/bin/python3 "$@"; }
	export -f python3
fi
TESTS_DIR=$SELFEXP_HOME/tests
T=$(mktemp -d "${TEST_TMP_ROOT:-/tmp}/selfexp-cli.XXXXXX")
_tap_n=0
_tap_failed=0
_cleanup_fns=()
_cleanup() {
	local f
	for f in "${_cleanup_fns[@]}"; do $f; done
	rm -rf "$T"
}
trap _cleanup EXIT

ok() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $*"; }
fail() { _tap_n=$((_tap_n + 1)); _tap_failed=$((_tap_failed + 1)); echo "not ok $_tap_n - $*"; }
# check "description" command args...: passes when the command exits 0.
check() {
	local what=$1; shift
	if "$@"; then ok "$what"; else fail "$what"; echo "#   command: $*"; return 1; fi
}
# check_eq "description" expected actual
check_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else
		fail "$1"; echo "#   expected: $2"; echo "#   actual:   $3"; return 1; fi
}
# check_exit "description" expected_status command args...
check_exit() {
	local what=$1 want=$2 got; shift 2
	"$@" > "$T/last.out" 2> "$T/last.err"; got=$?
	if [ "$got" = "$want" ]; then ok "$what"; else
		fail "$what (exit $got, expected $want)"; sed 's/^/#   /' "$T/last.err" | head -n 5; fi
}
# under_valgrind: true in `make check-valgrind`, where every selfexp process
# (the sim too) runs tens of times slower; checks of wall-clock timing skip
# themselves there: ok "# SKIP timing under valgrind".
under_valgrind() { [ -n "${SELFEXP_VALGRIND:-}" ]; }
# kill9 PID: SIGKILL a selfexp process on purpose. Under `make check-valgrind`
# it leaves vg.PID.killed beside the process's log, so that
# tests/valgrind/summary.sh takes the missing ERROR SUMMARY as expected
# (any other log without one fails).
kill9() {
	[ -n "${SELFEXP_VALGRIND_LOGS:-}" ] && : > "$SELFEXP_VALGRIND_LOGS/vg.$1.killed"
	kill -9 "$1"
}
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
need_shared() {
	[ -d "$SELFEXP_SHARED/data" ] || skip_all "shared data not found at '$SELFEXP_SHARED' (set SELFEXP_SHARED)"
}
done_testing() { echo "1..$_tap_n"; [ "$_tap_failed" -eq 0 ]; }

# ---- the simulated model ------------------------------------------------------
# start_sim [args...]: start `selfexp sim --port 0 --quiet args...` in the background and
# wait until it prints its address. Sets SIM_URL (http://127.0.0.1:PORT/v1), SIM_BASE
# (without /v1) and SIM_PID; every sim started is stopped when the test exits.
# stop_sim [pid]: SIGTERM and wait; its exit status is the sim's.
# sim_stats: print the /stats JSON of the last sim started.
_sim_pids=()
start_sim() {
	local out i
	out=$(mktemp "$T/sim.XXXXXX")
	"$X" sim --port 0 --quiet "$@" > "$out" 2> "$out.err" &
	SIM_PID=$!
	_sim_pids+=("$SIM_PID")
	SIM_URL=
	for i in $(seq 1 200); do
		case "$(head -n 1 "$out")" in http://*/v1) SIM_URL=$(head -n 1 "$out"); break;; esac
		kill -0 "$SIM_PID" 2> /dev/null || break
		sleep 0.025
	done
	if [ -z "$SIM_URL" ]; then
		echo "# start_sim $*: no address; stderr:"; sed 's/^/#   /' "$out.err"
		return 1
	fi
	SIM_BASE=${SIM_URL%/v1}
	export SIM_URL SIM_BASE
}
stop_sim() {
	local pid=${1:-$SIM_PID}
	kill -TERM "$pid" 2> /dev/null
	wait "$pid"
}
sim_stats() { curl -sf "$SIM_BASE/stats"; }
# sim_asked: the chat requests the sim has seen so far
sim_asked() { sim_stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["chat_requests"])'; }
# wait_sending N: until the sim has seen more than N chat requests (at most 30 s),
# i.e. a run started in the background is past its start-up (seconds under valgrind)
wait_sending() {
	local i
	for i in $(seq 1 600); do [ "$(sim_asked)" -gt "$1" ] && return 0; sleep 0.05; done
	return 1
}
_stop_sims() {
	local p
	for p in "${_sim_pids[@]}"; do kill -TERM "$p" 2> /dev/null; done
	for p in "${_sim_pids[@]}"; do wait "$p" 2> /dev/null; done
}
_cleanup_fns+=(_stop_sims)
# start_pyserver NAME [ARGS...]: one of the test servers, python3 tests/cli/NAME.py $T/NAME.log
# ARGS..., in the background and stopped at exit; it prints its root URL, which goes to
# PYSERVER_URL. On failure (no URL within 10 s) its stderr is shown and it returns 1.
_py_pids=()
start_pyserver() {
	local name=$1 i
	shift
	"$PY3" "$TESTS_DIR/cli/$name.py" "$T/$name.log" "$@" > "$T/$name.url" 2> "$T/$name.err" &
	_py_pids+=("$!")
	for i in $(seq 1 200); do [ -s "$T/$name.url" ] && break; sleep 0.05; done
	PYSERVER_URL=$(cat "$T/$name.url")
	[ -n "$PYSERVER_URL" ] && return 0
	echo "# tests/cli/$name.py did not start:"; sed 's/^/#   /' "$T/$name.err"
	return 1
}
_stop_pyservers() {
	local p
	for p in "${_py_pids[@]}"; do kill -TERM "$p" 2> /dev/null; done
	for p in "${_py_pids[@]}"; do wait "$p" 2> /dev/null; done
}
_cleanup_fns+=(_stop_pyservers)
# small_run [ARGS...]: the small run the output tests start from: the first 3 demo reviews
# against a sim started and stopped here, into $T/run with the cache $T/cache.sqlite; ARGS are
# added to the run's options. Its exit status is a check of its own.
small_run() {
	start_sim
	"$X" run --data "$SELFEXP_HOME/data/demo.tsv" --limit 3 --out "$T/run" --base-url "$SIM_URL" \
		--model sim --lime-samples 10 --bootstrap 20 --cache "$T/cache.sqlite" --no-progress \
		"$@" 2> "$T/run.err"
	check_eq "a small run exits 0" 0 $? || sed 's/^/#   /' "$T/run.err"
	stop_sim
}
# pyt SCRIPT [args...]: run python3 SCRIPT (from stdin when SCRIPT is -), turning its output
# lines "ok DESC" and "not ok DESC" into numbered TAP results; "#" lines pass through.
pyt() {
	local line
	while IFS= read -r line; do
		case "$line" in
		"ok "*) ok "${line#ok }";;
		"not ok "*) fail "${line#not ok }";;
		*) echo "# $line";;
		esac
	done < <(PYTHONPATH="$TESTS_DIR/cli${PYTHONPATH:+:$PYTHONPATH}" python3 "$@" 2>&1 || echo "not ok python3 $1 exited with status $?")
}
