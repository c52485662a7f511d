#!/usr/bin/env bash
# Your script as the objective: examples/python/train_script.py (plain PyTorch on scikit-learn's digits) driven by
# fhist search --command. A HyperBand search on two thread workers; a search over a made-up curve killed with SIGKILL
# mid-search and resumed ends with the same trials, scores and incumbent as without the kill; report and the HTML page name the command; a script that
# fails, a command not found and a --job-timeout are failed trials with their reasons, the search goes on; flags that
# do not apply to a script are refused.
# A C++ program's own objective (examples/own_objective) and the loops' journals are refused by the commands that
# would train fhist's network in their place (search --resume, evaluate) and named by report and the page.
# Usage: command_test.sh FHIST PYTHON WORKDIR EXAMPLES_DIR [PNG_STATS|none [OWN_OBJECTIVE_PROGRAM]]
HERE=$(cd "$(dirname "$0")" && pwd)
EXAMPLES=$(readlink -f "$4")
PNG_STATS=${5:-none}
OWN=${6:-}
source "$HERE/lib.sh" "$@"

if ! "$PY" -c "import torch, sklearn" 2>/dev/null; then
  echo "python3-torch or python3-sklearn missing for $PY: make test installs them (scripts/install-deps.sh)"
  fail "python3-torch and python3-sklearn importable"
  finish e2e.command
  exit 1
fi
SCRIPT=(--command "$PY $EXAMPLES/python/train_script.py" --space "$EXAMPLES/python/digits_space.json")
BUDGETS=(--algo hyperband --min-budget 1 --max-budget 3 --eta 3 --estimator tse-ema --seed 3)

# --- the whole search, two workers (one thread each)
"$FHIST" search "${SCRIPT[@]}" "${BUDGETS[@]}" --workers 2 --threads 2 --journal straight.db > straight.log 2>&1 \
  && grep -q "command '$PY $EXAMPLES/python/train_script.py'" straight.log && grep -q "^best: trial" straight.log \
  && pass "search --command: a HyperBand search over a PyTorch script finishes" \
  || fail "search --command: $(tail -5 straight.log)"
journal_results straight.db > straight.results
"$PY" - straight.db <<'PY' && pass "every epoch recorded once, with the script's loss, accuracy and own metrics (lr)" \
  || fail "epoch rows of the script's search"
import json, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
rows = c.execute("SELECT trial, epoch, record FROM epochs").fetchall()
assert len(rows) == len({(t, e) for t, e, _ in rows}), "an epoch recorded twice"
results = c.execute("SELECT trial, budget_epochs, state FROM events WHERE kind='result'").fetchall()
assert len(results) == 6 and all(s == "complete" for _, _, s in results), results
for t, e, rec in rows:
    r = json.loads(rec)
    assert 0 <= r["original_val_acc"] <= 1 and r["train_loss"] > 0, r
    assert r["metrics"]["lr"] >= 0 and r["params"] > 0 and r["scores"]["tse-ema"] is not None, r
best = max(json.loads(rec)["original_val_acc"] for t, e, rec in rows if e == 3)
assert best >= 0.9, f"best validation accuracy at 3 epochs {best}"
PY
grep -q "trial starts at epoch 2, budget 3" straight.db.trials/trial_*/log.txt \
  && pass "a promoted trial continues from its checkpoint in its folder (FHIST_START_EPOCH 2)" \
  || fail "no promoted trial continued from epoch 2: $(cat straight.db.trials/*/log.txt | head -5)"

# --- SIGKILL mid-search, then --resume: the same search. What is tested is fhist's side (the journal, the promotions,
# the trial folders a resumed job continues from), so a made-up curve stands in for the network: the straight PyTorch
# search above already trains one (3 s a job, where this script takes milliseconds). Its "checkpoint" is the last
# epoch in the trial folder: a job that starts where no checkpoint says it may fails the trial.
cat > curve.sh <<'SH'
ck="$FHIST_TRIAL_DIR/last_epoch"
if [ "$FHIST_START_EPOCH" -gt 1 ] && [ "$(cat "$ck" 2>/dev/null || echo 0)" -lt $((FHIST_START_EPOCH - 1)) ]; then
  echo "no checkpoint of epoch $((FHIST_START_EPOCH - 1)) in $FHIST_TRIAL_DIR" >&2; exit 3
