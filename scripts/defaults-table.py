#!/usr/bin/env python3
"""Summarise scripts/measure-defaults.sh: test accuracy per (budget, augmentation), mean over seeds, as Markdown.
Usage: defaults-table.py [DIR]   (default docs/data/defaults)"""
import collections
import glob
import json
import statistics
import sys

runs = collections.defaultdict(list)
for path in sorted(glob.glob((sys.argv[1] if len(sys.argv) > 1 else "docs/data/defaults") + "/*.json")):
    d = json.load(open(path))
    if "test_acc" not in d:  # still running
        continue
    key = (d["train_size"], d["epochs_budget"], d["width_mult"], d["augment"])
    runs[key].append((d["seed"], d["test_acc"], d["epochs"][-1]["original_val_acc"], d["total_seconds"]))
print("| train images | epochs | width | --augment | seeds | test accuracy % (mean) | per seed | last val % (mean) |")
print("|---:|---:|---:|---|---:|---:|---|---:|")
for (n, e, w, aug), rs in sorted(runs.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2], -statistics.mean(r[1] for r in kv[1]))):
    rs.sort()
    print(f"| {n} | {e} | {w} | `{aug}` | {len(rs)} | {100 * statistics.mean(r[1] for r in rs):.2f} | "
          f"{', '.join(f'{100 * r[1]:.2f}' for r in rs)} | {100 * statistics.mean(r[2] for r in rs):.2f} |")
