#!/usr/bin/python3
"""The evidence behind top-k-auto's gate (decision record 0018), from the committed tables.

For each table: Kendall tau-b between the epoch-1 tse-ema score and the epoch-1 validation accuracy over all rows,
the regret of the best final test accuracy among the top 3 rows by epoch-1 tse-ema, and the share of 400 random
samples of m rows whose tau passes the threshold.

Run: /usr/bin/python3 scripts/gate-design.py [TAU [TABLE ...]]   (default 0.2 and the six design tables)
"""
import json
import random
import sqlite3
import sys

import scipy.stats

TABLES = ["hparams", "aug-wd", "nb201", "cnn-hp-aug", "cnn-reg", "resnet-reg"]


def kendall(a, b):
    return scipy.stats.kendalltau(a, b).correlation  # tau-b, as fhist's gate computes it


def main():
    tau_min = float(sys.argv[1]) if len(sys.argv) > 1 else 0.2
    for t in sys.argv[2:] or TABLES:
        db = sqlite3.connect(f"file:docs/data/tables/{t}.db?mode=ro", uri=True)
        by = {}
        for trial, epoch, record in db.execute("SELECT trial, epoch, record FROM epochs"):
            by.setdefault(trial, {})[epoch] = json.loads(record)
        final = max(max(v) for v in by.values())
        ids = [i for i, v in by.items() if final in v and v[final].get("test_acc") is not None]
        score = {i: by[i][1]["scores"]["tse-ema"] for i in ids}
        acc = {i: by[i][1]["original_val_acc"] for i in ids}
        test = {i: by[i][final]["test_acc"] for i in ids}
        top3 = sorted(ids, key=lambda i: -score[i])[:3]
        line = [f"{t}: tau {kendall([score[i] for i in ids], [acc[i] for i in ids]):.2f}",
                f"top-3 regret {100 * (max(test.values()) - max(test[i] for i in top3)):.2f} pt"]
        for m in (20, 27, 40):
            if m > len(ids):
                continue
            passes = 0
            for seed in range(400):
                s = random.Random(seed).sample(ids, m)
                passes += kendall([score[i] for i in s], [acc[i] for i in s]) >= tau_min
            line.append(f"m={m} passes {passes / 400:.2f}")
        print(", ".join(line))


if __name__ == "__main__":
    main()
