#!/usr/bin/env bash
# Secrets: the key comes from the environment or an owner-only key file, is
# sent as the Authorization header, and is never echoed, never in argv, the
# cache, the run directory, stdout/stderr; a run holding a key cannot dump
# core and is not dumpable; TLS verification is off only with --insecure,
# which run.json records; the cache and run files are 0600, directories 0700.
. "$(dirname "$0")/lib.sh"
need_shared
dev=$SELFEXP_SHARED/data/sst2/dev.tsv
opts=(--conditions pe --explainers self --no-metrics --model sim --no-progress)
key="sk-secret-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"

start_pyserver hostile
H=$PYSERVER_URL
auth_of() { python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readlines()[-1])["authorization"])' "$T/hostile.log"; }

# 1. the key file: owner-only, or refused with the reason
mkdir -m 700 "$T/keys"
printf '%s\n' "$key" > "$T/keys/key"
for mode in 644 640 604 660; do
	chmod $mode "$T/keys/key"
	check_exit "key file mode $mode is refused" 1 env -u OPENAI_API_KEY "$X" run --data "$dev" --limit 2 \
		--out "$T/kf$mode" --base-url "$H/ok/v1" --api-key-file "$T/keys/key" "${opts[@]}"
	grep -q "API key file '.*/keys/key' is readable by others (mode $mode); run 'chmod 600 .*/keys/key' first" "$T/last.err" &&
		ok "mode $mode: the refusal gives the reason and the fix" || { fail "mode $mode: the refusal"; sed 's/^/#   /' "$T/last.err"; }
	check "mode $mode: nothing sent" test ! -s "$T/hostile.log"
done
chmod 600 "$T/keys/key"
check_exit "key file mode 600 is used" 0 env -u OPENAI_API_KEY "$X" run --data "$dev" --limit 2 --out "$T/kf600/run" \
	--cache "$T/kf.sqlite" --base-url "$H/ok/v1" --api-key-file "$T/keys/key" "${opts[@]}"
check_eq "the key file's key arrives as the Authorization header (line end stripped)" "Bearer $key" "$(auth_of)"
check_exit "a missing key file: exit 1" 1 "$X" run --data "$dev" --limit 2 --out "$T/kfm" --base-url "$H/ok/v1" \
	--api-key-file "$T/keys/none" "${opts[@]}"
grep -q "cannot read API key file '.*/keys/none': No such file or directory" "$T/last.err" &&
	ok "a missing key file: a clear message" || fail "a missing key file: a clear message"
check_exit "the key from OPENAI_API_KEY" 0 env OPENAI_API_KEY="$key" "$X" run --data "$dev" --limit 2 \
	--out "$T/env/run" --cache "$T/kf.sqlite" --base-url "$H/ok/v1" "${opts[@]}" --model other
check_eq "the environment's key arrives as the Authorization header" "Bearer $key" "$(auth_of)"

# 2. a running selfexp holding a key: not in argv, no core file, not dumpable
start_sim --latency-ms 30
OPENAI_API_KEY=$key "$X" run --data "$dev" --limit 40 --out "$T/live/run" --base-url "$SIM_URL" \
	--conditions ep,pe --model sim --progress --concurrency 2 > "$T/live.out" 2> "$T/live.err" &
pid=$!
for i in $(seq 1 100); do [ -e "$T/live/.selfexp/cache.sqlite-wal" ] && break; sleep 0.05; done
if [ -r /proc/$pid/cmdline ] && tr '\0' ' ' < /proc/$pid/cmdline | grep -q "selfexp run"; then
	if tr '\0' ' ' < /proc/$pid/cmdline | grep -q -- "$key"; then fail "the key is not in /proc/PID/cmdline"
	else ok "the key is not in /proc/PID/cmdline"; fi
	check_eq "no core file: RLIMIT_CORE is 0" "0 0" "$(awk '/^Max core file size/ { print $5, $6 }' /proc/$pid/limits)"
	mode=$(stat -c '%a' "$T/live/.selfexp/cache.sqlite-wal" 2> /dev/null)
	check_eq "the cache's write-ahead log is 0600 too" 600 "$mode"
else
	fail "the run was still going when /proc was read"
fi
kill -INT $pid; wait $pid
# as another user, a dumpable process's /proc files belong to that user; a
# non-dumpable one's to root
if under_valgrind; then
	# valgrind, run as another user, cannot write its report where the others go
	ok "# SKIP under valgrind: a run as another user (dumpable check)"
	ok "# SKIP under valgrind: a run as another user (its control)"
elif command -v setpriv > /dev/null && [ "$(id -u)" = 0 ]; then
	# (in a directory of its own: $T's parents may not be open to other users)
	NB=$(mktemp -d /tmp/selfexp-nobody.XXXXXX); chmod 777 "$NB"
	_rm_nb() { rm -rf "$NB"; }
	_cleanup_fns+=(_rm_nb)
	setpriv --reuid=65534 --regid=65534 --clear-groups env OPENAI_API_KEY="$key" "$X" run --data "$dev" \
		--limit 40 --out "$NB/run" --base-url "$SIM_URL" --conditions ep,pe --model sim \
		--no-progress --concurrency 2 > /dev/null 2>&1 &
	pid=$!
	for i in $(seq 1 100); do [ -e "$NB/.selfexp/cache.sqlite-wal" ] && break; sleep 0.05; done
	check_eq "a run holding a key is not dumpable (/proc/PID/environ owned by root, not the user)" \
		"0" "$(stat -c %u /proc/$pid/environ 2> /dev/null)"
	kill -INT $pid; wait $pid
	setpriv --reuid=65534 --regid=65534 --clear-groups env -u OPENAI_API_KEY "$X" run --data "$dev" \
		--limit 40 --out "$NB/run2" --base-url "$SIM_URL" --conditions ep,pe --model sim \
		--no-progress --concurrency 2 > /dev/null 2>&1 &
	pid=$!
	for i in $(seq 1 100); do [ -e "$NB/.selfexp/cache.sqlite-wal" ] && break; sleep 0.05; done
	check_eq "(without a key the process stays dumpable, so the check above means something)" \
		65534 "$(stat -c %u /proc/$pid/environ 2> /dev/null)"
	kill -INT $pid; wait $pid
