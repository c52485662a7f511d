"""Bad user data: image folders, NumPy arrays and CSV tables a user brings (--data folder:DIR, npy:DIR, csv:FILE).
Each is refused before any training with exit 2 and a message naming the file (and row / column) at fault."""
import base64
import os
import struct
import zlib

from harness import *  # noqa: F401,F403
from files_cases import train

# An 8x8 grey JPEG (written once with Pillow; standard library only here).
JPEG_8X8 = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQEBQoHBwYIDAoMDAsKCwsNDhIQDQ4RDgsLEBYQERMUFRUVDA8XGBYU"
    "GBIUFRT/wAALCAAIAAgBAREA/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEG"
    "E1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJ"
    "ipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/9oACAEBAAA/AIvDX/BNv7n/"
    "ABK//Idf/9k=")


def png(w, h, seed=0):
    """A valid 8-bit grey PNG of w x h pixels."""
    raw = b"".join(b"\x00" + bytes((seed + x * 7 + y * 13) % 256 for x in range(w)) for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def image_folder(name, classes=("cat", "dog"), per_class=12, size=(8, 8), extra=None):
    """DIR/<class>/i.png; `extra` maps a path inside DIR to bytes (None: an empty folder)."""
    d = p("user", name)
    for c in classes:
        for i in range(per_class):
            write(os.path.join(d, c, f"{i:03d}.png"), png(*size, seed=i))
    for rel, data in (extra or {}).items():
        if data is None:
            os.makedirs(os.path.join(d, rel), exist_ok=True)
        else:
            write(os.path.join(d, rel), data)
    return d


def npy(shape, descr="|u1", data=None):
    """A version 1.0 .npy file."""
    n = 1
    for s in shape:
        n *= s
    item = int(descr[2:])
    dims = ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "")
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': ({dims}), }}"
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    body = data if data is not None else bytes(n * item)
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + body


