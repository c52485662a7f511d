#!/usr/bin/env python3
"""Loads an fhist HTML report in headless Chromium and checks it: no console errors, every chart rendered (an SVG
with marks inside each chart's <div>, as the page's own data-charts-rendered count says), and a screenshot that is
not blank. Exit 0: all good; 1: a check failed (printed); 77: no Chromium here (the caller skips, saying why).
The DOM as drawn is written beside the screenshot (SCREENSHOT.png.dom.html) for the caller's own checks.
Usage: render_page.py PAGE.html SCREENSHOT.png PNG_STATS [EXPECT_TEXT...]"""
import json, os, re, shutil, subprocess, sys

page, shot, png_stats = sys.argv[1], sys.argv[2], sys.argv[3]
expect = sys.argv[4:]
chromium = shutil.which("chromium") or shutil.which("chromium-browser")
if not chromium:
    print("SKIP: no chromium on this machine (scripts/install-deps.sh installs Debian's chromium where it can)")
    sys.exit(77)
url = "file://" + os.path.abspath(page)
# Root in a container: no sandbox; no GPU; a virtual time budget lets the page's promises settle before the dump.
flags = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
         "--enable-logging=stderr", "--v=0", "--virtual-time-budget=20000", "--window-size=1280,2600"]
# One launch writes the screenshot and dumps the DOM (a launch is most of the cost: 4 s on 2 cores).
if os.path.exists(shot):
    os.remove(shot)
dom = subprocess.run(flags + [f"--screenshot={os.path.abspath(shot)}", "--dump-dom", url], capture_output=True,
                     text=True, timeout=180)
failures = []
html = dom.stdout
open(shot + ".dom.html", "w").write(html)
if dom.returncode != 0 or "<body" not in html:
    print(f"FAIL chromium --dump-dom exited {dom.returncode}: {dom.stderr[-2000:]}")
    sys.exit(1)
# The page's own <body> carries data-charts (the library's text may hold other "<body" strings).
body = (re.search(r"<body([^>]*data-charts=[^>]*)>", html) or re.search(r"<body([^>]*)>", html)).group(1)
attr = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', body))
if attr.get("ready") != "1":
    failures.append(f"the page never finished drawing (body attributes {attr})")
if attr.get("errors") != "0":
    failures.append(f"{attr.get('errors')} error(s) on the page: " + re.sub(r"<[^>]+>", "", (re.search(
        r'id="page-errors"[^>]*>(.*?)</p>', html, re.S) or [None, "?"])[1])[:2000])
for line in dom.stderr.splitlines():  # uncaught exceptions the page hook might not see
    if "CONSOLE" in line and ("Uncaught" in line or "Error" in line):
        failures.append("console: " + line[-400:])
charts = re.findall(r'<div [^>]*id="chart-([a-z_]+)"', html)
if str(len(charts)) != attr.get("charts") or attr.get("charts-rendered") != attr.get("charts"):
    failures.append(f"{attr.get('charts-rendered')} of {attr.get('charts')} charts rendered ({len(charts)} divs)")
for c in charts:
    start = html.index(f'id="chart-{c}"')
    end = html.find("</section>", start)
    inner = html[start:end]
    marks = len(re.findall(r'<(path|rect|line|circle)\b', inner))
    if "<svg" not in inner or marks < 3:
        failures.append(f"chart {c}: no drawing in its div ({marks} marks)")
for text in expect:
    if text not in html:
        failures.append(f"the page does not show {text!r}")
if not os.path.exists(shot):
    failures.append(f"no screenshot: {dom.stderr[-1000:]}")
elif png_stats != "none":
    stats = json.loads(subprocess.run([png_stats, shot], capture_output=True, text=True, check=True).stdout)
    if stats["non_background"] < 0.03 or stats["colors"] < 16:
        failures.append(f"the screenshot looks blank: {stats}")
    else:
        print(f"screenshot {shot}: {stats}")
print(json.dumps({"charts": charts, "rendered": attr.get("charts-rendered"), "errors": attr.get("errors")}))
for f in failures:
    print("FAIL", f)
sys.exit(1 if failures else 0)
