#!/usr/bin/python3
"""The Python peer of selfexp's engine: send chat-completion request bodies
(one JSON object per line, as `selfexp cache export` gives them) to an
OpenAI-compatible endpoint the way Python harnesses do, and decode each answer.

modes:
  aiohttp     asyncio + aiohttp, at most --concurrency requests in flight
              (one ClientSession, TCPConnector(limit=concurrency), a semaphore)
  sequential  the paper's pattern: one request at a time (aiohttp, awaited in a loop)
  urllib      one request at a time with urllib.request (the standard library's
              stand-in for a `requests` loop: a new connection per request)

--rpm R paces request starts to R per minute (one every 60/R s, the usual
asyncio sleep pacing); answers 429/5xx are retried after Retry-After (or 1 s),
up to --retries times. No cache. Prints one JSON line:
{"mode","requests","ok","failed","retries","wall_s","cpu_s","prompt_tokens","completion_tokens"}.
"""
import argparse
import asyncio
import json
import resource
import sys
import time
import urllib.error
import urllib.request


def load(path, limit):
    bodies = []
    with open(path, "rb") as f:
        for line in f:
            line = line.strip()
            if line:
                bodies.append(line)
            if limit and len(bodies) >= limit:
                break
    return bodies


class Tally:
    def __init__(self):
        self.ok = self.failed = self.retries = self.ptok = self.ctok = 0

    def answer(self, data):
        msg = json.loads(data)
        content = msg["choices"][0]["message"]["content"]
        usage = msg.get("usage") or {}
        self.ptok += usage.get("prompt_tokens", 0)
        self.ctok += usage.get("completion_tokens", 0)
        self.ok += 1
        return content


def retry_delay(headers):
    try:
        return float(headers.get("Retry-After", "1"))
    except ValueError:
        return 1.0


async def run_aiohttp(url, key, bodies, concurrency, rpm, retries, tally):
    import aiohttp

    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = "Bearer " + key
    sem = asyncio.Semaphore(concurrency)
    pace = asyncio.Lock()
    interval = 60.0 / rpm if rpm else 0.0
    next_start = [time.monotonic()]
    timeout = aiohttp.ClientTimeout(total=120)

    async def paced():
        if not interval:
            return
        async with pace:
            now = time.monotonic()
            if next_start[0] > now:
                await asyncio.sleep(next_start[0] - now)
            next_start[0] = max(next_start[0], now) + interval

    async def one(session, body):
        async with sem:
            for attempt in range(retries + 1):
                await paced()
                try:
                    async with session.post(url, data=body, headers=headers) as r:
                        data = await r.read()
                        if r.status == 200:
                            tally.answer(data)
                            return
                        if r.status != 429 and r.status < 500:
                            break
                        delay = retry_delay(r.headers)
                except aiohttp.ClientError:
                    delay = 1.0
                if attempt < retries:
                    tally.retries += 1
                    await asyncio.sleep(delay)
            tally.failed += 1

    conn = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=conn, timeout=timeout) as session:
        if concurrency == 1:
            for b in bodies:
                await one(session, b)
        else:
            await asyncio.gather(*(one(session, b) for b in bodies))


def run_urllib(url, key, bodies, retries, tally):
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = "Bearer " + key
    for body in bodies:
        for attempt in range(retries + 1):
            req = urllib.request.Request(url, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=120) as r:
                    tally.answer(r.read())
                    break
            except urllib.error.HTTPError as e:
                if e.code != 429 and e.code < 500:
                    tally.failed += 1
                    break
                delay = retry_delay(e.headers)
            except OSError:
                delay = 1.0
            if attempt == retries:
                tally.failed += 1
                break
            tally.retries += 1
            time.sleep(delay)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--bodies", required=True, help="JSONL file of request bodies")
    ap.add_argument("--mode", choices=["aiohttp", "sequential", "urllib"], default="aiohttp")
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--limit", type=int, default=0, help="only the first N bodies")
    ap.add_argument("--rpm", type=float, default=0)
    ap.add_argument("--retries", type=int, default=6)
    ap.add_argument("--api-key", default="")
    a = ap.parse_args()

    t0 = time.monotonic()
    url = a.base_url.rstrip("/") + "/chat/completions"
    bodies = load(a.bodies, a.limit)
    tally = Tally()
    if a.mode == "urllib":
        run_urllib(url, a.api_key, bodies, a.retries, tally)
    else:
        conc = 1 if a.mode == "sequential" else a.concurrency
        asyncio.run(run_aiohttp(url, a.api_key, bodies, conc, a.rpm, a.retries, tally))
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"mode": a.mode, "requests": len(bodies), "ok": tally.ok,
                      "failed": tally.failed, "retries": tally.retries,
                      "wall_s": round(time.monotonic() - t0, 3),
                      "cpu_s": round(ru.ru_utime + ru.ru_stime, 3),
                      "prompt_tokens": tally.ptok, "completion_tokens": tally.ctok}))
    return 0 if tally.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