fi
h=$(printf %s "$FHIST_CONFIG" | cksum | cut -d' ' -f1)
e=$FHIST_START_EPOCH
while [ "$e" -le "$FHIST_BUDGET" ]; do
  sleep 0.1
  echo "{\"epoch\": $e, \"train_loss\": 1.$(((h + e) % 900 + 100)), \"val_acc\": 0.$(((h % 300) + 500 + 50 * e))}"
  echo "$e" > "$ck"
  e=$((e + 1))
done
SH
CURVE=(--command "sh curve.sh" --space "$EXAMPLES/python/digits_space.json")
"$FHIST" search "${CURVE[@]}" "${BUDGETS[@]}" --journal curve.db > curve.log 2>&1 \
  && [ "$(journal_results curve.db | grep -c complete)" -eq 6 ] || fail "the made-up curve's search: $(tail -3 curve.log)"
journal_results curve.db > curve.results
"$FHIST" search "${CURVE[@]}" "${BUDGETS[@]}" --journal killed.db > killed.log 2>&1 &
kill_after_results $! killed.db 2
"$FHIST" search --resume --journal killed.db > resumed.log 2>&1 \
  && journal_results killed.db > killed.results && diff curve.results killed.results > /dev/null \
  && [ "$(grep '^best:' resumed.log | cut -d'|' -f1)" = "$(grep '^best:' curve.log | cut -d'|' -f1)" ] \
  && pass "killed with SIGKILL after 2 jobs and resumed: the same trials, scores and incumbent" \
  || fail "kill + resume: $(tail -3 resumed.log; diff curve.results killed.results)"

# --- the same space as ConfigSpace's JSON (what SMAC3 / HpBandSter users have), written by fhist space: the same
# search, trial for trial (the made-up curve's scores come from each configuration's text)
"$FHIST" space "$EXAMPLES/python/digits_space.json" --configspace -o digits_cs.json > /dev/null \
  && grep -q '"uniform_float"' digits_cs.json \
  && "$FHIST" search --command "sh curve.sh" --space digits_cs.json "${BUDGETS[@]}" --journal curve_cs.db \
    > curve_cs.log 2>&1 && journal_results curve_cs.db | diff curve.results - > /dev/null \
  && pass "the space as ConfigSpace's JSON: the same trials and scores" \
  || fail "a ConfigSpace space: $(tail -3 curve_cs.log; journal_results curve_cs.db | diff curve.results -)"
"$FHIST" space digits_cs.json > space.txt && grep -q "^space 'digits-cnn' (ConfigSpace's JSON): 4 parameters" space.txt \
  && grep -Eq "^  lr +float +0.003 .. 0.3, log$" space.txt \
  && "$FHIST" space digits_cs.json --sample 3 --seed 2 | "$PY" -c "
import json, sys
rows = [json.loads(l) for l in sys.stdin]
assert len(rows) == 3 and all(0.003 <= r['lr'] <= 0.3 and r['channels'] in (8, 16, 32) for r in rows), rows" \
  && pass "fhist space describes the converted file and draws from it" || fail "fhist space: $(cat space.txt)"

# --- report and the HTML page say what ran
"$FHIST" report --journal straight.db > report.txt 2>&1 && grep -q "command '$PY" report.txt \
  && "$FHIST" report --journal straight.db --html page.html > /dev/null 2>&1 && grep -q "your command" page.html \
  && pass "report and the HTML page name the command" || fail "report: $(head -3 report.txt)"

# --- failures are trials, not crashes
cat > flaky.sh <<'SH'
case "$FHIST_TRIAL" in
  0) echo "Traceback: CUDA out of memory (pretend)" >&2; exit 1 ;;
  1) sleep 60 ;;
esac
e=$FHIST_START_EPOCH
while [ "$e" -le "$FHIST_BUDGET" ]; do echo "{\"epoch\": $e, \"train_loss\": 1.$e, \"val_acc\": 0.$e}"; e=$((e + 1)); done
SH
"$FHIST" search --command "sh flaky.sh" --job-timeout 1 "${BUDGETS[@]}" --journal flaky.db > flaky.log 2>&1 \
  && grep -q "trial   0 .*failed.*exit status 1.*CUDA out of memory (pretend)" flaky.log \
  && grep -q "trial   1 .*failed.*no result within --job-timeout 1 s" flaky.log && grep -q "^best: trial" flaky.log \
  && pass "a script that fails or times out is a failed trial with its reason; the search goes on" \
  || fail "failing script: $(tail -8 flaky.log)"
