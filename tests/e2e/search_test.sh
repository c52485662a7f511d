#!/usr/bin/env bash
# End-to-end searches on a small Fashion-MNIST subset: every algorithm, every estimator, fhist plan, kill -9 and
# resume, a journal held by another search, evaluate.
# Usage: search_test.sh FHIST PYTHON WORKDIR
source "$(dirname "$0")/lib.sh" "$@"

TINY=(--data fashion-mnist --model cnn --train-size 400 --val-size 100 --threads 1 --seed 5)

# --- plan: the closed form for eta=3, 1..27
"$FHIST" plan --algo hyperband --min-budget 1 --max-budget 27 --eta 3 --json > plan.json
"$PY" - plan.json <<'PY' && pass "plan --json for eta 3, 1..27" || fail "plan: $(cat plan.json)"
import json, sys
p = json.load(open(sys.argv[1]))
got = [[(r["configs"], r["budget_epochs"]) for r in b["rungs"]] for b in p]
assert [b["bracket"] for b in p] == [3, 2, 1, 0]
assert got == [[(27, 1), (9, 3), (3, 9), (1, 27)], [(12, 3), (4, 9), (1, 27)], [(6, 9), (2, 27)], [(4, 27)]], got
PY
# top-k-auto: the JSON holds both branches, marked, and each branch's totals are the text's
"$FHIST" plan --algo top-k-auto --min-budget 1 --max-budget 20 --eta 3 --json > plan_auto.json
"$FHIST" plan --algo top-k-auto --min-budget 1 --max-budget 20 --eta 3 > plan_auto.txt
"$PY" - plan_auto.json plan_auto.txt <<'PY' && pass "plan --json for top-k-auto: both branches" || fail "plan top-k-auto: $(cat plan_auto.json plan_auto.txt)"
import json, re, sys
p = json.load(open(sys.argv[1]))
text = open(sys.argv[2]).read()
assert {b["branch"] for b in p} == {"top-k", "gate-disagrees"}, p
def totals(branch):
    bs = [b for b in p if b["branch"] == branch]
    epochs = 0
    for b in bs:
        prev = 0
        for r in b["rungs"]:
            epochs += r["configs"] * (r["budget_epochs"] - prev)
            prev = r["budget_epochs"]
    return (sum(b["rungs"][0]["configs"] for b in bs), sum(r["configs"] for b in bs for r in b["rungs"]), epochs)
want = lambda pat: tuple(int(x) for x in re.search(pat + r" (\d+) configurations, (\d+) jobs, (\d+) epochs", text).groups())
assert totals("top-k") == want("total:"), (totals("top-k"), text)
assert totals("gate-disagrees") == want("where the gate disagrees:"), (totals("gate-disagrees"), text)
PY
"$FHIST" plan --algo hyperband --min-budget 1 --max-budget 128 --eta 2 | grep -q "^total: " \
  && pass "plan prints a total" || fail "plan table"

# --- every algorithm with the fh estimator, every estimator with hyperband
run_search() {  # name algo estimator extra... (MAXB=2 run_search ...: budgets 1..2, for a check that needs no more)
  local name=$1 algo=$2 est=$3; shift 3
  if "$FHIST" search "${TINY[@]}" --space hparams --algo "$algo" --estimator "$est" --min-budget 1 --max-budget "${MAXB:-4}" --eta 2 \
       --journal "$name.db" "$@" > "$name.log" 2>&1 && grep -q "^best: trial" "$name.log" \
       && grep -q "^journal: $name.db" "$name.log"; then
    pass "search $algo + $est"
  else
    fail "search $algo + $est: $(tail -20 "$name.log")"
  fi
}
run_search hb_fh hyperband fh
# Progress a user can plan by: the plan's totals up front, then job k/N, epochs e/E, the best so far and an ETA
grep -q "^plan: 10 configurations, 14 jobs, 28 epochs (hyperband 1..4 eta 2)$" hb_fh.log \
  && grep -qE "^\[bracket 2 rung 0\] trial +0 +1 epoch: +score .* \| job 1/14, epochs 1/28(, best trial 0 \([0-9.]+%, val [0-9.]+%\))?, ETA [0-9]+ (s|min)$" hb_fh.log \
  && grep -qE "\| job 14/14, epochs 2[0-8]/28, best trial [0-9]+ \([0-9.]+%, val [0-9.]+%\), ETA 0 s$" hb_fh.log \
  && pass "search prints the plan's totals and job k/N, epochs e/E, best and ETA" || fail "progress: $(head -12 hb_fh.log)"
