#!/usr/bin/env bash
# Searches with several workers: jobs overlap, every trial trains exactly as it would alone (HyperBand's decisions
# do not depend on the order results arrive in), and kill -9 with two jobs running + --resume loses nothing. Also
# fhist report / export (on a running search too) and scripts/rank-correlation.py on an export.
# Usage: parallel_test.sh FHIST PYTHON WORKDIR
SCRIPTS=$(readlink -f "$(dirname "$0")/../../scripts")
source "$(dirname "$0")/lib.sh" "$@"

BASE=(--data fashion-mnist --model cnn --train-size 600 --val-size 200 --seed 7 --space hparams
      --algo hyperband --estimator fh --min-budget 1 --max-budget 4 --eta 2)
HB=("${BASE[@]}" --device cpu)

# wait_for_results JOURNAL N: until the running search has reported N jobs (60 s at most).
wait_for_results() {
  for _ in $(seq 1 600); do
    "$PY" - "$1" "$2" <<'PY' 2>/dev/null && return 0
import sqlite3, sys
r = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True).execute("select sum(kind='result') from events").fetchone()
sys.exit(0 if (r[0] or 0) >= int(sys.argv[2]) else 1)
PY
    sleep 0.1
  done
}

# One thread per job in both runs, so each job's arithmetic is the same.
"$FHIST" search "${HB[@]}" --threads 1 --journal serial.db > serial.log 2>&1 || fail "serial search: $(tail serial.log)"
"$FHIST" search "${HB[@]}" --threads 2 --workers 2 --journal par.db > par.log 2>&1 || fail "parallel search: $(tail par.log)"
grep -q "2 worker(s)" par.log && pass "search reports its workers" || fail "workers line: $(head -1 par.log)"

"$PY" - serial.db par.db <<'PY' && pass "2 workers: jobs overlap, never more than 2 at once" || fail "overlap"
import sqlite3, sys
for path, want in ((sys.argv[1], 1), (sys.argv[2], 2)):
    out = peak = 0
    for (kind,) in sqlite3.connect(path).execute("select kind from events order by seq"):
        out += 1 if kind == "start" else -1
        peak = max(peak, out)
    assert peak == want, (path, peak)
PY

"$PY" - serial.db par.db <<'PY' && pass "2 workers give the serial run's trials, scores and epochs" || fail "parallel differs from serial"
import sqlite3, sys
def results(p):
    return sorted(sqlite3.connect(p).execute("select trial, bracket, rung, budget_epochs, score, state from events where kind='result'"))
def configs(p):
    return sqlite3.connect(p).execute("select id, bracket, config from trials order by id").fetchall()
def epochs(p):
    return sqlite3.connect(p).execute("select trial, epoch, record from epochs order by trial, epoch").fetchall()
a, b = sys.argv[1], sys.argv[2]
assert configs(a) == configs(b)
assert results(a) == results(b), (results(a), results(b))
strip = lambda rows: [(t, e) for t, e, _ in rows]
assert strip(epochs(a)) == strip(epochs(b))
PY
diff <(grep '^best:' serial.log) <(grep '^best:' par.log) > /dev/null && pass "same incumbent with 2 workers" \
  || fail "incumbent: $(grep '^best:' serial.log) vs $(grep '^best:' par.log)"

# --- kill -9 while two jobs run, resume with two workers
"$FHIST" search "${HB[@]}" --threads 2 --workers 2 --journal killed.db > killed1.log 2>&1 &
pid=$!
# (polled every 10 ms in one Python process: a job takes a few tenths of a second)
"$PY" - <<'PY'
import sqlite3, time
end = time.time() + 60
while time.time() < end:
    try:
        db = sqlite3.connect("file:killed.db?mode=ro", uri=True)
        done, running = db.execute("select sum(kind='result'), sum(kind='start') - sum(kind='result') from events").fetchone()
        db.close()
        if (done or 0) >= 4 and running == 2:
            break
    except sqlite3.Error:
        pass
    time.sleep(0.01)
PY
kill -STOP $pid  # frozen mid-job (it still holds the journal) while report and export read it, then killed
# report and export read the journal while the search holds it
out=$("$FHIST" report --journal killed.db 2>&1) && grep -q "job(s) running now" <<<"$out" \
  && pass "report on a running search says it runs" || fail "report while running: $out"
"$FHIST" export --journal killed.db --table epochs > running.csv && [ "$(wc -l < running.csv)" -ge 2 ] \
  && pass "export on a running search" || fail "export while running: $(head -3 running.csv)"
kill -9 $pid; wait $pid 2>/dev/null
running=$("$PY" -c "import sqlite3; print(sqlite3.connect('killed.db').execute(\"select sum(kind='start') - sum(kind='result') from events\").fetchone()[0])")
[ "$running" -ge 1 ] && pass "killed with $running job(s) running" || fail "kill came too late ($running running)"
out=$("$FHIST" report --journal killed.db 2>&1) && grep -q "interrupted: $running job(s) started and not finished" <<<"$out" \
  && pass "report tells an interrupted search from a running one" || fail "report after kill: $out"
