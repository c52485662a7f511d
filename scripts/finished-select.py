#!/usr/bin/env python3
"""Issue 26's second line with a score chosen from finished trials.

Usage: /usr/bin/python3 scripts/finished-select.py [--n 20,40,60] [--draws 200] [--promoted M] TABLE [TABLE ...]

A search that has trained n configurations to the full budget knows, for each score it records, how well that
score's ranking at epoch e predicted their final validation accuracy. This script plays that choice out on the
committed tables: per table, mark (epochs T//3, T//2, 2T//3) and n, it draws n configurations without replacement
(seeded, --draws times), picks the score among POOL with the highest Kendall tau-b between its value at e and the
final validation accuracy over those n (ties: POOL's order, so tse-ema first), and measures the picked score's tau
against the final test accuracy over all the table's rows, minus the best recorded score's (the rank file: what the
line compares with). Also printed: the same over the rows not drawn, against the best of POOL on those rows (the
draw's own rows left out). A cell passes when the mean gap over draws is within 0.05.

--picks: also print, per cell, how often each score was picked, its mean tau over the drawn rows (against the final
validation accuracy) and its tau over all rows (against the test accuracy).

--promoted M: the n finished configurations are not a uniform draw but what a search would have finished: the best n
by their one-epoch tse-ema among M drawn uniformly (as a top-K round or a promotion at epoch 1 picks them).
"""
import argparse
import importlib.util
import pathlib

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("kendall_line", HERE / "kendall-line.py")
kl = importlib.util.module_from_spec(spec)
spec.loader.exec_module(kl)  # the table reader and the scores, shared with kendall-line.py

POOL = ("tse-ema", "tse", "fh", "best-acc", "fh-loss", "acc-tse", "original")


def pick(pool, taus):
    """The score with the highest tau (NaN counts as lowest; ties: POOL's order)."""
    return pool[int(np.argmax(np.nan_to_num([taus[p] for p in pool], nan=-2.0)))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", default="20,40,60")
    ap.add_argument("--draws", type=int, default=200)
    ap.add_argument("--promoted", type=int, default=0)
    ap.add_argument("--picks", action="store_true")
    ap.add_argument("tables", nargs="+")
    a = ap.parse_args()
    ns = [int(x) for x in a.n.split(",")]
    cells = {n: [] for n in ns}
    rng = np.random.default_rng(26)
    for name in a.tables:
        d, y, T, rank = kl.load(name)
        val_final = d["acc"][:, T - 1]
        first = kl.tse_ema(d["L"], 1)
        out = []
        for e in (T // 3, T // 2, 2 * T // 3):
            recorded = kl.recorded_at(rank, e)
            best = max(recorded.values())
            s = kl.scores_at(d, e, T)
            pool = [p for p in POOL if not np.isnan(s[p]).any()]
            full = {p: kl.kendall(s[p], y) for p in pool}
            for n in ns:
                if n >= len(y) or a.promoted > len(y) or (a.promoted and a.promoted < n):
                    continue
                gaps, held = [], []
                picks, sample_tau = {}, {q: [] for q in pool}
                for _ in range(a.draws):
                    if a.promoted:
                        drawn = rng.choice(len(y), a.promoted, replace=False)
                        rows = drawn[np.argsort(-first[drawn], kind="stable")[:n]]
                    else:
                        rows = rng.choice(len(y), n, replace=False)
                    rest = np.setdiff1d(np.arange(len(y)), rows)
                    taus = {q: kl.kendall(s[q][rows], val_final[rows]) for q in pool}
                    p = pick(pool, taus)
                    picks[p] = picks.get(p, 0) + 1
                    for q in pool:
                        sample_tau[q].append(taus[q])
                    gaps.append(full[p] - best)
                    rest_tau = {q: kl.kendall(s[q][rest], y[rest]) for q in pool}
                    held.append(rest_tau[p] - max(rest_tau.values()))
                g = float(np.mean(gaps))
                cells[n].append((g, name, e, float(np.mean(held)), float(np.mean(np.array(gaps) >= -0.05))))
                out.append(f"e{e} n{n} {g:+.3f}")
                if a.picks:
                    out.append("[" + ", ".join(f"{q}: {picks.get(q, 0)} picks, tau {np.nanmean(sample_tau[q]):.3f} drawn (val) / "
                                               f"{full[q]:.3f} all (test)" for q in pool) + "]")
            out.append(f"(tse-ema {recorded['tse-ema'] - best:+.3f})")
        print(f"{name} ({len(y)} rows, {T} epochs): " + " ".join(out), flush=True)
    print("\n| finished trials n | worst mean gap (table, epoch) | cells within 0.05 | mean gap | "
          "mean gap on the rows not drawn | draws within 0.05 |\n|---:|---|---:|---:|---:|---:|")
    for n in ns:
        v = cells[n]
        if not v:
            continue
        w = min(v)
        print(f"| {n} | {w[0]:+.3f} ({w[1]}, {w[2]}) | {sum(c[0] >= -0.05 for c in v)} / {len(v)} | "
              f"{np.mean([c[0] for c in v]):+.3f} | {np.mean([c[3] for c in v]):+.3f} | "
              f"{np.mean([c[4] for c in v]):.2f} |")


if __name__ == "__main__":
    main()
