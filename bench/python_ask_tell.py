#!/usr/bin/python3
"""What Python's ask-and-tell costs over fhist's in-process loop, in one run, like against like: the same random
search (200 jobs of 1 epoch; 20 jobs of 100 epochs), the same learning curve, the same SQLite journal rows. The
in-process figures come from build/fhist_bench_command, run by this script with the same workloads.

    PYTHONPATH=build/python /usr/bin/python3 bench/python_ask_tell.py build
"""
import os
import re
import subprocess
import sys
import tempfile
import time

import fhist

build = sys.argv[1] if len(sys.argv) > 1 else "build"


def search(journal, jobs, epochs):
    study = fhist.Study(journal, algo="random", n_configs=jobs, min_budget=epochs, max_budget=epochs,
                        estimator="tse-ema", keep_checkpoints=True)
    t0 = time.perf_counter()
    while (job := study.ask()) is not None:
        for e in range(job.start_epoch, job.budget + 1):
            study.report(job, e, train_loss=1.0 / e, val_acc=0.9 - 0.3 / e)
        study.tell(job)
    return time.perf_counter() - t0


with tempfile.TemporaryDirectory() as d:
    search(os.path.join(d, "warm.db"), 5, 1)  # warmed up, untimed
    py_jobs = search(os.path.join(d, "jobs.db"), 200, 1)
    py_epochs = search(os.path.join(d, "epochs.db"), 20, 100)
    out = subprocess.run([os.path.join(build, "fhist_bench_command"), "--dir", os.path.join(d, "cpp")],
                         capture_output=True, text=True, check=True).stdout
in_jobs = float(re.search(r"200 jobs of 1 epoch: in-process ([0-9.]+) s", out).group(1))
in_epochs = float(re.search(r"20 jobs of 100 epochs: in-process ([0-9.]+) s", out).group(1))
print(out, end="")
print(f"Python ask/tell: 200 jobs of 1 epoch {py_jobs:.3f} s, 20 jobs of 100 epochs {py_epochs:.3f} s")
print(f"Python ask/tell overhead per job (ask + tell, 1 report): {1e3 * (py_jobs - in_jobs) / 200:.2f} ms "
      f"(target < 50 ms), per epoch record: {1e3 * (py_epochs - in_epochs) / 2000:.3f} ms (target < 5 ms)")