"$FHIST" search --resume --workers 2 --threads 2 --journal killed.db > killed2.log 2>&1 || fail "resume: $(tail killed2.log)"

# --- Ctrl-C (SIGINT) while two jobs run: says what finished and how to resume, releases the journal, exits 130
"$FHIST" search "${HB[@]}" --threads 2 --workers 2 --journal sigint.db > sigint1.log 2>&1 &
pid=$!
wait_for_results sigint.db 3
kill -INT $pid; wait $pid; rc=$?
[ $rc -eq 130 ] && grep -q "^interrupted by SIGINT" sigint1.log && grep -q "^resume with: fhist search --resume --journal sigint.db$" sigint1.log \
  && pass "SIGINT: exit 130, what was recorded and the resume command" || fail "SIGINT: rc $rc $(tail -3 sigint1.log)"
# The signal may land between jobs (the log then says "0 running job(s) stopped"): the report says "interrupted"
# only when jobs were stopped, and never that the search runs.
stopped=$(sed -n 's/.*; \([0-9]*\) running job(s) stopped.*/\1/p' sigint1.log)
out=$("$FHIST" report --journal sigint.db)
[ ! -e sigint.db-wal ] && [ -n "$stopped" ] && ! grep -q "running now" <<<"$out" \
  && { [ "$stopped" -eq 0 ] || grep -q "interrupted: $stopped job(s) started and not finished" <<<"$out"; } \
  && pass "SIGINT: journal closed cleanly (no WAL left), not in use ($stopped job(s) stopped)" \
  || fail "after SIGINT: $(ls sigint.db*) $out"
"$FHIST" search --resume --journal sigint.db > sigint2.log 2>&1 || fail "resume after SIGINT: $(tail sigint2.log)"
"$PY" - par.db sigint.db <<'PY' && pass "SIGINT + resume: the uninterrupted run's results" || fail "SIGINT resume differs"
import sqlite3, sys
res = lambda p: sorted(sqlite3.connect(p).execute("select trial, budget_epochs, score, state from events where kind='result'"))
assert res(sys.argv[1]) == res(sys.argv[2])
PY
# --- a resume runs with the stored --threads (scores depend on them): 1 thread, Ctrl-C, resume without --threads
"$FHIST" search "${HB[@]}" --threads 1 --journal int1.db > int1a.log 2>&1 &
pid=$!
wait_for_results int1.db 3
kill -INT $pid; wait $pid
"$FHIST" search --resume --journal int1.db > int1b.log 2>&1 || fail "resume with stored threads: $(tail int1b.log)"
"$PY" - serial.db int1.db <<'PY' && grep -q "1 threads, 1 worker(s)" int1b.log \
  && pass "resume uses the stored --threads: the 1-thread run's exact scores" || fail "stored threads: $(head -2 int1b.log)"
import sqlite3, sys
res = lambda p: sorted(sqlite3.connect(p).execute("select trial, budget_epochs, score, state from events where kind='result'"))
assert res(sys.argv[1]) == res(sys.argv[2])
PY
grep -q "2 worker(s)" killed2.log && pass "resume takes --workers" || fail "resume workers: $(head -1 killed2.log)"
"$PY" - par.db killed.db <<'PY' && pass "kill -9 with 2 workers + resume: same results, no epoch twice" || fail "resume differs"
import sqlite3, sys
def results(p):
    return sorted(sqlite3.connect(p).execute("select trial, budget_epochs, score, state from events where kind='result'"))
def epochs(p):
    return sqlite3.connect(p).execute("select trial, epoch from epochs order by trial, epoch").fetchall()
a, b = sys.argv[1], sys.argv[2]
assert results(a) == results(b), (results(a), results(b))
assert epochs(a) == epochs(b)
PY

# --- the asynchronous ones with 2 workers: ASHA and BOHB finish with a consistent journal
for algo in asha bohb; do
  "$FHIST" search "${BASE[@]/hyperband/$algo}" --device cpu --n-configs 6 --threads 2 --workers 2 --journal "$algo.db" \
    > "$algo.log" 2>&1 || fail "$algo with 2 workers: $(tail "$algo.log")"
  "$PY" - "$algo.db" <<'PY' && pass "$algo with 2 workers: every job reported once, epochs contiguous" || fail "$algo journal"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
starts = db.execute("select trial, budget_epochs from events where kind='start' order by trial, budget_epochs").fetchall()
results = db.execute("select trial, budget_epochs from events where kind='result' order by trial, budget_epochs").fetchall()
assert starts == results and len(results) > 0, (starts, results)
for (trial,) in db.execute("select id from trials"):
    epochs = [e for (e,) in db.execute("select epoch from epochs where trial = ? order by epoch", (trial,))]
    assert epochs == list(range(1, len(epochs) + 1)), (trial, epochs)
    reached = max(b for t, b in results if t == trial)
    assert len(epochs) == reached, (trial, epochs, reached)
PY
done

