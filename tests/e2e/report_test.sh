#!/usr/bin/env bash
# The HTML report (fhist report --html): a tiny real HyperBand search on Fashion-MNIST, its page loaded in headless
# Chromium (no console errors, every chart drawn, a screenshot that is not blank), its rank numbers equal to
# fhist export --table ranks, and the page of a search that is still running, which shows its running jobs.
# Usage: report_test.sh FHIST PYTHON WORKDIR PNG_STATS
source "$(dirname "$0")/lib.sh" "$@"
PNG_STATS=$4
RENDER="$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/render_page.py"
DOM="$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/page_dom.py"

TINY=(--data fashion-mnist --model cnn --train-size 300 --val-size 100 --threads 1 --seed 5 --space hparams)
"$FHIST" search "${TINY[@]}" --algo hyperband --estimator fh --min-budget 1 --max-budget 4 --eta 2 \
  --journal hb.db > hb.log 2>&1 || fail "search: $(tail -5 hb.log)"
expect_exit 0 "wrote the HTML report of hb.db \(finished, 6 charts" "report --html writes the page" -- \
  "$FHIST" report --journal hb.db --html hb.html
"$FHIST" export --journal hb.db --table ranks --format json -o ranks.json 2>/dev/null
"$PY" "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/page_json.py" hb.html > hb.json
"$PY" - hb.json ranks.json <<'PY' && pass "the page's Kendall tau and |error| are fhist export's" || fail "ranks differ"
import json, sys
data = json.load(open(sys.argv[1]))
exported = json.load(open(sys.argv[2]))
page = data["ranks"]["rows"]
assert len(page) == len(exported) > 0, (len(page), len(exported))
for a, b in zip(page, exported):
    for k in ("estimator", "epoch", "configs", "kendall", "mean_abs_error", "spearman", "top1_regret"):
        assert a[k] == b[k], (k, a, b)
assert b["target"] == data["ranks"]["target"] == "original_val_acc"
assert data["ranks"]["trials"], "no trial reached the largest budget"
assert any(r["kendall"] is not None for r in page)
# Run facts: the algorithm, estimator, budgets, seed and state are on the page.
f = data["facts"]
assert f["state"] == "finished" and f["options"]["algo"] == "hyperband" and f["options"]["seed"] == 5, f
assert f["epochs_trained"] > 0 and f["utilisation"][0]["share"] > 0, f
PY

"$PY" "$RENDER" hb.html hb.png "$PNG_STATS" "hyperband" "Best configurations" > render.log 2>&1
rc=$?
cat render.log
if [ $rc -eq 77 ]; then
  echo "SKIP - the browser checks: $(head -1 render.log)"
else
  [ $rc -eq 0 ] && pass "the page loads in headless Chromium: no errors, every chart drawn, screenshot not blank" \
    || fail "render: $(tail -5 render.log)"
  "$PY" "$DOM" hb.png.dom.html hb.html units > dom_units.log 2>&1 \
    && pass "one unit: accuracy axes and tables in percent, as the console prints them" || fail "units: $(cat dom_units.log)"
  "$PY" "$DOM" hb.png.dom.html hb.html brackets > dom_brackets.log 2>&1 \
    && pass "the brackets chart: every trial id on it, 18+ px a row, full-budget trials marked final" \
    || fail "brackets: $(cat dom_brackets.log)"
  "$PY" "$DOM" hb.png.dom.html hb.html trial > dom_trial.log 2>&1 \
    && pass "the per-trial chart: the network's accuracy first, the rest from its legend" || fail "trial: $(cat dom_trial.log)"
fi

# --- a search that varies hyperparameters: parallel coordinates and the importance of each, drawn in Chromium
"$FHIST" search "${TINY[@]}" --algo random --n-configs 10 --min-budget 1 --max-budget 1 --journal rs.db > rs.log 2>&1 \
  || fail "random search: $(tail -3 rs.log)"
