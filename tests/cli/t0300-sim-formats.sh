#!/usr/bin/env bash
# selfexp sim: endpoints, every condition in every style, logprobs, usage, /stats, bad requests.
. "$(dirname "$0")/lib.sh"

start_sim && ok "sim starts and prints its address" || { fail "sim starts"; done_testing; exit 1; }
case "$SIM_URL" in http://127.0.0.1:[0-9]*/v1) ok "address is http://127.0.0.1:PORT/v1";;
	*) fail "address format: $SIM_URL";; esac
check_eq "GET /health" '{"status":"ok"}' "$(curl -sf "$SIM_BASE/health")"
check "GET /v1/models lists selfexp-sim" \
	sh -c "curl -sf '$SIM_URL/models' | grep -q '\"id\":\"selfexp-sim\"'"

# every condition in every style (one sim per style)
for style in clean fenced prose echo unquoted truncated mixed; do
	start_sim --style "$style" || { fail "start sim --style $style"; continue; }
	STYLE=$style pyt - <<'PY'
import json, os, re
from simc import *
style = os.environ["STYLE"]
reviews = ["it 's a charming and often affecting journey , with a lovely cast .",
           "the story is far too predictable and the acting is just dreadful ."]
for cond in CONDS:
    for review in reviews:
        toks = review.split()
        st, h, b = chat(os.environ["SIM_URL"], body(cond, review))
        what = f"{style} {cond} '{review[:20]}...'"
        if st != 200:
            print(f"not ok {what}: status {st}")
            continue
        c, d = content(b)
        finish = d["choices"][0]["finish_reason"]
        imp, topk, ef = cond in ("ep", "pe"), cond.endswith("topk"), cond.startswith("ep")
        errs = []
        used = style
        if style == "mixed":
            used = ("truncated" if finish == "length" else "fenced" if "```" in c else
                    "echo" if "= (" in c else "prose" if c[:1].isalpha() else
                    "unquoted" if (imp or topk) and not re.search(r"\[\(?['\"]", c) else "any")
        if used == "truncated" and (imp or topk):
            if finish != "length": errs.append(f"finish_reason {finish}")
            if ef and PAIR_RE.search(c): errs.append("pair after a truncated list")
            if not ef and not PAIR_RE.match(c): errs.append("pair does not come first")
            if c.rstrip().endswith("]"): errs.append("list is not cut")
        else:
            if finish != "stop": errs.append(f"finish_reason {finish}")
            pairs = list(PAIR_RE.finditer(c))
            if len(pairs) != 1:
                errs.append(f"{len(pairs)} pairs")
            elif imp or topk:
                rx = IMP_LIST_RE if imp else TOPK_LIST_RE
                if used == "unquoted":
                    rx = re.compile(r"\[\(.*\)\]" if imp else r"\[[^\]]*\]")
                lists = [m for m in rx.finditer(c) if "<word" not in m.group(0)]
                if not lists:
                    errs.append("no list")
                else:
                    l, p = lists[-1], pairs[0]
                    if ef and not l.end() <= p.start(): errs.append("list not before the pair")
                    if not ef and not p.end() <= l.start(): errs.append("pair not before the list")
                    if imp and used != "unquoted":
                        words = [unquote(w) for w, v in TUPLE_RE.findall(l.group(0))]
                        if words != toks: errs.append(f"words {words}")
                    if imp and used == "unquoted":
                        if len(re.findall(r"\((\S+?), -?\d\.\d+\)", l.group(0))) != len(toks): errs.append("tuple count")
                        if "'" + toks[0] in c: errs.append("quoted word")
                    if topk and used != "unquoted":
                        words = [unquote(w) for w in re.findall(WORD, l.group(0)[1:-1]) if w.strip()]
                        if len(words) != topk_k(len(toks)) or not set(words) <= set(toks):
                            errs.append(f"top-k words {words}")
            if used == "clean":
                parts = [m.group(0) for m in (list(IMP_LIST_RE.finditer(c)) + list(TOPK_LIST_RE.finditer(c)))][:1]
                want = {"ep": 2, "pe": 2, "ep-topk": 2, "pe-topk": 2, "pred": 1}[cond]
                if len(c.split("\n")) != want: errs.append(f"{len(c.splitlines())} lines")
            if used == "fenced" and c.count("```") < 2: errs.append("no code fence")
            if used == "prose" and not re.match(r"[A-Z][a-z]+[ !,]", c): errs.append("no prose first")
            if used == "echo" and "(<int classification>, <float confidence>) = (" not in c:
                errs.append("template not echoed")
        print(("not ok " if errs else "ok ") + what + (": " + "; ".join(errs) + " in " + repr(c[:300]) if errs else ""))