def user_data_cases():
    c = "your data"
    good = image_folder("good")
    check(c, "control: a valid image folder trains (exit 0)", train(f"folder:{good}", train_size=None, val_size=None),
          0, r"no test split")

    d = image_folder("corrupt_png", extra={"cat/bad.png": b"\x89PNG\r\n\x1a\n" + b"\x00" * 30})
    check(c, "folder: corrupt PNG", train(f"folder:{d}", train_size=None, val_size=None), 2,
          r"corrupt_png/cat/bad\.png: cannot decode image .*--skip-bad-images")
    d = image_folder("truncated_jpeg", extra={"dog/cut.jpg": JPEG_8X8[: len(JPEG_8X8) // 2]})
    check(c, "folder: truncated JPEG", train(f"folder:{d}", train_size=None, val_size=None), 2,
          r"truncated_jpeg/dog/cut\.jpg: cannot decode image")
    d = image_folder("stray", extra={"dog/readme.txt": b"hello\n"})
    check(c, "folder: a stray text file in a class folder", train(f"folder:{d}", train_size=None, val_size=None), 2,
          r"stray/dog/readme\.txt: not an image")
    check(c, "folder: corrupt and stray files skipped with --skip-bad-images",
          train(f"folder:{d}", train_size=None, val_size=None) + ["--skip-bad-images"], 0, r"no test split")
    d = image_folder("empty_class", extra={"bird": None})
    check(c, "folder: a class folder with no images", train(f"folder:{d}", train_size=None, val_size=None), 2,
          r"empty_class/bird.*no images")
    d = image_folder("one_class", classes=("cat",))
    check(c, "folder: one class only", train(f"folder:{d}", train_size=None, val_size=None), 2,
          r"one_class.*at least two class")
    d = p("user", "mixed")
    for i in range(6):  # three sizes, none shared by half of the images
        write(os.path.join(d, "cat", f"{i}.png"), png(8, 8, i))
        write(os.path.join(d, "dog", f"{i}.png"), png(12, 10, i))
        write(os.path.join(d, "eel", f"{i}.png"), png(16, 16, i))
    check(c, "folder: mixed image sizes without a majority, no --image-size",
          train(f"folder:{d}", train_size=None, val_size=None), 2,
          r"mixed: the images differ in size and no size is shared by half of them .*pass --image-size HxW")
    check(c, "folder: the same with --image-size trains", train(f"folder:{d}", train_size=None, val_size=None) +
          ["--image-size", "8x8"], 0, r"no test split")
    check(c, "folder: --image-size that is not HxW", train(f"folder:{good}", train_size=None, val_size=None) +
          ["--image-size", "8by8"], 2, r"--image-size '8by8': expected HxW")
    check(c, "folder: a folder that does not exist", train(f"folder:{p('user', 'nope')}"), 2, r"user/nope")

    d = p("user", "npy_mismatch")
    write(os.path.join(d, "x_train.npy"), npy((6, 4, 4)))
    write(os.path.join(d, "y_train.npy"), npy((5,), "<i8"))
    check(c, "npy: N of x and y differ", train(f"npy:{d}", train_size=None, val_size=None), 2,
          r"npy_mismatch/y_train\.npy has 5 labels but .*x_train\.npy has 6 examples")
    d = p("user", "npy_no_y")
    write(os.path.join(d, "x_train.npy"), npy((6, 4, 4)))
    check(c, "npy: y_train.npy missing", train(f"npy:{d}", train_size=None, val_size=None), 2,
          r"npy_no_y/y_train\.npy is missing")

    d = p("user", "npy_long_header")
    header = "{'descr': '" + "x" * 40000 + "', 'fortran_order': False, 'shape': (6, 4, 4), }"
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    write(os.path.join(d, "x_train.npy"), b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
    write(os.path.join(d, "y_train.npy"), npy((6,), "<i8"))
    check(c, "npy: a legal v1 header with a 40,000-character dtype (crashed a regex: SIGSEGV)",
          train(f"npy:{d}", train_size=None, val_size=None), 1,
          r"npy_long_header/x_train\.npy: NPY header of 40\d\d\d bytes \(NumPy reads at most 10000")

    rows = "a,b,label\n" + "".join(f"{i},{i * 2},{i % 2}\n" for i in range(20))
    f = p("user", "nan.csv")
    write(f, (rows + "3,nan,1\n").encode())
    check(c, "csv: NaN in a feature column", train(f"csv:{f}", train_size=None, val_size=None) + ["--target", "label"],
          2, r"nan\.csv: row 22, column 'b': missing value")
    f = p("user", "text.csv")
    write(f, (rows + "3,abc,1\n").encode())
    check(c, "csv: a word in a feature column", train(f"csv:{f}", train_size=None, val_size=None) + ["--target", "label"],
          2, r"text\.csv: row 22, column 'b': 'abc' is not a number")
    f = p("user", "good.csv")
    write(f, rows.encode())
    check(c, "csv: a target column that does not exist",
          train(f"csv:{f}", train_size=None, val_size=None) + ["--target", "labels"], 2,
          r"--target 'labels' is not a column \(did you mean 'label'\?\); the columns are: a, b, label")
    check(c, "csv: no --target", train(f"csv:{f}", train_size=None, val_size=None), 2, r"--target COLUMN is required")
    check(c, "csv: a table on a CNN", train(f"csv:{f}", train_size=None, val_size=None) + ["--target", "label"], 2,
          r"table of numbers: it trains the mlp model")
    check(c, "csv: image augmentation on a table",
          train(f"csv:{f}", train_size=None, val_size=None, model="mlp") + ["--target", "label", "--augment", "flip"],
          2, r"table of numbers: image augmentation")
    check(c, "csv: --target on image data", train(f"folder:{good}", train_size=None, val_size=None) +
          ["--target", "label"], 2, r"--target is for csv:FILE data")
