#!/usr/bin/env bash
# C++ (fhist_bench_step) vs PyTorch-Python (step_bench.py) training-step time, like against like: the same
# ResNet-18, batch, input, device and intra-op threads, warmed up, the two alternating ROUNDS times so that drift in
# the machine's speed hits both. Prints each round and the median of the per-round ratios C++ / Python.
# Usage: bench/step_compare.sh BUILD_DIR [ROUNDS] [extra flags for both, e.g. --threads 2 --batch-size 128]
set -euo pipefail
BUILD=${1:?usage: step_compare.sh BUILD_DIR [ROUNDS] [flags...]}
ROUNDS=${2:-5}
shift $(( $# >= 2 ? 2 : 1 ))
PY=${PYTHON:-python3}
HERE=$(dirname "$0")
if ! "$PY" -c 'import torch' 2>/dev/null; then
  echo "step_compare: skipped, $PY has no torch (Debian: apt-get install python3-torch)"
  exit 0
fi
median_of() { grep -o 'median [0-9.]*' | cut -d' ' -f2; }
ratios=()
for r in $(seq "$ROUNDS"); do
  c=$("$BUILD/fhist_bench_step" "$@" | median_of)
  p=$("$PY" "$HERE/step_bench.py" "$@" | median_of)
  ratio=$("$PY" -c "print(f'{$c / $p:.3f}')")
  ratios+=("$ratio")
  echo "round $r: C++ $c s, Python $p s, C++/Python $ratio"
done
"$PY" - "${ratios[@]}" <<'PY'
import statistics, sys
r = sorted(float(x) for x in sys.argv[1:])
print(f"median C++/Python step time: {statistics.median(r):.3f} (range {r[0]:.3f}..{r[-1]:.3f}, {len(r)} rounds)")
PY
