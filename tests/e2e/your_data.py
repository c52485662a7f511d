#!/usr/bin/env python3
"""Writes real data nobody here wrote (scikit-learn's copy of the UCI handwritten digits: 1,797 8x8 images) in the
layouts a user brings: an image folder (PNG, JPEG, BMP and GIF, with one corrupt file and one stray text file) and
NumPy arrays. Usage: your_data.py OUTDIR. Prints the path of sklearn's breast_cancer.csv, which the test uses as is."""
import os
import sys

import numpy as np
from PIL import Image
import sklearn.datasets

out = sys.argv[1]
digits = sklearn.datasets.load_digits()
x = np.clip(np.rint(digits.images * (255.0 / 16.0)), 0, 255).astype(np.uint8)  # [1797, 8, 8], 0..16 -> 0..255
y = digits.target.astype(np.int64)
rng = np.random.default_rng(0)
perm = rng.permutation(len(y))
test_idx, train_idx = perm[:400], perm[400:]

# The image folder: DIR/train/<digit>/*.{png,jpg,bmp,gif} and DIR/test/<digit>/*.png; validation is carved from train.
formats = [("png", "PNG"), ("jpg", "JPEG"), ("bmp", "BMP"), ("gif", "GIF")]
for split, idx in (("train", train_idx), ("test", test_idx)):
    for k, i in enumerate(idx):
        ext, fmt = formats[k % 4] if split == "train" else ("png", "PNG")
        d = os.path.join(out, "digits-folder", split, f"digit{y[i]}")
        os.makedirs(d, exist_ok=True)
        opts = {"quality": 95} if fmt == "JPEG" else {}
        Image.fromarray(x[i]).save(os.path.join(d, f"{i:04d}.{ext}"), fmt, **opts)
bad = os.path.join(out, "digits-folder", "train", "digit3")
with open(os.path.join(bad, "corrupt.png"), "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
with open(os.path.join(bad, "notes.txt"), "w") as f:
    f.write("scanned on a Tuesday\n")

# The same digits as arrays: uint8 [N, 8, 8] images with their own test split, labels shifted to 1..10 (remapped).
d = os.path.join(out, "digits-npy")
os.makedirs(d, exist_ok=True)
np.save(os.path.join(d, "x_train.npy"), x[train_idx])
np.save(os.path.join(d, "y_train.npy"), (y[train_idx] + 1).astype(np.int32))
np.save(os.path.join(d, "x_test.npy"), x[test_idx])
np.save(os.path.join(d, "y_test.npy"), (y[test_idx] + 1).astype(np.int32))
print(os.path.join(os.path.dirname(sklearn.datasets.__file__), "data", "breast_cancer.csv"))
