"""Helpers shared by the benchmarks in bench/ (python3 standard library only).

- Sim: start `selfexp sim --port 0 --quiet ...` on a free loopback port, read
  its /stats, stop it (SIGTERM, wait).
- measure(): run a client process while a thread polls the sim's /stats
  (every POLL_S over one keep-alive connection) and the client's
  /proc/PID/stat, so that both selfexp and the peer are timed the same way,
  from outside: the sending phase runs from the first poll that sees a chat
  request to the first poll that sees the last one. The client's total CPU
  and peak RSS come from wait4() (the numbers /usr/bin/time -v prints).
- append(): add a section (command lines, nproc, date, table) to BENCHMARKS.md.
"""
import datetime
import http.client
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SELFEXP = os.environ.get("SELFEXP_BIN", os.path.join(ROOT, "selfexp"))
SHARED = os.environ.get("SELFEXP_SHARED", os.path.join(os.path.dirname(ROOT), "shared"))
PEER_PY = os.environ.get("PEER_PYTHON", "/usr/bin/python3")
BENCHMARKS = os.environ.get("BENCHMARKS_MD", os.path.join(ROOT, "BENCHMARKS.md"))
WORK = os.environ.get("BENCH_WORK", os.path.join(ROOT, "build", "bench"))
POLL_S = 0.02
TICK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Sim:
    def __init__(self, *args):
        self.args = [SELFEXP, "sim", "--port", "0", "--quiet", *args]
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("http://"):
            self.proc.kill()
            raise RuntimeError("sim did not start: " + self.proc.stderr.read())
        self.url = line
        hostport = line[len("http://"):].split("/", 1)[0]
        self.host, port = hostport.rsplit(":", 1)
        self.port = int(port)

    def cmd(self):
        return " ".join(shlex.quote(a) for a in self.args[1:] if a != "--quiet")

    def stats(self, conn=None):
        own = conn is None
        if own:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        conn.request("GET", "/stats")
        r = conn.getresponse()
        body = r.read()
        if own:
            conn.close()
        return json.loads(body)

    def cpu_s(self):
        return proc_cpu_s(self.proc.pid)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def proc_cpu_s(pid):
    """user + system CPU seconds of a live process (all its threads), or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, IndexError, ValueError):
        return None


def measure(cmd, sim, expected, env=None, cwd=None, stdout=None):
    """Run cmd to completion while watching the sim. Returns a dict:
    wall_s, cpu_s (user+sys of the client, wait4), user_s, sys_s, maxrss_kb,
    exit, sent (chat requests the sim saw), send_s (sending phase),
    send_cpu_s (client CPU over the sending phase, from /proc), sim_cpu_s,
    by_status (of the sim, this run only)."""
    conn = http.client.HTTPConnection(sim.host, sim.port, timeout=10)
    s0 = sim.stats(conn)
    c0 = s0["chat_requests"]
    sim_cpu0 = sim.cpu_s()
    samples = []  # (t, chat_requests, client_cpu)
    stop = threading.Event()
    t_start = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=stdout or subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    pid = proc.pid

    def watch():
        while not stop.is_set():
            try:
                n = sim.stats(conn)["chat_requests"] - c0
            except (OSError, http.client.HTTPException, ValueError):
                continue
            samples.append((time.monotonic(), n, proc_cpu_s(pid)))
            stop.wait(POLL_S)

    th = threading.Thread(target=watch, daemon=True)
    th.start()
    # reap by hand to get this child's own rusage
    _, status, ru = os.wait4(pid, 0)
    t_end = time.monotonic()
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace")
    stop.set()
    th.join()
    s1 = sim.stats(conn)
    conn.close()
    sent = s1["chat_requests"] - c0
    by_status = {k: v - s0["by_status"].get(k, 0) for k, v in s1["by_status"].items()
                 if v - s0["by_status"].get(k, 0)}
    first = next((s for s in samples if s[1] > 0), None)
    last = next((s for s in samples if s[1] >= sent), None)
    res = {
        "wall_s": t_end - t_start,
        "user_s": ru.ru_utime, "sys_s": ru.ru_stime, "cpu_s": ru.ru_utime + ru.ru_stime,
        "maxrss_kb": ru.ru_maxrss, "exit": proc.returncode, "sent": sent,
        "expected": expected, "by_status": by_status, "stderr": err,
        "sim_cpu_s": (sim.cpu_s() or 0) - (sim_cpu0 or 0),
    }
    if first and last and last[0] > first[0]:
        res["send_s"] = last[0] - first[0]
        # requests seen at `first` were sent before it: count from there
        res["send_rate"] = (last[1] - first[1]) / (last[0] - first[0])
        if first[2] is not None and last[2] is not None:
            res["send_cpu_s"] = last[2] - first[2]
    if expected is not None and sent != expected:
        log("warning: expected %d requests, the sim saw %d" % (expected, sent))
    if proc.returncode != 0:
        log("warning: %s exited %d: %s" % (cmd[0], proc.returncode, err[-2000:]))
    return res


def sh(cmd):
    return " ".join(shlex.quote(str(c)) for c in cmd)


def nproc():
    return os.cpu_count()


def append(title, commands, header, rows, notes=""):
    """Append a section to BENCHMARKS.md and print the table."""
    date = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    lines = ["", "## %s" % title, "",
             "Measured %s on %d cores (nproc), by `make bench` (%s)." % (
                 date, nproc(), os.path.relpath(sys.argv[0], ROOT)), ""]
    if notes:
        lines += [notes.strip(), ""]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        lines.append("| " + " | ".join(str(c) for c in r) + " |")
    lines += ["", "Commands:", "", "```"]
    lines += commands
    lines += ["```", ""]
    text = "\n".join(lines)
    print(text)
    new = not os.path.exists(BENCHMARKS)
    with open(BENCHMARKS, "a") as f:
        if new:
            f.write("# Benchmarks\n\nFigures appended by `make bench` (bench/); never asserted in tests.\n")
        f.write(text)


def write_reviews(path, n, seed_rows=None):
    """n distinct SST-2 reviews: the train sentences, then the same with a word appended."""
    rows = []
    with open(seed_rows or os.path.join(SHARED, "data", "sst2", "train.tsv"), encoding="utf-8") as f:
        next(f)
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 2:
                rows.append(parts[:2])
    extra = ["", "indeed", "really", "truly", "overall", "for sure", "at times", "in the end",
             "so to speak", "after all"]
    seen = set()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        out.write("sentence\tlabel\n")
        i = 0
        while len(seen) < n:
            s, label = rows[i % len(rows)]
            e = extra[(i // len(rows)) % len(extra)]
            text = s + " " + e if e else s
            i += 1
            if text in seen:
                continue
            seen.add(text)
            out.write("%s\t%s\n" % (text, label))
    return path


def export_bodies(cache, path):
    """The request bodies selfexp sent, one per line, from its cache (selfexp cache export)."""
    exp = subprocess.run([SELFEXP, "cache", "export", "--cache", cache], check=True,
                         stdout=subprocess.PIPE).stdout.decode()
    n = 0
    with open(path, "w", encoding="utf-8") as out:
        for line in exp.splitlines():
            req = json.loads(line)["request"]
            out.write(json.dumps(req, separators=(",", ":"), ensure_ascii=False) + "\n")
            n += 1
    return n


def fresh_dir(name):
    d = os.path.join(WORK, name)
    subprocess.run(["rm", "-rf", d], check=True)
    os.makedirs(d)
    return d


def us_per_req(cpu_s, n):
    return "%.1f" % (cpu_s * 1e6 / n) if n else "-"