# fhist's trainer minimizing the network's validation loss (--metric val_loss): the incumbent is the lowest at the
# full budget, and original ranks by it
MAXB=2 run_search hb_orig hyperband original --metric val_loss --direction minimize
"$FHIST" export --journal hb_orig.db --table trials --format json -o hb_orig_trials.json 2> /dev/null \
  && "$FHIST" report --journal hb_orig.db --json > hb_orig_report.json 2> /dev/null \
  && "$PY" - hb_orig.db hb_orig_trials.json hb_orig_report.json <<'PY' \
  && pass "search --metric val_loss --direction minimize: the incumbent has the lowest validation loss at 2 epochs" \
  || fail "trainer's --metric val_loss: $(tail -3 hb_orig.log)"
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
trials, report = json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
nll = {t: json.loads(r)["original_nll"] for t, r in db.execute("select trial, record from epochs where epoch = 2")}
full = {t["trial"]: t["metric_value"] for t in trials if t["budget_epochs"] == 2 and t["state"] == "complete"}
assert len(full) >= 2 and len(set(full.values())) > 1, full
assert all(full[t] == nll[t] for t in full), (full, nll)  # metric_value is the network's validation loss
best = min(full, key=full.get)
assert report["best"]["trial"] == best and report["best"]["metric_value"] == full[best], (report["best"], full)
rows = db.execute("select trial, record from epochs where epoch = 2")
scores = {t: json.loads(r)["scores"]["original"] for t, r in rows}
assert all(scores[t] == -nll[t] for t in full), "original ranks by the loss, negated"
PY
MAXB=2 run_search hb_curve hyperband curve
MAXB=2 run_search hb_tse hyperband tse-e
run_search bohb_fh bohb fh
run_search sh_fh sh fh --n-configs 4
run_search asha_fh asha fh --n-configs 4
run_search rs_fh random fh --n-configs 3
# The loss read back every 3 steps (as every 20 on CUDA): the first step reported is not step 1 (the progress bar
# used to be made only at step 1, and one worker dereferenced a null bar)
MAXB=2 run_search sync3 hyperband tse-ema --sync-every 3

# The best configuration for scripts: report --json, and train --config-from the journal
"$FHIST" report --journal hb_fh.db --json > hb_fh_report.json 2>&1 && "$FHIST" report --journal hb_fh.db -o hb_fh_report2.json 2>/dev/null
"$PY" - hb_fh.db hb_fh_report.json hb_fh_report2.json <<'PY' && pass "report --json / -o: the best trial, its configuration and seed" || fail "report --json: $(head -5 hb_fh_report.json)"
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
r = json.load(open(sys.argv[2]))
assert r == json.load(open(sys.argv[3]))
best = r["best"]
cfg = json.loads(db.execute("select config from trials where id=?", (best["trial"],)).fetchone()[0])
assert best["config"] == cfg, (best["config"], cfg)
assert best["seed"] == 5 and r["options"]["estimator"] == "fh"
assert r["top"][0]["trial"] == best["trial"] and len(r["top"]) >= 2
PY
"$FHIST" export --journal hb_fh.db --table trials --json > trials_a.json \
  && "$FHIST" export --journal hb_fh.db --table trials --format json -o trials_b.json 2>/dev/null \
  && cmp -s trials_a.json trials_b.json && pass "export --json = --format json -o FILE" || fail "export --json"
