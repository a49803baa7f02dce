#!/usr/bin/env python3
"""Kill `selfexp run` with SIGKILL at random moments of given stages, restarting
it each time on the same cache and run directory (tests/cli/t0900-crash.sh).

    python3 crash.py SEED STAGES -- selfexp run ...

STAGES is a comma-separated list of stage kinds (elicit, explain, evaluate),
one per kill, in order. For each, the command is started (with --progress
and NO_COLOR, so stderr names the stage in progress); once a progress line
shows a stage of that kind with work left to do, the process is killed after
a random delay (longer for the long stages). The kill is recorded with the
stage the last progress line named. Elicit is first and short; a run that
has left it before its kill came is killed in the stage that follows. Prints one line per kill:

    kill N stage STAGE delay_ms D

and "finished early N" for a run that ended before its kill came.
"""
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time

LINE = re.compile(r"^(elicit|explain|evaluate) (\S+)\s+(\d+)/(\d+)")
MAX_DELAY = {"elicit": 0.010, "explain": 0.8, "evaluate": 0.8}


def main():
    seed = int(sys.argv[1])
    kinds = sys.argv[2].split(",")
    cmd = sys.argv[sys.argv.index("--") + 1:] + ["--progress"]
    rng = random.Random(seed)
    env = dict(os.environ, NO_COLOR="1")
    for n, kind in enumerate(kinds, 1):
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        state = {"stage": None, "armed": threading.Event()}

        def reader():
            buf = b""
            while True:
                ch = p.stderr.read1(4096) if hasattr(p.stderr, "read1") else p.stderr.read(1)
                if not ch:
                    break
                buf += ch
                parts = re.split(rb"[\r\n]", buf)
                buf = parts.pop()
                for raw in parts:
                    m = LINE.match(raw.decode("utf-8", "replace").strip())
                    if not m:
                        continue
                    state["stage"] = m.group(1) + " " + m.group(2)
                    # elicit comes first and is short: when it ended before
                    # its kill came, the kill goes to the stage that follows
                    if (m.group(1) == kind or kind == "elicit") and \
                            int(m.group(3)) < int(m.group(4)):
                        state["armed"].set()

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        while not state["armed"].wait(0.005):
            if p.poll() is not None:
                break
        if p.poll() is not None:
            print("finished early %d (waiting for %s, exit %d)" % (n, kind, p.returncode))
            t.join(1)
            continue
        delay = rng.uniform(0, MAX_DELAY[kind])
        time.sleep(delay)
        stage = state["stage"]
        if os.environ.get("SELFEXP_VALGRIND_LOGS"):
            # killed on purpose: tests/valgrind/summary.sh expects no summary
            open(os.path.join(os.environ["SELFEXP_VALGRIND_LOGS"], "vg.%d.killed" % p.pid), "w").close()
        try:
            p.send_signal(signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()
        t.join(1)
        print("kill %d stage %s delay_ms %d exit %d" % (n, stage.replace(" ", "_"), delay * 1000,
                                                     p.returncode), flush=True)


if __name__ == "__main__":
    main()
