#!/usr/bin/env bash
# --header-env: the value comes from the environment, reaches the server, and
# appears in no file of the run directory, the cache (nor its export), stdout
# or stderr; --auth none sends no key; a header value with CR, LF or another
# control character is refused without being printed.
. "$(dirname "$0")/lib.sh"

data=$SELFEXP_HOME/data/demo.tsv
opts=(--data "$data" --limit 3 --conditions pe --explainers self,occlusion --no-progress)
secret="gw-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
key="sk-key-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"

start_sim --require-header "X-Gateway-Token=$secret"
check_exit "--header-env: the server gets the header and the run completes" 0 env GW_TOKEN="$secret" \
	OPENAI_API_KEY="$key" "$X" run "${opts[@]}" --base-url "$SIM_URL" --model sim \
	--header-env X-Gateway-Token=GW_TOKEN --out "$T/w/run"
cp "$T/last.out" "$T/w/stdout"; cp "$T/last.err" "$T/w/stderr"
check_exit "the cache export and score (which reads the variable again) exit 0" 0 env GW_TOKEN="$secret" \
	"$X" score "$T/w/run"
cat "$T/last.out" "$T/last.err" >> "$T/w/stdout"
"$X" cache export --cache "$T/w/.selfexp/cache.sqlite" > "$T/w/export.jsonl" 2>> "$T/w/stderr"
check "the export holds the run's answers" test -s "$T/w/export.jsonl"
check "the value is in no file of the run directory, the cache, the export, stdout or stderr" \
	sh -c "! grep -rqF -- '$secret' '$T/w'"
check "... nor is the key" sh -c "! grep -rqF -- '$key' '$T/w'"
check "run.json names the header and the variable, not the value" \
	grep -q '"X-Gateway-Token"' "$T/w/run/run.json"
check_exit "without the variable: a usage error naming it" 2 env -u GW_TOKEN "$X" run "${opts[@]}" \
	--base-url "$SIM_URL" --model sim --header-env X-Gateway-Token=GW_TOKEN --out "$T/x"
check "... naming the variable" grep -q "environment variable 'GW_TOKEN' is not set" "$T/last.err"
check_exit "the wrong value: the server refuses (exit 3)" 3 env GW_TOKEN=wrong-value-00 "$X" run "${opts[@]}" \
	--base-url "$SIM_URL" --model sim --header-env X-Gateway-Token=GW_TOKEN --out "$T/y" --cache "$T/y.sqlite"
stop_sim

# a refused run says so without the value (what a server echoes back is redacted like the key: test_http)
start_sim --require-header "X-Gateway-Token=not-$secret"
check_exit "a server that refuses the value: exit 3" 3 env GW_TOKEN="$secret" "$X" run "${opts[@]}" \
	--base-url "$SIM_URL" --model sim --header-env X-Gateway-Token=GW_TOKEN --out "$T/z" --cache "$T/z.sqlite"
check "... the value is not in its output" sh -c "! grep -qF -- '$secret' '$T/last.err' '$T/last.out'"
stop_sim

# control characters in any header value
for v in $'a\rb' $'a\nX-Injected: 1' $'a\x01b'; do
	check_exit "--header with a control character in the value is refused (exit 2)" 2 "$X" run "${opts[@]}" \
		--base-url http://127.0.0.1:9/v1 --model sim --header "X-Bad: $v" --out "$T/c"
	check "... without printing the value" sh -c "! grep -q 'Injected\|a.b' '$T/last.err'"
	check "... saying where" grep -q "value of header 'X-Bad' holds a control character (byte 2" "$T/last.err"
	check_exit "--header-env with a control character in the value is refused (exit 2)" 2 env BAD="$v" \
		"$X" run "${opts[@]}" --base-url http://127.0.0.1:9/v1 --model sim --header-env X-Bad=BAD --out "$T/c"
	check "... naming the variable, not the value" sh -c "grep -q 'from \\\$BAD' '$T/last.err' && ! grep -q 'Injected' '$T/last.err'"
done
check_exit "a header name with a space is refused" 2 "$X" run "${opts[@]}" --base-url http://127.0.0.1:9/v1 \
	--model sim --header "X Bad: v" --out "$T/c"

# --auth none: no key is sent; bearer (the default) sends it
start_sim --require-header Authorization
check_exit "--auth none sends no Authorization header: refused (exit 3)" 3 env OPENAI_API_KEY="$key" \
	"$X" run "${opts[@]}" --base-url "$SIM_URL" --model sim --auth none --out "$T/n" --cache "$T/n.sqlite"
check_exit "--auth bearer sends it" 0 env OPENAI_API_KEY="$key" "$X" run "${opts[@]}" --base-url "$SIM_URL" \
	--model sim --auth bearer --out "$T/b" --cache "$T/b.sqlite"
stop_sim
start_sim --require-header "api-key=$key"
check_exit "--auth api-key sends the key as api-key" 0 env OPENAI_API_KEY="$key" "$X" run "${opts[@]}" \
	--base-url "$SIM_URL" --model sim --auth api-key --out "$T/k" --cache "$T/k.sqlite"
stop_sim
done_testing