best_trial=$("$PY" -c "import json; print(json.load(open('hb_fh_report.json'))['best']['trial'])")
"$FHIST" train "${TINY[@]}" --config-from hb_fh.db --epochs 1 --max-epochs 1 --no-checkpoint > cfgfrom.log 2>&1 \
  && grep -q "^configuration of trial $best_trial of hb_fh.db: " cfgfrom.log && grep -q "final: test accuracy" cfgfrom.log \
  && pass "train --config-from JOURNAL trains the search's best configuration" || fail "config-from: $(tail -5 cfgfrom.log)"
expect_exit 2 "--trial 999: hb_fh.db has trials 0" "config-from a trial that does not exist" -- \
  "$FHIST" train "${TINY[@]}" --config-from hb_fh.db:999 --epochs 1 --no-checkpoint

# A ranking score (tse-e) is printed as the number it is, by search and report alike; an accuracy as a percentage.
tse_best=$("$FHIST" report --journal hb_tse.db | grep '^best:')
[ "$tse_best" = "$(grep '^best:' hb_tse.log)" ] && grep -Eq ' tse-e score -?[0-9.]+(e-?[0-9]+)?, validation accuracy [0-9.]+% at ' <<<"$tse_best" \
  && "$FHIST" report --journal hb_fh.db | grep -Eq '^best: .* fh score [0-9.]+%, validation accuracy [0-9.]+% at ' \
  && pass "report: ranking scores as numbers, accuracies as percentages" || fail "report best line: $tse_best"

"$PY" - hb_fh.db <<'PY' && pass "journal: trials, epochs, events consistent with the plan" || fail "journal content"
import sqlite3, sys, json
db = sqlite3.connect(sys.argv[1])
tables = {r[0] for r in db.execute("select name from sqlite_master where type='table'")}
assert {"study", "trials", "epochs", "events"} <= tables, tables
n_trials = db.execute("select count(*) from trials").fetchone()[0]
assert n_trials == 4 + 3 + 3, n_trials  # HyperBand 1..4, eta 2: brackets of 4, 3, 3 configs
starts = db.execute("select count(*) from events where kind='start'").fetchone()[0]
results = db.execute("select count(*) from events where kind='result'").fetchone()[0]
assert starts == results == 4 + 2 + 1 + 3 + 1 + 3, (starts, results)
dup = db.execute("select count(*) from (select trial, epoch, count(*) c from epochs group by trial, epoch having c > 1)").fetchone()[0]
assert dup == 0
epochs = db.execute("select count(*) from epochs").fetchone()[0]
assert epochs == 28, epochs  # promoted trials continue: 8 + 8 + 12
PY
# A finished search (then read by report, export and train --config-from) leaves its journal alone: no
# checkpoints, no empty trials folder, no .lock, -wal or -shm
[ "$(ls -d hb_fh.db*)" = "hb_fh.db" ] && pass "a finished search leaves only its journal" \
  || fail "left beside the journal: $(ls -d hb_fh.db*)"

# --- --minutes: no job starts after the limit (the first always does), exit 0 with the resume command; --resume
# goes on to the uninterrupted search's results. -o / --json write what report --json prints.
"$FHIST" search "${TINY[@]}" --space hparams --algo hyperband --estimator fh --min-budget 1 --max-budget 4 --eta 2 \
  --journal minutes.db --minutes 0.0001 --json > minutes.json 2> minutes.log; rc=$?
n=$(journal_results minutes.db | wc -l)
[ $rc -eq 0 ] && [ "$n" -ge 1 ] && [ "$n" -lt 14 ] && grep -q "^stopped after .* (--minutes 0.0001)" minutes.log \
  && grep -q "^resume with: fhist search --resume --journal minutes.db$" minutes.log \
  && "$PY" -c "import json; d = json.load(open('minutes.json')); assert d['jobs_reported'] == $n and not d['running'], d" \
  && pass "search --minutes stops starting jobs ($n of 14 ran), says how to resume; --json on stdout" \
  || fail "search --minutes: exit $rc, $n results, $(tail -3 minutes.log) $(head -c 300 minutes.json)"
