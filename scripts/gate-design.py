#!/usr/bin/python3
"""The evidence behind top-k-auto's gate (decision record 0018), from the committed tables.

For each table: Kendall tau-b between the epoch-1 tse-ema score and the epoch-1 validation accuracy over all rows,
the regret of the best final test accuracy among the top 3 rows by epoch-1 tse-ema, and the share of 400 random
samples of m rows whose tau passes the threshold.

Run: /usr/bin/python3 scripts/gate-design.py [TAU [TABLE ...]]   (default 0.2 and the six design tables)
"""
import importlib.util
import pathlib
import random
import sys

HERE = pathlib.Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("kendall_line", HERE / "kendall-line.py")
kl = importlib.util.module_from_spec(spec)
spec.loader.exec_module(kl)  # the table reader, the scores and tau-b, shared with kendall-line.py

TABLES = ["hparams", "aug-wd", "nb201", "cnn-hp-aug", "cnn-reg", "resnet-reg"]


def main():
    tau_min = float(sys.argv[1]) if len(sys.argv) > 1 else 0.2
    for t in sys.argv[2:] or TABLES:
        d, test, _, _ = kl.load(t)
        score, acc = kl.tse_ema(d["L"], 1), d["acc"][:, 0]  # the gate's pair: both at the first epoch
        row = {t: i for i, t in enumerate(d["trials"])}
        ids = [row[t] for t in d["order"]]  # samples drawn over the rows in the journal's order, as before
        top3 = sorted(ids, key=lambda i: -score[i])[:3]
        line = [f"{t}: tau {kl.kendall(score, acc):.2f}",
                f"top-3 regret {100 * (max(test) - max(test[i] for i in top3)):.2f} pt"]
        for m in (20, 27, 40):
            if m > len(ids):
                continue
            passes = 0
            for seed in range(400):
                s = random.Random(seed).sample(ids, m)
                passes += kl.kendall(score[s], acc[s]) >= tau_min
            line.append(f"m={m} passes {passes / 400:.2f}")
        print(", ".join(line))


if __name__ == "__main__":
    main()
