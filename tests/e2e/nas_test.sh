#!/usr/bin/env bash
# End-to-end: the paper's spaces and models from the command line (tiny sizes, real Fashion-MNIST subsets).
# Usage: nas_test.sh FHIST PYTHON WORKDIR
source "$(dirname "$0")/lib.sh" "$@"

ARCH='|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|'
DATA=(--data fashion-mnist --train-size 400 --val-size 200 --test-size 200 --threads 1 --seed 1 --no-checkpoint)

# --- model-info prints the paper's counts
expect_exit 0 "parameters   11,220,132" "model-info resnet18" -- "$FHIST" model-info --model resnet18 --input 3x32x32 --classes 100
expect_exit 0 "MACs         1,159,448,576" "model-info resnet34" -- "$FHIST" model-info --model resnet34 --input 3x32x32 --classes 100
expect_exit 0 "parameters   3,349,342" "model-info DARTS_V2" -- "$FHIST" model-info --model darts --input 3x32x32 --classes 10
expect_exit 0 "parameters   802,426" "model-info nb201 cell" -- "$FHIST" model-info --model nb201 --arch "$ARCH" --input 3x32x32 --classes 10

# Without --input / --classes model-info counts for the default dataset (Fashion-MNIST: 1x28x28, 10 classes);
# --arch takes a DARTS genotype as it takes an NB-201 cell (as in train), and -o writes what --json prints
"$FHIST" model-info --model resnet18 --json > mi.json && "$FHIST" model-info --model resnet18 -o mi2.json > /dev/null \
  && "$PY" -c "import json; d = json.load(open('mi.json')); assert d['input'] == [1, 28, 28] and d['classes'] == 10, d; assert d == json.load(open('mi2.json'))" \
  && pass "model-info defaults to Fashion-MNIST's shape; --json = -o" || fail "model-info defaults: $(cat mi.json)"
POOLS="Genotype(normal=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('max_pool_3x3', 1), ('max_pool_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('avg_pool_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
v2=$("$FHIST" model-info --model darts --input 3x32x32 --json | "$PY" -c "import json,sys; print(json.load(sys.stdin)['parameters'])")
pools=$("$FHIST" model-info --model darts --input 3x32x32 --arch "$POOLS" --json | "$PY" -c "import json,sys; print(json.load(sys.stdin)['parameters'])")
[ "$v2" = 3349342 ] && [ -n "$pools" ] && [ "$pools" -lt "$v2" ] \
  && pass "model-info --arch takes a DARTS genotype (a pooling-only cell has fewer parameters: $pools)" \
  || fail "model-info --arch darts: $v2 vs $pools"

# --- one candidate of each space trains and is estimated alone
run_train() {  # name, then train flags
  local name=$1; shift
  if "$FHIST" train "${DATA[@]}" --epochs 2 --max-epochs 2 -o "$name.json" "$@" > "$name.log" 2>&1 \
     && "$PY" -c "import json,sys; d=json.load(open('$name.json')); assert len(d['epochs'])==2 and d['epochs'][-1]['fh_val_acc'] is not None" ; then
    pass "train $name"
  else
    fail "train $name: $(tail -5 "$name.log")"
  fi
}
run_train nb201 --model nb201 --arch "$ARCH" --channels 4 --cells 1
run_train darts --model darts --channels 4 --cells 5 --auxiliary --batch-size 64
run_train randaug --model cnn --space randaugment --config '{"ra_n": 2, "ra_m": 9}'
run_train nb201cfg --space nb201 --channels 4 --cells 1 \
  --config '{"edge_1_0": "nor_conv_1x1", "edge_2_0": "skip_connect", "edge_2_1": "avg_pool_3x3", "edge_3_0": "none", "edge_3_1": "nor_conv_3x3", "edge_3_2": "skip_connect"}'
# (on Fashion-MNIST --augment auto is none: RandAugment and its Cutout 16 alone)
grep -q '"augment": "randaug2-9,cutout16"' randaug.json && pass "the config's RandAugment is applied" || fail "randaug json: $(grep augment randaug.json)"

# --- searches over the paper's spaces
run_search() {  # name, then search flags
  local name=$1; shift
  if "$FHIST" search --data fashion-mnist --train-size 300 --val-size 100 --threads 1 --seed 2 --algo hyperband \
       --estimator fh --min-budget 1 --max-budget 2 --eta 2 --journal "$name.db" "$@" > "$name.log" 2>&1 \
     && grep -q "^best: trial" "$name.log"; then
    pass "search $name"
  else
    fail "search $name: $(tail -5 "$name.log")"
  fi
}
run_search s_nb201 --space nb201 --channels 4 --cells 1
run_search s_darts --space darts --channels 4 --cells 2 --batch-size 64
run_search s_randaug --space randaugment --model cnn
run_search s_scale --space resnet-scale --flops-cap 2x --width-mult 0.125
# The report draws the best cells: one NB201 cell per listed configuration, a normal and a reduction cell for DARTS.
"$FHIST" report --journal s_nb201.db --html nb201.html --top 3 2>/dev/null \
  && "$FHIST" report --journal s_darts.db --html darts.html --top 2 2>/dev/null \
  && [ "$(grep -o 'class="cell"' nb201.html | wc -l)" -eq 3 ] && [ "$(grep -o 'class="cell"' darts.html | wc -l)" -eq 4 ] \
  && grep -q '>normal cell</text>' darts.html && grep -q '>reduce cell</text>' darts.html \
  && pass "report --html draws the best NB201 and DARTS cells" \
  || fail "cell drawings: $(grep -o 'class="cell"' nb201.html darts.html | sort | uniq -c)"

# --- bad input names the token or field
expect_exit 2 "unknown op 'conv_9x9'|conv_9x9" "bad nb201 arch" -- \
  "$FHIST" train --model nb201 --arch '|conv_9x9~0|+|none~0|none~1|+|none~0|none~1|none~2|'
expect_exit 2 "sep_conv_9x9" "bad DARTS genotype" -- \
  "$FHIST" train --model darts --genotype "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_9x9', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
expect_exit 2 "ra_m" "config out of the space" -- \
  "$FHIST" train "${DATA[@]}" --model cnn --space randaugment --config '{"ra_n": 2, "ra_m": 99}'
expect_exit 2 "not valid JSON" "config not JSON" -- "$FHIST" train --model cnn --config '{"ra_n": 2,'
expect_exit 2 "'learning_rate' is not an option fhist knows .did you mean 'lr'" "unknown config key refused" -- \
  "$FHIST" train "${DATA[@]}" --model cnn --config '{"learning_rate": 0.05}'
expect_exit 2 "did you mean 'width_mult'" "misspelt config key refused" -- \
  "$FHIST" train "${DATA[@]}" --model cnn --config '{"widthmult": 0.5}'
expect_exit 2 "--input" "bad --input" -- "$FHIST" model-info --model resnet18 --input 3x32
expect_exit 2 "--flops-cap '3x'" "bad flops cap" -- \
  "$FHIST" search --space resnet-scale --flops-cap 3x --journal bad.db

finish "e2e nas"
