"""Bad data files: IDX and CIFAR datasets, NPY feature histories."""
import gzip
import os
import random
import re
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from harness import *  # noqa: F401,F403


def idx_images(n, rows=28, cols=28, magic=2051, data=None):
    body = data if data is not None else rng.randbytes(n * rows * cols)
    return struct.pack(">IIII", magic, n, rows, cols) + body


def idx_labels(n, magic=2049, labels=None):
    body = bytes(labels) if labels is not None else bytes(i % 10 for i in range(n))
    return struct.pack(">II", magic, n) + body


IDX_FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


def idx_dir(name, gz=False, **override):
    """A tiny valid Fashion-MNIST-format folder (120 train, 20 test images); `override` maps a file (its key with
    dashes as underscores, e.g. train_images) to other bytes, or None to leave it out."""
    d = p("data", name)
    os.makedirs(d, exist_ok=True)
    files = {"train_images": idx_images(120), "train_labels": idx_labels(120), "t10k_images": idx_images(20),
             "t10k_labels": idx_labels(20)}
    files.update(override)
    for key, data in files.items():
        fname = key.replace("_", "-") + ("-idx3-ubyte" if "images" in key else "-idx1-ubyte")
        if data is None:
            continue
        if gz:
            write(os.path.join(d, fname + ".gz"), gzip.compress(data))
        else:
            write(os.path.join(d, fname), data)
    return d


def train(data, **flags):
    """`fhist train` of one epoch of the small CNN on 60 + 20 images of `data`; flags override (train_size=5 for
    --train-size 5; None leaves a flag out). CLI11 refuses a flag given twice, so overrides replace."""
    opts = {"model": "cnn", "epochs": "1", "max_budget": "1", "train_size": "60", "val_size": "20", "batch_size": "32",
            "threads": "1"}
    opts.update(flags)
    args = ["train", "--data", data, "--no-checkpoint"]
    for k, v in opts.items():
        if v is not None:
            args.append(f"--{k.replace('_', '-')}={v}")
    return args


