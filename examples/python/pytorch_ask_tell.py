#!/usr/bin/python3
"""Your PyTorch loop drives fhist's search (ask and tell): a HyperBand search over a small CNN on scikit-learn's
digits (examples/python/digits_cnn.py), checkpoints in each trial's folder, promoted trials continuing from them.
Run it again on the same journal after a crash or Ctrl-C and it resumes where it stopped.

    PYTHONPATH=build/python /usr/bin/python3 examples/python/pytorch_ask_tell.py --journal runs/ask.db
    build/fhist report --journal runs/ask.db --html runs/ask.html
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import digits_cnn  # noqa: E402
import fhist  # noqa: E402

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--journal", default="runs/ask.db")
p.add_argument("--space", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "digits_space.json"))
p.add_argument("--max-budget", type=int, default=9)
p.add_argument("--eta", type=int, default=3)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--workers", type=int, default=1)
args = p.parse_args()
torch.set_num_threads(1)  # one thread per job: the same numbers with any --workers

resume = os.path.exists(args.journal)
study = fhist.Study(args.journal, space=args.space, algo="hyperband", min_budget=1, max_budget=args.max_budget,
                    eta=args.eta, estimator="tse-ema", seed=args.seed, resume=resume)
data = digits_cnn.load_data()


def train(job, report):
    digits_cnn.train(job.config, job.budget, job.max_budget, job.trial_dir, job.seed, report, data=data)


best = study.optimize(train, workers=args.workers)
print(("resumed; " if resume else "") + "best: " + json.dumps(best, sort_keys=True), flush=True)
