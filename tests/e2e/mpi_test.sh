#!/usr/bin/env bash
# The MPI executor under mpirun (3 ranks on 2 cores: rank 0 searches, ranks 1-2 train): the same HyperBand search
# gives the same trials, promotions, scores, epoch rows and incumbent inline and with 2 MPI workers (with 2 threads:
# e2e.parallel);
# kill -9 of a worker rank mid-rung ends the run, and --resume under mpirun completes it with nothing finished
# retrained and the uninterrupted run's results; a single rank is refused. An error on any rank (rank 0's journal
# exists, a worker without the data) or rank 0's death ends every rank within seconds (no hang: 60 s timeouts).
# Usage: mpi_test.sh FHIST PYTHON WORKDIR MPIEXEC
source "$(dirname "$0")/lib.sh" "$@"
MPIRUN=(timeout 600 "$4" --allow-run-as-root --oversubscribe)
# Containers often forbid the cross-process memory copy (CMA) Open MPI's shared-memory transport uses for large
# messages; plain copies work everywhere.
export OMPI_MCA_btl_vader_single_copy_mechanism=none

S=(--data fashion-mnist --model cnn --train-size 300 --val-size 100 --threads 1 --seed 5 --space hparams
   --algo hyperband --min-budget 1 --max-budget 4 --eta 2 --estimator fh)
"$FHIST" search "${S[@]}" --journal inline.db > inline.log 2>&1 || fail "inline: $(tail -3 inline.log)"
"${MPIRUN[@]}" -np 3 "$FHIST" search "${S[@]}" --executor mpi --journal mpi.db > mpi.log 2>&1 \
  || fail "mpi: $(tail -5 mpi.log)"
grep -q "workers: [0-9]*%, [0-9]*% busy" mpi.log && pass "mpirun -np 3: 2 workers, utilisation printed" \
  || fail "mpi summary: $(tail -4 mpi.log)"

# same(A, B, NAME[, B_LOG]): results, epoch rows and the incumbent line equal (results compared as sets: with 2 workers
# they may arrive in another order, which HyperBand's promotions do not depend on).
same() {
  "$PY" - "$1.db" "$2.db" <<'PY' && grep "^best: " "$1.log" | cmp -s - <(grep "^best: " "${4:-$2.log}") && pass "$3" || fail "$3"
import json, sqlite3, sys
def load(path):
    db = sqlite3.connect(path)
    results = sorted(db.execute("select trial, bracket, rung, budget_epochs, score, state from events where kind='result'"))
    epochs = sorted((t, e, json.loads(r)["original_val_acc"], json.loads(r)["train_loss"], json.loads(r)["fh_val_acc"])
                    for t, e, r in db.execute("select trial, epoch, record from epochs"))
    trials = sorted(db.execute("select id, bracket, config, state from trials"))
    assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
    return results, epochs, trials
a, b = load(sys.argv[1]), load(sys.argv[2])
for name, x, y in zip(("results", "epochs", "trials"), a, b):
    assert x == y, (name, [p for p in zip(x, y) if p[0] != p[1]][:3], len(x), len(y))
assert len(a[1]) == len({(t, e) for t, e, *_ in a[1]}), "an epoch recorded twice"
PY
}
same inline mpi "MPI with 2 workers: the inline run's trials, promotions, scores and incumbent"

# --- kill -9 of a worker rank mid-rung, then --resume under mpirun
K=(--data fashion-mnist --model cnn --train-size 800 --val-size 200 --threads 1 --seed 7 --space hparams
   --algo hyperband --min-budget 1 --max-budget 4 --eta 2 --estimator fh)
"${MPIRUN[@]}" -np 3 "$FHIST" search "${K[@]}" --executor mpi --journal straight.db > straight.log 2>&1 \
  || fail "straight: $(tail -3 straight.log)"