"$FHIST" search --command "fhist-no-such-trainer" "${BUDGETS[@]}" --journal missing.db > missing.log 2>&1 \
  && grep -q "exit status 127 (command not found).*fhist-no-such-trainer: not found" missing.log \
  && grep -q "no trial finished successfully" missing.log \
  && pass "a command that is not found: every trial failed, saying so" || fail "missing command: $(tail -4 missing.log)"

# --- --resume with the original command line is accepted; a value that differs is refused by name
"$FHIST" search --command "sh flaky.sh" --job-timeout 1 "${BUDGETS[@]}" --journal flaky.db --resume > again.log 2>&1 \
  && grep -q "^resuming flaky.db" again.log && pass "--resume with exactly the original command line is accepted" \
  || fail "--resume with the original flags: $(tail -3 again.log)"
expect_exit 2 "these would be ignored: --seed 4 \(stored: 3\), --job-timeout 2 \(stored: 1.0\)" \
  "--resume with another --seed or --job-timeout is refused, naming the stored values (exit 2)" -- \
  "$FHIST" search --command "sh flaky.sh" --job-timeout 2 --seed 4 --journal flaky.db --resume

# --- the default of --threads: OMP_NUM_THREADS when set, else the cores the process may use (its affinity, as a
# batch system or taskset sets it), never more: two trainings over the cores take several times as long
cat > threads.sh <<'SH'
echo "$FHIST_THREADS" > "$OUT"
echo "{\"epoch\": 1, \"train_loss\": 1.0, \"val_acc\": 0.5}"
SH
ONE=(--command "sh threads.sh" --algo random --n-configs 1 --min-budget 1 --max-budget 1)
OUT=$PWD/omp3.txt OMP_NUM_THREADS=3 "$FHIST" search "${ONE[@]}" --journal omp3.db > omp3.log 2>&1 \
  && [ "$(cat omp3.txt)" = 3 ] && grep -q ", 3 threads, " omp3.log \
  && pass "OMP_NUM_THREADS=3 is the default --threads (the job's FHIST_THREADS is 3)" \
  || fail "OMP_NUM_THREADS default: $(cat omp3.txt 2>/dev/null) $(head -3 omp3.log)"
if command -v taskset > /dev/null && taskset -c 0 true 2> /dev/null; then
  OUT=$PWD/cpu0.txt taskset -c 0 env -u OMP_NUM_THREADS "$FHIST" search "${ONE[@]}" --journal cpu0.db > cpu0.log 2>&1 \
    && [ "$(cat cpu0.txt)" = 1 ] && pass "on one CPU (taskset -c 0) the default --threads is 1, whatever the machine has" \
    || fail "affinity default: $(cat cpu0.txt 2>/dev/null) $(head -3 cpu0.log)"
fi
OUT=$PWD/omp4.txt OMP_NUM_THREADS=3 "$FHIST" search "${ONE[@]}" --threads 4 --journal omp4.db > /dev/null 2>&1 \
  && [ "$(cat omp4.txt)" = 4 ] && pass "--threads 4 wins over OMP_NUM_THREADS" || fail "--threads vs OMP_NUM_THREADS"
expect_exit 2 "OMP_NUM_THREADS='many': expected a whole number >= 1" "a bad OMP_NUM_THREADS is named (exit 2)" -- \
  env OMP_NUM_THREADS=many "$FHIST" search "${ONE[@]}" --journal badomp.db

# --- a regression loss, minimized: --metric names the script's own key, the incumbent has the lowest value
cat > mse.sh <<'SH'
h=$(printf %s "$FHIST_CONFIG" | cksum | cut -d' ' -f1)
e=$FHIST_START_EPOCH
while [ "$e" -le "$FHIST_BUDGET" ]; do
  echo "{\"epoch\": $e, \"train_loss\": 1.$(((h + e) % 900 + 100)), \"val_mse\": $((h % 97 + 10)).$((9 - e))}"
  e=$((e + 1))
done
SH
"$FHIST" search --command "sh mse.sh" --metric val_mse --direction minimize --estimator original "${BUDGETS[@]:0:8}" \
  --seed 5 --journal mse.db --json > mse.json 2> mse.log \
  && "$FHIST" export --journal mse.db --table trials --format json -o mse_trials.json 2>> mse.log \
  && "$FHIST" report --journal mse.db > mse_report.txt 2>&1 \
  && "$FHIST" report --journal mse.db --html mse.html >> mse.log 2>&1 \
  && "$PY" - mse.json mse_trials.json mse_report.txt mse.html <<'PY' \
  && pass "--metric val_mse --direction minimize: the incumbent is the lowest val_mse at the full budget, as reported" \
  || fail "minimized metric: $(tail -5 mse.log; head -c 600 mse.json)"
