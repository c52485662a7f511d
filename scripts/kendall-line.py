#!/usr/bin/env python3
"""Issue 26's second acceptance line, checked for every score fhist records and for the ways to combine them we tried.

Usage: /usr/bin/python3 scripts/kendall-line.py TABLE [TABLE ...]   (names under docs/data/tables: NAME.db, NAME-rank.json)

The line: the default score's Kendall tau-b against the final test accuracy is within 0.05 of the best recorded
score's at 1/3, 1/2 and 2/3 of the run (epochs T//3, T//2, 2T//3) on every table. For each table and mark it prints the
best recorded score (from `fhist rank`'s file) and how far tse-ema and fh are below it; then, per candidate, the
worst gap over all cells, the number of cells within 0.05 and the mean gap. Candidates:
- every score `fhist rank` recorded (read from the rank file);
- rank fusions w x rank(A) + (1 - w) x rank(B) over the table's configurations (a ranking, not a per-trial score);
- evidence selections: at epoch e, the score among tse-ema, tse, fh, best-acc, acc-tse, original whose ranking at an
  earlier epoch (e//3 or e//2) best predicts the configurations' validation accuracy (or best accuracy so far) at e:
  what a search can learn from its own promotions, here with every configuration's pair;
- a regime switch: tse-ema, unless the share of configurations whose validation loss has risen 5 % above its
  minimum exceeds a threshold (overfitting), then best-acc;
- fit blends (designed 2026-12-05 on these twelve tables, frozen before the next table was built): the configurations'
  median training loss at epoch e in units of chance (ln C), m, says how far the population has fitted its training
  set; where it is low, training losses rank capacity to memorise rather than to generalise. The ranking is
  w x rank(tse-ema) + (1 - w) x rank(B), w = clip((m - lo) / (hi - lo), 0, 1); the frozen choice is B = best-acc,
  lo = 0.2, hi = 0.4. The other ranges, B and hard switches (tse-ema above a threshold, B below) are what was tried.
Recomputed scores (tse-ema, best-acc, fh) are checked against the rank file, so the two cannot drift apart.
"""
import json
import math
import pathlib
import sqlite3
import sys

import numpy as np
import scipy.stats

TABLES = pathlib.Path(__file__).resolve().parent.parent / "docs" / "data" / "tables"


def kendall(a, b):
    return float("nan") if np.any(np.isnan(a)) else scipy.stats.kendalltau(a, b).correlation  # tau-b, as fhist rank


def load(name):
    """Per configuration and epoch: training loss, validation accuracy and NLL, fh, fh's NLL; the final test accuracy."""
    db = sqlite3.connect(f"file:{TABLES / (name + '.db')}?mode=ro", uri=True)
    by = {}
    for trial, epoch, record in db.execute("SELECT trial, epoch, record FROM epochs"):
        by.setdefault(trial, {})[epoch] = json.loads(record)
    T = max(max(e) for e in by.values())
    ids = [t for t, ep in sorted(by.items()) if len(ep) >= T and "test_acc" in ep[T]]
    trials = [by[t] for t in ids]
    kept = set(ids)

    def col(get):
        return np.array([[get(ep[e]) for e in range(1, T + 1)] for ep in trials], dtype=float)

    d = {"L": col(lambda r: r["train_loss"]), "acc": col(lambda r: r["original_val_acc"]),
         "nll": col(lambda r: r.get("original_nll", math.nan)), "fh": col(lambda r: r["scores"]["fh"]),
         "fh_nll": col(lambda r: r["window_nll"][-1] if r.get("window_nll") else math.nan),
         "C": trials[0][T].get("num_classes", 10), "trials": ids,
         "order": [t for t in by if t in kept]}  # the trial ids of the rows; the journal's order of them
    rank = json.load(open(TABLES / (name + "-rank.json")))
    return d, np.array([ep[T]["test_acc"] for ep in trials]), T, rank


def recorded_at(rank, e):
    """Every score's Kendall tau at epoch e as `fhist rank` recorded it (the rank file), by name."""
    return {r["estimator"]: r["kendall"] for r in rank if r["epoch"] == e and r["kendall"] is not None}


def tse_ema(L, e):  # Ru et al.'s released code: ema = 0.1 ema + 0.9 loss
    ema = L[:, 0].copy()
    for i in range(1, e):
        ema = 0.1 * ema + 0.9 * L[:, i]
    return -ema


def scores_at(d, e, T):
    best = np.max(d["acc"][:, :e], axis=1)
    return {"tse-ema": tse_ema(d["L"], e), "tse": -np.sum(d["L"][:, :e], axis=1), "fh": d["fh"][:, e - 1],
            "best-acc": best, "original": d["acc"][:, e - 1], "fh-loss": -d["fh_nll"][:, e - 1],
            "acc-tse": np.minimum(1, best + 0.1 * (1 - e / T) * np.maximum(0, math.log(d["C"]) - d["L"][:, e - 1]))}


