#!/usr/bin/env bash
# selfexp prompt: templates match DESIGN.md section 9 byte for byte; show/list work.
. "$(dirname "$0")/lib.sh"

design=$SELFEXP_SHARED/docs/DESIGN.md
for cond in ep pe; do
	label=$([ $cond = ep ] && echo E-P || echo P-E)
	if [ -f "$design" ]; then
		python3 - "$design" "$label" > "$T/want.$cond" <<'PY'
import re, sys
d = open(sys.argv[1]).read()
m = re.search(r'^' + re.escape(sys.argv[2]) + r':\n`(.*?)`$', d, re.M | re.S)
sys.stdout.write(m.group(1).replace('\\n', '\n') + '\n')
PY
		"$X" prompt show $cond --review 'a b' --system-only > "$T/got.$cond"
		check "$cond system prompt is DESIGN.md section 9 byte for byte" cmp -s "$T/want.$cond" "$T/got.$cond"
	else
		ok "# SKIP DESIGN.md not found at $design"
	fi
	"$X" prompt show $cond --review 'a b' > "$T/show.$cond"
	user=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["messages"][1]["content"])' < "$T/show.$cond")
	check_eq "$cond user message wraps the review" "<review> a b <review>" "$user"
	hash=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["template_hash"])' < "$T/show.$cond")
	check_eq "$cond template hash is the sha256 of the file" "$(sha256sum < "$SELFEXP_HOME/prompts/$cond" | cut -d' ' -f1)" "$hash"
done

sys=$("$X" prompt show ep-topk --review 'one two three four five six seven eight nine ten' --system-only)
case "$sys" in *"list the 2 words"*) ok "ep-topk fills in k = floor(0.2 n)";; *) fail "ep-topk fills in k";; esac
sys=$("$X" prompt show pe-topk --review 'just two' --system-only)
case "$sys" in *"list the 1 words"*) ok "pe-topk k is at least 1";; *) fail "pe-topk k is at least 1";; esac
check_exit "unknown condition is a usage error" 2 "$X" prompt show nope --review x
check_exit "show without --review is a usage error" 2 "$X" prompt show ep
check "list prints the five conditions" test "$("$X" prompt list | wc -l)" -eq 5
mkdir -p "$T/p"; printf 'no markers here\n' > "$T/p/ep"
check_exit "malformed template fails with exit 1" 1 "$X" prompt show ep --review x --prompts "$T/p"
grep -q "no '=== system ===' line" "$T/last.err" && ok "malformed template message names the problem" || fail "malformed template message"
check_exit "prompt --help exits 0" 0 "$X" prompt --help
done_testing