# --max-trials on the resume: no trial past the cap (HyperBand's first bracket has 4), exit 0 with the resume command
"$FHIST" search --resume --journal minutes.db --max-trials 3 > capped.log 2>&1; rc=$?
n=$("$PY" -c "import sqlite3; print(sqlite3.connect('minutes.db').execute('select count(*) from trials').fetchone()[0])")
[ $rc -eq 0 ] && [ "$n" -eq 3 ] && grep -q "^stopped at --max-trials 3: the journal holds 3 trials" capped.log \
  && grep -q "^resume with: fhist search --resume --journal minutes.db (with a larger --max-trials" capped.log \
  && pass "search --max-trials 3 creates no fourth trial and says how to go on" \
  || fail "search --max-trials: exit $rc, $n trials, $(tail -3 capped.log)"
"$FHIST" search --resume --journal minutes.db -o minutes_final.json > minutes2.log 2>&1 \
  && diff <(journal_results hb_fh.db) <(journal_results minutes.db) > /dev/null \
  && "$FHIST" report --journal minutes.db --json | cmp -s - minutes_final.json \
  && pass "--resume after --minutes and --max-trials: the uninterrupted search's results; -o = report --json" \
  || fail "resume after --minutes and --max-trials: $(tail -3 minutes2.log)"

# --- kill -9 in the middle, then --resume: same incumbent and same results as the uninterrupted run
"$FHIST" search "${TINY[@]}" --space hparams --algo bohb --estimator fh --min-budget 1 --max-budget 4 --eta 2 --journal killed.db \
  > killed1.log 2>&1 &
pid=$!
wait_count killed.db 6 "select count(*) from events where kind='result'"
# a second search on the same journal while the first holds it
out=$("$FHIST" search --resume --journal killed.db 2>&1); rc=$?
if [ $rc -ne 0 ] && grep -q "in use by another search" <<<"$out"; then pass "a journal in use is refused"; else fail "concurrent open: rc $rc $out"; fi
kill -9 $pid; wait $pid 2>/dev/null
# --resume keeps the stored settings: a flag that would be ignored is refused, naming it and the stored value
expect_exit 2 "--train-size 900 \(stored: 400\), --eta 3 \(stored: 2\)" "resume refuses ignored flags, names them" -- \
  "$FHIST" search --resume --journal killed.db --eta 3 --train-size 900
expect_exit 2 "--data cifar10:/x: killed.db searched fashion-mnist" "resume: --data may only move the same dataset" -- \
  "$FHIST" search --resume --journal killed.db --data cifar10:/x
# the dataset "moved" (here: named by its directory): allowed, and the search continues as before
"$FHIST" search --resume --journal killed.db --data fashion-mnist:/usr/share/datasets/fashion-mnist > killed2.log 2>&1 \
  || fail "resume failed: $(tail killed2.log)"
"$PY" - bohb_fh.db killed.db <<'PY' && pass "kill -9 + resume reaches the uninterrupted run's results" || fail "resume differs: $(tail -5 killed2.log)"
import sqlite3, sys
def results(path):
    db = sqlite3.connect(path)
    return db.execute("select trial, budget_epochs, score, state from events where kind='result' order by trial, budget_epochs").fetchall()
def configs(path):
    return sqlite3.connect(path).execute("select id, config from trials order by id").fetchall()
def epochs(path):
    return sqlite3.connect(path).execute("select trial, epoch from epochs order by trial, epoch").fetchall()
a, b = sys.argv[1], sys.argv[2]
assert configs(a) == configs(b)
assert results(a) == results(b), (results(a), results(b))
assert epochs(a) == epochs(b)   # no epoch trained twice, none missing
PY
diff <(grep '^best:' bohb_fh.log) <(grep '^best:' killed2.log) > /dev/null && pass "same incumbent after resume" \
  || fail "incumbent: $(grep '^best:' bohb_fh.log) vs $(grep '^best:' killed2.log)"

