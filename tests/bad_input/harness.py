"""Shared by the bad-input cases: the scratch folder, running fhist with a timeout, checking exit code and message."""
import atexit
import gzip
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import threading
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


# LibTorch's commands start LibTorch (0.7 s of CPU) only to refuse their input: with FHIST_FORK_RUNNER (and
# FHIST_TORCH_LIB, the program's libfhist-torch.so) they run in a child forked from a process that loaded it once
# (tests/bad_input/fork_runner.cpp: the same main the program hands them to). The controls run the program itself.
TORCH_COMMANDS = {"train", "estimate", "evaluate", "model-info", "data"}
FORK_RUNNER = os.environ.get("FHIST_FORK_RUNNER")
TORCH_LIB = os.environ.get("FHIST_TORCH_LIB")
_local = threading.local()
_runners = []


def _fork_runner():
    if not hasattr(_local, "proc"):
        _local.proc = subprocess.Popen([FORK_RUNNER, TORCH_LIB], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       text=True)
        _runners.append(_local.proc)
    return _local.proc


@atexit.register
def _close_runners():
    for proc in _runners:
        proc.stdin.close()
        proc.wait(timeout=30)


def run(args, cwd=None, timeout=TIMEOUT, direct=False):
    """Runs fhist; returns (rc, output) with rc None on a timeout (a signal: -signal, as subprocess says)."""
    if FORK_RUNNER and TORCH_LIB and not direct and args and args[0] in TORCH_COMMANDS:
        proc = _fork_runner()
        proc.stdin.write(json.dumps({"args": args, "cwd": cwd or p("cwd"), "timeout": timeout}) + "\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        if not line:
            return -1000, f"the fork runner {FORK_RUNNER} ended (exit {proc.poll()})"
        r = json.loads(line)
        if r["status"] == "timeout":
            return None, r["out"]
        return (-r["code"] if r["status"] == "signal" else r["code"]), r["out"]
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
    got, out = run(args, cwd=cwd, direct=name.startswith("control"))
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