# kill_rank JOURNAL RANK N [SIGNAL [SQL]]: starts the search KILL_ARGS under QUICK_RUN -np 3, sends SIGNAL (KILL)
# to rank RANK once SQL on the journal (the epochs recorded) counts N, and waits for mpirun; sets victim (the pid
# signalled, "" if none) and rc (mpirun's exit status).
kill_rank() {
  local db=$1 rank=$2 n=$3 sig=${4:-KILL} sql=${5:-select count(*) from epochs} p runpid
  "${QUICK_RUN[@]}" -np 3 "$FHIST" search "${KILL_ARGS[@]}" --executor mpi --journal "$db" > "${db%.db}.log" 2>&1 &
  runpid=$!
  victim=""
  if wait_count "$db" "$n" "$sql"; then
    for p in $(pgrep -f "fhist search .*--journal $db"); do
      if tr '\0' '\n' < /proc/$p/environ 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$rank"; then victim=$p; fi
    done
  fi
  [ -n "$victim" ] && kill -"$sig" "$victim"
  wait $runpid; rc=$?
}
QUICK_RUN=("${MPIRUN[@]}")
KILL_ARGS=("${K[@]}")
kill_rank killed.db 1 6
[ -n "$victim" ] && [ $rc -ne 0 ] && pass "kill -9 of worker rank 1 mid-search ends the run (mpirun exit $rc)" \
  || fail "kill: victim '$victim', mpirun exit $rc"
before=$("$PY" -c "import sqlite3; print(sqlite3.connect('killed.db').execute('select count(*) from epochs').fetchone()[0])")
"${MPIRUN[@]}" -np 3 "$FHIST" search --resume --journal killed.db --executor mpi > resumed.log 2>&1 \
  || fail "resume: $(tail -5 resumed.log)"
grep -q "^best: " resumed.log && pass "--resume under mpirun completes the search ($before epochs were recorded)" \
  || fail "resumed: $(tail -5 resumed.log)"
same straight killed "after kill -9 and resume: the uninterrupted run's results, no epoch recorded twice, integrity ok" \
  resumed.log

# --- SIGTERM to rank 0 alone (what a batch system sends): rank 0 cancels the workers' jobs at once, not when one ends.
# Each job is 4 epochs long and the signal comes once both are handed out: no job may end with a result.
T=(--data fashion-mnist --model cnn --train-size 1500 --val-size 300 --threads 1 --seed 7 --space hparams
   --algo random --n-configs 2 --min-budget 4 --max-budget 4 --estimator fh)
QUICK_RUN=(timeout 60 "$4" --allow-run-as-root --oversubscribe)
KILL_ARGS=("${T[@]}")
kill_rank term.db 0 2 TERM "select count(*) from events where kind = 'start'"
grep -q "interrupted by SIGTERM: .* running job(s) stopped" term.log && [ $rc -ne 0 ] && [ $rc -ne 124 ] \
  && pass "SIGTERM to rank 0 alone ends the job (mpirun exit $rc) with rank 0's message" \
  || fail "SIGTERM to rank 0: victim '$victim', exit $rc: $(tail -4 term.log)"
"$PY" - term.db <<'PY' && pass "SIGTERM to rank 0: the workers' jobs were cancelled mid-job (no result, no 4th epoch)" \
  || fail "SIGTERM to rank 0 did not stop the workers' jobs"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
assert db.execute("select count(*) from events where kind = 'result'").fetchone()[0] == 0
assert (db.execute("select max(epoch) from epochs").fetchone()[0] or 0) < 4
PY
"${MPIRUN[@]}" -np 3 "$FHIST" search --resume --journal term.db --executor mpi > term.resumed.log 2>&1 \
  && [ "$(journal_results term.db | grep -c complete)" -eq 2 ] && pass "--resume after the SIGTERM completes both trials" \
  || fail "resume after SIGTERM: $(tail -4 term.resumed.log)"

expect_exit 2 "this run has 1 MPI rank" "one rank is refused" -- \
  "${MPIRUN[@]}" -np 1 "$FHIST" search "${S[@]}" --executor mpi --journal one.db