else
	why="not root"; command -v setpriv > /dev/null || why="no setpriv"
	ok "a run holding a key is not dumpable # SKIP $why: a run as another user needs both"
	ok "(without a key the process stays dumpable) # SKIP $why"
fi
stop_sim

# 3. the key appears nowhere: cache, run directories, stdout/stderr (with --progress)
mv "$T/hostile.log" "$T/../hostile.$$"
if grep -rqa --exclude=key -- "$key" "$T"; then fail "the key appears in no cache, run file or output"; grep -rla --exclude=key -- "$key" "$T" | sed 's/^/#   /'
else ok "the key appears in no cache, run file or output"; fi
mv "$T/../hostile.$$" "$T/hostile.log"

# 4. TLS: verification on unless --insecure, recorded in run.json
start_sim
insecure_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["model"]["insecure"])' "$1/run.json"; }
check_exit "a run without --insecure" 0 "$X" run --data "$dev" --limit 2 --out "$T/tls1" --cache "$T/tls.sqlite" \
	--base-url "$SIM_URL" "${opts[@]}"
check_eq "run.json records insecure false by default" False "$(insecure_of "$T/tls1")"
check_exit "a run with --insecure" 0 "$X" run --data "$dev" --limit 2 --out "$T/tls2" --cache "$T/tls.sqlite" \
	--base-url "$SIM_URL" "${opts[@]}" --insecure
check_eq "run.json records --insecure" True "$(insecure_of "$T/tls2")"
# a TLS endpoint with a self-signed certificate is refused without --insecure
if command -v openssl > /dev/null; then
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/tls.key" -out "$T/tls.crt" -days 1 \
		-subj /CN=127.0.0.1 > /dev/null 2>&1
	"$PY3" - "$T/tls.crt" "$T/tls.key" > "$T/tls.url" 2> /dev/null <<'PY' &
import http.server, json, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        b = json.dumps({"choices": [{"message": {"content": "(1, 0.9)"}, "finish_reason": "stop"}]}).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)
s = http.server.HTTPServer(("127.0.0.1", 0), H)
c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); c.load_cert_chain(sys.argv[1], sys.argv[2])
s.socket = c.wrap_socket(s.socket, server_side=True)
print("https://127.0.0.1:%d/v1" % s.server_address[1], flush=True)
s.serve_forever()
PY
	tpid=$!
	_stop_tls() { kill "$tpid" 2> /dev/null; wait "$tpid" 2> /dev/null; }
	_cleanup_fns+=(_stop_tls)
	for i in $(seq 1 100); do [ -s "$T/tls.url" ] && break; sleep 0.05; done
	TLS=$(cat "$T/tls.url")
	"$X" run --data "$dev" --limit 1 --out "$T/tls3" --cache "$T/tls3.sqlite" --base-url "$TLS" "${opts[@]}" \
		--timeout 5 --retries 0 > /dev/null 2> "$T/tls3.err"
	rc=$?
	check_eq "a self-signed certificate is refused without --insecure: exit 3, nothing written" \
		"3 no" "$rc $([ -e "$T/tls3" ] && echo yes || echo no)"
	grep -q "the TLS certificate of 'https://127.0.0.1:.*' failed verification.*--insecure" "$T/tls3.err" &&
		ok "the refusal names the certificate" || { fail "the refusal names the certificate"; sed 's/^/#   /' "$T/tls3.err"; }
	check_exit "the same endpoint with --insecure" 0 "$X" run --data "$dev" --limit 1 --out "$T/tls4" \
		--cache "$T/tls4.sqlite" --base-url "$TLS" "${opts[@]}" --insecure --timeout 5
	check_eq "... and run.json says so" True "$(insecure_of "$T/tls4")"
else
	ok "a self-signed certificate is refused without --insecure # SKIP no openssl to make one"
	ok "the same endpoint with --insecure # SKIP no openssl to make one"
fi

# 5. modes: files 0600, directories 0700, whatever the umask
(umask 000; "$X" run --data "$dev" --limit 2 --out "$T/m/runs/r1" --base-url "$SIM_URL" "${opts[@]}" 2> /dev/null)
check_eq "umask 000: run dir, its parent and .selfexp are 0700; run files and cache 0600" \
	"700 m 700 m/runs 700 m/runs/.selfexp 600 m/runs/.selfexp/cache.sqlite 700 m/runs/r1 600 m/runs/r1/ledger.jsonl 600 m/runs/r1/records.jsonl 600 m/runs/r1/run.json 600 m/runs/r1/summary.json" \
	"$(cd "$T" && find m | sort | xargs stat -c '%a %n' | tr '\n' ' ' | sed 's/ $//')"
"$X" cache export --cache "$T/m/runs/.selfexp/cache.sqlite" -o "$T/m/export.jsonl" 2> /dev/null
check_eq "cache export writes 0600" 600 "$(stat -c %a "$T/m/export.jsonl" 2> /dev/null)"
stop_sim
done_testing