# --- failures are data: diverging trials are recorded and ranked last, the search goes on
cat > diverge.json <<'JSON'
{"name": "diverge", "params": [{"name": "lr", "type": "categorical", "choices": [0.05, 1e9]}]}
JSON
# (seed 2 draws both values; which trials diverge is deterministic for a seed)
"$FHIST" search --data fashion-mnist --model cnn --train-size 600 --val-size 200 --threads 1 --seed 2 \
  --space diverge.json --algo random --n-configs 6 --min-budget 1 --max-budget 2 \
  --journal diverge.db > diverge.log 2>&1 || fail "search with diverging trials exits non-zero: $(tail diverge.log)"
"$PY" - diverge.db <<'PY' && pass "diverged trials recorded, search finished, best is a healthy trial" || fail "diverge: $(tail diverge.log)"
import sqlite3, sys, json
db = sqlite3.connect(sys.argv[1])
states = [r[0] for r in db.execute("select state from events where kind='result'")]
assert len(states) == 6 and "diverged" in states and "complete" in states, states
msg = db.execute("select message from events where state='diverged' limit 1").fetchone()[0]
# lr 1e9 blows the features up within the first epoch while the loss read back is still finite: the trial is
# diverged, never scored (an argmax over NaN scores would have given it a plausible accuracy)
assert "diverged" in msg and ("loss" in msg or "not finite" in msg), msg
assert all(r[0] == "diverged" for r in db.execute("select state from trials where json_extract(config, '$.lr') > 1"))
scores = [r[0] for r in db.execute("select score from events where kind='result' and state='diverged'")]
assert all(v is None or v == float("-inf") for v in scores), scores
PY
grep -q '^best: trial .*"lr":0.05' diverge.log && pass "incumbent is not a diverged trial" || fail "incumbent: $(grep best: diverge.log)"

# --- evaluate the best configuration: the result goes into the journal (report shows it) and to --json / -o
"$FHIST" evaluate --journal hb_fh.db --max-budget 2 --threads 1 -o eval.json > eval.log 2>&1 \
  && grep -qE "^test accuracy: [0-9.]+%" eval.log \
  && pass "evaluate retrains the best configuration" || fail "evaluate: $(tail eval.log)"
"$FHIST" report --journal hb_fh.db --json > report_eval.json && "$FHIST" report --journal hb_fh.db > report_eval.txt
"$PY" - eval.json report_eval.json hb_fh_report.json <<'PY' && grep -qE "^  trial [0-9]+ for 2 epochs: test accuracy [0-9.]+%" report_eval.txt \
  && pass "evaluate stores its result in the journal and writes JSON" || fail "evaluate stored: $(cat report_eval.txt)"
import json, sys
e = json.load(open(sys.argv[1])); r = json.load(open(sys.argv[2])); before = json.load(open(sys.argv[3]))
assert e["trial"] == before["best"]["trial"] and e["config"] == before["best"]["config"], e
assert e["max_budget"] == 2 and len(e["epochs"]) == 2 and 0.1 < e["test_acc"] <= 1 and e["seed"] == 5, e
assert e["epochs"][-1]["test_acc"] == e["test_acc"]
assert len(r["evaluations"]) == 1 and r["evaluations"][0]["test_acc"] == e["test_acc"], r["evaluations"]
PY
# ... and export --table trials and the HTML page show it beside the trial (the page marks it: retrained)
"$FHIST" export --journal hb_fh.db --table trials --json > trials_eval.json \
  && "$FHIST" report --journal hb_fh.db --html eval.html 2>/dev/null \
  && "$PY" - eval.json trials_eval.json eval.html <<'PY' && pass "export and the HTML page show the evaluated test accuracy" \
  || fail "evaluated test accuracy in export / page"
import json, sys
e = json.load(open(sys.argv[1])); rows = json.load(open(sys.argv[2])); page = open(sys.argv[3]).read()
assert [r["evaluated_test_acc"] for r in rows if r["trial"] == e["trial"]] == [e["test_acc"]], rows
assert all(r["evaluated_test_acc"] is None for r in rows if r["trial"] != e["trial"])
assert f"{100 * e['test_acc']:.2f}%&#8224;" in page and "fhist evaluate: retrained on train + validation" in page
PY
# ... as Chromium draws it (skipped, saying so, where there is no Chromium)
EVAL_PCT=$("$PY" -c "import json,sys; print(f\"{100 * json.load(open(sys.argv[1]))['test_acc']:.2f}%\u2020\")" eval.json)
"$PY" "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/render_page.py" eval.html eval.png none "$EVAL_PCT" \
  "fhist evaluate: retrained on train + validation" > render_eval.log 2>&1
