#!/usr/bin/env python3
"""What a rule "hedge only where the gate sample's one-epoch accuracies spread" would change, estimated per table.

Usage: /usr/bin/python3 scripts/hedge-threshold.py TABLE [TABLE ...]   (names under docs/data/tables)

Per table: the hedge's gain at one and three rounds (top-k-auto + tse-ema minus top-k-auto + tse-ema+fh, mean regret
in points over 400 seeds), and the share of 400 random 40-row samples at epoch 1 (top-k-auto's gate sample) whose
validation accuracies have a standard deviation >= each threshold. The estimate for a threshold assumes the hedge's
gain does not depend on the sample's spread within a table: the rule keeps the share P of it and gives up the rest,
so the change in regret against always hedging is gain x (1 - P), averaged over the tables (negative: better).
"""
import importlib.util
import pathlib
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("hedge_signals", HERE / "hedge-signals.py")
hs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hs)  # its reader of the replay files, and through it kendall-line.py's reader of the tables
kl = hs.kl
mean_regret = hs.one_round
THRESHOLDS = [0.08, 0.09, 0.10, 0.11, 0.12]


rng = np.random.default_rng(0)
change = {t: np.zeros(2) for t in THRESHOLDS}
print("| table | gain @1x | gain @3x | " + " | ".join(f"P(sd >= {t:.2f})" for t in THRESHOLDS) + " |")
print("|---|---:|---:|" + "---:|" * len(THRESHOLDS))
for name in sys.argv[1:]:
    gain = np.array([mean_regret(name, "topkauto", "top-k-auto", "tse-ema", m) -
                     mean_regret(name, "hedge", "top-k-auto", "tse-ema+fh", m) for m in (0, 1)])
    d, _, _, _ = kl.load(name)
    acc = d["acc"][:, 0]
    sds = np.array([np.std(acc[rng.choice(len(acc), min(40, len(acc)), replace=False)]) for _ in range(400)])
    shares = [float(np.mean(sds >= t)) for t in THRESHOLDS]
    for t, p in zip(THRESHOLDS, shares):
        change[t] += gain * (1 - p)
    print(f"| {name} | {gain[0]:+.2f} | {gain[1]:+.2f} | " + " | ".join(f"{p:.2f}" for p in shares) + " |")
print()
n = len(sys.argv) - 1
for t in THRESHOLDS:
    print(f"- threshold {t:.2f}: mean change against always hedging {change[t][0] / n:+.3f} pt at one round, "
          f"{change[t][1] / n:+.3f} at three")
