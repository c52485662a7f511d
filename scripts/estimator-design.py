#!/usr/bin/env python3
"""The estimator-design study behind acc-tse (docs/results.md, "An estimator to beat TSE-E"), from exported epochs.

Usage: estimator-design.py NAME=EPOCHS.csv [NAME=EPOCHS.csv ...]
  where EPOCHS.csv is `fhist export --journal docs/data/tables/NAME.db --table epochs -o EPOCHS.csv`.
Prints, per candidate and table: Kendall tau-b against the final test accuracy (mean over epochs 1..T-1); for
accuracy-valued candidates also the mean |estimate - final test| over epochs T/3..T-1 (and the original accuracy's),
at how many of those epochs it is worse than the original accuracy, and the mean (estimate - current val acc) over
epochs 1-4. Only NumPy; the candidates use nothing but what the journal stores.
"""
import csv
import importlib.util
import math
import pathlib
import sys
from collections import defaultdict

import numpy as np


def _load_rank_correlation():
    """kendall_tau_b from rank-correlation.py beside this script (tested in tests/e2e/parallel_test.sh)."""
    path = pathlib.Path(__file__).with_name("rank-correlation.py")
    spec = importlib.util.spec_from_file_location("rank_correlation", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_rank = _load_rank_correlation()


def kendall(x, y):  # tau-b, ties handled; NaN if a score is missing (e.g. val-nll in a table without it)
    if any(math.isnan(v) for v in x):
        return float("nan")
    return _rank.kendall_tau_b(x, y)


def load(path):
    rows = list(csv.DictReader(open(path)))
    T = max(int(r["epoch"]) for r in rows)
    by = defaultdict(dict)
    for r in rows:
        by[int(r["trial"])][int(r["epoch"])] = r
    trials = []
    for ep in by.values():
        if len(ep) < T or ep[T]["test_acc"] == "":
            continue
        col = lambda k: np.array([float(ep[e][k]) if ep[e][k] != "" else np.nan for e in range(1, T + 1)])
        wa = [[float(ep[e][f"window_acc_{k}"]) if ep[e].get(f"window_acc_{k}") not in ("", None) else np.nan
               for k in range(1, 11)] for e in range(1, T + 1)]
        trials.append({"test": float(ep[T]["test_acc"]), "L": col("train_loss"), "a": col("original_val_acc"),
                       "nll": col("original_nll"), "wa": np.array(wa)})
    return trials, T


LNC = math.log(10)  # every table here is Fashion-MNIST


def fh_half(d, e):
    return d["wa"][e - 1][min(max(1, math.ceil(e / 2)), 10) - 1]


def extrapolated_loss(d, e, T, m=3, g=0.5):
    """Minus the training loss extrapolated to epoch T by a power law fitted to the last m epochs (damped by g)."""
    if e < 2:
        return -d["L"][0]
    xs = np.log(np.arange(max(1, e - m + 1), e + 1))
    ys = np.log(d["L"][max(0, e - m):e])
    slope = np.polyfit(xs, ys, 1)[0]
    return -math.exp(ys[-1] + g * slope * (math.log(T) - xs[-1]))


def candidates(T):
    c = {"original": (True, lambda d, e: d["a"][e - 1]),
         "tse-e": (False, lambda d, e: -d["L"][e - 1]),
         "tse-e:2": (False, lambda d, e: -np.mean(d["L"][max(0, e - 2):e])),
         "min-loss": (False, lambda d, e: -np.min(d["L"][:e])),
         "best-acc": (True, lambda d, e: np.max(d["a"][:e])),
         "loss-extrapolated": (False, lambda d, e: extrapolated_loss(d, e, T)),
         "loss-momentum": (False, lambda d, e: -(d["L"][e - 1] - (d["L"][e - 2] - d["L"][e - 1] if e > 1 else 0))),
         "loss+0.1*val-nll": (False, lambda d, e: -d["L"][e - 1] - 0.1 * d["nll"][e - 1])}
    for lam in (1, 3, 8, 20):  # score fusion: accuracy / lambda + nats learned
        c[f"fuse-acc/{lam}"] = (False, lambda d, e, lam=lam: d["a"][e - 1] / lam + LNC - d["L"][e - 1])
        c[f"fuse-fhhalf/{lam}"] = (False, lambda d, e, lam=lam: fh_half(d, e) / lam + LNC - d["L"][e - 1])
    for lam in (0.02, 0.05, 0.1):  # acc-tse v1: a flat raise
        c[f"best-acc+{lam}*nats"] = (True, lambda d, e, lam=lam: min(1, np.max(d["a"][:e]) + lam * max(0, LNC - d["L"][e - 1])))
    for lam in (0.05, 0.1, 0.15):  # acc-tse (v2): the raise shrinks with the schedule left
        c[f"acc-tse:{lam}"] = (True, lambda d, e, lam=lam: min(1, np.max(d["a"][:e]) + lam * (1 - e / T) * max(0, LNC - d["L"][e - 1])))
    return c


def main():
    tables = [(a.split("=", 1)[0], load(a.split("=", 1)[1])) for a in sys.argv[1:]]
    if not tables:
        sys.exit(__doc__)
    names = list(candidates(tables[0][1][1]))
    for name in names:
        cells = []
        for tname, (trials, T) in tables:
            is_acc, fn = candidates(T)[name]
            y = [d["test"] for d in trials]
            ks, err, orr, cur = [], [], [], []
            for e in range(1, T):
                s = [fn(d, e) for d in trials]
                ks.append(kendall(s, y))
                err.append(np.mean([abs(a - b) for a, b in zip(s, y)]))
                orr.append(np.mean([abs(d["a"][e - 1] - b) for d, b in zip(trials, y)]))
                cur.append(np.mean([a - d["a"][e - 1] for a, d in zip(s, trials)]))
            cell = f"{tname}: K " + ("-" if all(math.isnan(k) for k in ks) else f"{np.nanmean(ks):.3f}")
            if is_acc:
                third = max(1, T // 3) - 1
                worse = sum(1 for a, b in zip(err[third:], orr[third:]) if a > b + 1e-12)
                cell += (f", err {100 * np.mean(err[third:]):.2f} (orig {100 * np.mean(orr[third:]):.2f}, worse at "
                         f"{worse} ep), vs current {100 * np.mean(cur[:4]):+.2f}")
            cells.append(cell)
        print(f"{name:22s} " + " | ".join(cells))


if __name__ == "__main__":
    main()
