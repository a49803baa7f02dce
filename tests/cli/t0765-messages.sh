#!/usr/bin/env bash
# Messages that name the input and the way out (issue 15, "Messages"): getopt's
# own errors, data files with no reviews for different reasons, the format
# flag, a sim on a port in use, a run directory from a newer selfexp or with
# no records, and compare on absurd values.
. "$(dirname "$0")/lib.sh"

# getopt's messages carry the prefix of every other selfexp message
check_exit "an unknown option: exit 2" 2 "$X" run --bogus
check "... said as 'selfexp: run: unrecognized option'" grep -q "^selfexp: run: unrecognized option '--bogus'" "$T/last.err"
check_exit "a missing value: exit 2" 2 "$X" data stats --format
check "... said with the prefix" grep -q "^selfexp: data stats: option '--format' needs a value" "$T/last.err"
check_exit "demo's missing value: exit 2" 2 "$X" demo --out
check "... said as 'selfexp: demo: ...requires an argument'" grep -q "^selfexp: demo: option '--out' requires an argument" "$T/last.err"

# no reviews, each for its own reason
: > "$T/empty.tsv"
printf '\r\r\r' > "$T/cr.tsv"
printf 'sentence\tlabel\rgreat\t1\rawful\t0\r' > "$T/mac.tsv"
printf '  \n\t\n\n' > "$T/blank.tsv"
printf 'sentence\tlabel\n' > "$T/header.tsv"
for f in empty cr mac blank header; do
	check_exit "$f.tsv: exit 1" 1 "$X" data stats "$T/$f.tsv"
	cp "$T/last.err" "$T/$f.err"
done
check "an empty file is called empty" grep -q "no reviews (the file is empty)$" "$T/empty.err"
check "CR-only bytes are named as lone CRs, with the conversion" grep -q "lines end in a lone CR .*tr '\\\\r' '\\\\n' < .*cr.tsv > NEW" "$T/cr.err"
check "... and so are old Mac line ends with text" grep -q "lines end in a lone CR" "$T/mac.err"
check "white space only is called so" grep -q "no reviews (the file holds only white space)$" "$T/blank.err"
check "a header alone is called so" grep -q "no reviews (the file has only a header)$" "$T/header.err"
check "... none of them is called 'empty or has only a header'" \
	test -z "$(grep -l 'empty or has only' "$T"/*.err)"
printf 'x\n' > "$T/reviews.txt"
check_exit "an unknown extension: exit 1" 1 "$X" data stats "$T/reviews.txt"
check "... names --format" grep -q "name the format with --format tsv, jsonl or csv" "$T/last.err"

# a sim on a port in use says so once, in selfexp's words
$PY3 -c 'import socket,sys,time
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(1); print(s.getsockname()[1], flush=True); time.sleep(60)' > "$T/port" &
holder=$!
for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
port=$(cat "$T/port")
check_exit "sim on a port in use: exit 1" 1 "$X" sim --port "$port"
kill "$holder"; wait "$holder" 2>/dev/null
check "... says it cannot listen, with --port 0" grep -q "^selfexp: sim: cannot listen on 127.0.0.1 port $port (in use? try --port 0)" "$T/last.err"
check_eq "... in one line (no libmicrohttpd 'Failed to bind')" 1 "$(wc -l < "$T/last.err")"

# run directories: a newer selfexp's, an empty records.jsonl, absurd values
check_exit "a demo run" 0 "$X" demo --out "$T/d"
cp -r "$T/d" "$T/newer"
sed -i 's/"selfexp_version":\t"[0-9.]*"/"selfexp_version":\t"0.99.0"/' "$T/newer/run.json"
check_exit "table of a run written by selfexp 0.99.0: exit 1" 1 "$X" table "$T/newer"
check "... names both versions" grep -q "written by selfexp 0.99.0, newer than this selfexp [0-9.]*; read it with selfexp 0.99.0 or later" "$T/last.err"
cp -r "$T/d" "$T/patch"
sed -i 's/"selfexp_version":\t"\([0-9]*\.[0-9]*\)\.[0-9]*"/"selfexp_version":\t"\1.99"/' "$T/patch/run.json"
check_exit "a newer patch release is read" 0 "$X" table "$T/patch"
cp -r "$T/d" "$T/norec"
: > "$T/norec/records.jsonl"
check_exit "report on an empty records.jsonl: exit 1" 1 "$X" report "$T/norec" -o "$T/r.html"
check "... says it holds no records and how to rebuild it" grep -q "records.jsonl' holds no records; rebuild it with 'selfexp score .*norec'" "$T/last.err"
check "... and writes no report" test ! -e "$T/r.html"
cp -r "$T/d" "$T/huge"
sed -i 's/"comprehensiveness":[0-9.e-]*/"comprehensiveness":1e308/' "$T/huge/records.jsonl"
"$X" compare "$T/d" "$T/huge" > "$T/cmp.out" 2>&1
check "compare prints 1e308 as 1e+308, not 300 digits" grep -q " 1e+308 +1e+308 " "$T/cmp.out"
check "... no line over 200 characters" test "$(awk '{ if (length > m) m = length } END { print m }' "$T/cmp.out")" -lt 200
done_testing
