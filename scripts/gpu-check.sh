#!/usr/bin/env bash
# GPU check: build against the local PyTorch's LibTorch with ninja, run the tests labelled `cuda`, the speed
# benchmarks (estimate vs epoch, paper-faithful vs fast; C++ vs PyTorch-Python step time), a 30-epoch ResNet-18
# Fashion-MNIST `fhist train` and a small search with 1 vs 4 workers; write JSON results to OUT_DIR. Meant to finish
# in under 6 minutes on one H100.
#
#   scripts/gpu-check.sh OUT_DIR [--cpu-smoke] [--fashion-mnist DIR] [--kit DIR]
#
# --kit DIR: what scripts/device-kit.sh packed (Debian .debs of the build dependencies, Fashion-MNIST), for a
# machine without them: the packages are unpacked into DIR/root (never into /) and put on CMake's search path.
# --cpu-smoke runs the same steps on the CPU at tiny sizes (what CI machines and `make test` hosts can do).
# Without Debian's dataset-fashion-mnist, pass --fashion-mnist DIR (the four IDX .gz files) or the 30-epoch run is
# skipped with a message.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: scripts/gpu-check.sh OUT_DIR [--cpu-smoke] [--fashion-mnist DIR] [--kit DIR]}
shift
smoke=0
fmnist=/usr/share/datasets/fashion-mnist
kit=
while [ $# -gt 0 ]; do
  case $1 in
    --cpu-smoke) smoke=1 ;;
    --fashion-mnist) fmnist=$2; shift ;;
    --kit) kit=$(readlink -f "$2"); shift ;;
    *) echo "gpu-check: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$out"
out=$(readlink -f "$out")
log() { echo "[gpu-check $(date +%T)] $*"; }

prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null || true)
if [ -n "$kit" ]; then
  root=$kit/root
  rm -rf "$root" && mkdir -p "$root"
  for deb in "$kit"/debs/*.deb; do
    if command -v dpkg-deb > /dev/null; then
      dpkg-deb -x "$deb" "$root"
    else  # a .deb is an ar archive holding data.tar.*; Python reads both
      python3 - "$deb" "$root" <<'PY'
import io, sys, tarfile
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"!<arch>\n", sys.argv[1]
pos = 8
while pos < len(data):
    name, size = data[pos:pos + 16].decode().strip().rstrip("/"), int(data[pos + 48:pos + 58].decode())
    body = data[pos + 60:pos + 60 + size]
    if name.startswith("data.tar"):
        tarfile.open(fileobj=io.BytesIO(body)).extractall(sys.argv[2])
    pos += 60 + size + (size % 2)
PY
    fi
  done
  prefix="${prefix:+$prefix;}$root/usr"
  [ -d "$kit/fashion-mnist" ] && fmnist=$kit/fashion-mnist
  log "kit: $(ls "$kit"/debs | wc -l) packages unpacked into $root"
fi
build=build-gpu
[ "$smoke" = 1 ] && build=build-gpu-smoke
log "configure ($build) against ${prefix:-the system LibTorch}"
[ -n "$prefix" ] && python3 -c 'import torch; print("PyTorch", torch.__version__, "CUDA", torch.version.cuda,
  "cxx11 ABI", torch._C._GLIBCXX_USE_CXX11_ABI)' 2>/dev/null | tee "$out/torch-version.txt" || true
# A CUDA LibTorch's TorchConfig runs FindCUDA and enable_language(CUDA): nvcc must be found (PATH, else the usual
# toolkit location). -DUSE_SYSTEM_NVTX=ON: 2.7 wheels otherwise fall back to libnvToolsExt, which CUDA 12.9+ toolkits
# no longer ship, and with it take the toolkit's NVTX3 (PyTorch 2.8 release notes, #151583); 2.8+ and Debian's
# LibTorch ignore it.
if ! command -v nvcc > /dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then export PATH=/usr/local/cuda/bin:$PATH; fi
{ cmake --version | head -1; ${CXX:-c++} --version | head -1; nvcc --version 2>/dev/null | tail -2 || true; } \
  > "$out/toolchain.txt" 2>&1 || true
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release ${prefix:+"-DCMAKE_PREFIX_PATH=$prefix"} -DUSE_SYSTEM_NVTX=ON \
  ${kit:+"-DFHIST_GTEST_SOURCE_DIR=$kit/root/usr/src/googletest"} > "$out/configure.log" 2>&1 \
  || { tail -50 "$out/configure.log"; exit 1; }
grep -- '-- fhist:' "$out/configure.log" || true  # LibTorch version, its libstdc++ ABI, how fmt is used
cmake --build "$build" -j "$(nproc)" > "$out/build.log" 2>&1 || { tail -50 "$out/build.log"; exit 1; }
bin=$build

if [ "$smoke" = 1 ]; then
  device=cpu; precision=fp32; extra=(); width=0.125; train_size=512; val_size=256; batch=32; steps=3; epochs=2
  search_width=0.125; search_train=256; search_val=128
else
  device=cuda; precision=bf16; extra=(--channels-last); width=1; train_size=10000; val_size=2000; batch=256
  steps=30; epochs=30; search_width=0.25; search_train=2000; search_val=1000
fi

log "tests labelled cuda"
ctest --test-dir "$build" -L cuda --output-on-failure > "$out/cuda-tests.log" 2>&1 || { cat "$out/cuda-tests.log"; exit 1; }
tail -3 "$out/cuda-tests.log"

# CIFAR-size data in the real binary format (the estimator's cost depends on shapes, not pixel values).
data=$build/cifar-synthetic
if [ ! -f "$data/test_batch.bin" ]; then
  mkdir -p "$data"
  python3 - "$data" <<'PY'
import os, random, sys
d = sys.argv[1]; rnd = random.Random(0)
def batch(path, n):
    with open(path, "wb") as f:
        for _ in range(n):
            f.write(bytes([rnd.randrange(10)]) + os.urandom(3072))
for i in range(1, 6):
    batch(f"{d}/data_batch_{i}.bin", 2400)
batch(f"{d}/test_batch.bin", 1000)
PY
fi

log "estimator benchmark (ResNet-18 x$width, CIFAR size, $device $precision)"
"$bin/fhist_bench_estimator" --data "cifar10:$data" --model resnet18 --width-mult "$width" --train-size "$train_size" \
  --val-size "$val_size" --device "$device" --precision "$precision" "${extra[@]}" --repeats 3 \
  --json "$out/bench-estimator.json" | tee "$out/bench-estimator.txt"

log "training-step time, C++ vs PyTorch-Python (ResNet-18 x$width, batch $batch, 32x32)"
"$bin/fhist_bench_step" --device "$device" --batch-size "$batch" --width-mult "$width" --steps "$steps" \
  --precision "$precision" "${extra[@]}" --json "$out/step-cpp.json"
if python3 -c 'import torch' 2>/dev/null; then
  python3 bench/step_bench.py --device "$device" --batch-size "$batch" --width-mult "$width" --steps "$steps" \
    --precision "$precision" "${extra[@]}" --json "$out/step-python.json"
  python3 - "$out" <<'PY'
import json, sys
o = sys.argv[1]
c = json.load(open(f"{o}/step-cpp.json")); p = json.load(open(f"{o}/step-python.json"))
r = c["median_step_seconds"] / p["median_step_seconds"]
json.dump({"cpp_over_python": r, "goal": "<= 1/1.2 = 0.833"}, open(f"{o}/step-ratio.json", "w"), indent=2)
print(f"C++ / Python step time: {r:.3f} (goal <= 0.833)")
PY
else
  log "no PyTorch in python3: the Python side of the step comparison is skipped"
fi

if [ -d "$fmnist" ]; then
  log "fhist train: ResNet-18 x$width on Fashion-MNIST, $epochs epochs, estimate every epoch ($device $precision)"
  rm -rf "$build/gpu-check-train"
  "$bin/fhist" train --data "fashion-mnist:$fmnist" --model resnet18 --width-mult "$width" --epochs "$epochs" \
    --max-budget "$epochs" --train-size "$train_size" --val-size "$val_size" --device "$device" \
    --precision "$precision" "${extra[@]}" --run-dir "$build/gpu-check-train" -o "$out/train.json" \
    | tee "$out/train.txt"
else
  log "no Fashion-MNIST at $fmnist: the 30-epoch run is skipped (pass --fashion-mnist DIR)"
fi
if [ -d "$fmnist" ]; then
  # Small trials leave a GPU idle between kernels; several workers (each on a CUDA stream of its own) fill it.
  log "search: HyperBand 1..4 eta 2 on Fashion-MNIST, $search_train images, 1 worker vs 4 workers ($device)"
  for w in 1 4; do
    rm -rf "$build/gpu-check-search-$w.db"*
    t0=$(date +%s.%N)
    "$bin/fhist" search --data "fashion-mnist:$fmnist" --model resnet18 --width-mult "$search_width" \
      --space hparams --algo hyperband --min-budget 1 --max-budget 4 --eta 2 --train-size "$search_train" \
      --val-size "$search_val" --seed 0 \
      --device "$device" --precision "$precision" "${extra[@]}" --workers "$w" \
      --journal "$build/gpu-check-search-$w.db" > "$out/search-workers-$w.txt"
    echo "$t0 $(date +%s.%N)" > "$out/search-workers-$w.time"
  done
  python3 - "$out" <<'PY'
import json, sys
o = sys.argv[1]
wall = {w: (lambda a, b: b - a)(*map(float, open(f"{o}/search-workers-{w}.time").read().split())) for w in (1, 4)}
json.dump({"wall_seconds_1_worker": wall[1], "wall_seconds_4_workers": wall[4], "speedup": wall[1] / wall[4]},
          open(f"{o}/search-workers.json", "w"), indent=2)
print(f"search wall time: 1 worker {wall[1]:.1f} s, 4 workers {wall[4]:.1f} s, speed-up {wall[1] / wall[4]:.2f}x")
PY
fi
# Everything in one file as well (a device session brings back a few files only).
python3 - "$out" <<'PY'
import glob, json, os, sys
o = sys.argv[1]
summary = {os.path.basename(f)[:-5]: json.load(open(f)) for f in sorted(glob.glob(f"{o}/*.json")) if not f.endswith("summary.json")}
summary["text"] = {os.path.basename(f): open(f).read()[-4000:] for f in sorted(glob.glob(f"{o}/*.txt"))}
json.dump(summary, open(f"{o}/summary.json", "w"), indent=2)
PY
log "results in $out (all of them in $out/summary.json)"
