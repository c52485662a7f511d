"""Bad journals: other schema, foreign, corrupt, read-only, in a read-only folder, locked by a running search."""
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

from harness import *  # noqa: F401,F403
from files_cases import *  # noqa: F401,F403


def make_readonly(path, mode):
    """Makes a file or folder read-only, also to root (which ignores file modes): chmod, or `chattr +i` as root,
    released at the end. False where neither is possible."""
    if os.geteuid() != 0:
        os.chmod(path, mode)
        return True
    if not chattr("+i", path):
        return False
    immutable.append(path)
    return True


def sql(path, *statements):
    """Runs SQL statements on a journal copy, committed."""
    con = sqlite3.connect(path)
    for st in statements:
        con.execute(st)
    con.commit()
    con.close()


def journal_cases():
    c = "journal"
    tiny = idx_dir("journal_data")
    os.makedirs(p("journal"), exist_ok=True)
    # A search that holds locked.db for the lock cases at the end; started first, so it loads its data meanwhile.
    locked = p("journal", "locked.db")
    bg = subprocess.Popen([FHIST, "search", "--data", "fashion-mnist" if os.path.isdir(FMNIST) else
                           f"fashion-mnist:{tiny}", "--model", "cnn", "--train-size", "200" if os.path.isdir(FMNIST)
                           else "60", "--val-size", "100" if os.path.isdir(FMNIST) else "20", "--max-budget", "30",
                           "--algo", "random", "--n-configs", "50", "--threads", "1", "--journal", locked],
                          cwd=p("cwd"), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    try:
        # Meanwhile, a real journal (one trial) for the cases that corrupt or protect one.
        j = p("journal", "real.db")
        got, out = run(["search", "--data", f"fashion-mnist:{tiny}", "--model", "cnn", "--train-size", "60",
                        "--val-size", "20", "--algo", "random", "--n-configs", "1", "--min-budget", "1",
                        "--max-budget", "1", "--threads", "1", "--journal", j])
        locked_cases(c, tiny, bg, locked)
    finally:
        if bg.poll() is None:
            bg.send_signal(signal.SIGKILL)
        bg.wait(timeout=30)
    if got != 0:
        record("fail", c, "setup: a real one-trial journal", f"exit {got}\n      {short(out)}")
        return
    try:
        journal_file_cases(c, j)
    finally:
        release_immutable()


def journal_file_cases(c, j):
    tiny = p("data", "journal_data")
    with open(j, "rb") as f:
        real = f.read()

    def copy(name):
        dst = p("journal", name)
        write(dst, real)
        return dst

    check(c, "control: report reads the real journal (exit 0)", ["report", "--journal", j], 0, r"1 trials")

    other = copy("other_version.db")
    sql(other, "PRAGMA user_version = 2")
    check(c, "other schema version: report", ["report", "--journal", other], 1,
          r"other_version\.db has journal schema version 2, but this fhist reads version 1")
    check(c, "other schema version: search --resume", ["search", "--resume", "--journal", other], 1,
          r"other_version\.db has journal schema version 2, but this fhist reads version 1")
    check(c, "other schema version: export", ["export", "--journal", other, "--table", "trials", "--format", "csv"], 1,
          r"other_version\.db has journal schema version 2")

    foreign = p("journal", "foreign.db")
    sql(foreign, "CREATE TABLE t (x)")
    check(c, "another program's SQLite database", ["report", "--journal", foreign], 1,
          r"foreign\.db is not an fhist journal: an SQLite database with application_id 0x0, expected 0x66686973")

    noise = p("journal", "noise.db")
    write(noise, random.Random(1).randbytes(8192))
    check(c, "random bytes: report", ["report", "--journal", noise], 1,
          r"noise\.db is not an fhist journal: not an SQLite database")
    check(c, "random bytes: search --resume", ["search", "--resume", "--journal", noise], 1,
          r"noise\.db is not an fhist journal: not an SQLite database")

    # "file:x.db" names a file of that name: SQLite's URI reading opened x.db, whose settings a new search overwrote.
    write(p("cwd", "uri.db"), real)
    uri_args = ["search", "--data", f"fashion-mnist:{tiny}", "--model", "cnn", "--train-size", "60", "--val-size",
                "20", "--algo", "random", "--n-configs", "1", "--min-budget", "1", "--max-budget", "1", "--threads", "1",
                "--journal", "file:uri.db"]
    got, out = run(uri_args)
    with open(p("cwd", "uri.db"), "rb") as f:
        untouched = f.read() == real
    ok = got == 0 and untouched and os.path.exists(p("cwd", "file:uri.db"))
    record("ok" if ok else "fail", c, "--journal file:uri.db is a new file of that name; uri.db is untouched",
           "" if ok else f"exit {got}, uri.db untouched: {untouched}\n      {short(out)}")
    # Checkpoints left by a search whose journal was deleted are not continued by a new search of that name.
    stale = p("journal", "stale.db")
    write(os.path.join(stale + ".trials", "trial_00000", "checkpoint.pt"), b"an earlier search's checkpoint")
    check(c, "a new search over an earlier search's checkpoints", uri_args[:-1] + [stale], 2,
          r"stale\.db\.trials holds checkpoints of an earlier search whose journal .*stale\.db is gone")

    empty = p("journal", "empty.db")
    write(empty, b"")
    # An empty file is what a search killed while creating its journal leaves: named as such, with what to do.
    check(c, "an empty file: report", ["report", "--journal", empty], 2,
          r"empty\.db was created but its search never started .*run the search command again")

    page = struct.unpack(">H", real[16:18])[0] or 65536
    trunc = p("journal", "truncated.db")
    write(trunc, real[: page + page // 2])
    check(c, "a real journal truncated after 1.5 pages: report", ["report", "--journal", trunc], 1,
          r"truncated\.db.*(malformed|corrupt|truncated|not an fhist journal)")
    check(c, "a real journal truncated after 1.5 pages: search --resume", ["search", "--resume", "--journal", trunc], 1,
          r"truncated\.db.*(malformed|corrupt|truncated|not an fhist journal)")

    smashed = copy("smashed.db")
    with open(smashed, "r+b") as f:  # keep the header, overwrite every page after the first with garbage
        f.seek(page)
        f.write(random.Random(2).randbytes(len(real) - page))
    check(c, "a real journal with its table pages overwritten: report", ["report", "--journal", smashed], 1,
          r"smashed\.db.*(malformed|corrupt|not an fhist journal)")

    bad_def = copy("bad_definition.db")
    sql(bad_def, "UPDATE study SET definition = '{\"options\": '")
    check(c, "a journal whose study row is not JSON", ["report", "--journal", bad_def], 1,
          r"bad_definition\.db: .*(study|definition).*not valid JSON")

    check(c, "no journal at the path: report", ["report", "--journal", p("journal", "nowhere.db")], 2,
          r"--journal .*journal/nowhere\.db: no such file")
    check(c, "no journal at the path: search --resume", ["search", "--resume", "--journal",
                                                          p("journal", "nowhere.db")], 2,
          r"--journal .*journal/nowhere\.db: no such file")
    check(c, "a directory as the journal", ["report", "--journal", p("journal")], 1,
          r"journal:? .*(is a directory|not an fhist journal|expected a file)")

    # --- read-only journal and read-only folder (root ignores file modes: use the immutable attribute)
    ro = copy("readonly.db")
    if make_readonly(ro, 0o444):
        check(c, "read-only journal file: search --resume", ["search", "--resume", "--journal", ro], 1,
              r"readonly\.db.*(read-only|readonly|Permission denied|Operation not permitted|cannot write)")
        check(c, "read-only journal file: report still reads it (exit 0)", ["report", "--journal", ro], 0, r"1 trials")
    else:
        for n in ("read-only journal file: search --resume", "read-only journal file: report still reads it (exit 0)"):
            skip(c, n, "running as root and `chattr +i` is not supported here, so no file is read-only to root")
    rodir = p("journal", "rodir")
    os.makedirs(rodir)
    write(os.path.join(rodir, "j.db"), real)
    dir_ok = make_readonly(rodir, 0o555)
    names = ("journal in a read-only folder: search --resume", "new journal in a read-only folder: search",
             "journal in a read-only folder: report still reads it (exit 0)")
    if dir_ok:
        check(c, names[0], ["search", "--resume", "--journal", os.path.join(rodir, "j.db")], 1,
              r"rodir/j\.db.*(read-only|Permission denied|Operation not permitted|cannot write)")
        check(c, names[1], ["search", "--data", f"fashion-mnist:{tiny}", "--model", "cnn", "--train-size", "60",
                            "--val-size", "20", "--algo", "random", "--n-configs", "1", "--min-budget", "1",
                            "--max-budget", "1", "--threads", "1", "--journal", os.path.join(rodir, "new.db")], 1,
              r"rodir/new\.db.*(read-only|Permission denied|Operation not permitted|cannot write|cannot create)")
        check(c, names[2], ["report", "--journal", os.path.join(rodir, "j.db")], 0, r"1 trials")
    else:
        for n in names:
            skip(c, n, "running as root and `chattr +i` is not supported here, so no folder is read-only to root")
    flush()
    release_immutable()


def locked_cases(c, tiny, bg, locked):
    deadline = time.time() + 30
    pid = ""
    while time.time() < deadline and bg.poll() is None:
        try:
            with open(locked + ".lock") as f:
                pid = f.read().strip()
        except OSError:
            pid = ""
        if pid == str(bg.pid):
            break
        time.sleep(0.05)
    names = ("locked by a running search: search --resume", "locked by a running search: a new search on it",
             "control: report reads a journal while its search runs (exit 0)")
    if pid != str(bg.pid) or bg.poll() is not None:
        for n in names:
            record("fail", c, n, f"setup: the background search did not take the lock (exit {bg.poll()})")
    else:
        check(c, names[0], ["search", "--resume", "--journal", locked], 1,
              rf"locked\.db is in use by another search \(pid {bg.pid}\)")
        check(c, names[1], ["search", "--data", f"fashion-mnist:{tiny}", "--model", "cnn", "--train-size", "60",
                            "--val-size", "20", "--journal", locked], 2,
              rf"locked\.db (is in use by another search \(pid {bg.pid}\)|already exists: pass --resume)")
        check(c, names[2], ["report", "--journal", locked], 0, r"running")
        flush()

