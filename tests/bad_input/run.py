#!/usr/bin/env python3
"""Bad input: every kind of file or value a user can hand fhist wrongly, each refused with an exit code and a message
that names the input and says what was expected; none crashes or hangs.

Usage: run.py FHIST WORKDIR   (WORKDIR is wiped at the start; standard library only)

Categories: datasets (IDX, CIFAR), NPY feature histories, NB-201 arch strings and DARTS genotypes, search-space JSON,
configuration JSON, command-line values, a user's image folders, NPY arrays and CSV tables, journals (other schema, corrupt, foreign, locked, read-only). Exit codes as
README.md documents them: 1 for missing or corrupt data and journals (and a journal in use), 2 for usage errors and
bad values. A signal exit (crash), a timeout (hang), exit 0, LibTorch's internal error text or a message that does
not match the case's pattern is a failure; the patterns are what a user needs to read, not what fhist happens to
print, so a failing case is a defect to fix in fhist, not in this file.
"""
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa: E402,F401,F403
from files_cases import *  # noqa: E402,F401,F403
from text_cases import *  # noqa: E402,F401,F403
from journal_cases import *  # noqa: E402,F401,F403
from user_data_cases import *  # noqa: E402,F401,F403


def main():
    wipe(WORK)
    os.makedirs(p("cwd"))
    t0 = time.time()
    try:
        for category in (datasets, npy_cases, arch_cases, space_cases, config_cases, cli_cases, journal_cases,
                         user_data_cases):
            t1 = time.time()
            category()
            flush()
            if VERBOSE:
                print(f"    ({category.__name__}: {time.time() - t1:.1f} s)")
    finally:
        release_immutable()
    n = len(results)
    passed = sum(r[0] == "ok" for r in results)
    failed = sum(r[0] == "fail" for r in results)
    skipped = sum(r[0] == "skip" for r in results)
    by_cat = {}
    for status, cat, _, _ in results:
        by_cat.setdefault(cat, [0, 0, 0])[("ok", "fail", "skip").index(status)] += 1
    print("per category: " + ", ".join(f"{k} {sum(v)} ({v[0]} ok, {v[1]} failed, {v[2]} skipped)"
                                       for k, v in by_cat.items()))
    print(f"bad_input: {n} cases, {passed} passed, {failed} failed, {skipped} skipped ({time.time() - t0:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
