"""The estimators from Python: fhist.FeatureHistory on NumPy arrays (and torch tensors) equals `fhist estimate` on the
same features saved as .npy files; fhist.score equals the scores a journal records for the same epochs; bad arrays
and names raise fhist.InputError naming what is wrong.

Run: PYTHONPATH=build/python FHIST=build/fhist /usr/bin/python3 -m unittest discover -s python/tests
"""
import json
import math
import os
import shutil
import sqlite3
import subprocess
import tempfile
import unittest

import numpy as np

import fhist

CLASSES, DIM, N, M = 5, 12, 400, 150


def epochs(seed=0, count=4):
    """A made-up feature history whose classes separate a little more every epoch; one validation set."""
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(CLASSES, DIM)) * 1.5
    yva = rng.integers(0, CLASSES, M)
    out = []
    for ep in range(1, count + 1):
        ytr = rng.integers(0, CLASSES, N)
        spread = 2.5 / ep
        out.append(dict(
            train_features=(means[ytr] + spread * rng.normal(size=(N, DIM))).astype(np.float32),
            train_labels=ytr.astype(np.int64),
            val_features=(means[yva] + spread * rng.normal(size=(M, DIM))).astype(np.float16),
            val_labels=yva.astype(np.int64),
            head_weight=(0.3 * means + 0.2 * rng.normal(size=(CLASSES, DIM))).astype(np.float32),
            head_bias=np.zeros(CLASSES, np.float32)))
    return out


class FeatureHistoryTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="fhist-est-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_equals_fhist_estimate_on_the_same_npy_files(self):
        fhist_bin = os.environ.get("FHIST")
        if not fhist_bin:
            self.skipTest("FHIST (the fhist binary) not set")
        history = fhist.FeatureHistory(window=3)
        for ep, arrays in enumerate(epochs(), start=1):
            d = os.path.join(self.dir, f"epoch_{ep:04d}")
            os.makedirs(d)
            for name, a in arrays.items():
                np.save(os.path.join(d, f"{name}.npy"), a)
            history.add_epoch(**arrays)
        self.assertEqual(history.epochs, [2, 3, 4])
        run = subprocess.run([fhist_bin, "estimate", "--features", self.dir, "--window", "3", "--threads", "1",
                              "--json"], capture_output=True, text=True)
        self.assertEqual(run.returncode, 0, run.stderr)
        cli = json.loads(run.stdout)
        self.assertEqual(cli["epochs"], [2, 3, 4])
        self.assertEqual(history.estimate("fh"), cli["fh_val_acc"])
        self.assertEqual(history.estimate("original"), cli["original_val_acc"])
        self.assertEqual(history.estimate("refit"), cli["refit_val_acc"])
        self.assertEqual(history.estimate_details("fh")["heads"], 3)
        # the separable features: well above chance (0.2), and the ensemble is not the untrained guess
        self.assertGreater(history.estimate("fh"), 0.6)

    def test_torch_tensors_give_the_numpy_result(self):
        try:
            import torch
        except ImportError:
            self.skipTest("no torch for this Python")
        a, b = fhist.FeatureHistory(window=2), fhist.FeatureHistory(window=2)
        for arrays in epochs(seed=1, count=3):
            a.add_epoch(**arrays)
            b.add_epoch(**{k: torch.from_numpy(v).requires_grad_(v.dtype.kind == "f") if v.dtype != np.float16
                           else torch.from_numpy(v) for k, v in arrays.items()})
        for name in ("fh", "fh-paper", "refit", "original"):
            self.assertEqual(a.estimate(name), b.estimate(name), name)

    def test_without_a_head_the_refits_start_from_zero_and_original_is_refused(self):
        h = fhist.FeatureHistory(window=2)  # the classes from the labels (0..4)
        for arrays in epochs(seed=2, count=2):
            h.add_epoch(arrays["train_features"], arrays["train_labels"], arrays["val_features"],
                        arrays["val_labels"])
        self.assertGreater(h.estimate("fh"), 0.6)
        self.assertEqual(h.estimate_details("fh")["heads"], 2)
        with self.assertRaisesRegex(fhist.InputError, r"estimate\('original'\) reads the network's own head"):
            h.estimate("original")

    def test_bad_input_names_the_array(self):
        good = epochs(seed=3, count=1)[0]
        h = fhist.FeatureHistory()
        with self.assertRaisesRegex(fhist.InputError, r"history is empty"):
            h.estimate("fh")
        with self.assertRaisesRegex(fhist.InputError, r"val_features: shape \[150, 11\] \(expected \[M, 12\]"):
            h.add_epoch(**dict(good, val_features=good["val_features"][:, :11]))
        with self.assertRaisesRegex(fhist.InputError, r"train_labels must hold whole numbers"):
            h.add_epoch(**dict(good, train_labels=good["train_labels"].astype(np.float32)))
        with self.assertRaisesRegex(fhist.InputError, r"labels run from 0 to 4; expected 0..2"):
            h.add_epoch(**dict(good, head_weight=good["head_weight"][:3], head_bias=good["head_bias"][:3]))
        with self.assertRaisesRegex(fhist.InputError, r"head_weight and head_bias together"):
            h.add_epoch(**dict(good, head_bias=None))
        h.add_epoch(**good)
        with self.assertRaisesRegex(fhist.InputError, r"epoch 1 after epoch 1"):
            h.add_epoch(**good, epoch=1)
        with self.assertRaisesRegex(fhist.InputError, r"unknown estimator|fh-bogus"):
            h.estimate("fh-bogus")
        with self.assertRaisesRegex(fhist.InputError, r"storage 'int8'"):
            fhist.FeatureHistory(storage="int8")


