#!/usr/bin/env bash
# cache import and cache merge into a cache that does not exist yet: when they
# fail without putting a row in, they leave no file behind (nor its -wal and
# -shm); a cache that existed is kept, empty or not, and so is a new one that
# got rows before a bad line.
. "$(dirname "$0")/lib.sh"

printf 'not json\n' > "$T/bad.jsonl"
check_exit "import of a bad first line into a new cache" 1 "$X" cache import --cache "$T/new.sqlite" "$T/bad.jsonl"
check "... leaves no file" test -z "$(ls "$T" | grep '^new\.sqlite')"
check_exit "merge of a missing input into a new cache" 1 "$X" cache merge "$T/m.sqlite" "$T/none.sqlite"
check "... leaves no file" test -z "$(ls "$T" | grep '^m\.sqlite')"

check_exit "an empty cache, made on purpose" 0 "$X" cache import --cache "$T/empty.sqlite" /dev/null
check_exit "a failed import into it" 1 "$X" cache import --cache "$T/empty.sqlite" "$T/bad.jsonl"
check "... keeps it" test -e "$T/empty.sqlite"

small_run
check_exit "its cache exported" 0 "$X" cache export --cache "$T/cache.sqlite" -o "$T/rows.jsonl"
{ head -n 2 "$T/rows.jsonl"; echo "not json"; } > "$T/half.jsonl"
check_exit "an import into a new cache that fails after two rows" 1 "$X" cache import \
	--cache "$T/half.sqlite" "$T/half.jsonl"
check_eq "... keeps the new cache with its two rows" 2 "$("$X" cache stats --cache "$T/half.sqlite" --json |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["rows"])')"
done_testing