"$FHIST" report --journal rs.db --html rs.html 2> rs_report.log
if [ $rc -ne 77 ]; then
  "$PY" "$RENDER" rs.html rs.png "$PNG_STATS" > render_rs.log 2>&1 \
    && "$PY" "$DOM" rs.png.dom.html rs.html chart:parallel chart:importance \
       "text:Parameter importance (10 trials at 1 epoch)" text:lr text:weight_decay > dom_rs.log 2>&1 \
    && pass "parallel coordinates and parameter importance drawn (10 trials)" \
    || fail "parameter charts: $(tail -5 render_rs.log; cat dom_rs.log)"
fi

# --- a search still running: its page shows the jobs in flight
"$FHIST" search "${TINY[@]}" --algo random --n-configs 4 --min-budget 6 --max-budget 6 --estimator fh \
  --journal live.db > live.log 2>&1 &
pid=$!
# Its first epoch recorded (polled every 20 ms: the whole search takes seconds), the search is frozen with SIGSTOP
# while the page is written: it still holds the journal with a job in flight.
wait_count live.db 1
kill -STOP $pid
"$FHIST" report --journal live.db --html live.html > live_report.log 2>&1
kill -CONT $pid; kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null
grep -q "(running, " live_report.log && grep -q 'class="running-job"' live.html && grep -q "Running now" live.html \
  && pass "the page of a running search shows its running jobs" || fail "running page: $(cat live_report.log)"
if [ $rc -ne 77 ]; then
  "$PY" "$RENDER" live.html live.png "$PNG_STATS" "Running now" > render_live.log 2>&1 \
    && pass "the running search's page renders" || fail "live render: $(tail -5 render_live.log)"
fi

# --- report --watch: the page of a running search is rewritten and reloads itself until the search stops (every 30 s
# here, above Chromium's 20 s of virtual time: a reload would restart the render check without end)
"$FHIST" search "${TINY[@]}" --algo random --n-configs 3 --min-budget 5 --max-budget 5 --journal watch.db > watch.log 2>&1 &
spid=$!
wait_count watch.db 1
kill -STOP $spid
timeout 120 "$FHIST" report --journal watch.db --html watch.html --watch 30 > watch_report.log 2>&1 &
wpid=$!
for _ in $(seq 1 300); do grep -qs 'http-equiv="refresh"' watch.html && break; sleep 0.1; done
cp watch.html running.html
kill -CONT $spid
wait $spid || fail "the watched search: $(tail -3 watch.log)"
wait $wpid; wrc=$?
grep -q 'http-equiv="refresh" content="30"' running.html && grep -q "reloads every 30 s" running.html \
  && [ $wrc -eq 0 ] && [ "$(grep -c "^wrote the HTML report" watch_report.log)" -ge 2 ] \
  && tail -1 watch_report.log | grep -q "(finished, " && ! grep -q 'http-equiv="refresh"' watch.html \
  && pass "report --watch 30: the running page reloads itself; rewritten as soon as the search finished, then no reload" \
  || fail "watch (exit $wrc): $(cat watch_report.log | tail -3)"
if [ $rc -ne 77 ]; then
  "$PY" "$RENDER" running.html running.png "$PNG_STATS" "Running now" > render_watch.log 2>&1 \
    && "$PY" "$DOM" running.png.dom.html running.html "text:reloads every 30 s" > dom_watch.log 2>&1 \
    && pass "the self-reloading page of a running search renders in Chromium" \
    || fail "watch render: $(tail -5 render_watch.log; cat dom_watch.log)"
fi
expect_exit 2 "--watch rewrites the HTML page: give --html FILE too" "--watch needs --html" -- \
  "$FHIST" report --journal hb.db --watch 1

expect_exit 2 "--replay adds charts to the HTML page" "--replay needs --html" -- \
  "$FHIST" report --journal hb.db --replay ranks.json
echo '{"algo": 1}' > bad.json
expect_exit 2 "--replay bad.json: expected a JSON array" "a replay file that is not one is refused" -- \
  "$FHIST" report --journal hb.db --html x.html --replay bad.json
[ ! -e x.html ] && pass "nothing written for bad input" || fail "x.html written"
finish report_test
