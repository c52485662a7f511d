"""Shared by the bad-input cases: the scratch folder, running fhist with a timeout, checking exit code and message."""
import gzip
import os
import random
import re
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor


if len(sys.argv) != 3:
    sys.exit("usage: run.py FHIST WORKDIR")
FHIST = os.path.abspath(sys.argv[1])
WORK = os.path.abspath(sys.argv[2])
TIMEOUT = 60
FMNIST = "/usr/share/datasets/fashion-mnist"
VERBOSE = os.environ.get("BAD_INPUT_VERBOSE") == "1"  # print every case's output

JOBS = max(2, min(4, os.cpu_count() or 2))  # fhist's start-up (loading LibTorch) dominates: run cases side by side
results = []  # (status, category, name, detail)
pending = []  # queued cases: (category, name, args, rc, pattern, cwd)
immutable = []  # paths given chattr +i, released at the end whatever happens


def chattr(flag, path):
    try:
        return subprocess.run(["chattr", flag, path], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def release_immutable():
    while immutable:
        chattr("-i", immutable.pop())


def wipe(path):
    if os.path.lexists(path):
        if shutil.which("chattr"):
            subprocess.run(["chattr", "-R", "-i", path], capture_output=True)
        shutil.rmtree(path)


def p(*parts):
    return os.path.join(WORK, *parts)


def record(status, category, name, detail=""):
    results.append((status, category, name, detail))
    line = {"ok": "ok   - ", "fail": "FAIL - ", "skip": "skip - "}[status] + f"{category}: {name}"
    if detail:
        line += f": {detail}"
    print(line, flush=True)


def run(args, cwd=None, timeout=TIMEOUT):
    """Runs fhist; returns (rc, output) with rc None on a timeout."""
    try:
        r = subprocess.run([FHIST] + args, cwd=cwd or p("cwd"), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
        return r.returncode, r.stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode("utf-8", "replace") if e.stdout else ""
        return None, out
    except OSError as e:  # no program to run: every case fails with the reason, none is skipped
        return -1000, f"cannot run {FHIST}: {e}"


def short(text, n=600):
    text = text.strip()
    if len(text) > n:
        text = "..." + text[-n:]
    return text.replace("\n", "\n      ")


def check(category, name, args, rc, pattern, cwd=None):
    """One case: fhist `args` must exit with `rc` and print a line matching `pattern` (a regex, searched in stdout and
    stderr together). Queued; flush() runs the queue."""
    pending.append((category, name, list(args), rc, pattern, cwd))


def evaluate(category, name, args, rc, pattern, cwd):
    t0 = time.time()
    got, out = run(args, cwd=cwd)
    secs = time.time() - t0
    cmd = "fhist " + " ".join(repr(a) if (" " in a or not a) else a for a in args)
    problems = []
    if got is None:
        problems.append(f"hangs: no exit within {TIMEOUT} s")
    elif got == -1000:
        problems.append("fhist did not start")
    elif got < 0 or got >= 128:
        sig = -got if got < 0 else got - 128
        problems.append(f"crashed: exit {got} (signal {sig})")
    elif got != rc:
        problems.append(f"exit {got}, expected {rc}")
    if "internal error in LibTorch" in out or "terminate called" in out or "Exception raised from" in out:
        problems.append("LibTorch/C++ internal error text instead of a message about the input")
    if not re.search(pattern, out, re.M):
        problems.append(f"message does not match /{pattern}/")
    verbose = f"\n    $ {cmd}\n    -> exit {got} ({secs:.1f} s)\n      {short(out, 2000)}" if VERBOSE else ""
    if problems:
        return ("fail", category, name, "; ".join(problems) + f"\n      $ {cmd}\n      {short(out)}" + verbose)
    return ("ok", category, name, verbose.lstrip("\n") if verbose else "")


def flush():
    """Runs the queued cases, JOBS at a time, and records them in the order they were queued."""
    batch = pending[:]
    pending.clear()
    with ThreadPoolExecutor(max_workers=JOBS) as pool:
        for status, category, name, detail in pool.map(lambda c: evaluate(*c), batch):
            record(status, category, name, detail)


def skip(category, name, reason):
    record("skip", category, name, reason)


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


# ---- datasets ----------------------------------------------------------------------------------------------------

rng = random.Random(0)