class ScoreTest(unittest.TestCase):
    def test_equals_what_the_journal_records(self):
        d = tempfile.mkdtemp(prefix="fhist-score-")
        try:
            journal = os.path.join(d, "s.db")
            study = fhist.Study(journal, algo="random", n_configs=1, min_budget=4, max_budget=4, seed=3)
            job = study.ask()
            reported = []
            for e in range(1, 5):
                values = dict(train_loss=2.0 / e + 0.1 * (e == 3), val_acc=0.5 + 0.08 * e - 0.05 * (e == 3),
                              val_loss=1.5 / e)
                study.report(job, e, num_classes=10, **values)
                reported.append(values)
            study.tell(job)
            rows = sqlite3.connect(journal).execute(
                "SELECT epoch, record FROM epochs WHERE trial = ? ORDER BY epoch", (job.trial,)).fetchall()
            self.assertEqual(len(rows), 4)
            names = [e["name"] for e in fhist.estimators() if not e["name"].startswith(("fh", "refit"))]
            self.assertIn("tse-ema", names)
            for epoch, record in rows:
                stored = json.loads(record)["scores"]
                for name in names:
                    got = fhist.score(name, reported[:epoch], max_budget=4, num_classes=10)
                    want = stored.get(name)
                    if name == "acc-tse":  # reported num_classes: computable at every epoch
                        self.assertIsNotNone(want, epoch)
                    if want is None:  # not computable from these measurements (NaN in the journal)
                        self.assertNotEqual(got, got, (name, epoch))
                    else:
                        self.assertEqual(got, want, (name, epoch))
            self.assertEqual(fhist.score("tse-e", reported), -reported[-1]["train_loss"])
            best = max(r["val_acc"] for r in reported[:2])
            self.assertAlmostEqual(fhist.score("acc-tse", reported[:2], max_budget=4, num_classes=10),
                                   min(1.0, best + 0.1 * (1 - 2 / 4) * max(0.0, math.log(10) - reported[1]["train_loss"])),
                                   places=12)
            self.assertEqual(fhist.score("tse-e:2", reported), -(reported[-1]["train_loss"] + reported[-2]["train_loss"]))
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_bad_input(self):
        with self.assertRaisesRegex(fhist.InputError, r"unknown estimator 'tse-q'"):
            fhist.score("tse-q", [{"train_loss": 1.0}])
        with self.assertRaisesRegex(fhist.InputError, r"no epochs"):
            fhist.score("tse-e", [])
        with self.assertRaisesRegex(fhist.InputError, r"epoch 1 is 0\.5, expected a dict"):
            fhist.score("tse-e", [0.5])
        with self.assertRaisesRegex(fhist.InputError, r"item 1 says epoch 2"):
            fhist.score("tse-e", [{"epoch": 2, "train_loss": 1.0}])
        with self.assertRaisesRegex(fhist.InputError, r"max_budget 1 is below the 2 epochs"):
            fhist.score("tse-e", [{"train_loss": 1.0}, {"train_loss": 0.5}], max_budget=1)
        with self.assertRaisesRegex(fhist.InputError, r"acc-tse compares the training loss .* pass num_classes"):
            fhist.score("acc-tse", [{"train_loss": 1.0, "val_acc": 0.5}])
        with self.assertRaisesRegex(fhist.InputError, r"train_loss must be a number"):
            fhist.score("tse-e", [{"train_loss": "low"}])

    def test_report_refuses_a_bad_num_classes(self):
        d = tempfile.mkdtemp(prefix="fhist-score-")
        try:
            study = fhist.Study(os.path.join(d, "c.db"), algo="random", n_configs=1, min_budget=1, max_budget=1)
            job = study.ask()
            with self.assertRaisesRegex(fhist.InputError, r"num_classes\" must be a whole number >= 2 \(got 1\)"):
                study.report(job, 1, train_loss=1.0, val_acc=0.5, num_classes=1)
            with self.assertRaisesRegex(fhist.InputError, r"num_classes must be a whole number >= 2 \(got 2.5\)"):
                study.report(job, 1, train_loss=1.0, val_acc=0.5, num_classes=2.5)
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
