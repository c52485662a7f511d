#!/usr/bin/env python3
"""How well does each epoch's score rank the trials by their final accuracy?

Input: the epochs table of a search in which every trial trained to the same final epoch (e.g. `fhist search --algo
random --min-budget E --max-budget E --estimator fh`), exported with
`fhist export --journal J --table epochs --format json -o epochs.json`.

For every epoch e it compares two rankings of the trials against their original validation accuracy at the final
epoch: by the network's own accuracy at e ("original"), and by the feature-history estimate at e ("fh"). It prints
Spearman's rho, Kendall's tau-b, and the regret of picking the top-ranked trial at e (best final accuracy minus the
picked trial's final accuracy), and writes the same as JSON with --json.

With --sh N,ETA it also replays successive halving on the recorded histories (as a tabular benchmark does): many
random subsets of N trials start at 1 epoch, each rung keeps the top 1/ETA by the score (original or fh) and
multiplies the budget by ETA, the survivor is trained to the final epoch. fhist's training is deterministic per trial
and a promoted trial continues from its checkpoint, so a trial's scores at epoch e are the same whichever rungs led
there: the replay is what a real SH run over those N trials would have chosen. Regret is measured by the final
accuracy.

Usage: rank-correlation.py epochs.json [--json out.json] [--sh N,ETA] [--repeats R]
"""
import random
import json
import math
import sys
from collections import defaultdict


def ranks(xs):
    """Average ranks (1-based), ties share the mean rank."""
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    r = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return r


def pearson(a, b):
    n = len(a)
    ma, mb = sum(a) / n, sum(b) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    va = sum((x - ma) ** 2 for x in a)
    vb = sum((y - mb) ** 2 for y in b)
    return cov / math.sqrt(va * vb) if va > 0 and vb > 0 else float("nan")


def spearman(a, b):
    return pearson(ranks(a), ranks(b))


