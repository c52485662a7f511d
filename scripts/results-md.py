#!/usr/bin/env python3
"""Markdown tables for docs/results.md from `fhist rank -o RANK.json` and `fhist replay -o REPLAY.json`.

Usage: results-md.py RANK.json REPLAY.json
       results-md.py --summary NAME RANK.json REPLAY.json [NAME RANK.json REPLAY.json ...]
       results-md.py --baselines NAME SUMMARY.json[,SUMMARY.json] [NAME SUMMARY.json ...]
Prints: Kendall tau-b and Spearman per epoch for every estimator, top-1 regret and mean |estimate - test| per epoch,
and the replay table (algorithm x estimator: final test accuracy of the returned configuration, mean +- sd over
seeds, regret against the table's best, how often the best was found, epochs spent). --summary: one row per
estimator, per table its mean Kendall tau-b over epochs 1..T-1 and its mean regret with SH, ASHA, HyperBand, BOHB.
--baselines: from `fhist replay --rounds R --bootstrap B --summary FILE`, one row per (algorithm, score), per table
the mean anytime regret at 1x, 3x and 9x HyperBand's round of epochs with its 95% bootstrap interval (rows and seeds).
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
        third = max(1, epochs // 3)  # "from 1/3 of the budget on": epochs third..epochs-1
        late = f" {third}-{epochs - 1}" if acc_only else ""
        out.append(f"\n{title} by epoch ({rows[0]['configs']} configurations; mean over epochs 1-{epochs - 1}"
                   + (f"; and over{late}" if acc_only else "") + "):\n")
        out.append("| estimator | " + " | ".join(str(e) for e in range(1, epochs + 1)) + " | mean |"
                   + (f" mean{late} |" if acc_only else ""))
        out.append("|---|" + "---:|" * (epochs + 1 + (1 if acc_only else 0)))
        for name, rs in by.items():
            if acc_only and not rs[0]["is_accuracy"]:
                continue
            vals = [r[key] for r in sorted(rs, key=lambda r: r["epoch"])]
            if all(v is None for v in vals):
                continue  # not measured in this table
            early = [v for v in vals[:-1] if v is not None]
            mean = sum(early) / len(early) if early else None
            line = f"| `{name}` | " + " | ".join(fmt(v, scale, prec) for v in vals) + f" | **{fmt(mean, scale, prec)}** |"
            if acc_only:
                tail = [v for v in vals[third - 1:-1] if v is not None]
                line += f" **{fmt(sum(tail) / len(tail) if tail else None, scale, prec)}** |"
            out.append(line)
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


def summary(triples):
    algos = ("sh", "asha", "hyperband", "bohb")
    head = "| estimator |"
    rule = "|---|"
    cells = defaultdict(dict)
    order = []
    for name, rank_path, replay_path in triples:
        head += f" {name}: Kendall | " + " | ".join(a.replace("hyperband", "HB").upper() if a != "hyperband" else "HB"
                                                   for a in algos) + " |"
        rule += "---:|" * (1 + len(algos))
        rows = json.load(open(rank_path))
        epochs = max(r["epoch"] for r in rows)
        for r in rows:
            if r["estimator"] not in order:
                order.append(r["estimator"])
        for est in order:
            ks = [r["kendall"] for r in rows if r["estimator"] == est and r["epoch"] < epochs and r["kendall"] is not None]
            if ks:
                cells[est][(name, "k")] = sum(ks) / len(ks)
        regrets = defaultdict(list)
        for r in json.load(open(replay_path)):
            if r["regret"] is not None:
                regrets[(r["algo"], r["estimator"])].append(r["regret"])
        for (algo, est), v in regrets.items():
            cells[est][(name, algo)] = sum(v) / len(v)
    out = [head, rule]
    for est in order:
        line = f"| `{est}` |"
        for name, _, _ in triples:
            k = cells[est].get((name, "k"))
            line += f" {fmt(k)} |" + "".join(f" {fmt(cells[est].get((name, a)), 100, 2)} |" for a in algos)
        out.append(line)
    return "\n".join(out)


def load_summaries(paths):
    """One table's summaries (comma-separated files of one table, e.g. the searches and random search): cells merged.
    A cell in several files (a `--bootstrap` file and a many-seed file without one) takes its means from the file
    with the most seeds and its intervals from the bootstrap file."""
    files = [json.load(open(p)) for p in paths.split(",")]
    merged = dict(files[0])
    keys = []
    for f in files:
        keys += [(c["algo"], c["estimator"]) for c in f["cells"] if (c["algo"], c["estimator"]) not in keys]
    merged["cells"] = []
    for key in keys:
        found = [(f, c) for f in files for c in f["cells"] if (c["algo"], c["estimator"]) == key]
        boot = next((c for f, c in found if f["bootstrap"] > 0), None)
        top, precise = max(found, key=lambda fc: fc[0]["seeds"])
        cell = dict(boot or precise, mean=precise["mean"], seeds=top["seeds"])
        cell["anytime"] = [dict(b, mean=m["mean"], se=m.get("se"))
                           for b, m in zip((boot or precise)["anytime"], precise["anytime"])]
        merged["cells"].append(cell)
    merged["seeds"] = max(f["seeds"] for f in files)
    merged["bootstrap"] = max(f["bootstrap"] for f in files)
    merged["bootstrap_seeds"] = max((f["seeds"] for f in files if f["bootstrap"] > 0), default=0)
    return merged


def baselines(pairs):
    tables = [(name, load_summaries(paths)) for name, paths in pairs]
    marks = (1, 3, 9)
    head = "| search |" + "".join(f" {name} @{k}x |" for name, _ in tables for k in marks)
    out = [head, "|---|" + "---:|" * (len(tables) * len(marks))]
    order = []
    for _, t in tables:
        for c in t["cells"]:
            if (c["algo"], c["estimator"]) not in order:
                order.append((c["algo"], c["estimator"]))
    for algo, est in order:
        line = f"| {algo} + `{est}` |"
        for _, t in tables:
            cell = next((c for c in t["cells"] if c["algo"] == algo and c["estimator"] == est), None)
            for k in marks:
                a = cell["anytime"][k - 1] if cell and len(cell["anytime"]) >= k else None
                if a is None or a["mean"] is None:
                    line += " - |"
                else:
                    line += f" {100 * a['mean']:.2f} [{fmt(a.get('low'), 100, 2)}, {fmt(a.get('high'), 100, 2)}] |"
        out.append(line)
    notes = "; ".join(f"{name}: {t['rows']} rows, round {t['round_epochs']} epochs, means over {t['seeds']} seeds, "
                      f"intervals over {t['bootstrap']} resamples x {t['bootstrap_seeds']} seeds" for name, t in tables)
    # The mean over the tables of each search's mean anytime regret, for searches every table has; lowest first at 1x.
    means = []
    for algo, est in order:
        cells = [next((c for c in t["cells"] if c["algo"] == algo and c["estimator"] == est), None) for _, t in tables]
        if any(c is None or len(c["anytime"]) < max(marks) for c in cells):
            continue
        vals = [[c["anytime"][k - 1]["mean"] for c in cells] for k in marks]
        if any(v is None for row in vals for v in row):
            continue
        means.append((algo, est, [sum(row) / len(row) for row in vals]))
    means.sort(key=lambda m: m[2][0])
    mean_head = "| search (mean over the tables) |" + "".join(f" @{k}x |" for k in marks)
    mean_out = [mean_head, "|---|" + "---:|" * len(marks)]
    for algo, est, m in means:
        mean_out.append(f"| {algo} + `{est}` |" + "".join(f" {100 * v:.2f} |" for v in m))
    return ("\n".join(out) + f"\n\n(Mean regret in points of test accuracy; [95% interval]. {notes}.)\n\n" +
            "\n".join(mean_out))


def acceptance(search, pairs):
    """Issue 26's first acceptance line for one search ("algo+estimator", e.g. top-k-auto+tse-ema+fh): on every table
    with >= 400 rows, its mean regret at 1x and 3x HyperBand's epochs against random search, the one-epoch top-K (by
    tse-ema) and HyperBand + tse-e, with the pooled standard error (each interval's width / 3.92, combined in
    quadrature); then the means over all tables. Means from the file with the most seeds, intervals from the
    bootstrap (load_summaries)."""
    algo, est = search.split("+", 1)
    baselines = [("random", "original"), ("top-k", "tse-ema"), ("hyperband", "tse-e")]
    tables = [(name, load_summaries(paths)) for name, paths in pairs]
    seeds = set()  # the seed counts the means came from
    marks = (1, 3)

    def cell(t, a, e):
        c = next((c for c in t["cells"] if c["algo"] == a and c["estimator"] == e), None)
        if c is not None:
            seeds.add(c["seeds"])
        return c if c is not None and "low" in c else None

    out = ["| table | mark | " + f"{algo} + `{est}` | " + " | ".join(f"{a} + `{e}` (diff, pooled SE)" for a, e in baselines)
           + " |", "|---|---|---:|" + "---:|" * len(baselines)]
    means = {k: {(a, e): [] for a, e in [(algo, est)] + baselines} for k in marks}
    verdict = []
    for name, t in tables:
        mine = cell(t, algo, est)
        if mine is None:
            raise SystemExit(f"{name}: no bootstrapped {algo} + {est} cell")
        for k in marks:
            m = mine["anytime"][k - 1]
            means[k][(algo, est)].append(m["mean"])
            line = f"| {name} | {k}x | {100 * m['mean']:.2f} |"
            for a, e in baselines:
                b = cell(t, a, e)
                if b is None:
                    raise SystemExit(f"{name}: no bootstrapped {a} + {e} cell")
                b = b["anytime"][k - 1]
                means[k][(a, e)].append(b["mean"])
                se = ((m["high"] - m["low"]) ** 2 + (b["high"] - b["low"]) ** 2) ** 0.5 / 3.92
                diff = m["mean"] - b["mean"]
                ok = diff <= se
                line += f" {100 * b['mean']:.2f} ({100 * diff:+.2f}, {100 * se:.2f}){'' if ok else ' **x**'} |"
                if t["rows"] >= 400 and not ok:
                    verdict.append(f"{name} at {k}x: {100 * diff:+.2f} pt against {a} + {e}, pooled SE {100 * se:.2f}")
            out.append(line)
    out.append("")
    for k in marks:
        row = {s_: 100 * sum(v) / len(v) for s_, v in means[k].items()}
        lowest = min(row[(algo, est)] < row[b] for b in baselines)
        out.append(f"- mean over the {len(tables)} tables at {k}x: {algo} + `{est}` {row[(algo, est)]:.2f}; " +
                   "; ".join(f"{a} + `{e}` {row[(a, e)]:.2f}" for a, e in baselines) +
                   (" (lower than each)" if lowest else " (**not** lower than each)"))
    out.append("- tables with >= 400 rows where it is above a baseline by more than the pooled SE: " +
               ("; ".join(verdict) if verdict else "none"))
    out.append(f"- means over {' / '.join(map(str, sorted(seeds)))} seeds per search (the file with the most); intervals from "
               "the `--bootstrap` files")
    return "\n".join(out)


if __name__ == "__main__":
    if sys.argv[1] == "--acceptance":
        args = sys.argv[3:]
        print(acceptance(sys.argv[2], [tuple(args[i:i + 2]) for i in range(0, len(args), 2)]))
        sys.exit(0)
    if sys.argv[1] == "--baselines":
        args = sys.argv[2:]
        print(baselines([tuple(args[i:i + 2]) for i in range(0, len(args), 2)]))
        sys.exit(0)
    if sys.argv[1] == "--summary":
        args = sys.argv[2:]
        print(summary([tuple(args[i:i + 3]) for i in range(0, len(args), 3)]))
        sys.exit(0)
    print(rank_tables(json.load(open(sys.argv[1]))))
    if len(sys.argv) > 2:
        print()
        print(replay_table(json.load(open(sys.argv[2]))))
