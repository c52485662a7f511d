#!/usr/bin/env bash
# Your data: real data nobody here wrote (scikit-learn's digits and breast cancer sets) as an image folder (with a
# corrupt file and a stray text file), NumPy arrays, and a CSV file used as is. On each: fhist data, a search
# interrupted by SIGINT and resumed, the HTML report, fhist evaluate, and a small table. The digits folder's evaluated
# incumbent must reach >= 90% test accuracy, and breast cancer's >= 90%.
# Usage: your_data_test.sh FHIST PYTHON WORKDIR
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh" "$@"

CSV=$("$PY" "$HERE/your_data.py" . 2> gen.log) || { fail "writing the data: $(tail -3 gen.log)"; finish e2e.your_data; exit 1; }
FOLDER=(--data folder:digits-folder --skip-bad-images --model cnn)
NPY=(--data npy:digits-npy --model cnn)
TABLE=(--data "csv:$CSV" --skip-rows 1 --no-header --target last --holdout 0.2)
BUDGETS=(--algo hyperband --min-budget 1 --max-budget 4 --eta 2 --seed 0 --threads 1)

# --- fhist data: what fhist sees before any training
expect_exit 2 "digits-folder/train/digit3/(corrupt.png: cannot decode|notes.txt: not an image).*--skip-bad-images" \
  "a corrupt PNG or a stray text file in a class folder is refused, naming it (exit 2)" -- \
  "$FHIST" data folder:digits-folder
"$FHIST" data folder:digits-folder --skip-bad-images --json > folder.json 2> folder.err \
  && "$PY" - folder.json <<'PY' && pass "fhist data: 10 classes, 1397 train / 400 test 8x8 grey images, 2 files skipped" \
  || fail "fhist data on the folder: $(cat folder.err)"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["classes"] == [f"digit{d}" for d in range(10)], j["classes"]
assert (j["height"], j["width"], j["channels"]) == (8, 8, 1), j
assert j["splits"]["train"]["size"] == 1397 and j["splits"]["test"]["size"] == 400, j["splits"]
assert j["skipped"] == 2, j["skipped"]
assert "val" not in j["splits"], j["splits"]
PY
"$FHIST" data "csv:$CSV" --skip-rows 1 --no-header --target last > csv.txt 2>&1 \
  && grep -q "features: 30 per row" csv.txt && grep -q "classes: 2" csv.txt && grep -q "train.*569 examples" csv.txt \
  && pass "fhist data: breast cancer is 569 rows of 30 features, 2 classes" || fail "fhist data on the csv: $(cat csv.txt)"

# search_resumed NAME ARGS...: a search stopped by SIGINT once 3 jobs have finished, then --resume to the end.
search_resumed() {
  local name=$1; shift
  "$FHIST" search "$@" "${BUDGETS[@]}" --journal "$name.db" > "$name.log" 2>&1 &
  local pid=$! i
  for i in $(seq 600); do
    sleep 0.1
    [ -e "$name.db" ] && [ "$("$PY" -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT count(*) FROM events WHERE kind='result'\").fetchone()[0])" "$name.db" 2>/dev/null)" -ge 3 ] 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
  done
  kill -INT "$pid" 2>/dev/null
  wait "$pid"
  local rc=$?
  [ "$rc" -eq 130 ] && grep -q "fhist search --resume --journal $name.db" "$name.log" \
    && pass "$name: Ctrl-C stops the search and says how to resume (exit 130)" \
    || fail "$name: interrupted search: exit $rc: $(tail -5 "$name.log")"
  "$FHIST" search --resume --journal "$name.db" > "$name.resumed.log" 2>&1 \
    && "$PY" - "$name.db" <<'PY' && pass "$name: --resume finishes the search; no epoch recorded twice, journal intact" \
    || fail "$name: resume: $(tail -5 "$name.resumed.log")"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
rows = c.execute("SELECT trial, epoch FROM epochs").fetchall()
assert len(rows) == len(set(rows)), "an epoch recorded twice"
states = {s for (s,) in c.execute("SELECT state FROM trials")}
assert states <= {"complete", "failed", "diverged"}, states
assert c.execute("SELECT count(*) FROM trials WHERE state = 'complete'").fetchone()[0] >= 10
PY
}

