#!/usr/bin/env bash
# selfexp data stats: the SST-2 files, bad files, --skip-bad-rows, --json, usage.
. "$(dirname "$0")/lib.sh"
need_shared
D=$SELFEXP_SHARED/data/sst2

# field NAME: the value after NAME in the human output in $T/last.out
field() { awk -v k="$1" '$1 == k { print $2; exit }' "$T/last.out"; }

# file rows negatives positives, from data/sst2/README.md
while read -r f rows neg pos; do
	check_exit "stats $f exits 0" 0 "$X" data stats "$D/$f"
	check_eq "$f: reviews" "$rows" "$(field reviews)"
	check_eq "$f: label 0" "$neg" "$(field 0)"
	check_eq "$f: label 1" "$pos" "$(field 1)"
	check_eq "$f: skipped" "0" "$(awk '/^skipped rows/ { print $3 }' "$T/last.out")"
done <<'END'
train.tsv 6920 3310 3610
dev.tsv 872 428 444
test.tsv 1821 912 909
paper100.tsv 100 48 52
END
check_exit "paper100 stats" 0 "$X" data stats "$D/paper100.tsv"
check_eq "paper100: total tokens (README: 1,824)" "1824" "$(awk '/^total tokens/ { print $3 }' "$T/last.out")"

# --json parses and carries the same numbers
check_exit "dev --json exits 0" 0 "$X" data stats --json "$D/dev.tsv"
check "dev --json parses" python3 -c 'import json,sys; json.load(sys.stdin)' < "$T/last.out"
check_eq "dev --json numbers" "872 428 444 0 17046" "$(python3 -c '
import json,sys; j=json.load(sys.stdin); l=j["labels"]
print(j["reviews"], l["0"]["count"], l["1"]["count"], l["unlabelled"]["count"], j["total_tokens"])' < "$T/last.out")"
check_eq "dev --json percentiles" "True" "$(python3 -c '
import json,sys; t=json.load(sys.stdin)["tokens_per_review"]
ks=["min","p10","p25","p50","p75","p90","p99","max"]
print(all(t[a] <= t[b] for a, b in zip(ks, ks[1:])) and t["min"] <= t["mean"] <= t["max"])' < "$T/last.out")"

# bad files: exit 1, message names the file and the line
printf 'sentence\tlabel\ngood\t1\nbad\tpos\nfine\t0\n' > "$T/bad-label.tsv"
check_exit "bad label exits 1" 1 "$X" data stats "$T/bad-label.tsv"
check "bad label message" grep -q "^selfexp: '$T/bad-label.tsv' line 3: label 'pos' is not 0 or 1" "$T/last.err"
check_eq "nothing on stdout on failure" "" "$(cat "$T/last.out")"

printf 'sentence\tlabel\ngood\t1\nno label\n' > "$T/missing.tsv"
check_exit "missing column exits 1" 1 "$X" data stats "$T/missing.tsv"
check "missing column message" grep -q "'$T/missing.tsv' line 3: missing column 'label'" "$T/last.err"

printf 'sentence,label\n"a, b",1\n"unterminated,0\n' > "$T/q.csv"
check_exit "bad csv exits 1" 1 "$X" data stats "$T/q.csv"
check "bad csv message" grep -q "'$T/q.csv' line 3: unterminated quoted field" "$T/last.err"

printf '{"text":"a","label":1}\n{"text":"b","label":0\n' > "$T/bad.jsonl"
check_exit "bad json exits 1" 1 "$X" data stats "$T/bad.jsonl"
check "bad json message" grep -q "'$T/bad.jsonl' line 2: .*json" "$T/last.err"

printf 'sentence\tlabel\ngood\t1\nbad \xff\t0\n' > "$T/utf8.tsv"
check_exit "invalid UTF-8 exits 1" 1 "$X" data stats "$T/utf8.tsv"
check "invalid UTF-8 message" grep -q "'$T/utf8.tsv' line 3: invalid UTF-8" "$T/last.err"

printf 'sentence\tlabel\n' > "$T/header-only.tsv"
check_exit "header only exits 1" 1 "$X" data stats "$T/header-only.tsv"
check "header only message" grep -q "no reviews" "$T/last.err"

check_exit "missing file exits 1" 1 "$X" data stats "$T/nope.tsv"
check "missing file message" grep -q "cannot read '$T/nope.tsv'" "$T/last.err"

# --skip-bad-rows: exit 0, skipped rows counted and listed on stderr
printf 'sentence\tlabel\ngood\t1\nbad\tpos\n\t0\nfine\t0\n' > "$T/skip.tsv"
check_exit "--skip-bad-rows exits 0" 0 "$X" data stats --skip-bad-rows "$T/skip.tsv"
check_eq "--skip-bad-rows: reviews" "2" "$(field reviews)"
check_eq "--skip-bad-rows: skipped" "2" "$(awk '/^skipped rows/ { print $3 }' "$T/last.out")"
check "--skip-bad-rows lists line 3" grep -q "line 3: label 'pos'" "$T/last.err"
check "--skip-bad-rows lists line 4" grep -q "line 4: empty review" "$T/last.err"
check_exit "--skip-bad-rows after FILE, --json" 0 "$X" data stats "$T/skip.tsv" -s --json
check_eq "--json skipped" "2" "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["skipped"])' < "$T/last.out")"

# formats: CSV and JSONL, --format overrides the extension, unlabelled files
printf 'id,sentence,label\nx,"one, two",1\ny,"say ""hi""\nthere",0\n' > "$T/ok.csv"
check_exit "csv exits 0" 0 "$X" data stats "$T/ok.csv"
check_eq "csv reviews" "2" "$(field reviews)"
check_eq "csv total tokens" "5" "$(awk '/^total tokens/ { print $3 }' "$T/last.out")"
printf '{"id":1,"text":"a b"}\n{"id":"two","sentence":"c"}\n' > "$T/reviews.txt"
check_exit "unknown extension exits 1" 1 "$X" data stats "$T/reviews.txt"
check "unknown extension message" grep -q "cannot tell the data format" "$T/last.err"
check_exit "--format jsonl" 0 "$X" data stats --format jsonl "$T/reviews.txt"
check_eq "unlabelled count" "2" "$(field unlabelled)"
check_exit "stdin with --format" 0 "$X" data stats --format=tsv - < "$D/paper100.tsv"
check_eq "stdin reviews" "100" "$(field reviews)"

# usage errors exit 2; help exits 0 and reads like a man page
check_exit "no FILE" 2 "$X" data stats
check_exit "two FILEs" 2 "$X" data stats a.tsv b.tsv
check_exit "bad --format" 2 "$X" data stats --format xml "$D/dev.tsv"
check "bad --format message" grep -q "invalid value 'xml' for --format" "$T/last.err"
check_exit "unknown option" 2 "$X" data stats --frobnicate "$D/dev.tsv"
check_exit "no subcommand" 2 "$X" data
check_exit "unknown subcommand" 2 "$X" data frob
check_exit "data --help" 0 "$X" data --help
check "data --help names stats" grep -q "stats FILE" "$T/last.out"
check_exit "data stats --help" 0 "$X" data stats --help
for s in usage: options: "exit status:" example: --skip-bad-rows --json --format; do
	check "data stats --help has $s" grep -q -- "$s" "$T/last.out"
done
check_exit "help data" 0 "$X" help data
check_exit "data is listed in selfexp --help" 0 "$X" --help
check "selfexp --help lists data" grep -q "^  data " "$T/last.out"

done_testing
