#!/usr/bin/env bash
# cache import says how many rows were new and how many replaced an existing
# answer; --keep-existing leaves the rows of keys the cache holds as they are.
. "$(dirname "$0")/lib.sh"

db=$T/c.sqlite
line() { # line CONTENT USER: one recorded answer
	printf '{"request":{"model":"m","messages":[{"role":"user","content":"%s"}]},"response":{"choices":[{"message":{"content":"%s"},"finish_reason":"stop"}]}}\n' "$2" "$1"
}
{ line "(1, 0.9)" a; line "(0, 0.8)" b; } > "$T/first.jsonl"
{ line "(0, 0.1)" a; line "(1, 0.7)" c; line "(1, 0.6)" d; } > "$T/second.jsonl"

check_exit "import into a new cache" 0 "$X" cache import --cache "$db" --host h "$T/first.jsonl"
check "says 2 new, 0 replaced" grep -q "imported 2 rows: 2 new, 0 replaced an existing answer, 0 kept" "$T/last.err"
cp "$db" "$T/keep.sqlite"

check_exit "import over it" 0 "$X" cache import --cache "$db" --host h "$T/second.jsonl"
check "says 2 new, 1 replaced, and names --keep-existing" \
	grep -q "imported 3 rows: 2 new, 1 replaced an existing answer, 0 kept the existing answer (--keep-existing keeps them)" "$T/last.err"
"$X" cache export --cache "$db" 2> /dev/null > "$T/e1"
check_eq "the row count is 4" 4 "$(wc -l < "$T/e1")"
grep -q '"content":"(0, 0.1)"' "$T/e1" && ok "the replaced row holds the imported answer" || fail "replaced answer"

check_exit "import --keep-existing" 0 "$X" cache import --cache "$T/keep.sqlite" --host h --keep-existing "$T/second.jsonl"
check "says 2 new, 0 replaced, 1 kept" grep -q "imported 3 rows: 2 new, 0 replaced an existing answer, 1 kept the existing answer$" "$T/last.err"
"$X" cache export --cache "$T/keep.sqlite" 2> /dev/null > "$T/e2"
check_eq "the row count is 4 here too" 4 "$(wc -l < "$T/e2")"
grep -q '"content":"(1, 0.9)"' "$T/e2" && ! grep -q '"content":"(0, 0.1)"' "$T/e2" &&
	ok "the existing answer was kept" || fail "kept answer"

# the same lines again: all replaced (or all kept)
check_exit "the same file again" 0 "$X" cache import --cache "$db" --host h "$T/second.jsonl"
check "says 0 new, 3 replaced" grep -q "imported 3 rows: 0 new, 3 replaced" "$T/last.err"

# a failing line: the counts of what came before
{ line "(1, 0.5)" e; echo 'not json'; } > "$T/bad.jsonl"
check_exit "an import that fails part way exits 1" 1 "$X" cache import --cache "$db" --host h "$T/bad.jsonl"
check "and counts what it did before the error" grep -q "imported 1 rows before the error: 1 new, 0 replaced" "$T/last.err"
check_exit "--keep-existing is refused outside import" 2 "$X" cache stats --cache "$db" --keep-existing
check "--help names --keep-existing" sh -c '"$0" cache --help | grep -q -- "--keep-existing"' "$X"
done_testing
