#!/usr/bin/env python3
"""Markdown tables for docs/results.md from `fhist rank -o RANK.json` and `fhist replay -o REPLAY.json`.

Usage: results-md.py RANK.json REPLAY.json
Prints: Kendall tau-b and Spearman per epoch for every estimator, top-1 regret and mean |estimate - test| per epoch,
and the replay table (algorithm x estimator: final test accuracy of the returned configuration, mean +- sd over
seeds, regret against the table's best, how often the best was found, epochs spent).
"""
import json
import math
import sys
from collections import OrderedDict, defaultdict


def fmt(v, scale=1.0, prec=3):
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{scale * v:.{prec}f}"


def rank_tables(rows):
    by = OrderedDict()
    for r in rows:
        by.setdefault(r["estimator"], []).append(r)
    epochs = max(r["epoch"] for r in rows)
    out = []
    for title, key, scale, prec, acc_only in (("Kendall tau-b", "kendall", 1, 3, False),
                                              ("Spearman", "spearman", 1, 3, False),
                                              ("top-1 regret (pt)", "top1_regret", 100, 2, False),
                                              ("mean abs(estimate - final test) (pt)", "mean_abs_error", 100, 2, True),
                                              ("mean (estimate - current val acc) (pt)", "vs_current", 100, 2, True)):
        out.append(f"\n{title} by epoch ({rows[0]['configs']} configurations; mean over epochs 1-{epochs - 1}):\n")
        out.append("| estimator | " + " | ".join(str(e) for e in range(1, epochs + 1)) + " | mean |")
        out.append("|---|" + "---:|" * (epochs + 1))
        for name, rs in by.items():
            if acc_only and not rs[0]["is_accuracy"]:
                continue
            vals = [r[key] for r in sorted(rs, key=lambda r: r["epoch"])]
            if all(v is None for v in vals):
                continue  # not measured in this table
            early = [v for v in vals[:-1] if v is not None]
            mean = sum(early) / len(early) if early else None
            out.append(f"| `{name}` | " + " | ".join(fmt(v, scale, prec) for v in vals) + f" | **{fmt(mean, scale, prec)}** |")
    return "\n".join(out)


def replay_table(runs):
    groups = OrderedDict()
    for r in runs:
        groups.setdefault((r["algo"], r["estimator"]), []).append(r)
    out = ["| algorithm | estimator | test acc % (mean +- sd) | regret (pt) | best found | epochs |",
           "|---|---|---:|---:|---:|---:|"]
    for (algo, est), rs in groups.items():
        acc = [r["test_acc"] for r in rs if r["test_acc"] is not None]
        n = len(acc)
        mean = sum(acc) / n
        sd = math.sqrt(sum((a - mean) ** 2 for a in acc) / (n - 1)) if n > 1 else 0.0
        reg = sum(r["regret"] for r in rs if r["regret"] is not None) / n
        hit = sum(1 for r in rs if r["regret"] is not None and r["regret"] <= 0) / n
        ep = sum(r["epochs"] for r in rs) / len(rs)
        out.append(f"| {algo} | `{est}` | {100 * mean:.2f} +- {100 * sd:.2f} | {100 * reg:.2f} | {100 * hit:.0f}% | {ep:.0f} |")
    return "\n".join(out) + f"\n\n({len(next(iter(groups.values())))} seeds per row.)"


if __name__ == "__main__":
    print(rank_tables(json.load(open(sys.argv[1]))))
    if len(sys.argv) > 2:
        print()
        print(replay_table(json.load(open(sys.argv[2]))))
