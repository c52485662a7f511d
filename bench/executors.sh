#!/usr/bin/env bash
# Executors measured in one run (docs/results.md, "Executors"):
# 1. The same HyperBand search on Fashion-MNIST (1 thread per job, so the three give identical results) run inline,
#    with 2 worker threads and with 2 MPI workers (mpirun -np 3): wall seconds of the job loop and utilisation per
#    worker (busy / wall), as fhist search prints them.
# 2. Rank 0's throughput: HyperBand over a table (--objective table: jobs read from the table, no training) with 2,
#    8 and 16 MPI workers oversubscribed on this machine's cores: results and journal rows handled per second.
# Usage: bench/executors.sh BUILD_DIR TABLE.db [MPIRUN]
set -euo pipefail
BUILD=${1:?usage: executors.sh BUILD_DIR TABLE.db [MPIRUN]}
TABLE=${2:?usage: executors.sh BUILD_DIR TABLE.db [MPIRUN]}
MPIRUN=(${3:-mpirun} --allow-run-as-root --oversubscribe)
FHIST=$(readlink -f "$BUILD/fhist")
TABLE=$(readlink -f "$TABLE")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
loop() { sed -nE 's/^workers: (.*) busy of ([0-9.]+) s wall.*/\2 s loop, utilisation \1/p' "$1"; }

S=(--data fashion-mnist --model cnn --train-size 2000 --val-size 500 --threads 1 --seed 3 --space hparams
   --algo hyperband --min-budget 1 --max-budget 9 --eta 3 --estimator fh)
"$FHIST" search "${S[@]}" --journal inline.db > inline.log
"$FHIST" search "${S[@]}" --workers 2 --journal thread.db > thread.log
"${MPIRUN[@]}" -np 3 "$FHIST" search "${S[@]}" --executor mpi --journal mpi.db > mpi.log
echo "search: $(grep '^plan:' inline.log)"
printf "  %-22s %s\n" "inline:" "$(loop inline.log)" "2 threads:" "$(loop thread.log)" \
  "MPI, 2 workers (np 3):" "$(loop mpi.log)"
for f in thread mpi; do
  cmp -s <(grep '^best:' inline.log) <(grep '^best:' $f.log) && echo "  $f: same incumbent as inline" \
    || echo "  $f: ANOTHER incumbent than inline"
done

T=(--table "$TABLE" --objective table --algo hyperband --min-budget 1 --max-budget 12 --eta 3 --iterations 1000
   --estimator fh --seed 3)
echo "rank 0 throughput: hyperband over $(basename "$TABLE") (objective table), 1000 rounds"
for np in 3 9 17; do
  "${MPIRUN[@]}" -np $np "$FHIST" search "${T[@]}" --executor mpi --journal t$np.db > t$np.log
  secs=$(sed -nE 's/^workers: .* busy of ([0-9.]+) s wall.*/\1/p' t$np.log)
  read -r results epochs rows < <(python3 - t$np.db <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
q = lambda s: db.execute(s).fetchone()[0]
print(q("select count(*) from events where kind='result'"), q("select count(*) from epochs"),
      q("select count(*) from events") + q("select count(*) from epochs") + q("select count(*) from trials"))
PY
)
  python3 -c "
r, e, rows, s = $results, $epochs, $rows, $secs
print(f'  {$np - 1:>2} MPI workers: {r} results, {e} epoch rows, {rows} journal rows in {s} s: '
      f'{r / s:,.0f} results/s, {e / s:,.0f} epoch rows/s, {rows / s:,.0f} journal rows/s; '
      f'at 10 s per epoch a worker sends 0.1 epoch rows/s, so rank 0 could keep up with ~{e / s / 0.1:,.0f} such workers by throughput alone')"
done
