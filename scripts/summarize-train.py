#!/usr/bin/env python3
"""Summarize `fhist train -o FILE` output(s): per epoch, the original validation accuracy and the feature-history
estimate against the final test accuracy, and (with a second file of the same run stored at another feature
precision) the estimate difference between the two.

usage: summarize-train.py RUN.json [OTHER_PRECISION.json]
"""
import json
import sys


def main() -> int:
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    a = json.load(open(sys.argv[1]))
    b = json.load(open(sys.argv[2])) if len(sys.argv) == 3 else None
    for run in (a, b or {"epochs": []}):
        for e in run["epochs"]:  # fhist train's names since the fh estimate is named after its estimator
            e.setdefault("estimate", e.get("fh_val_acc"))
            e.setdefault("estimate_paper", e.get("fh_paper_val_acc"))
    final = a["test_acc"]
    k = a["window"]
    print(f"final test accuracy {100 * final:.2f}% ({a['model']} x{a['width_mult']}, {a['epochs_budget']} epochs, K={k})")
    head = "epoch  orig%   fh%    |orig-final|  |fh-final|  closer"
    if any(e.get("estimate_paper") is not None for e in a["epochs"]):
        head += "  |fast-paper|"
    if b:
        head += f"  fh({b['feature_dtype']})%  |diff|"
    print(head)
    wins = 0
    late = [e for e in a["epochs"] if e["epoch"] >= k]
    max_diff = 0.0
    for i, e in enumerate(a["epochs"]):
        do, dh = abs(e["original_val_acc"] - final), abs(e["estimate"] - final)
        closer = "fh" if dh < do else ("tie" if dh == do else "orig")
        if e["epoch"] >= k and dh < do:
            wins += 1
        line = (f"{e['epoch']:5d}  {100 * e['original_val_acc']:5.2f}  {100 * e['estimate']:5.2f}  "
                f"{100 * do:12.2f}  {100 * dh:10.2f}  {closer:>6}")
        if e.get("estimate_paper") is not None:
            line += f"  {100 * abs(e['estimate'] - e['estimate_paper']):12.2f}"
        if b:
            o = b["epochs"][i]["estimate"]
            max_diff = max(max_diff, abs(o - e["estimate"]))
            line += f"  {100 * o:10.2f}  {100 * abs(o - e['estimate']):6.2f}"
        print(line)
    print(f"epochs >= K where fh is closer to the final test accuracy: {wins} of {len(late)}")
    mean_o = sum(abs(e["original_val_acc"] - final) for e in late) / max(1, len(late))
    mean_h = sum(abs(e["estimate"] - final) for e in late) / max(1, len(late))
    print(f"mean |error| over epochs >= K: original {100 * mean_o:.2f} pt, fh {100 * mean_h:.2f} pt")
    if b:
        print(f"max |fh({a['feature_dtype']}) - fh({b['feature_dtype']})| over all epochs: {100 * max_diff:.2f} pt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
