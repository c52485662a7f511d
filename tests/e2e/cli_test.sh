#!/usr/bin/env bash
# End-to-end: the fhist program on real Fashion-MNIST subsets, bad input, NumPy interop.
# Usage: cli_test.sh FHIST PYTHON WORKDIR
source "$(dirname "$0")/lib.sh" "$@"

SMALL=(--data fashion-mnist --model cnn --width-mult 0.5 --batch-size 128 --threads 1 --seed 3 --test-size 1000)
SIZES=(--train-size 1500 --val-size 500)

# --- a real run, with JSON and saved features
"$FHIST" train "${SMALL[@]}" "${SIZES[@]}" --epochs 4 --max-epochs 4 --window 3 --run-dir run_a -o a.json \
  --save-features feats > train.log 2>&1 || { cat train.log; fail "train runs"; }
grep -q "final: test accuracy" train.log && pass "train prints the final test accuracy" || fail "train output: $(cat train.log)"
"$PY" - a.json <<'PY' && pass "JSON has every field per epoch" || fail "JSON content"
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["epochs"]) == 4, d
for e in d["epochs"]:
    for k in ["epoch", "train_loss", "original_val_acc", "refit_val_acc", "fh_val_acc", "seconds", "estimate_seconds"]:
        assert k in e, k
    assert 0 <= e["fh_val_acc"] <= 1 and 0 <= e["original_val_acc"] <= 1
assert 0.3 < d["test_acc"] <= 1, d["test_acc"]   # well above chance (0.1) after 4 short epochs
assert d["seed"] == 3 and d["train_size"] == 1500 and d["test_size"] == 1000  # --test-size: a draw of the test set
assert d["augment"] == "none", d["augment"]   # --augment auto on Fashion-MNIST (the measured default)
PY

# --- a second run into the same features folder is refused before it writes (its epochs would mix with these)
before=$(ls -l --time-style=+%s.%N feats | md5sum)
expect_exit 2 "--save-features feats: the folder is not empty" "non-empty --save-features folder refused" -- \
  "$FHIST" train "${SMALL[@]}" "${SIZES[@]}" --epochs 2 --max-epochs 2 --window 3 --run-dir run_b --save-features feats
[ "$before" = "$(ls -l --time-style=+%s.%N feats | md5sum)" ] && pass "the earlier run's features are untouched" \
  || fail "feats changed"

# --- fhist estimate on the saved features reproduces the run's last estimate
"$FHIST" estimate --features feats --window 3 --seed 3 --json > est.json 2>&1 || fail "estimate runs: $(cat est.json)"
"$PY" - a.json est.json <<'PY' && pass "estimate from .npy files equals the run's estimate" || fail "estimate mismatch"
import json, sys
run = json.load(open(sys.argv[1])); est = json.load(open(sys.argv[2]))
assert est["epochs"] == [2, 3, 4], est["epochs"]
assert abs(run["epochs"][-1]["fh_val_acc"] - est["fh_val_acc"]) < 1e-9, (run["epochs"][-1]["fh_val_acc"], est["fh_val_acc"])
assert abs(run["epochs"][-1]["refit_val_acc"] - est["refit_val_acc"]) < 1e-9
PY

# --- a Python user's features, written by NumPy, read by fhist
"$PY" - <<'PY' || fail "numpy writes a feature history"
import numpy as np, os
rng = np.random.default_rng(0)
means = rng.normal(size=(5, 12)) * 3
yva = rng.integers(0, 5, 300)  # one validation set, the same images every epoch
for ep in range(1, 4):
    d = f"pyfeats/epoch_{ep:04d}"; os.makedirs(d, exist_ok=True)
    ytr = rng.integers(0, 5, 800)
    np.save(f"{d}/train_features.npy", (means[ytr] + rng.normal(size=(800, 12))).astype(np.float32))
    np.save(f"{d}/train_labels.npy", ytr.astype(np.int64))
    np.save(f"{d}/val_features.npy", (means[yva] + rng.normal(size=(300, 12))).astype(np.float16))
    np.save(f"{d}/val_labels.npy", yva.astype(np.int64))
    np.save(f"{d}/head_weight.npy", np.zeros((5, 12), np.float32))
    np.save(f"{d}/head_bias.npy", np.zeros(5, np.float32))
PY
"$FHIST" estimate --features pyfeats --json > py.json 2>&1
"$PY" -c "import json,sys; d=json.load(open('py.json')); assert d['fh_val_acc'] > 0.9 and d['original_val_acc'] < 0.4, d" \
  && pass "estimate on NumPy-written features" || fail "numpy interop: $(cat py.json)"