# --- an error on any rank ends the whole job within seconds (MPI_Abort) with its message; none may hang (60 s)
QUICK=(timeout 60 "$4" --allow-run-as-root --oversubscribe)
# ended CODE_PATTERN NAME -- CMD...: the job ended by itself (not by the timeout), non-zero, with the message.
ended() {
  local pattern=$1 name=$2; shift 3
  local t0=$SECONDS out rc
  out=$("$@" 2>&1); rc=$?
  if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -qE -- "$pattern" <<<"$out"; then pass "$name (exit $rc, $((SECONDS - t0)) s)"
  else fail "$name (exit $rc after $((SECONDS - t0)) s, wanted /$pattern/): $(tail -8 <<<"$out")"; fi
}
ended "MPI rank 0 of 3\): error: mpi\.db already exists" "rank 0 refuses an existing journal: every rank ends" -- \
  "${QUICK[@]}" -np 3 "$FHIST" search "${S[@]}" --executor mpi --journal mpi.db
# The data is missing on worker rank 1 only: each rank runs in its own folder, and the data path is relative.
mkdir -p here there && ln -sf /usr/share/datasets/fashion-mnist here/fm
M=(search --data fashion-mnist:fm --model cnn --train-size 600 --val-size 200 --threads 1 --seed 5 --algo hyperband
   --min-budget 1 --max-budget 2 --eta 2 --executor mpi --journal "$PWD/missing.db")
ended "MPI rank 1 of 3\): error: dataset directory fm does not exist" \
  "a worker rank without the data ends the job with its message" -- \
  "${QUICK[@]}" -np 1 -wdir "$PWD/here" "$FHIST" "${M[@]}" : -np 1 -wdir "$PWD/there" "$FHIST" "${M[@]}" \
  : -np 1 -wdir "$PWD/here" "$FHIST" "${M[@]}"
# kill -9 of rank 0 mid-search: mpirun ends the job; --resume under mpirun completes it.
QUICK_RUN=("${QUICK[@]}")
KILL_ARGS=("${K[@]}")
kill_rank rank0.db 0 4
[ -n "$victim" ] && [ $rc -ne 0 ] && [ $rc -ne 124 ] && pass "kill -9 of rank 0 ends the whole job (mpirun exit $rc)" \
  || fail "rank 0 kill: victim '$victim', mpirun exit $rc: $(tail -3 rank0.log)"
"${MPIRUN[@]}" -np 3 "$FHIST" search --resume --journal rank0.db --executor mpi > rank0.resumed.log 2>&1 \
  && same straight rank0 "after kill -9 of rank 0 and resume: the uninterrupted run's results" rank0.resumed.log \
  || fail "resume after rank 0's kill: $(tail -5 rank0.resumed.log)"
# --objective command under mpirun: the worker ranks run the script; the same trials and incumbent as one worker.
cat > curve.sh <<'SH'
lr=$(printf '%s' "$FHIST_CONFIG" | sed 's/.*"lr":\([^,}]*\).*/\1/')
awk -v lr="$lr" -v s="$FHIST_START_EPOCH" -v b="$FHIST_BUDGET" 'BEGIN {
  for (e = s; e <= b; e++) printf "{\"epoch\": %d, \"train_loss\": %.17g, \"val_acc\": %.6f}\n", e, 1 / (e * lr), lr / (lr + 0.1) - 0.2 / e
}'
SH
C=(--command "sh curve.sh" --algo hyperband --min-budget 1 --max-budget 9 --eta 3 --seed 2)
"$FHIST" search "${C[@]}" --journal cmd_inline.db > cmd_inline.log 2>&1 \
  && "${QUICK[@]}" -np 3 "$FHIST" search "${C[@]}" --executor mpi --journal cmd_mpi.db > cmd_mpi.log 2>&1 \
  && "$PY" - cmd_inline.db cmd_mpi.db <<'PY' && cmp -s <(grep "^best: " cmd_inline.log) <(grep "^best: " cmd_mpi.log) \
  && pass "--command under mpirun -np 3: the one-worker search's trials, scores and incumbent" \
  || fail "--command under mpirun: $(tail -5 cmd_mpi.log)"
import sqlite3, sys
load = lambda p: sorted(sqlite3.connect(p).execute("select trial, rung, budget_epochs, score, state from events where kind='result'"))
a, b = load(sys.argv[1]), load(sys.argv[2])
assert a == b and len(a) == 22, (len(a), len(b))
PY
finish mpi_test
