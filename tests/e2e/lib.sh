# Shared by the end-to-end scripts: arguments, a scratch folder, pass/fail counting and exit-code checks.
# Usage in a script: source "$(dirname "$0")/lib.sh" "$@"   (arguments: FHIST PYTHON WORKDIR)
set -uo pipefail
FHIST=$(readlink -f "$1")
PY=$2
WORK=$3
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK" || exit 1
fails=0
passes=0
pass() { echo "ok   - $1"; passes=$((passes + 1)); }
fail() { echo "FAIL - $1"; fails=$((fails + 1)); }

# expect_exit CODE PATTERN NAME -- CMD...: exit code and a stderr/stdout pattern.
expect_exit() {
  local code=$1 pattern=$2 name=$3; shift 4
  local out
  out=$("$@" 2>&1); local rc=$?
  if [ "$rc" -eq "$code" ] && grep -qE -- "$pattern" <<<"$out"; then pass "$name"
  else fail "$name (exit $rc, wanted $code and /$pattern/): $out"; fi
}

# finish NAME: the closing line, and the exit status.
finish() {
  echo "$1: $passes passed, $fails failed"
  [ "$fails" -eq 0 ]
}