expect_exit 0 "^epochs 1\.\.3 of pyfeats \(3 epochs: fewer than --window 10\)$" "estimate says which epochs a short history gave" -- \
  "$FHIST" estimate --features pyfeats

# --- the two fh implementations agree on a real network (ResNet-18 x0.25, fixed seed)
"$FHIST" train --data fashion-mnist --model resnet18 --width-mult 0.25 --train-size 600 --val-size 500 --test-size 200 --epochs 3 \
  --max-epochs 3 --seed 0 --threads 1 --compare-impl --no-checkpoint -o impl.json > impl.log 2>&1
"$PY" - impl.json <<'PY' && pass "fast and paper-faithful fh agree within 0.3 pt per epoch" || fail "fh implementations differ: $(cat impl.log)"
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["epochs"]) == 3
for e in d["epochs"]:
    assert abs(e["fh_val_acc"] - e["fh_paper_val_acc"]) <= 0.003, e
PY

# --- resume: 2 epochs, then continue to 4 = 4 straight
# (the second command names only the run folder: every other setting comes from run_b/run.json)
"$FHIST" train "${SMALL[@]}" "${SIZES[@]}" --epochs 2 --max-epochs 4 --window 3 --run-dir run_b -o b.json > b1.log 2>&1
"$FHIST" train --resume --run-dir run_b --epochs 4 --threads 1 -o b.json > b2.log 2>&1
grep -q "resumed from run_b/checkpoint.pt after epoch 2" b2.log && pass "resume reports where it continues" \
  || fail "resume log: $(cat b2.log)"
"$PY" - a.json b.json <<'PY' && pass "resumed run equals the straight run" || fail "resume differs"
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
assert [e["epoch"] for e in b["epochs"]] == [1, 2, 3, 4]
for x, y in zip(a["epochs"], b["epochs"]):
    assert x["train_loss"] == y["train_loss"] and x["fh_val_acc"] == y["fh_val_acc"], (x, y)
assert a["test_acc"] == b["test_acc"], (a["test_acc"], b["test_acc"])
PY
"$FHIST" train --resume --run-dir run_b --epochs 4 --threads 1 --json > b3.json 2> b3.log
"$PY" -c "import json; d = json.load(open('b3.json')); assert len(d['epochs']) == 4 and d['seed'] == 3, d" \
  && pass "train --json prints only JSON on stdout" || fail "train --json: $(head -c 300 b3.json) $(tail -2 b3.log)"
# --epochs grows a run only within its learning-rate schedule: past it, the message says what to do instead
expect_exit 2 "^fhist train: error: --epochs 6: run_b was started with --max-budget 4, .* start a new run with --max-budget 6" \
  "resume --epochs past the run's schedule says it is another run" -- \
  "$FHIST" train --resume --run-dir run_b --epochs 6 --threads 1
# --- Ctrl-C during training: says how many epochs are done and how to resume, exits 130
"$FHIST" train "${SMALL[@]}" "${SIZES[@]}" --epochs 40 --max-epochs 40 --window 3 --run-dir run_int > int.log 2>&1 &
pid=$!
for _ in $(seq 1 600); do [ -e run_int/checkpoint.pt ] && break; sleep 0.1; done
kill -INT $pid; wait $pid; rc=$?
[ $rc -eq 130 ] && grep -q "^interrupted by SIGINT (Ctrl-C) in epoch .*; resume with: fhist train --resume --run-dir run_int$" int.log \
  && pass "train: SIGINT says how to resume, exit 130" || fail "train SIGINT: rc $rc $(tail -3 int.log)"

expect_exit 2 "already exists: pass --resume" "an existing checkpoint is not overwritten" -- \
  "$FHIST" train "${SMALL[@]}" "${SIZES[@]}" --epochs 4 --max-epochs 4 --window 3 --run-dir run_b
expect_exit 2 "these differ: --max-budget 5 \(stored: 4\), --lr 0.05 \(stored: 0.1\)\. Drop them" \
  "resume with changed flags names every one with its stored value" -- \
  "$FHIST" train "${SMALL[@]}" "${SIZES[@]}" --epochs 4 --max-epochs 5 --window 3 --run-dir run_b --resume --lr 0.05
