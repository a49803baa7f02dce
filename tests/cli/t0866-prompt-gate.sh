#!/usr/bin/env bash
# scripts/prompt-gate.sh, the CI gate of a prompt change, as a user runs it in
# a git checkout: the baseline prompts from git, the working tree's
# prompts, one shared cache, `selfexp compare`. Unchanged prompts pass (exit
# 0); an edit that keeps the format passes, and so does the next edit over the
# first gate's directory (its runs were of other prompts: they are replaced,
# not refused); an edit that breaks the format fails (exit 4) with the metrics
# it lost named in compare.md; an endpoint that is gone is the run's exit 3,
# said by the script.
. "$(dirname "$0")/lib.sh"

command -v git > /dev/null || skip_all "git not found (the script reads the baseline prompts from git)"

# a repository of the script, the prompts and the demo data, as a user's checkout has them
repo=$T/repo
mkdir -p "$repo/scripts" "$repo/prompts" "$repo/data"
cp "$SELFEXP_HOME/scripts/prompt-gate.sh" "$repo/scripts/"
cp "$SELFEXP_HOME"/prompts/* "$repo/prompts/"
cp "$SELFEXP_HOME/data/demo.tsv" "$repo/data/"
git -C "$repo" init -q
git -C "$repo" add -A
git -C "$repo" -c user.name=test -c user.email=test@example.invalid commit -q -m baseline
gate() { # gate [options]: the script in that checkout, run from elsewhere
	(cd / && SELFEXP="$X" SELFEXP_MODEL=sim OPENAI_API_KEY=sk-test-0000 \
		bash "$repo/scripts/prompt-gate.sh" --base HEAD --data "$repo/data/demo.tsv" \
		--limit 8 --out "$T/gate" "$@")
}

start_sim --preset plain
export OPENAI_BASE_URL=$SIM_URL
check_exit "unchanged prompts: the gate passes" 0 gate
check "... it names the baseline" grep -q "^prompt-gate.sh: baseline prompts from HEAD" "$T/last.err"
check "... and writes compare.md and compare.xml" test -s "$T/gate/compare.md" -a -s "$T/gate/compare.xml"
check "... where nothing regressed" grep -q "^### selfexp compare: no regression" "$T/gate/compare.md"

printf '\nAnswer carefully.' >> "$repo/prompts/ep"
check_exit "an edit that keeps the format passes" 0 gate
printf ' Be brief.' >> "$repo/prompts/ep"
check_exit "the next edit, over the first gate's runs, passes too" 0 gate
check "... its new run is of the edited prompt" python3 -c "
import hashlib, json, sys
r = json.load(open(sys.argv[1]))
want = hashlib.sha256(open(sys.argv[2], 'rb').read()).hexdigest()
sys.exit(not any(want == v for v in json.dumps(r).split('\"')))" "$T/gate/new/run.json" "$repo/prompts/ep"

sed -i 's/(<int classification>, <float confidence>)/(label)/g' "$repo/prompts/ep"
check_exit "an edit that breaks the answer format fails the gate" 4 gate
check "... compare.md says what regressed" grep -q "^- comprehensiveness (ep/self): \*\*worse\*\*" \
	"$T/gate/compare.md"
check "... and the JUnit file has failures" grep -q '<failure' "$T/gate/compare.xml"

stop_sim
check_exit "the endpoint gone (a new --out, so nothing is cached): the run's exit 3" 3 gate \
	--out "$T/gone"
check "... the script says which run failed" grep -q "^prompt-gate.sh: the base run failed (exit 3)" \
	"$T/last.err"
done_testing
