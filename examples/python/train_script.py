#!/usr/bin/python3
"""A plain PyTorch training script as fhist's objective (fhist search --command).

fhist runs it once per job with the job in environment variables (FHIST_CONFIG, FHIST_BUDGET, FHIST_START_EPOCH,
FHIST_MAX_BUDGET, FHIST_TRIAL_DIR, FHIST_SEED, FHIST_THREADS) and reads one JSON object per epoch from its standard
output. Everything else it prints is its own log (kept in $FHIST_TRIAL_DIR/log.txt). A promoted trial runs again in
the same folder with FHIST_START_EPOCH > 1: it continues from its checkpoint.

    build/fhist search --command '/usr/bin/python3 examples/python/train_script.py' \\
        --space examples/python/digits_space.json --estimator tse-ema --max-budget 9 --journal runs/script.db

Without fhist (no FHIST_* variables) it trains one default configuration for 5 epochs in the current folder.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import digits_cnn  # noqa: E402

config = json.loads(os.environ.get("FHIST_CONFIG",
                                   '{"lr": 0.05, "weight_decay": 0.0005, "channels": 16, "batch_size": 64}'))
threads = int(os.environ.get("FHIST_THREADS", "0"))
if threads > 0:
    torch.set_num_threads(threads)
print(f"fhist says: start at epoch {os.environ.get('FHIST_START_EPOCH', '1')}")


def report(epoch, **values):
    # One JSON object per epoch on stdout, flushed: fhist reads it as it comes. Extra keys (lr) are stored too.
    print(json.dumps({"epoch": epoch, **values}), flush=True)


digits_cnn.train(config, budget=int(os.environ.get("FHIST_BUDGET", "5")),
                 max_budget=int(os.environ.get("FHIST_MAX_BUDGET", "5")),
                 trial_dir=os.environ.get("FHIST_TRIAL_DIR", "."), seed=int(os.environ.get("FHIST_SEED", "0")),
                 report=report)