def datasets():
    c = "dataset"
    good = idx_dir("good")
    check(c, "control: the tiny IDX folder these cases corrupt trains (exit 0)", train(f"fashion-mnist:{good}"), 0,
          r"test accuracy")

    d = idx_dir("trunc_images", train_images=idx_images(120)[:5000])
    check(c, "IDX: truncated image file", train(f"fashion-mnist:{d}"), 1,
          r"trunc_images/train-images-idx3-ubyte: IDX image file has 5000 bytes, header \(120 images of 28x28\) says "
          r"(94096|16 \+ 120 x 28 x 28)")

    d = idx_dir("trunc_header", train_images=idx_images(120)[:10])
    check(c, "IDX: image file cut inside its 16-byte header", train(f"fashion-mnist:{d}"), 1,
          r"trunc_header/train-images-idx3-ubyte: truncated IDX image file \(10 bytes, header needs 16\)")

    d = idx_dir("trunc_labels", t10k_labels=idx_labels(20)[:15])
    check(c, "IDX: truncated label file", train(f"fashion-mnist:{d}"), 1,
          r"trunc_labels/t10k-labels-idx1-ubyte: IDX label file has 15 bytes, header \(20 labels\) says (28|8 \+ 20)")

    d = p("data", "trunc_gz")
    idx_dir("trunc_gz", gz=True)
    gzpath = os.path.join(d, "train-images-idx3-ubyte.gz")
    with open(gzpath, "rb") as f:
        blob = f.read()
    write(gzpath, blob[: len(blob) // 2])
    check(c, "IDX: gzip stream cut in the middle", train(f"fashion-mnist:{d}"), 1,
          r"trunc_gz/train-images-idx3-ubyte\.gz: (.*(corrupt|truncated|unexpected end)|IDX image file has \d+ bytes, "
          r"header \(120 images of 28x28\) says (94096|16 \+ 120 x 28 x 28))")

    d = idx_dir("gzip_bomb", gz=True, train_labels=idx_labels(120) + bytes(50_000_000))
    check(c, "IDX: a gzip bomb (the label file inflates 50 MB past what its header says)", train(f"fashion-mnist:{d}"),
          1, r"gzip_bomb/train-labels-idx1-ubyte\.gz: IDX label file has more than 128 bytes, header \(120 labels\) "
             r"says 128")

    d = idx_dir("real_trunc_gz")
    for f in IDX_FILES:
        os.remove(os.path.join(d, f))
        if os.path.exists(os.path.join(FMNIST, f + ".gz")):
            os.symlink(os.path.join(FMNIST, f + ".gz"), os.path.join(d, f + ".gz"))
    if os.path.exists(os.path.join(FMNIST, "t10k-images-idx3-ubyte.gz")):
        os.remove(os.path.join(d, "t10k-images-idx3-ubyte.gz"))
        with gzip.open(os.path.join(FMNIST, "t10k-images-idx3-ubyte.gz")) as f:
            raw = f.read()
        write(os.path.join(d, "t10k-images-idx3-ubyte.gz"), gzip.compress(raw[:-784], compresslevel=1))
        check(c, "IDX: real Fashion-MNIST test images one image short",
              train(f"fashion-mnist:{d}"), 1,
              r"t10k-images-idx3-ubyte\.gz: IDX image file has 7839232 bytes, header \(10000 images of 28x28\) says "
              r"(7840016|16 \+ 10000 x 28 x 28)")
    else:
        skip(c, "IDX: real Fashion-MNIST test images one image short", f"{FMNIST} is not installed")

    d = idx_dir("magic_images", train_images=idx_images(120, magic=2049))
    check(c, "IDX: wrong magic in the image file (a label file's)", train(f"fashion-mnist:{d}"), 1,
          r"magic_images/train-images-idx3-ubyte: not an IDX image file \(magic 2049, expected 2051\)")

    d = idx_dir("magic_labels", t10k_labels=idx_labels(20, magic=0x12345678))
    check(c, "IDX: wrong magic in the label file", train(f"fashion-mnist:{d}"), 1,
          r"magic_labels/t10k-labels-idx1-ubyte: not an IDX label file \(magic 305419896, expected 2049\)")

    d = idx_dir("count", train_labels=idx_labels(110))
    check(c, "IDX: label count differs from image count", train(f"fashion-mnist:{d}"), 1,
          r"count: train-images-idx3-ubyte has 120 images but train-labels-idx1-ubyte has 110 labels")

    d = idx_dir("size", train_images=struct.pack(">IIII", 2051, 120, 28, 28) + bytes(120 * 27 * 27))
    check(c, "IDX: images of 27x27 under a 28x28 header", train(f"fashion-mnist:{d}"), 1,
          r"size/train-images-idx3-ubyte: IDX image file has 87496 bytes, header \(120 images of 28x28\) says "
          r"(94096|16 \+ 120 x 28 x 28)")

    d = idx_dir("size_mix", t10k_images=idx_images(20, rows=32, cols=32))
    check(c, "IDX: test images 32x32, training images 28x28", train(f"fashion-mnist:{d}"), 1,
          r"size_mix.*t10k-images-idx3-ubyte.*32x32.*28x28|size_mix.*t10k-images-idx3-ubyte.*28x28.*32x32")

    d = idx_dir("label_range", train_labels=idx_labels(120, labels=[i % 10 for i in range(119)] + [12]))
    check(c, "IDX: label 12 out of 0..9", train(f"fashion-mnist:{d}"), 1,
          r"label_range/train-labels-idx1-ubyte: label 12 out of range \(expected 0\.\.9\)")

    d = idx_dir("missing", t10k_labels=None)
    check(c, "IDX: a file missing", train(f"mnist:{d}"), 1,
          r"missing/t10k-labels-idx1-ubyte: file not found \(also looked for .*t10k-labels-idx1-ubyte\.gz\)")

    d = idx_dir("empty", train_labels=b"")
    check(c, "IDX: an empty label file", train(f"mnist:{d}"), 1,
          r"empty/train-labels-idx1-ubyte: (not an IDX label file|truncated).*expected")

    check(c, "dataset folder does not exist", train(f"fashion-mnist:{p('data', 'nowhere')}"), 1,
          r"dataset directory .*data/nowhere does not exist")
    check(c, "unknown dataset name", train("imagenet:/tmp"), 2,
          r"--data 'imagenet:/tmp': unknown dataset 'imagenet' \(expected fashion-mnist, .*cifar10:DIR")
    check(c, "cifar10 without a folder", train("cifar10"), 2,
          r"--data 'cifar10': cifar10 needs a directory")

    rec = 3073

    def cifar_dir(name, n=8, **override):
        d = p("data", name)
        os.makedirs(d, exist_ok=True)
        for i in range(1, 6):
            write(os.path.join(d, f"data_batch_{i}.bin"),
                  b"".join(bytes([j % 10]) + bytes(3072) for j in range(n)))
        write(os.path.join(d, "test_batch.bin"), b"".join(bytes([j % 10]) + bytes(3072) for j in range(n)))
        for f, data in override.items():
            if data is None:
                os.remove(os.path.join(d, f))
            else:
                write(os.path.join(d, f), data)
        return d

    d = cifar_dir("c10_trunc", **{"data_batch_3.bin": bytes(5 * rec - 100)})
    check(c, "CIFAR-10: truncated batch", train(f"cifar10:{d}", train_size=20, val_size=5), 1,
          r"c10_trunc/data_batch_3\.bin: 15265 bytes is not a whole number of 3073-byte CIFAR-10 records")
    d = cifar_dir("c10_size", **{"test_batch.bin": bytes(4 * 3074)})
    check(c, "CIFAR-10: records of CIFAR-100's size (3074 bytes)",
          train(f"cifar10:{d}", train_size=20, val_size=5), 1,
          r"c10_size/test_batch\.bin: 12296 bytes is not a whole number of 3073-byte CIFAR-10 records")
    d = cifar_dir("c10_empty", **{"data_batch_5.bin": b""})
    check(c, "CIFAR-10: empty batch file", train(f"cifar10:{d}", train_size=20, val_size=5), 1,
          r"c10_empty/data_batch_5\.bin: 0 bytes is not a whole number of 3073-byte")
    d = cifar_dir("c10_missing", **{"test_batch.bin": None})
    check(c, "CIFAR-10: test_batch.bin missing",
          train(f"cifar10:{d}", train_size=20, val_size=5), 1,
          r"c10_missing/test_batch\.bin: (cannot open|missing|not found|does not exist)")
    d = cifar_dir("c10_label", **{"data_batch_2.bin": bytes([3]) + bytes(3072) + bytes([11]) + bytes(3072)})
    check(c, "CIFAR-10: label 11", train(f"cifar10:{d}", train_size=20, val_size=5), 1,
          r"c10_label/data_batch_2\.bin: record 1 has label 11 \(expected 0\.\.9\)")
    d = p("data", "c10_none")
    os.makedirs(d)
    check(c, "CIFAR-10: folder without batch files", train(f"cifar10:{d}"), 1,
          r"c10_none: no data_batch_1\.bin here or in .*cifar-10-batches-bin \(expected the CIFAR binary")
    d = p("data", "c100_size")
    write(os.path.join(d, "train.bin"), bytes(10 * rec))
    write(os.path.join(d, "test.bin"), bytes(2 * 3074))
    check(c, "CIFAR-100: records of CIFAR-10's size (3073 bytes)", train(f"cifar100:{d}"), 1,
          r"c100_size/train\.bin: 30730 bytes is not a whole number of 3074-byte CIFAR-100 records")


# ---- NPY feature histories -----------------------------------------------------------------------------------------

def npy(descr, shape, data, version=1, header=None, fortran=False):
    """An NPY file as numpy writes it (header padded to 64 bytes); `header` replaces the dictionary text."""
    if header is None:
        dims = ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "")
        header = f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': ({dims}), }}"
    pad = (64 - (len(header) + 1 + (10 if version == 1 else 12)) % 64) % 64
    h = (header + " " * pad + "\n").encode("latin1")
    size = struct.pack("<H", len(h)) if version == 1 else struct.pack("<I", len(h))
    return b"\x93NUMPY" + bytes([version, 0]) + size + h + data


def f4(values):
    return struct.pack(f"<{len(values)}f", *values)


def i8(values):
    return struct.pack(f"<{len(values)}q", *values)


N, M, D, C = 20, 10, 4, 3


def epoch_files(seed):
    r = random.Random(seed)
    return {
        "train_features.npy": npy("<f4", (N, D), f4([r.gauss(0, 1) for _ in range(N * D)])),
        "train_labels.npy": npy("<i8", (N,), i8([i % C for i in range(N)])),
        "val_features.npy": npy("<f4", (M, D), f4([r.gauss(0, 1) for _ in range(M * D)])),
        "val_labels.npy": npy("<i8", (M,), i8([i % C for i in range(M)])),
        "head_weight.npy": npy("<f4", (C, D), f4([r.gauss(0, 1) for _ in range(C * D)])),
        "head_bias.npy": npy("<f4", (C,), f4([0.0] * C)),
    }


def history(name, epoch=2, **override):
    """A valid two-epoch history (20 train rows, 10 validation rows, 4 features, 3 classes) in the layout of
    `fhist train --save-features`; `override` replaces files of epoch `epoch` by name without '.npy'
    (train_features=bytes), None removes one."""
    d = p("npy", name)
    for e in (1, 2):
        for f, data in epoch_files(e).items():
            write(os.path.join(d, f"epoch_{e:04d}", f), data)
    for key, data in override.items():
        path = os.path.join(d, f"epoch_{epoch:04d}", key + ".npy")
        if data is None:
            os.remove(path)
        else:
            write(path, data)
    return d


def npy_cases():
    c = "npy"
    E = ["estimate", "--window", "2", "--threads", "1", "--features"]
    check(c, "control: the two-epoch history these cases corrupt is estimated (exit 0)", E + [history("good")], 0,
          r"^fh\s+\d")

    d = history("big_endian", train_features=npy(">f4", (N, D), struct.pack(f">{N * D}f", *([0.5] * (N * D)))))
    check(c, "dtype: big-endian >f4 features", E + [d], 1,
          r"big_endian/epoch_0002/train_features\.npy: unsupported NPY dtype '>f4' \(expected one of <f2 <f4")
    d = history("complex", val_features=npy("<c8", (M, D), bytes(8 * M * D)))
    check(c, "dtype: complex64 features", E + [d], 1,
          r"complex/epoch_0002/val_features\.npy: unsupported NPY dtype '<c8' \(expected one of")
    d = history("float_labels", train_labels=npy("<f4", (N,), f4([float(i % C) for i in range(N)])))
    check(c, "dtype: float labels", E + [d], 1,
          r"float_labels/epoch_0002/train_labels\.npy: labels must be an integer array \(<i8, <i4 or \|u1\)")
    d = history("int_features", head_weight=npy("<i8", (C, D), i8([1] * (C * D))))
    check(c, "dtype: integer head weights", E + [d], 1,
          r"int_features/epoch_0002/head_weight\.npy: expected a float array \(<f2, <f4 or <f8\)")
    d = history("object", val_labels=npy("|O", (M,), bytes(8 * M)))
    check(c, "dtype: object array (pickled)", E + [d], 1,
          r"object/epoch_0002/val_labels\.npy: unsupported NPY dtype '\|O'")

    d = history("dims", train_features=npy("<f4", (N * D,), f4([0.1] * (N * D))))
    check(c, "shape: 1-D features", E + [d], 1,
          r"dims/epoch_0002/train_features\.npy: has 1 dimensions, expected 2")
    d = history("scalar", head_bias=npy("<f4", (), f4([0.0])))
    check(c, "shape: a 0-d array", E + [d], 1, r"scalar/epoch_0002/head_bias\.npy: has 0 dimensions, expected 1")
    d = history("nlabels", train_labels=npy("<i8", (N - 1,), i8([0] * (N - 1))))
    check(c, "shape: one label fewer than feature rows", E + [d], 1,
          r"nlabels/epoch_0002.*train_labels.*\[19\].*expected \[20\]")
    d = history("headdim", head_weight=npy("<f4", (C, D + 1), f4([0.1] * (C * (D + 1)))))
    check(c, "shape: head width differs from the feature dimension", E + [d], 1,
          r"headdim/epoch_0002.*head_weight.*\[3, 5\].*expected \[c, 4\]")
    d = history("dim_change", epoch=2, train_features=npy("<f4", (N, D + 2), f4([0.1] * (N * (D + 2)))),
                val_features=npy("<f4", (M, D + 2), f4([0.1] * (M * (D + 2)))),
                head_weight=npy("<f4", (C, D + 2), f4([0.1] * (C * (D + 2)))))
    check(c, "shape: feature dimension changes between epochs", E + [d], 1,
          r"dim_change/epoch_0002: epoch 2: feature dim 6, .* differ from epoch 1's")
    d = history("negdim", train_features=npy("<f4", (), f4([0.1] * (N * D)), header="{'descr': '<f4', "
                                             "'fortran_order': False, 'shape': (20, -4), }"))
    check(c, "shape: a negative dimension", E + [d], 1,
          r"negdim/epoch_0002/train_features\.npy: .*(-4|negative|shape)")
    d = history("hugedim", val_features=npy("<f4", (), f4([0.1] * (M * D)), header="{'descr': '<f4', "
                                            "'fortran_order': False, 'shape': (4611686018427387904, 4), }"))
    check(c, "shape: dimensions whose product overflows", E + [d], 1,
          r"hugedim/epoch_0002/val_features\.npy: .*(truncated|too large|overflow|shape)")

    d = history("version4", train_labels=npy("<i8", (N,), i8([0] * N), version=4))
    check(c, "version: format 4.0", E + [d], 1,
          r"version4/epoch_0002/train_labels\.npy: unsupported NPY format version 4 \(expected 1, 2 or 3\)")

    d = history("trunc_data", val_features=npy("<f4", (M, D), f4([0.1] * (M * D)))[:-7])
    check(c, "truncated: data 7 bytes short", E + [d], 1,
          r"trunc_data/epoch_0002/val_features\.npy: truncated NPY data \(shape needs 160 bytes, file holds 153\)")
    d = history("trunc_header", head_weight=npy("<f4", (C, D), f4([0.1] * (C * D)))[:40])
    check(c, "truncated: inside the header", E + [d], 1,
          r"trunc_header/epoch_0002/head_weight\.npy: truncated NPY header \(file has 40 bytes, header needs 128\)")
    d = history("trunc_magic", head_bias=b"\x93NUM")
    check(c, "truncated: inside the magic", E + [d], 1,
          r"trunc_magic/epoch_0002/head_bias\.npy: not an NPY file \(expected magic")
    d = history("empty_file", train_features=b"")
    check(c, "truncated: an empty file", E + [d], 1,
          r"empty_file/epoch_0002/train_features\.npy: not an NPY file \(expected magic")

    d = history("not_npy", train_features=b"train_features\n1,2,3,4\n")
    check(c, "header: a CSV file named .npy", E + [d], 1,
          r"not_npy/epoch_0002/train_features\.npy: not an NPY file \(expected magic")
    d = history("no_descr", val_labels=npy("", (), i8([0] * M), header="{'fortran_order': False, 'shape': (10,), }"))
    check(c, "header: no 'descr'", E + [d], 1, r"no_descr/epoch_0002/val_labels\.npy: NPY header has no 'descr'")
    d = history("no_shape", val_labels=npy("", (), i8([0] * M), header="{'descr': '<i8', 'fortran_order': False, }"))
    check(c, "header: no 'shape'", E + [d], 1, r"no_shape/epoch_0002/val_labels\.npy: NPY header has no 'shape'")
    d = history("fortran", train_features=npy("<f4", (N, D), f4([0.1] * (N * D)), fortran=True))
    check(c, "header: Fortran order", E + [d], 1,
          r"fortran/epoch_0002/train_features\.npy: Fortran-ordered NPY arrays are not supported")

    d = history("missing", head_bias=None)
    check(c, "layout: head_bias.npy missing", E + [d], 1,
          r"missing/epoch_0002/head_bias\.npy: missing \(see `fhist estimate --help` for the layout\)")
    d = p("npy", "no_epochs")
    write(os.path.join(d, "train_features.npy"), epoch_files(1)["train_features.npy"])
    check(c, "layout: no epoch_NNNN folders", E + [d], 1, r"no_epochs: no epoch_NNNN folders \(expected the layout")
    check(c, "layout: folder does not exist", E + [p("npy", "nowhere")], 1,
          r"npy/nowhere: feature directory does not exist")
    d = history("label_range", val_labels=npy("<i8", (M,), i8([5] + [0] * (M - 1))))
    check(c, "values: label 5 with a 3-class head", E + [d], 1,
          r"label_range/epoch_0002/val_labels\.npy: labels must lie in \[0, 3\)")
    d = history("nan", train_features=npy("<f4", (N, D), f4([float("nan")] + [0.1] * (N * D - 1))))
    check(c, "values: NaN features", E + [d], 1, r"epoch 2: train_features are not finite \(NaN or Inf")


# ---- arch strings and genotypes --------------------------------------------------------------------------------
