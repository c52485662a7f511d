#!/usr/bin/env bash
# Runs every libFuzzer target of a FHIST_LIBFUZZER build for SECONDS each, starting from the seed corpus in
# tests/fuzz/corpus (copied, so the repository stays clean). Prints executions, corpus growth and findings per target;
# exits 1 if any target found a crash (the reproducer is BUILD/fuzz/TARGET/crash-*).
# Usage: scripts/fuzz.sh BUILD_DIR [SECONDS] [TARGET...]
set -uo pipefail
BUILD=${1:?usage: fuzz.sh BUILD_DIR [SECONDS] [TARGET...]}
SECONDS_EACH=${2:-60}
shift $(( $# >= 2 ? 2 : 1 ))
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(idx cifar npy arch json csv)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
found=0
for t in "${TARGETS[@]}"; do
  work="$BUILD/fuzz/$t"
  mkdir -p "$work/corpus"
  cp -n "$ROOT/tests/fuzz/corpus/$t/"* "$work/corpus/" 2>/dev/null || true
  before=$(ls "$work/corpus" | wc -l)
  # NPY headers may be 64 KiB long (version 1's 2-byte length): libFuzzer's default 4 KiB inputs never reach the
  # long-header paths (a 40,000-character dtype once overflowed the stack).
  max_len=()
  [ "$t" = npy ] && max_len=(-max_len=70000)
  ( cd "$work" && ASAN_OPTIONS=detect_leaks=0 "$OLDPWD/$BUILD/tests/fuzz_$t" -max_total_time="$SECONDS_EACH" \
      "${max_len[@]}" -print_final_stats=1 -rss_limit_mb=4096 corpus > log.txt 2>&1 )
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log.txt" | grep -o '[0-9]*$')
  after=$(ls "$work/corpus" | wc -l)
  if [ $rc -ne 0 ] || ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* > /dev/null 2>&1; then
    found=1
    echo "fuzz_$t: FINDING after ${execs:-?} executions (exit $rc): $(ls "$work" | grep -E '^(crash|leak|timeout|oom)-' | head -3)"
    grep -E "ERROR|SUMMARY|==[0-9]+==" "$work/log.txt" | head -5
  else
    echo "fuzz_$t: ${SECONDS_EACH} s, ${execs:-?} executions, corpus $before -> $after inputs, no finding"
  fi
done
exit $found
