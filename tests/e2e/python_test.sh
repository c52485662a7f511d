#!/usr/bin/env bash
# The Python package driving a real PyTorch loop: examples/python/pytorch_ask_tell.py (a CNN on scikit-learn's
# digits, checkpoints in the trial folders) completes a HyperBand search; the same search killed with SIGKILL
# mid-search and run again on its journal resumes to the same trials, scores and incumbent; fhist report and its HTML
# page read the journal; fhist search --resume refuses it (it is the loop's to resume).
# Usage: python_test.sh FHIST PYTHON WORKDIR EXAMPLES_DIR PYTHONPATH
HERE=$(cd "$(dirname "$0")" && pwd)
EXAMPLES=$(readlink -f "$4")
export PYTHONPATH=$(readlink -f "$5")
source "$HERE/lib.sh" "$@"

if ! "$PY" -c "import torch, sklearn, fhist" 2> import.err; then
  fail "import torch, sklearn and fhist with $PY: $(tail -1 import.err) (make test installs and builds them)"
  finish e2e.python
  exit 1
fi
RUN=("$PY" "$EXAMPLES/python/pytorch_ask_tell.py" --max-budget 3 --eta 3 --seed 1)
"${RUN[@]}" --journal straight.db > straight.log 2>&1 && grep -q '^best: {' straight.log \
  && [ "$(journal_results straight.db | wc -l)" -eq 6 ] && pass "pytorch_ask_tell.py: a HyperBand search of 6 jobs" \
  || fail "pytorch_ask_tell.py: $(tail -5 straight.log)"

"${RUN[@]}" --journal killed.db > killed.log 2>&1 &
kill_after_results $! killed.db 2
"${RUN[@]}" --journal killed.db > resumed.log 2>&1 && grep -q '^resumed; best: ' resumed.log \
  && diff <(journal_results straight.db) <(journal_results killed.db) > /dev/null && "$PY" - straight.log resumed.log <<'PY' \
  && pass "killed with SIGKILL after 2 jobs and run again: resumed to the same trials, scores and incumbent" \
  || fail "kill + resume: $(tail -3 resumed.log; diff <(journal_results straight.db) <(journal_results killed.db))"
import json, sys
best = lambda path: json.loads(open(path).read().split("best: ", 1)[1].splitlines()[0])
a, b = best(sys.argv[1]), best(sys.argv[2])
for k in ("trial", "config", "score", "val_acc", "budget"):
    assert a[k] == b[k], (k, a[k], b[k])
PY

"$FHIST" report --journal killed.db > report.txt 2>&1 && grep -q "your own loop (ask and tell)" report.txt \
  && "$FHIST" report --journal killed.db --html page.html > /dev/null 2>&1 && [ -s page.html ] \
  && pass "fhist report and --html read the journal of a Python loop" || fail "report: $(head -3 report.txt)"
expect_exit 2 "driven by your own loop \(ask and tell\)" "fhist search --resume refuses an ask-and-tell journal (exit 2)" -- \
  "$FHIST" search --resume --journal straight.db
finish e2e.python
