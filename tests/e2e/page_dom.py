#!/usr/bin/env python3
"""Checks on an fhist report page as Chromium drew it (render_page.py's SCREENSHOT.png.dom.html), beside the data the
page embeds: one unit for accuracies, the brackets chart readable (trial ids, its size, final trials marked), the
per-trial chart's legend (only estimators with data; the network's accuracy shown first), and named charts drawn.
Usage: page_dom.py DOM.html PAGE.html CHECK...   (checks: units, brackets, trial, chart:ID, text:TEXT, no-text:TEXT)"""
import json, re, sys

dom, page, checks = open(sys.argv[1]).read(), open(sys.argv[2]).read(), sys.argv[3:]
data = json.loads(re.search(r'<script type="application/json" id="fhist-data">(.*?)</script>', page, re.S).group(1))
failures = []


def section(chart):
    start = dom.find(f'id="chart-{chart}"')
    if start < 0:
        return None
    return dom[start:dom.find("</section>", start)]


def texts(html):
    return [re.sub(r"<[^>]+>", "", t) for t in re.findall(r"<text\b[^>]*>(.*?)</text>", html, re.S)]


for check in checks:
    kind, _, arg = check.partition(":")
    if kind == "units":
        # Every accuracy axis and table on the page in percent, as the console prints it. Vega describes each axis
        # it drew ("Y-axis titled 'accuracy' for a linear scale with values from 10% to 38%").
        axes = re.findall(r"aria-label=\"Y-axis titled '([^']*)' for a linear scale with values from (\S+) to (\S+)\"",
                          dom)
        accuracy = [a for a in axes if a[0] in ("accuracy", "mean |estimate - final|")]
        if len(accuracy) < 2:
            failures.append(f"fewer than 2 accuracy axes drawn: {axes}")
        for title, low, high in accuracy:
            if not (low.endswith("%") and high.endswith("%")):
                failures.append(f"axis {title!r} runs from {low} to {high}, not in percent")
        cells = re.findall(r'<td class="num">([^<]*)</td>', dom)
        if not any(c.endswith("%") for c in cells):
            failures.append("no table cell in percent")
    elif kind == "brackets":
        html = section("brackets") or ""
        labels = set(texts(html))
        spec = json.loads(re.search(r'<script type="application/json" id="fhist-charts">(.*?)</script>', page,
                                    re.S).group(1).replace("<\\/", "</"))
        rows = [r for c in spec if c["id"] == "brackets" for r in c["spec"]["data"]["values"]]
        ids = {str(r["trial"]) for r in rows}
        missing = ids - labels
        if not ids or missing:
            failures.append(f"brackets: trial ids not on the chart: {sorted(missing, key=int)} ({len(rows)} results)")
        if "final" not in labels:
            failures.append("brackets: no 'final' in the legend")
        # Readable: at least 18 px per trial row of the largest bracket.
        per_bracket = {}
        for r in rows:
            per_bracket.setdefault(r["bracket"], set()).add(r["trial"])
        need = 18 * max((len(t) for t in per_bracket.values()), default=1)
        sizes = [float(h) for h in re.findall(r'<svg[^>]*\bheight="([\d.]+)"', html)]
        if not sizes or max(sizes) < need:
            failures.append(f"brackets: the drawing is {sizes} px high, under {need}")
    elif kind == "trial":
        labels = texts(section("trial") or "")
        if "estimator (click to show)" not in labels:
            failures.append(f"trial chart: no legend to show estimators ({labels[:20]})")
        if "original" not in labels:
            failures.append("trial chart: the network's own accuracy (original) is not in the legend")
    elif kind == "chart":
        html = section(arg)
        if html is None or "<svg" not in html:
            failures.append(f"chart {arg}: not drawn")
    elif kind == "text":
        if arg not in dom:
            failures.append(f"the page does not show {arg!r}")
    elif kind == "no-text":
        if arg in dom:
            failures.append(f"the page shows {arg!r}")
    else:
        failures.append(f"unknown check {check}")
for f in failures:
    print("FAIL", f)
sys.exit(1 if failures else 0)