# evaluated NAME MIN: fhist evaluate of the incumbent (train + validation, then the test split) reaches MIN.
evaluated() {
  "$FHIST" evaluate --journal "$1.db" --threads 1 --json > "$1.eval.json" 2> "$1.eval.err" \
    && "$PY" - "$1.eval.json" "$2" <<'PY' && pass "$1: the evaluated incumbent's test accuracy is >= $2 ($(cat "$1.acc"))" \
    || fail "$1: evaluate: $(tail -3 "$1.eval.err") $(cat "$1.eval.json" 2> /dev/null | head -c 300)"
import json, sys
j = json.load(open(sys.argv[1]))
acc = j["test_acc"]
open(sys.argv[1].replace(".eval.json", ".acc"), "w").write(f"{100 * acc:.2f}% on {j['test_images']} test examples")
assert acc >= float(sys.argv[2]), acc
PY
}

reported() {
  "$FHIST" report --journal "$1.db" --html "$1.html" > "$1.report.log" 2>&1 && grep -q "$2" "$1.html" \
    && pass "$1: fhist report --html writes the page, naming the data" || fail "$1: report: $(tail -3 "$1.report.log")"
}

tabled() {
  local name=$1; shift
  "$FHIST" table --journal "$name.table.db" --configs 2 --epochs 2 --threads 1 "$@" > "$name.table.log" 2>&1 \
    && "$PY" - "$name.table.db" <<'PY' && pass "$name: fhist table trains 2 configurations and measures their test accuracy" \
    || fail "$name: table: $(tail -5 "$name.table.log")"
import json, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
assert c.execute("SELECT count(*) FROM events WHERE kind = 'result' AND state = 'complete'").fetchone()[0] == 2
last = [json.loads(r) for (r,) in c.execute("SELECT record FROM epochs WHERE epoch = 2")]
assert len(last) == 2 and all(0.0 <= r["test_acc"] <= 1.0 for r in last), last
PY
}

search_resumed folder "${FOLDER[@]}"
reported folder "folder:digits-folder"
evaluated folder 0.90
tabled folder "${FOLDER[@]}"
# Rerunning a table resumes it with the threads it started with (here 1, where the default would be 3).
OMP_NUM_THREADS=3 "$FHIST" table --journal folder.table.db "${FOLDER[@]}" > folder.rerun.log 2>&1 \
  && grep -q "resuming (2 configurations of space hparams x 2 epochs, seed 0, 1 threads" folder.rerun.log \
  && pass "a table's rerun keeps the threads it started with" || fail "table rerun: $(head -3 folder.rerun.log)"

search_resumed npy "${NPY[@]}"
"$PY" - npy.db <<'PY' && pass "npy: the journal keeps the label mapping (class k = the k-th smallest label)" \
  || fail "npy: the journal's data_options.classes"
import json, sqlite3, sys
d = json.loads(sqlite3.connect(sys.argv[1]).execute("SELECT definition FROM study").fetchone()[0])
assert d["options"]["training"]["data_options"]["classes"] == [str(k) for k in range(1, 11)], d["options"]["training"]["data_options"]
PY
reported npy "npy:digits-npy"
evaluated npy 0.90
tabled npy "${NPY[@]}"

search_resumed csv "${TABLE[@]}"
grep -q "space mlp-hparams, mlp on csv:" csv.log \
  && pass "csv: a table of numbers searches the mlp-hparams space by default" || fail "csv: space: $(head -3 csv.log)"
reported csv "breast_cancer.csv"
evaluated csv 0.90
tabled csv "${TABLE[@]}"

finish e2e.your_data