case $? in
  0) pass "the page in Chromium shows the evaluated test accuracy ($EVAL_PCT)" ;;
  77) echo "SKIP - the evaluated figure in Chromium: $(head -1 render_eval.log)" ;;
  *) fail "evaluated figure in Chromium: $(tail -5 render_eval.log)" ;;
esac

# --- bad input
out=$("$FHIST" search "${TINY[@]}" --journal hb_fh.db 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q "already exists: pass --resume" <<<"$out" && pass "existing journal not overwritten" || fail "existing journal: $rc $out"
# Bad data or sizes are found before the journal is created: nothing is left to block a new search or --resume
expect_exit 1 "/no/such/dir" "search with a missing dataset" -- \
  "$FHIST" search --data fashion-mnist:/no/such/dir --model cnn --threads 1 --journal nodata.db
expect_exit 2 "exceeds the 60000 training images" "search with a train size larger than the set" -- \
  "$FHIST" search --model cnn --train-size 59900 --val-size 200 --threads 1 --journal nodata.db
[ ! -e nodata.db ] && pass "no journal is left by a search refused for its data" || fail "nodata.db exists"
cat > bad_space.json <<'JSON'
{"name": "bad", "params": [{"name": "label_smoothing", "type": "float", "low": 0, "high": 0.5}]}
JSON
out=$("$FHIST" search "${TINY[@]}" --space bad_space.json --journal bad.db 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q "'label_smoothing' is not a training option" <<<"$out" && pass "unknown space parameter" || fail "bad space: $rc $out"
expect_exit 2 "--n-configs: expected a whole number >= 0, got '-1'" "plan validates --n-configs as search does" -- \
  "$FHIST" plan --algo sh --n-configs -1
"$FHIST" plan --algo hyperband --iterations 2 --max-budget 9 | grep -q "^total: 34 configurations, 44 jobs, 138 epochs" \
  && pass "plan --iterations" || fail "plan --iterations: $("$FHIST" plan --algo hyperband --iterations 2 --max-budget 9)"
# the default plan is the search's default, top-k-auto: two rounds of 45 one-epoch trials and 3 finalists
"$FHIST" plan --iterations 2 --max-budget 9 | grep -q "^top-k-auto plan: budgets 1..9 epochs, eta 3" \
  && "$FHIST" plan --iterations 2 --max-budget 9 | grep -q "^total: 90 configurations, 96 jobs, 138 epochs" \
  && pass "plan's default is top-k-auto" || fail "default plan: $("$FHIST" plan --iterations 2 --max-budget 9)"
# --- a plan that means hours at this machine's pace is pointed out after the first job (then Ctrl-C)
"$FHIST" search --data fashion-mnist --model cnn --train-size 100 --val-size 100 --threads 1 --algo hyperband --min-budget 1 --max-budget 6561 \
  --estimator original --window 1 --journal hours.db > hours.log 2>&1 &
pid=$!
for _ in $(seq 1 600); do grep -q "^note: at this pace" hours.log && break; sleep 0.1; done
kill -INT $pid; wait $pid; rc=$?
grep -qE "^note: at this pace \([0-9.]+ s per epoch\) the [0-9]+ epochs left take about [0-9.]+ h\." hours.log && [ $rc -eq 130 ] \
  && pass "search warns when the plan means hours" || fail "hours warning: rc $rc $(head -5 hours.log)"
out=$("$FHIST" plan --eta 1 2>&1); rc=$?
[ $rc -eq 2 ] && grep -qE -- "--eta.*>= 2" <<<"$out" && pass "eta 1 refused" || fail "eta: $rc $out"

finish "e2e search"
