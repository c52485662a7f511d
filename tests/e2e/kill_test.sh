#!/usr/bin/env bash
# kill -9 at random moments of real searches, every algorithm, one and two workers; then --resume until done. After
# each: the journal passes PRAGMA integrity_check, no epoch is recorded twice, and with one worker (or with two for
# the algorithms whose decisions do not depend on the order results arrive) the results equal an uninterrupted run's.
# Usage: kill_test.sh FHIST PYTHON WORKDIR [KILLS]   (KILLS: 4 in make test; docs/results.md reports a 24-kill run)
source "$(dirname "$0")/lib.sh" "$@"
KILLS=${4:-4}
RANDOM=20261202  # the same moments on every run

echo '{"name": "lr-wd", "params": [{"name": "lr", "type": "float", "low": 0.01, "high": 0.2, "log": true},
  {"name": "weight_decay", "type": "float", "low": 1e-5, "high": 1e-2, "log": true}]}' > space.json
BASE=(--data fashion-mnist --model cnn --train-size 500 --val-size 200 --space space.json --seed 5
      --min-budget 1 --max-budget 4 --eta 2 --n-configs 8)
# (the first four, make test's, cover random search and the asynchronous ones)
COMBOS=("hyperband 1" "random 2" "bohb 1" "asha 2" "sh 2" "random 1" "hyperband 2" "sh 1" "asha 1" "bohb 2")

declare -A took
straight() {  # algo workers: the uninterrupted run, once per combination; its wall time in ms
  local algo=$1 w=$2 db="straight_$1_$2.db"
  if [ ! -e "$db" ]; then
    local t0=$(date +%s%N)
    "$FHIST" search "${BASE[@]}" --algo "$algo" --workers "$w" --threads "$w" --journal "$db" > "straight_$1_$2.log" 2>&1 \
      || fail "straight $algo x$w: $(tail -3 "straight_$1_$2.log")"
    took[$1_$2]=$(( ($(date +%s%N) - t0) / 1000000 ))
  fi
}

survived=0
for i in $(seq 0 $((KILLS - 1))); do
  read -r algo w <<< "${COMBOS[$((i % ${#COMBOS[@]}))]}"
  straight "$algo" "$w"
  db="killed_$i.db"
  ms=${took[${algo}_$w]}
  at=$(( ms / 10 + RANDOM % (ms * 8 / 10 + 1) ))  # somewhere in the middle 80 % of the run
  "$FHIST" search "${BASE[@]}" --algo "$algo" --workers "$w" --threads "$w" --journal "$db" > "killed_$i.log" 2>&1 &
  pid=$!
  sleep "$(printf '%d.%03d' $((at / 1000)) $((at % 1000)))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  if [ ! -e "$db" ]; then  # killed before the journal existed: nothing to resume, start again
    "$FHIST" search "${BASE[@]}" --algo "$algo" --workers "$w" --threads "$w" --journal "$db" > "killed_$i.log" 2>&1
  elif ! "$FHIST" search --resume --journal "$db" > "resumed_$i.log" 2>&1; then
    # Killed while creating the journal: resume says so, and the same command starts it again over it.
    grep -q "was created but its search never started" "resumed_$i.log" \
      && "$FHIST" search "${BASE[@]}" --algo "$algo" --workers "$w" --threads "$w" --journal "$db" > "resumed_$i.log" 2>&1
  fi
  exact=0
  case "$algo $w" in *" 1"|"hyperband 2"|"sh 2"|"random 2") exact=1 ;; esac
  if "$PY" - "straight_${algo}_$w.db" "$db" "$exact" <<'PY'; then
import json, sqlite3, sys
def load(path):
    c = sqlite3.connect(path)
    assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "integrity"
    rows = c.execute("SELECT trial, epoch FROM epochs").fetchall()
    assert len(rows) == len(set(rows)), "an epoch recorded twice"
    res = sorted(c.execute("SELECT trial, budget_epochs, score, state FROM events WHERE kind = 'result'").fetchall())
    states = {s for (s,) in c.execute("SELECT state FROM trials")}
    assert states <= {"complete", "failed", "diverged"}, states
    # Every epoch row but when and where it ran (seconds, finished_at, worker): a lost or retrained epoch shows here
    epochs = [(t, e, json.loads(r)) for t, e, r in c.execute("SELECT trial, epoch, record FROM epochs ORDER BY trial, epoch")]
    epochs = [(t, e, {k: v for k, v in r.items() if "seconds" not in k and k not in ("finished_at", "worker")})
              for t, e, r in epochs]
    # Each trial's epochs run 1..n with no gap, up to the largest budget it reported
    for trial in {t for t, _, _ in epochs}:
        got = [e for t, e, _ in epochs if t == trial]
        assert got == list(range(1, len(got) + 1)), (trial, got)
        done = [(b, st) for t, b, _, st in res if t == trial]
        if done and all(st == "complete" for _, st in done):
            assert len(got) == max(b for b, _ in done), (trial, got, done)
    return res, epochs
(a, ea), (b, eb) = load(sys.argv[1]), load(sys.argv[2])
if sys.argv[3] == "1":
    assert a == b, (a, b)
    assert ea == eb, "epoch rows differ from the uninterrupted run's"
PY
    survived=$((survived + 1))
    pass "kill -9 at $at ms of $ms ($algo, $w worker(s)): resumed, intact$([ $exact = 1 ] && echo ', same results')"
  else
    fail "kill -9 at $at ms ($algo, $w worker(s)): $(tail -3 "resumed_$i.log" 2>/dev/null)"
  fi
done
echo "kill campaign: $survived of $KILLS kills survived"
finish "e2e kill"
