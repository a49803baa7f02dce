#!/usr/bin/env bash
# scripts/fetch-sst2 against a local HTTP server serving a copy of the
# source files (made back from ../shared's TSV files): every split written
# byte for byte, a corrupted or missing file refused without writing it.
. "$(dirname "$0")/lib.sh"
need_shared
F=$SELFEXP_HOME/scripts/fetch-sst2
src=$SELFEXP_SHARED/data/sst2
mkdir -p "$T/www" "$T/bad"
for s in train dev test; do
	# selfexp's TSV back to the source's "LABEL sentence" lines
	awk -F'\t' 'NR > 1 { print $2 " " $1 }' "$src/$s.tsv" > "$T/www/stsa.binary.$s"
done
cp "$T/www/stsa.binary.train" "$T/www/stsa.binary.dev" "$T/bad/"
sed '5s/^\(.\) ./\1 X/' "$T/www/stsa.binary.test" > "$T/bad/stsa.binary.test"
$PY3 - "$T" > "$T/port" 2> "$T/server.err" <<'PY' &
import functools, http.server, sys
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), h)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
server=$!
trap 'kill $server 2> /dev/null' EXIT
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
url=http://127.0.0.1:$(cat "$T/port")

check_exit "fetch from the copy: exit 0" 0 "$F" --base-url "$url/www" --out "$T/sst2"
for s in train dev test; do
	check "$s.tsv equals the project's copy byte for byte" cmp "$T/sst2/$s.tsv" "$src/$s.tsv"
done
check "... and says each is checked" grep -c "SHA-256 ok" "$T/last.out"
check_eq "... nothing else in the directory" "dev.tsv test.tsv train.tsv" "$(ls -A "$T/sst2" | xargs)"

check_exit "a changed byte in test: exit 1" 1 "$F" --base-url "$url/bad" --out "$T/bad-out"
check "... names the file and both checksums" grep -q "stsa.binary.test converted has SHA-256 [0-9a-f]\{64\}, expected 1da6e04c.*not written" "$T/last.err"
check "... test.tsv not written, the good splits are" test ! -e "$T/bad-out/test.tsv" -a -s "$T/bad-out/dev.tsv"
check_eq "... and no temporary left" "dev.tsv train.tsv" "$(ls -A "$T/bad-out" | xargs)"

check_exit "a split the server lacks: exit 1" 1 "$F" --base-url "$url/nowhere" --out "$T/none" --split dev
check "... names the URL" grep -q "cannot download $url/nowhere/stsa.binary.dev" "$T/last.err"
check_exit "an unknown split: exit 2" 2 "$F" --split valid
check "--help prints the usage" grep -q "usage: scripts/fetch-sst2" <("$F" --help)
done_testing
