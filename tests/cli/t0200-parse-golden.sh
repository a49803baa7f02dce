#!/usr/bin/env bash
# selfexp parse: every fixture in tests/golden/parse (NAME.answer, NAME.args with one
# argument per line, NAME.expected.json) gives its expected JSON, compared semantically
# (floats within 1e-9); 1 MB answers, generated here, parse fast; exit statuses.
# Regenerate the expected files with scripts/update-golden and read the diff.
. "$(dirname "$0")/lib.sh"
G=$TESTS_DIR/golden/parse


n=0
for args in "$G"/*.args; do
	name=$(basename "$args" .args)
	mapfile -t a < "$args"
	if ! "$X" parse "${a[@]}" --input "$G/$name.answer" > "$T/got.json" 2> "$T/err"; then
		fail "$name: exit status $?"; sed 's/^/#   /' "$T/err"; continue
	fi
	if out=$(python3 "$TESTS_DIR/cli/same_json.py" "$T/got.json" "$G/$name.expected.json"); then
		ok "$name"
	else
		fail "$name"; echo "$out"
	fi
	n=$((n + 1))
done
[ "$n" -ge 40 ] && ok "at least 40 fixtures ($n)" || fail "only $n fixtures"

# The same fixture on stdin gives the same answer as --input.
"$X" parse --condition pe --tokens "$(sed -n 4p "$G/mission.args")" < "$G/mission.answer" > "$T/stdin.json"
check "stdin and --input agree" python3 "$TESTS_DIR/cli/same_json.py" "$T/stdin.json" "$G/mission.expected.json"

# 1 MB answers: a list followed by an endless (, 0.0) loop; prose around the answer;
# a pathological run of parentheses and quotes. Each must parse well within a second
# (the bound here is loose for sanitizer builds).
toks="a gorgeous , witty , seductive movie ."
python3 - "$T" <<'PY'
import sys
t = sys.argv[1]
lst = "[('a', 0.0), ('gorgeous', 0.9), (',', 0.0), ('witty', 0.8), (',', 0.0), ('seductive', 0.7), ('movie', 0.1), ('.', 0.0), "
open(f"{t}/loop.txt", "w").write("(1, 0.9)\n" + lst + "(, 0.0), " * ((1 << 20) // 9 + 1) + "(, 0.")
prose = "The film (as the review says) is [arguably] a triumph; scores range over (-1, 1). " * 6200
open(f"{t}/prose.txt", "w").write(prose + "\n(1, 0.9)\n" + lst[:-2] + "]\n" + prose)
open(f"{t}/parens.txt", "w").write("('(\"" * 131072 + "\n" + "(((((" * 100000 + "(1, 0.6)")
PY
for f in loop prose parens; do
	size=$(wc -c < "$T/$f.txt")
	start=$(date +%s%N)
	"$X" parse --compact --condition pe --tokens "$toks" --input "$T/$f.txt" > "$T/$f.json"
	rc=$?
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	check_eq "1 MB answer ($f, $size bytes) exits 0" 0 "$rc"
	check "1 MB answer ($f) parses in under 5 s (took $ms ms)" test "$ms" -lt 5000
	echo "# $f: $size bytes in $ms ms"
done
field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }
check_eq "loop: prediction" "{'label': 1, 'confidence': 0.9}" "$(field "$T/loop.json" 'd["prediction"]')"
check_eq "loop: the list kept, the loop collapsed" "9 1.0" "$(field "$T/loop.json" 'len(d["items"]), float(d["coverage"])' | tr -d '(),')"
check_eq "loop: repairs" "['truncated', 'repetition']" "$(field "$T/loop.json" '[r for r in d["repairs"] if r in ("truncated", "repetition")]')"
check_eq "prose: status and coverage" "ok_with_repairs 1.0" "$(field "$T/prose.json" 'd["status"], float(d["coverage"])' | tr -d "(),'")"
check_eq "parens: the pair at the end is found" "{'label': 1, 'confidence': 0.6}" "$(field "$T/parens.json" 'd["prediction"]')"

# Exit statuses.
check_exit "--help exits 0" 0 "$X" parse --help
grep -q '^status:' "$T/last.out" && grep -q '^repairs:' "$T/last.out" && grep -q '^exit status:' "$T/last.out" \
	&& ok "--help documents status, repairs and exit status" || fail "--help sections"
check_exit "missing --condition is a usage error" 2 "$X" parse --tokens a
check_exit "unknown condition is a usage error" 2 "$X" parse --condition nope
check_exit "stray argument is a usage error" 2 "$X" parse --condition pe extra
check_exit "unreadable input is exit 1" 1 "$X" parse --condition pe --input "$T/does-not-exist"
grep -q "does-not-exist" "$T/last.err" && ok "the message names the file" || fail "the message names the file"
check_exit "an unparseable answer still exits 0" 0 "$X" parse --condition ep --input /dev/null
check_exit "selfexp help parse works" 0 "$X" help parse
done_testing