# --- report and export
diff <(grep '^best:' par.log) <("$FHIST" report --journal par.db | grep '^best:') > /dev/null \
  && pass "report names the search's incumbent" || fail "report: $("$FHIST" report --journal par.db 2>&1)"
"$FHIST" export --journal par.db --table results -o results.csv 2> export.log \
  && "$FHIST" export --journal par.db --table epochs --format json -o epochs.json \
  && "$FHIST" export --journal par.db --table trials > trials.csv || fail "export: $(cat export.log)"
"$PY" - par.db results.csv epochs.json trials.csv <<'PY' && pass "export: results CSV, epochs JSON, trials CSV match the journal" || fail "export content"
import csv, json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = list(csv.DictReader(open(sys.argv[2])))
events = db.execute("select trial, budget_epochs, score from events where kind='result' order by seq").fetchall()
assert [(int(r["trial"]), int(r["budget_epochs"]), float(r["score"])) for r in rows] == events
assert all(float(r["params_lr"]) > 0 for r in rows)
epochs = json.load(open(sys.argv[3]))
assert len(epochs) == db.execute("select count(*) from epochs").fetchone()[0]
assert all(0 <= e["original_val_acc"] <= 1 and e["epoch"] >= 1 for e in epochs)
trials = list(csv.DictReader(open(sys.argv[4])))
assert len(trials) == db.execute("select count(*) from trials").fetchone()[0]
assert max(int(t["budget_epochs"]) for t in trials) == 4
PY
# rank-correlation.py on the export: a hand-made history with known answers, then the real one
"$PY" - <<'PY' > known.json
import json
rows = []
finals = [0.9, 0.8, 0.7, 0.6]          # trial t's final accuracy
for t, fin in enumerate(finals):
    rows.append({"trial": t, "epoch": 1, "original_val_acc": fin, "estimate": 1 - fin})   # original right, fh reversed
    rows.append({"trial": t, "epoch": 2, "original_val_acc": fin, "estimate": fin})
print(json.dumps(rows))
PY
"$PY" "$SCRIPTS/rank-correlation.py" known.json --json known_out.json --sh 4,2 --repeats 10 > known.log \
  && "$PY" - known_out.json <<'PY' && pass "rank-correlation.py: known rankings give rho/tau +-1, regrets, SH replay" \
  || fail "rank-correlation: $(cat known.log)"
import json, sys
out = json.load(open(sys.argv[1]))
# SH over all 4: the 1-epoch rung keeps 2; by original trials 0 and 1 (then 0 wins), by fh 3 and 2 (then 2 wins)
assert out["sh"]["budgets"] == [1], out["sh"]
assert out["sh"]["original"] == {"mean_regret": 0.0, "p_best": 1.0}, out["sh"]
assert abs(out["sh"]["fh"]["mean_regret"] - 0.2) < 1e-12 and out["sh"]["fh"]["p_best"] == 0.0, out["sh"]
e = out["epochs"]
assert len(e) == 1 and e[0]["epoch"] == 1
assert abs(e[0]["spearman_original"] - 1) < 1e-12 and abs(e[0]["kendall_original"] - 1) < 1e-12
assert abs(e[0]["spearman_fh"] + 1) < 1e-12 and abs(e[0]["kendall_fh"] + 1) < 1e-12
assert e[0]["regret_original"] == 0 and abs(e[0]["regret_fh"] - 0.3) < 1e-12
PY
"$PY" "$SCRIPTS/rank-correlation.py" epochs.json --json rank.json > rank.log && grep -q "^mean over epochs 1..3" rank.log \
  && pass "rank-correlation.py on an exported search" || fail "rank-correlation on export: $(cat rank.log)"
"$FHIST" evaluate --journal par.db --trial 3 --epochs 1 --threads 1 > eval3.log 2>&1 && grep -q "^evaluate: trial 3 " eval3.log \
  && grep -qE "^test accuracy: [0-9.]+%" eval3.log && pass "evaluate --trial retrains that trial" || fail "evaluate --trial: $(tail eval3.log)"
expect_exit 2 "--trial 999: par.db has trials 0..9" "evaluate --trial out of range" -- \
  "$FHIST" evaluate --journal par.db --trial 999 --epochs 1
expect_exit 2 "table" "export --table bogus refused" -- "$FHIST" export --journal par.db --table bogus
expect_exit 2 "missing.db: no such file" "report on a missing journal" -- "$FHIST" report --journal missing.db

# --- bad input
expect_exit 2 "--workers" "--workers 0 refused" -- "$FHIST" search "${HB[@]}" --workers 0 --journal w0.db
expect_exit 2 "empty entry in the device list" "empty device in a list refused" -- \
  "$FHIST" search "${BASE[@]}" --device cpu, --journal dl.db
expect_exit 2 "uses one device" "train refuses a device list" -- \
  "$FHIST" train --data fashion-mnist --model cnn --train-size 100 --val-size 50 --epochs 1 --device cpu,cpu
[ ! -e w0.db ] && [ ! -e dl.db ] && pass "refused searches wrote no journal" || fail "journal written on bad input"

finish "e2e parallel"
