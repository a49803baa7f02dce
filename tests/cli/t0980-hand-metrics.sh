#!/usr/bin/env bash
# A hand-computed run directory: six short reviews against the sim (exact
# confidences; faithful, inverted and coarse explanations; two labels flip); comprehensiveness, sufficiency,
# DF_MIT, DF_Frac and RankDel in records.jsonl must equal, to 1e-9, the values
# tests/cli/hand_metrics.py works out from the sim's weights and DESIGN.md's
# definitions, apart from selfexp (the goldens of t0800 are made by the binary
# they check; these are not).
. "$(dirname "$0")/lib.sh"

printf 'sentence\tlabel\none long string of cliches .\t0\npeople cinema at its finest .\t1\nlovely and poignant .\t1\nthat '"'"'s a cheat .\t0\nthis movie is maddening .\t0\ncool ?\t1\n' > "$T/hand.tsv"
for mode in faithful inverted coarse; do
	start_sim --confidence-decimals 6 --explain $mode
	check_exit "sim --explain $mode: a run over 6 reviews exits 0" 0 "$X" run --data "$T/hand.tsv" \
		--out "$T/$mode" --cache "$T/$mode.sqlite" --base-url "$SIM_URL" --model sim --conditions pe \
		--explainers self --no-progress
	stop_sim
	pyt "$TESTS_DIR/cli/hand_metrics.py" "$T/$mode/records.jsonl" "$T/hand.tsv" $mode
done
done_testing
