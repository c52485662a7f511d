# Shared by the end-to-end scripts: arguments, a scratch folder, pass/fail counting and exit-code checks.
# Usage in a script: source "$(dirname "$0")/lib.sh" "$@"   (arguments: FHIST PYTHON WORKDIR)
set -uo pipefail
FHIST=$(readlink -f "$1")
PY=$2
WORK=$3
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK" || exit 1
fails=0
passes=0
# Each line says how long its check took (since the previous line), so the suite's cost can be read off a log.
_last=${EPOCHREALTIME/./}
_took() { local now=${EPOCHREALTIME/./}; local ds=$(((now - _last) / 100000)); _last=$now; took="$((ds / 10)).$((ds % 10)) s"; }
pass() { _took; echo "ok   - $1 ($took)"; passes=$((passes + 1)); }
fail() { _took; echo "FAIL - $1 ($took)"; fails=$((fails + 1)); }

# expect_exit CODE PATTERN NAME -- CMD...: exit code and a stderr/stdout pattern.
expect_exit() {
  local code=$1 pattern=$2 name=$3; shift 4
  local out
  out=$("$@" 2>&1); local rc=$?
  if [ "$rc" -eq "$code" ] && grep -qE -- "$pattern" <<<"$out"; then pass "$name"
  else fail "$name (exit $rc, wanted $code and /$pattern/): $out"; fi
}

# journal_results JOURNAL: trial, budget, state and score of every result, one per line, sorted.
journal_results() {
  "$PY" -c "import sqlite3,sys; [print(*r) for r in sorted(sqlite3.connect(f'file:{sys.argv[1]}?mode=ro', uri=True).execute(\"SELECT trial, budget_epochs, state, score FROM events WHERE kind='result'\"))]" "$1"
}

# wait_count JOURNAL N [SQL]: waits until SQL (default: the epochs recorded), run on the journal read-only, counts N
# or more; one Python process polls every 20 ms, for 120 s at most. Exit status 1 if the count was never reached.
wait_count() {
  "$PY" - "$1" "$2" "${3:-select count(*) from epochs}" <<'PY'
import sqlite3, sys, time
path, want, sql = sys.argv[1], int(sys.argv[2]), sys.argv[3]
end = time.time() + 120
while time.time() < end:
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        n = db.execute(sql).fetchone()[0]
        db.close()
        if n >= want:
            sys.exit(0)
    except sqlite3.Error:
        pass
    time.sleep(0.02)
sys.exit(1)
PY
}

# kill_after_results PID JOURNAL N: waits (60 s at most) until JOURNAL holds N results or PID has ended, then
# kill -9 PID and reap it. The journal is read read-only (a plain connect would create it before the search does).
kill_after_results() {
  local pid=$1 db=$2 want=$3 i n
  for i in $(seq 600); do
    sleep 0.1
    n=$("$PY" -c "import sqlite3,sys; print(sqlite3.connect(f'file:{sys.argv[1]}?mode=ro', uri=True).execute(\"SELECT count(*) FROM events WHERE kind='result'\").fetchone()[0])" "$db" 2>/dev/null)
    [ "${n:-0}" -ge "$want" ] && break
    kill -0 "$pid" 2>/dev/null || break
  done
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
}

# finish NAME: the closing line, and the exit status.
finish() {
  echo "$1: $passes passed, $fails failed"
  [ "$fails" -eq 0 ]
}