def fraction_rising(d, e):
    nll = d["nll"][:, :e]
    return float("nan") if np.isnan(nll).all() else float(np.mean(nll[:, -1] > 1.05 * np.min(nll, axis=1)))


def fuse(s, a, b, w):
    """w x rank(a) + (1 - w) x rank(b) over the configurations; None where the table lacks b."""
    rank = scipy.stats.rankdata
    return None if np.isnan(s[b]).any() else w * rank(s[a]) + (1 - w) * rank(s[b])


def candidates(d, e, T):
    """name -> the ranking at epoch e (None where the table lacks what it needs)."""
    s = scores_at(d, e, T)
    out = {}
    for a, b in (("tse-ema", "best-acc"), ("tse-ema", "fh"), ("tse-ema", "fh-loss"), ("tse", "fh-loss")):
        for w in (0.5, 0.7):
            out[f"{w} rank({a}) + {1 - w:.1f} rank({b})"] = fuse(s, a, b, w)
    pool = ("tse-ema", "tse", "fh", "best-acc", "acc-tse", "original")
    for lag_name, lag in (("e//3", lambda e: max(1, e // 3)), ("e//2", lambda e: max(1, e // 2))):
        for target_name, target in (("val acc", d["acc"][:, e - 1]), ("best acc", s["best-acc"])):
            earlier = scores_at(d, lag(e), T)
            pick = max(pool, key=lambda n: kendall(earlier[n], target))
            out[f"select by {lag_name} -> {target_name}"] = s[pick]
    for share in (0.2, 0.3, 0.4):
        rising = fraction_rising(d, e)
        out[f"switch to best-acc at rising > {share}"] = None if math.isnan(rising) else (
            s["best-acc"] if rising > share else s["tse-ema"])
    m = fit_level(d, e)
    for b, lo, hi in (("best-acc", 0.2, 0.4), ("best-acc", 0.15, 0.45), ("best-acc", 0.25, 0.45), ("best-acc", 0.2, 0.5),
                      ("fh", 0.2, 0.4), ("fh-loss", 0.2, 0.4)):
        out[f"fit blend tse-ema/{b} {lo}-{hi}"] = fuse(s, "tse-ema", b, min(1.0, max(0.0, (m - lo) / (hi - lo))))
    for b, th in (("best-acc", 0.33), ("best-acc", 0.36), ("fh", 0.33)):
        out[f"fit switch to {b} below {th}"] = s[b] if m < th else s["tse-ema"]
    return out, s


def fit_level(d, e):
    """Median training loss over the configurations at epoch e, in units of the loss at chance (ln C)."""
    return float(np.median(d["L"][:, e - 1]) / math.log(d["C"]))


def main():
    names = sys.argv[1:]
    if not names:
        sys.exit(__doc__)
    gaps = {}
    for name in names:
        d, y, T, rank = load(name)
        cells = []
        for e in (T // 3, T // 2, 2 * T // 3):
            recorded = recorded_at(rank, e)
            best_name = max(recorded, key=recorded.get)
            best = recorded[best_name]
            cands, s = candidates(d, e, T)
            for check in ("tse-ema", "best-acc", "fh"):
                if abs(kendall(s[check], y) - recorded[check]) > 1e-9:
                    sys.exit(f"{name} epoch {e}: recomputed {check} differs from the rank file")
            for n, v in recorded.items():
                gaps.setdefault(n, []).append((v - best, name, e))
            for n, ranking in cands.items():
                if ranking is not None:
                    gaps.setdefault(n, []).append((kendall(ranking, y) - best, name, e))
            cells.append(f"epoch {e}: best {best_name} {best:.3f}, tse-ema {recorded['tse-ema'] - best:+.3f}, "
                         f"fh {recorded['fh'] - best:+.3f}, fit {fit_level(d, e):.3f}")
        print(f"{name} ({len(y)} configurations, {T} epochs): " + "; ".join(cells))
    print(f"\n| candidate | worst gap (table, epoch) | cells within 0.05 | mean gap |\n|---|---|---:|---:|")
    for n, v in sorted(gaps.items(), key=lambda kv: -min(g for g, _, _ in kv[1])):
        worst = min(v)
        print(f"| {n} | {worst[0]:+.3f} ({worst[1]}, {worst[2]}) | {sum(g >= -0.05 for g, _, _ in v)} / {len(v)} | "
              f"{np.mean([g for g, _, _ in v]):+.3f} |")


if __name__ == "__main__":
    main()