PY
	stop_sim
done

start_sim
# logprobs, usage, model echo, determinism
pyt - <<'PY'
import json, math, os
from simc import *
url = os.environ["SIM_URL"]
m = Model()
review = "a gorgeous , witty , seductive movie ."
toks = review.split()
p = m.p_pos(toks)
lab = int(p > 0.5)
pl = p if lab else 1 - p
b = body("pe", review, logprobs=True, top_logprobs=2)
st, h, raw = chat(url, b)
c, d = content(raw)
lp = d["choices"][0]["logprobs"]["content"]
first = [t for t in lp if t["token"] in ("0", "1")]
ok = first and first[0]["token"] == str(lab) and abs(first[0]["logprob"] - math.log(pl)) < 1e-9
print(("ok" if ok else "not ok") + " logprobs: the label token carries log P(label)")
tl = first[0]["top_logprobs"] if first else []
ok = len(tl) == 2 and tl[1]["token"] == str(1 - lab) and abs(tl[1]["logprob"] - math.log(1 - pl)) < 1e-9
print(("ok" if ok else "not ok") + " logprobs: the alternative carries log P(other)")
print(("ok" if "".join(t["token"] for t in lp) == c else "not ok") + " logprobs tokens spell the content")
st, h, raw2 = chat(url, body("pe", review))
print(("ok" if json.loads(raw2)["choices"][0]["logprobs"] is None else "not ok") + " no logprobs unless asked")
req = json.loads(b)
pb = sum(len(mm["content"].encode()) for mm in req["messages"])
u = d["usage"]
ok = u["prompt_tokens"] == -(-pb // 4) and u["completion_tokens"] == -(-len(c.encode()) // 4) and \
     u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"]
print(("ok" if ok else "not ok") + f" usage counts ceil(bytes/4): {u}")
print(("ok" if d["model"] == "gpt-3.5-turbo" and d["object"] == "chat.completion" and d["id"].startswith("chatcmpl-") else "not ok") + " response carries model, object and id")
st, h, raw3 = chat(url, b)
print(("ok" if content(raw3)[0] == c and json.loads(raw3)["id"] == d["id"] else "not ok") + " same body, same answer")
st, h, raw4 = chat(url, body("pe", review, max_tokens=5))
c4, d4 = content(raw4)
print(("ok" if d4["choices"][0]["finish_reason"] == "length" and len(c4) <= 20 else "not ok") + " max_tokens cuts the answer, finish_reason length")
st, h, raw5 = chat(url, body("pred", review, n=3))
print(("ok" if len(json.loads(raw5)["choices"]) == 3 else "not ok") + " n=3 gives three choices")
# an edited prompt that keeps the format instructions
msgs = [{"role": "system", "content": "Rate the review. Answer with (<int classification>, <float confidence>) after the list [(<word or punctuation>, <float importance>), ...].\nExample output:\n[(<word or punctuation>, <float importance>), ... ]\n(<int classification>, <float confidence>)"},
        {"role": "user", "content": "<review> " + review + " <review>"}]
st, h, raw6 = chat(url, json.dumps({"model": "x", "messages": msgs}))
c6 = content(raw6)[0]
print(("ok" if c6.startswith("[(") and PAIR_RE.search(c6.split("\n")[-1]) else "not ok") + " an edited ep prompt is recognised: " + repr(c6[:40]))
PY

# bad requests
bad() { curl -s -o "$T/bad.json" -w '%{http_code}' "$SIM_URL/chat/completions" "$@"; }
check_eq "bad JSON gets 400" 400 "$(bad -d '{"messages": [')"
check "the 400 has an OpenAI error body" python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["error"]; assert e["message"] and e["type"] and e["code"]' "$T/bad.json"
check_eq "missing messages gets 400" 400 "$(bad -d '{"model":"x"}')"
grep -q "messages" "$T/bad.json" && ok "message names 'messages'" || fail "message names 'messages'"
check_eq "messages of the wrong type gets 400" 400 "$(bad -d '{"messages":"hi"}')"
check_eq "content of the wrong type gets 400" 400 "$(bad -d '{"messages":[{"role":"user","content":5}]}')"
check_eq "temperature of the wrong type gets 400" 400 "$(bad -d '{"messages":[{"role":"user","content":"x"}],"temperature":"hot"}')"
check_eq "a JSON array body gets 400" 400 "$(bad -d '[1,2]')"
check_eq "an empty body gets 400" 400 "$(bad -X POST)"
check_eq "GET on chat/completions gets 405" 405 "$(curl -s -o /dev/null -w '%{http_code}' "$SIM_URL/chat/completions")"
check_eq "unknown path gets 404" 404 "$(curl -s -o /dev/null -w '%{http_code}' "$SIM_BASE/v2/nothing")"
head -c 3000 /dev/zero | tr '\0' x > "$T/big"
pid1=$SIM_PID base1=$SIM_BASE
start_sim --max-body 2048
check_eq "a body over --max-body gets 400" 400 "$(bad --data-binary @"$T/big")"
grep -q "larger than 2048 bytes" "$T/bad.json" && ok "the message gives the cap" || fail "cap message"
check_eq "still serving after the bad requests" 200 "$(bad -d '{"messages":[{"role":"user","content":"<review> good <review>"}]}')"
SIM_BASE=$base1
# /stats: the first sim saw exactly the requests above
pyt - <<'PY'
import json, os, urllib.request
s = json.load(urllib.request.urlopen(os.environ["SIM_BASE"] + "/stats"))
print("# " + json.dumps(s))
# 6 chat requests in the python block (5 distinct bodies), then 7 bad ones
print(("ok" if s["chat_requests"] == 13 else "not ok") + f" chat_requests counts every chat request ({s['chat_requests']})")
print(("ok" if s["by_status"] == {"200": 6, "400": 7} and s["by_status"].get("400") == 7 else "not ok") + f" by_status {s['by_status']}")
print(("ok" if s["unique_bodies"] == 12 else "not ok") + f" unique_bodies counts distinct bodies ({s['unique_bodies']})")
print(("ok" if s["by_condition"]["pe"] == 4 and s["by_condition"]["ep"] == 1 else "not ok") + f" by_condition {s['by_condition']}")
PY
kill -TERM "$pid1"; wait "$pid1"; rc=$?
check_eq "SIGTERM stops it with exit 0" 0 "$rc"
kill -INT "$SIM_PID"; wait "$SIM_PID"; rc=$?
check_eq "SIGINT stops it with exit 0" 0 "$rc"
check_exit "--style nope is a usage error" 2 "$X" sim --style nope
check_exit "--explain noisy without sigma is a usage error" 2 "$X" sim --explain noisy
check_exit "--faults with an unknown fault is a usage error" 2 "$X" sim --faults 429,boom
check_exit "a missing weights file fails with exit 1" 1 "$X" sim --weights "$T/none.txt"
grep -q "none.txt" "$T/last.err" && ok "the message names the weights file" || fail "weights message"
check_exit "sim --help exits 0" 0 "$X" sim --help
done_testing
