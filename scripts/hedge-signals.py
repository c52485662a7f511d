#!/usr/bin/env python3
"""Where the hedged ranking (tse-ema+fh) helps top-k-auto and where it costs, beside what a first sample shows.

Usage: /usr/bin/python3 scripts/hedge-signals.py TABLE [TABLE ...]   (names under docs/data/tables)

Per table: the hedge's gain at one round (top-k-auto + tse-ema minus top-k-auto + tse-ema+fh, mean regret in points
over 400 seeds, from seeds400/NAME-topkauto.json and NAME-hedge.json), then, averaged over 200 random 40-row samples
at epoch 1 (top-k-auto's gate sample): Kendall tau of the training loss and of fh against the validation accuracy,
the median training loss in units of ln C (m1, how far the population fitted in one epoch), the standard deviation
of the validation accuracies, and both scores' tau against the final test accuracy (which a search does not know).
"""
import importlib.util
import json
import math
import pathlib
import sys

import numpy as np
import scipy.stats

HERE = pathlib.Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("kendall_line", HERE / "kendall-line.py")
kl = importlib.util.module_from_spec(spec)
spec.loader.exec_module(kl)  # its loader: one reader of the tables for both scripts
SEEDS400 = kl.TABLES / "seeds400"


def one_round(name, kind, algo, estimator, mark=0):
    """Mean regret (points, 400 seeds) of one search at the mark-th anytime mark (0: one round, 1: three)."""
    cells = json.load(open(SEEDS400 / f"{name}-{kind}.json"))["cells"]
    cell = next(c for c in cells if c["algo"] == algo and c["estimator"] == estimator)
    return 100 * cell["anytime"][mark]["mean"]


def tau(a, b):
    return scipy.stats.kendalltau(a, b).correlation


def main():
    rng = np.random.default_rng(0)
    print("| table | hedge's gain @1x | tau(loss, acc) | tau(fh, acc) | m1 | sd(acc) | tau(loss, test) "
          "| tau(fh, test) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in sys.argv[1:]:
        gain = (one_round(name, "topkauto", "top-k-auto", "tse-ema") -
                one_round(name, "hedge", "top-k-auto", "tse-ema+fh"))
        d, test, _, _ = kl.load(name)
        loss, acc, fh = d["L"][:, 0], d["acc"][:, 0], d["fh"][:, 0]
        rows = []
        for _ in range(200):
            i = rng.choice(len(loss), min(40, len(loss)), replace=False)
            rows.append([tau(-loss[i], acc[i]), tau(fh[i], acc[i]), np.median(loss[i]) / math.log(d["C"]),
                         np.std(acc[i]), tau(-loss[i], test[i]), tau(fh[i], test[i])])
        f = np.nanmean(np.array(rows), axis=0)
        cells = " | ".join(f"{v:.2f}" if k != 3 else f"{v:.3f}" for k, v in enumerate(f))
        print(f"| {name} | {gain:+.2f} | {cells} |")


if __name__ == "__main__":
    main()