import json, sys
result, trials = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
report, page = open(sys.argv[3]).read(), open(sys.argv[4]).read()
full = {t["trial"]: t["metric_value"] for t in trials if t["budget_epochs"] == 3 and t["state"] == "complete"}
assert len(full) >= 2, trials
assert len(set(full.values())) > 1, full  # the check below can fail
lowest = min(full, key=full.get)
best = result["best"]
assert best["trial"] == lowest and best["metric_value"] == full[lowest], (best, full)
assert result["top"][0]["trial"] == lowest and result["top_ranked_by"] == "metric_value", result["top"]
assert best["original_val_acc"] is None and result["options"]["direction"] == "minimize", best
assert f"val_mse {full[lowest]:.4g} at 3 epochs" in report, report
assert "val_mse (the full budget, lowest first)" in report, report
assert "val_mse (the full budget, lowest first)" in page and '"percent":false' in page, "page"
PY
# The page of a minimized metric in Chromium: every chart drawn (the incumbent's legend is computed from its name).
if [ "$PNG_STATS" != none ]; then
  "$PY" "$HERE/render_page.py" mse.html mse.png "$PNG_STATS" "val_mse" > render_mse.log 2>&1; rc=$?
  if [ "$rc" -eq 0 ]; then pass "the page of a minimized val_mse search renders in Chromium: every chart drawn"
  elif [ "$rc" -eq 77 ]; then echo "skip - the minimized metric's page in Chromium: $(tail -1 render_mse.log)"
  else fail "the minimized metric's page in Chromium: $(tail -5 render_mse.log)"; fi
fi
expect_exit 2 "--metric val_mse: say whether a better model has a larger or a smaller val_mse" \
  "--metric without --direction is refused (exit 2)" -- \
  "$FHIST" search --command "true" --metric val_mse --journal refused.db
expect_exit 2 "another metric is for your own loop" "--metric val_mse with fhist's own trainer is refused (exit 2)" -- \
  "$FHIST" search --metric val_mse --direction minimize --journal refused.db

# --- journals fhist did not train: named by report and the page, refused by what would train fhist's network instead
expect_exit 2 "fhist's own trainer, and mse.db's trials were trained by command 'sh mse.sh'" \
  "evaluate refuses a command's journal (it would retrain on fhist's default data; exit 2)" -- \
  "$FHIST" evaluate --journal mse.db --threads 1
if [ -n "$OWN" ]; then
  "$OWN" --check > own.log 2>&1 && "$FHIST" report --journal own_objective.db > own_report.txt 2>&1 \
    && grep -q "your objective 'a made-up learning curve'" own_report.txt \
    && "$FHIST" report --journal own_objective.db --html own.html > /dev/null 2>&1 \
    && grep -q "your objective &#39;a made-up learning curve&#39;\|your objective 'a made-up learning curve'" own.html \
    && ! grep -q "<th>model</th>" own.html \
    && pass "a C++ program's own objective (objective custom): report and the page name it, no fhist model" \
    || fail "own objective's journal: $(tail -3 own.log; head -3 own_report.txt)"
  expect_exit 2 "own_objective.db was made by your objective 'a made-up learning curve' \(objective custom\)" \
    "search --resume refuses a C++ program's journal (it would train fhist's network instead; exit 2)" -- \
    "$FHIST" search --resume --journal own_objective.db
fi

# --- flags that do not apply to a script
expect_exit 2 "--data, --lr do not apply to --objective command" "training flags with --command are refused (exit 2)" -- \
  "$FHIST" search --command "true" --data fashion-mnist --lr 0.1 --journal refused.db
expect_exit 2 "--estimator fh needs the network's features" "--estimator fh with --command is refused (exit 2)" -- \
  "$FHIST" search --command "true" --estimator fh --journal refused.db
expect_exit 2 "needs --command" "--objective command without --command is refused (exit 2)" -- \
  "$FHIST" search --objective command --journal refused.db
expect_exit 2 "--job-timeout applies to --objective command" "--job-timeout without --command is refused (exit 2)" -- \
  "$FHIST" search --job-timeout 5 --journal refused.db
[ ! -e refused.db ] && pass "nothing written by a refused search" || fail "a refused search left refused.db"

finish e2e.command