def kendall_tau_b(a, b):
    conc = disc = ties_a = ties_b = 0
    n = len(a)
    for i in range(n):
        for j in range(i + 1, n):
            da, db = a[i] - a[j], b[i] - b[j]
            if da == 0 and db == 0:
                continue
            if da == 0:
                ties_a += 1
            elif db == 0:
                ties_b += 1
            elif (da > 0) == (db > 0):
                conc += 1
            else:
                disc += 1
    denom = math.sqrt((conc + disc + ties_a) * (conc + disc + ties_b))
    return (conc - disc) / denom if denom > 0 else float("nan")


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 2
    rows = json.load(open(argv[1]))
    out_json = argv[argv.index("--json") + 1] if "--json" in argv else None
    by_trial = defaultdict(dict)
    for r in rows:
        if "fh_val_acc" not in r:  # exported before the fh estimate was named after its estimator
            r["fh_val_acc"] = r.get("estimate")
        by_trial[r["trial"]][r["epoch"]] = r
    final_epoch = max(max(eps) for eps in by_trial.values())
    # Only trials that reached the final epoch (failed or eliminated ones have no final accuracy).
    trials = sorted(t for t, eps in by_trial.items() if final_epoch in eps)
    if len(trials) < 3:
        print(f"{argv[1]}: only {len(trials)} trial(s) reached epoch {final_epoch}; need 3 or more", file=sys.stderr)
        return 1
    final = [by_trial[t][final_epoch]["original_val_acc"] for t in trials]
    best_final = max(final)
    table = []
    print(f"{len(trials)} trials, final epoch {final_epoch}, best final accuracy {100 * best_final:.2f}%")
    print(f"{'epoch':>5} | {'rho orig':>8} {'rho fh':>8} | {'tau orig':>8} {'tau fh':>8} | "
          f"{'regret orig':>11} {'regret fh':>10}")
    for e in range(1, final_epoch):
        orig = [by_trial[t].get(e, {}).get("original_val_acc") for t in trials]
        fh = [by_trial[t].get(e, {}).get("fh_val_acc") for t in trials]
        if any(v is None for v in orig):
            continue
        entry = {"epoch": e, "spearman_original": spearman(orig, final), "kendall_original": kendall_tau_b(orig, final),
                 "regret_original": best_final - final[max(range(len(orig)), key=lambda i: orig[i])]}
        if all(v is not None for v in fh):
            entry.update({"spearman_fh": spearman(fh, final), "kendall_fh": kendall_tau_b(fh, final),
                          "regret_fh": best_final - final[max(range(len(fh)), key=lambda i: fh[i])]})
        table.append(entry)
        f = lambda k, scale=1.0: f"{scale * entry[k]:.3f}" if k in entry else "-"
        print(f"{e:>5} | {f('spearman_original'):>8} {f('spearman_fh'):>8} | {f('kendall_original'):>8} "
              f"{f('kendall_fh'):>8} | {f('regret_original', 100):>10}% {f('regret_fh', 100):>9}%")
    fh_rows = [t for t in table if "spearman_fh" in t]
    if fh_rows:
        mean = lambda k: sum(t[k] for t in fh_rows) / len(fh_rows)
        print(f"mean over epochs 1..{final_epoch - 1}: rho original {mean('spearman_original'):.3f}, "
              f"fh {mean('spearman_fh'):.3f}; tau original {mean('kendall_original'):.3f}, fh {mean('kendall_fh'):.3f}; "
              f"regret original {100 * mean('regret_original'):.2f} pt, fh {100 * mean('regret_fh'):.2f} pt")
    result = {"trials": len(trials), "final_epoch": final_epoch, "best_final": best_final, "epochs": table}
    if "--sh" in argv:
        n, eta = (int(v) for v in argv[argv.index("--sh") + 1].split(","))
        repeats = int(argv[argv.index("--repeats") + 1]) if "--repeats" in argv else 2000
        if not 2 <= n <= len(trials) or eta < 2:
            print(f"--sh {n},{eta}: need 2 <= N <= {len(trials)} trials and ETA >= 2", file=sys.stderr)
            return 2
        result["sh"] = successive_halving(by_trial, trials, final_epoch, n, eta, repeats)
        sh = result["sh"]
        print(f"successive halving, {n} trials, eta {eta}, rungs at {sh['budgets']} epochs, {repeats} random subsets:")
        for key in ("original", "fh"):
            print(f"  by {key:>8}: mean regret {100 * sh[key]['mean_regret']:.2f} pt, picks the subset's best "
                  f"{100 * sh[key]['p_best']:.1f}% of the time")
    if out_json:
        with open(out_json, "w") as fp:
            json.dump(result, fp, indent=2)
    return 0


def successive_halving(by_trial, trials, final_epoch, n, eta, repeats):
    budgets = [1]
    while budgets[-1] * eta < final_epoch:
        budgets.append(budgets[-1] * eta)
    final = {t: by_trial[t][final_epoch]["original_val_acc"] for t in trials}
    rng = random.Random(0)
    out = {"budgets": budgets}
    subsets = [rng.sample(trials, n) for _ in range(repeats)]
    for key, field in (("original", "original_val_acc"), ("fh", "fh_val_acc")):
        regrets, hits = [], 0
        for subset in subsets:
            alive = list(subset)
            for b in budgets:
                if len(alive) == 1:
                    break
                keep = max(1, len(alive) // eta)
                # ties broken by trial id, the same for both scores
                alive = sorted(alive, key=lambda t: (-by_trial[t][b][field], t))[:keep]
            chosen = max(alive, key=lambda t: (by_trial[t][final_epoch][field], -t))
            best = max(final[t] for t in subset)
            regrets.append(best - final[chosen])
            hits += final[chosen] == best
        out[key] = {"mean_regret": sum(regrets) / len(regrets), "p_best": hits / len(subsets)}
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv))
