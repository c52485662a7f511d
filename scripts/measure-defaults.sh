#!/usr/bin/env bash
# Issue 12, item 9: what the default augmentation and width cost or buy on Fashion-MNIST at the budgets the demo and
# the search defaults use. One `fhist train` per (budget, augmentation, width, seed); results in docs/data/defaults/.
# Resumable: a run whose JSON exists is skipped. Summarise with scripts/defaults-table.py.
set -euo pipefail
FHIST=${FHIST:-build/fhist}
OUT=${OUT:-docs/data/defaults}
mkdir -p "$OUT"
run() {  # train-size val-size epochs augment width seed
  local name="n$1-e$3-${4//,/+}-w$5-s$6"
  [ -f "$OUT/$name.json" ] && return 0
  echo "== $name"
  "$FHIST" train --data fashion-mnist --model resnet18 --width-mult "$5" --train-size "$1" --val-size "$2" \
    --epochs "$3" --max-budget "$3" --augment "$4" --seed "$6" --window 10 --no-checkpoint --threads 2 \
    -o "$OUT/$name.json" | tail -1
}
for seed in 0 1 2; do
  for aug in none flip crop,flip; do run 2000 1000 9 "$aug" 0.25 "$seed"; done
done
for aug in none crop,flip; do run 8000 2000 15 "$aug" 0.25 0; done
