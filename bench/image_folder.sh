#!/usr/bin/env bash
# An image folder measured against the same images in IDX files (docs/results.md, "Your data"):
# 1. 10,000 Fashion-MNIST training images written as PNGs (one folder per class), decoded and cached by
#    `fhist data folder:DIR` on first sight: images per second (decode + cache write), then the cached load.
# 2. One CNN trained for 3 epochs on 8000 / 2000 of them, from the folder's cache and from IDX files holding the same
#    10,000 images, same threads: seconds per epoch, and the ratio.
# Usage: bench/image_folder.sh BUILD_DIR [N]
set -euo pipefail
BUILD=${1:?usage: image_folder.sh BUILD_DIR [N]}
N=${2:-10000}
FHIST=$(readlink -f "$BUILD/fhist")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

/usr/bin/python3 - "$N" <<'PY'
import gzip, os, shutil, struct, sys
import numpy as np
from PIL import Image
n = int(sys.argv[1])
src = "/usr/share/datasets/fashion-mnist"
raw = gzip.open(f"{src}/train-images-idx3-ubyte.gz").read()
x = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)[:n]
y = np.frombuffer(gzip.open(f"{src}/train-labels-idx1-ubyte.gz").read(), np.uint8, offset=8)[:n]
for i in range(n):
    d = f"folder/class{y[i]}"
    os.makedirs(d, exist_ok=True)
    Image.fromarray(x[i]).save(f"{d}/{i:05d}.png")
os.makedirs("idx")
with open("idx/train-images-idx3-ubyte", "wb") as f:
    f.write(struct.pack(">IIII", 2051, n, 28, 28) + x.tobytes())
with open("idx/train-labels-idx1-ubyte", "wb") as f:
    f.write(struct.pack(">II", 2049, n) + y.tobytes())
for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
    shutil.copy(f"{src}/{name}", "idx/" + name)
PY
secs() { local t0 t1; t0=$(date +%s%N); "$@" > /dev/null; t1=$(date +%s%N); echo "$(( (t1 - t0) / 1000000 ))"; }
"$FHIST" data fashion-mnist:idx > /dev/null  # warm the page cache and LibTorch's libraries
cold=$(secs "$FHIST" data folder:folder)
warm=$(secs "$FHIST" data folder:folder)
idx=$(secs "$FHIST" data fashion-mnist:idx)
echo "decode + cache: $N PNGs in $cold ms ($(( N * 1000 / cold )) images/s, the whole command)"
echo "cached load (fhist data, the whole command): $warm ms; the same images from IDX: $idx ms"

T=(--model cnn --epochs 3 --max-budget 3 --train-size 8000 --val-size 2000 --threads 2 --no-checkpoint --json)
"$FHIST" train --data folder:folder "${T[@]}" > folder.json 2> /dev/null
"$FHIST" train --data fashion-mnist:idx "${T[@]}" > idx.json 2> /dev/null
/usr/bin/python3 - <<'PY'
import json
def per_epoch(f):
    e = json.load(open(f))["epochs"][1:]  # epoch 1 warms up
    return sum(r["seconds"] for r in e) / len(e)
a, b = per_epoch("folder.json"), per_epoch("idx.json")
print(f"train, seconds per epoch (epochs 2-3, cnn, 8000 / 2000, 2 threads): folder cache {a:.3f} s, IDX {b:.3f} s, "
      f"ratio {a / b:.3f}")
PY
