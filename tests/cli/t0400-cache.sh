#!/usr/bin/env bash
# selfexp cache: import of recorded answers, stats, export round trip, vacuum,
# clear errors for a missing or corrupt file and for bad import lines.
. "$(dirname "$0")/lib.sh"

db=$T/sub/c.db
cat > "$T/in.jsonl" <<'JSONL'
{"request":{"messages":[{"content":"s","role":"system"},{"role":"user","content":"<review> a b <review>"}],"model":"gpt-3.5-turbo","temperature":0,"top_p":1.0,"max_tokens":1024},"response":{"choices":[{"message":{"role":"assistant","content":"(1, 0.9)"},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":5}}}

{"request":{"model":"gpt-3.5-turbo","messages":[{"role":"user","content":"x\u00e9"}],"temperature":0.7,"top_p":1,"max_tokens":16,"seed":3},"response":{"choices":[{"message":{"content":"(0, 0.6)"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":4}},"host":"ignored.example"}
JSONL

check_exit "stats of a missing cache fails" 1 "$X" cache stats --cache "$db"
grep -q "does not exist" "$T/last.err" && ok "and says it does not exist" || fail "missing-cache message"
check_exit "import creates the cache" 0 "$X" cache import --cache "$db" --host api.example "$T/in.jsonl"
grep -q "imported 2 rows" "$T/last.err" && ok "import reports 2 rows" || fail "import count"
check_eq "cache file is mode 600" "600" "$(stat -c %a "$db")"
check_eq "cache directory is mode 700" "700" "$(stat -c %a "$T/sub")"
"$X" cache stats --cache "$db" > "$T/stats"
check_eq "stats counts rows" "rows               2" "$(grep '^rows' "$T/stats")"
check_eq "stats sums prompt tokens" "prompt_tokens      13" "$(grep '^prompt_tokens' "$T/stats")"
"$X" cache stats --cache "$db" --json > "$T/stats.json"
check "stats --json is json with rows 2" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["rows"]==2 and d["oldest"]' "$T/stats.json"

"$X" cache export --cache "$db" > "$T/out.jsonl"
check_eq "export writes one line per row" "2" "$(wc -l < "$T/out.jsonl")"
# the key is sha256(host "\n" canonical body) and the canonical body is what export shows
check "export keys are sha256 of host and canonical request" python3 - "$T/out.jsonl" <<'PY'
import hashlib, json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    assert d["host"] == "api.example", d["host"]
    raw = line.split('"request":', 1)[1].split(',"response":', 1)[0]
    assert list(json.loads(raw))[:2] == ["model", "messages"]
    assert hashlib.sha256(("api.example\n" + raw).encode()).hexdigest() == d["key"]
PY
grep -q '"temperature":0,"top_p":1,"max_tokens":1024}' "$T/out.jsonl" && ok "numbers are canonical" || fail "numbers are canonical"

"$X" cache export --cache "$db" -o "$T/out2.jsonl" 2>/dev/null
check "export -o writes the same" cmp -s "$T/out.jsonl" "$T/out2.jsonl"
"$X" cache import --cache "$T/copy.db" - < "$T/out.jsonl" 2>/dev/null
"$X" cache export --cache "$T/copy.db" > "$T/copy.jsonl"
check "export, import, export is the identity" cmp -s "$T/out.jsonl" "$T/copy.jsonl"

check_exit "vacuum works" 0 "$X" cache vacuum --cache "$db"
"$X" cache stats --cache "$db" > "$T/stats2"
check_eq "vacuum keeps the rows" "rows               2" "$(grep '^rows' "$T/stats2")"

printf '{"request":{"model":"m","messages":[]},"response":{"choices":[]}}\n' > "$T/bad.jsonl"
check_exit "import of an empty choices answer fails" 1 "$X" cache import --cache "$db" --host h "$T/bad.jsonl"
grep -q "line 1.*empty" "$T/last.err" && ok "naming the line and the reason" || fail "bad line message: $(cat "$T/last.err")"
printf 'not json\n' > "$T/bad2.jsonl"
check_exit "import of a non-json line fails" 1 "$X" cache import --cache "$db" --host h "$T/bad2.jsonl"
printf '{"request":{"model":"m","messages":[]},"response":{"choices":[{"message":{"content":"x"}}]}}\n' > "$T/nohost.jsonl"
check_exit "import without any host fails" 1 env -u OPENAI_BASE_URL "$X" cache import --cache "$db" "$T/nohost.jsonl"
check_exit "import takes the host of OPENAI_BASE_URL" 0 env OPENAI_BASE_URL=http://Sim.Local:9/v1 "$X" cache import --cache "$db" "$T/nohost.jsonl"
"$X" cache export --cache "$db" | grep -q '"host":"sim.local"' && ok "host lowercased without port" || fail "host from OPENAI_BASE_URL"

# --base-url: keys on the endpoint (normalised), sha256(endpoint "\n" canonical body)
check_exit "import --base-url" 0 "$X" cache import --cache "$T/ep.db" \
	--base-url 'HTTP://u:secret@Sim.Local:80/v1/?api-version=2' "$T/in.jsonl"
"$X" cache export --cache "$T/ep.db" > "$T/ep.jsonl"
check "export keys are sha256 of the endpoint and canonical request" python3 - "$T/ep.jsonl" <<'PY'
import hashlib, json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    assert d["endpoint"] == "http://sim.local/v1" and d["host"] == "sim.local", d
    assert d["insecure"] is False, d
    raw = line.split('"request":', 1)[1].split(',"response":', 1)[0]
    assert hashlib.sha256(("http://sim.local/v1\n" + raw).encode()).hexdigest() == d["key"]
PY
check "no credential or query reached the cache" bash -c "! grep -q -e secret -e api-version '$T/ep.db' '$T/ep.jsonl'"
"$X" cache import --cache "$T/ep2.db" - < "$T/ep.jsonl" 2> /dev/null
"$X" cache export --cache "$T/ep2.db" > "$T/ep2.jsonl"
check "an export with endpoints imports to the same rows" cmp -s <(sort "$T/ep.jsonl") <(sort "$T/ep2.jsonl")
"$X" cache stats --cache "$T/ep.db" > "$T/ep.stats"
check_eq "stats: no host-keyed rows" "host_keyed_rows    0" "$(grep '^host_keyed' "$T/ep.stats")"
check_eq "stats: host-keyed rows of --host" "host_keyed_rows    2" "$(grep '^host_keyed' "$T/stats")"
check_exit "import --base-url with --host is a usage error" 2 "$X" cache import --cache "$T/ep.db" \
	--base-url http://h/v1 --host h "$T/in.jsonl"
check_exit "import --base-url that is not a URL is a usage error" 2 "$X" cache import --cache "$T/none.db" \
	--base-url h:8080 "$T/in.jsonl"
check "... and creates no cache" test ! -e "$T/none.db"

head -c 5000 /dev/urandom > "$T/junk.db"
check_exit "a corrupt cache fails" 1 "$X" cache stats --cache "$T/junk.db"
grep -q "junk.db" "$T/last.err" && grep -q corrupt "$T/last.err" && ok "naming the file" || fail "corrupt message: $(cat "$T/last.err")"

check_exit "unknown subcommand is a usage error" 2 "$X" cache frobnicate
check_exit "--help" 0 "$X" cache --help
grep -q "selfexp cache export" "$T/last.out" && ok "help shows the synopsis" || fail "help text"
SELFEXP_CACHE=$db "$X" cache stats > "$T/env.stats"
check_eq "SELFEXP_CACHE is the default cache" "rows               3" "$(grep '^rows' "$T/env.stats")"
done_testing