expect_exit 2 "--resume needs --run-dir" "resume without a run folder" -- "$FHIST" train --resume
# a run folder without run.json (an older fhist): the checkpoint's fingerprint still refuses, as bad input
cp -r run_b run_old && rm run_old/run.json
expect_exit 2 "--max-budget = 4, this run has 5" "older run folder: the checkpoint refuses another schedule" -- \
  "$FHIST" train "${SMALL[@]}" "${SIZES[@]}" --epochs 4 --max-epochs 5 --window 3 --run-dir run_old --resume

# --- plain runs get a new folder each (runs/train, runs/train-2) and say which
mkdir -p plain && (cd plain && for i in 1 2; do
  "$FHIST" train "${SMALL[@]}" --train-size 300 --val-size 100 --epochs 1 --max-budget 1 --window 1 > run$i.log 2>&1 || exit 1
done) && grep -q "^run folder: runs/train (continue it with: fhist train --resume --run-dir runs/train)" plain/run1.log \
  && grep -q "^run folder: runs/train-2 " plain/run2.log && [ -f plain/runs/train-2/checkpoint.pt ] \
  && pass "a second plain train gets runs/train-2" || fail "run folders: $(cat plain/run2.log)"

# --- -o into a folder that does not exist: refused before any work, nothing created
expect_exit 2 "fhist export: error: --output: the folder 'no_dir' does not exist" "export -o into a missing folder" -- \
  "$FHIST" export --journal x.db --table epochs -o no_dir/x.csv
[ ! -e no_dir ] && pass "no folder was created" || fail "no_dir created"

# --- bad input (bad values, data and files: tests/bad_input, which this does not repeat)
expect_exit 2 "nope not in" "unknown model is a usage error" -- "$FHIST" train --model nope
expect_exit 2 "^fhist train: error: unknown option --frobnicate$" "unknown flag is a usage error" -- "$FHIST" train --frobnicate
expect_exit 2 "fhist train: error: unknown option --epoch \(did you mean --epochs\?\)" "misspelt flag: nearest option" -- \
  "$FHIST" train --epoch 3
expect_exit 2 "fhist search: error: unknown option --max-budjet \(did you mean --max-budget\?\)" "misspelt flag with =" -- \
  "$FHIST" search --max-budjet=9 --journal typo.db
expect_exit 2 "fhist: error: unknown command 'trian' \(did you mean 'train'\?\); commands: train, " "misspelt command" -- \
  "$FHIST" trian --epochs 3
expect_exit 2 "fhist train: error: unexpected argument 3" "stray positional argument" -- "$FHIST" train 3
expect_exit 2 "^fhist report: error: --top: expected a whole number >= 1, got '0'" "readable range error" -- \
  "$FHIST" report --journal x.db --top 0
expect_exit 2 "^fhist train: error: --window must be >= 1" "window 0 (the command named in the error)" -- \
  "$FHIST" train --window 0
expect_exit 2 "^fhist: error: a command is required: train, estimate" "no command" -- "$FHIST"
expect_exit 2 "--test-size 20000 exceeds the 10000 test images" "test size larger than the test set" -- \
  "$FHIST" train --model cnn --threads 1 --train-size 300 --val-size 100 --test-size 20000 --epochs 1 --max-epochs 1 --no-checkpoint

# Errors come before the banner: a search that cannot start never prints its "search:" and "plan:" lines.
for bad in "--space missing-space.json" "--data folder:no-such-folder" "--data fashion-mnist:no-such-dir"; do
  out=$("$FHIST" search $bad --journal banner.db 2>&1); rc=$?
  [ $rc -ne 0 ] && ! grep -qE "^(search|plan):" <<<"$out" && [ ! -e banner.db ] \
    && pass "search $bad: the error alone, no banner, no journal (exit $rc)" \
    || fail "search $bad: exit $rc, output: $out"
done

# The launcher runs plan, search (until it trains), report and export without LibTorch; every other command is in
# LibTorch's part, beside the program. A copy of the program alone shows both: what needs no LibTorch works, the rest
# says which file is missing.
mkdir -p alone && cp "$FHIST" alone/fhist
expect_exit 0 "^total: 17 configurations" "the launcher alone: plan runs without LibTorch's part" -- \
  alone/fhist plan --algo hyperband --min-budget 1 --max-budget 9 --eta 3
expect_exit 2 "^fhist search: error: unknown option --bogus" "the launcher alone: search's flags checked without it" -- \
  alone/fhist search --bogus
expect_exit 1 "^fhist: error: LibTorch's part of fhist \(libfhist-torch.so\) is neither beside the program nor in .*/lib/fhist: rebuild or reinstall" \
  "the launcher alone: train names the missing library (exit 1)" -- alone/fhist train --epochs 1
finish "e2e"
