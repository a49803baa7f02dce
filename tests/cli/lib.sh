# Sourced by every tests/cli/t*.sh. Emits TAP: "ok N - what" / "not ok N - what".
# Provides: ok, fail, check (run a command, pass when it succeeds), check_eq,
# skip_all, need_shared, a per-test scratch directory $T, and the sim helpers
# start_sim / stop_sim (see below).
set -u
SELFEXP_BIN=${SELFEXP_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/selfexp}
SELFEXP_SHARED=${SELFEXP_SHARED:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/shared}
SELFEXP_HOME=${SELFEXP_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
export SELFEXP_HOME
X=$SELFEXP_BIN
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
	if "$@"; then ok "$what"; else fail "$what"; echo "#   command: $*"; fi
}
# check_eq "description" expected actual
check_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else
		fail "$1"; echo "#   expected: $2"; echo "#   actual:   $3"; fi
}
# check_exit "description" expected_status command args...
check_exit() {
	local what=$1 want=$2 got; shift 2
	"$@" > "$T/last.out" 2> "$T/last.err"; got=$?
	if [ "$got" = "$want" ]; then ok "$what"; else
		fail "$what (exit $got, expected $want)"; sed 's/^/#   /' "$T/last.err" | head -n 5; fi
}
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
need_shared() {
	[ -d "$SELFEXP_SHARED/data" ] || skip_all "shared data not found at '$SELFEXP_SHARED' (set SELFEXP_SHARED)"
}
done_testing() { echo "1..$_tap_n"; [ "$_tap_failed" -eq 0 ]; }
