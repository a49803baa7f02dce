#!/usr/bin/env bash
# merge joins shards that asked one endpoint: OUT is computed from the joined
# cache under the first shard's endpoint, so the answers of a shard that
# asked another are keyed where OUT never looks. Such shards are refused
# (exit 1, naming both endpoints, nothing written); before, merge wrote a
# partial OUT saying every answer of that shard was "missing from the cache"
# (exit 5). Two spellings of one endpoint (a trailing slash) still merge.
. "$(dirname "$0")/lib.sh"

start_sim
A=$SIM_URL
start_sim
B=$SIM_URL
common=(--data "$SELFEXP_HOME/data/demo.tsv" --limit 4 --model sim --lime-samples 10
	--bootstrap 20 --no-progress)
shard() { # name i url
	"$X" run "${common[@]}" --shard "$2/2" --base-url "$3" --out "$T/$1" \
		--cache "$T/$1.sqlite" 2> "$T/err" || { fail "shard $1 exits $?"; sed 's/^/#   /' "$T/err"; }
}
shard a0 0 "$A"
shard a1 1 "$A/"
shard b1 1 "$B"

check_exit "merge of shards that asked different endpoints exits 1" 1 "$X" merge "$T/m" "$T/a0" "$T/b1"
check "... naming both" grep -q "asked different endpoints ('$A' and '$B')" "$T/last.err"
check "... writing nothing" test ! -e "$T/m"
check_exit "merge of shards that asked one endpoint, spelled two ways, exits 0" 0 \
	"$X" merge "$T/m" "$T/a0" "$T/a1"
done_testing
