"""The paper's estimate on your own loop's features: keep each epoch's penultimate-layer features, re-fit a linear
head on each of the last K epochs, average the K heads' softmax on the validation features.

    history = fhist.FeatureHistory(window=10)
    for epoch in ...:
        ...  # train; collect the penultimate features of the training pass and of the validation set
        history.add_epoch(train_feats, train_labels, val_feats, val_labels,
                          head_weight=model.fc.weight, head_bias=model.fc.bias)
        print(history.estimate("fh"))   # the predicted final validation accuracy, a fraction

Arrays are NumPy arrays or torch tensors (on any device; copied). The numbers equal ``fhist estimate`` on the same
features saved as .npy files (same window, storage, re-fit epochs and seed). This loads LibTorch (fhist._estimate):
``import fhist`` alone does not.
"""


def _array(x, name, kind):
    import numpy as np
    if hasattr(x, "detach"):  # a torch tensor: leave autograd and the device behind
        x = x.detach().cpu()
        if str(x.dtype) in ("torch.bfloat16",):
            x = x.float()
        x = x.numpy()
    a = np.asarray(x)
    if kind == "labels":
        if a.dtype.kind not in "iu":
            raise _input_error(f"add_epoch: {name} must hold whole numbers (class indices), got dtype {a.dtype}")
        return np.ascontiguousarray(a, dtype=np.int64)
    if a.dtype.kind not in "fiu":
        raise _input_error(f"add_epoch: {name} must hold numbers, got dtype {a.dtype}")
    return np.ascontiguousarray(a, dtype=np.float32)


def _input_error(message):
    from ._fhist import InputError
    return InputError(message)


class FeatureHistory:
    """The last `window` epochs of a network's features, and the estimators on them.

    window: K, the epochs that go into the ensemble (older ones are dropped as new ones arrive).
    storage: "float32" (as ``fhist estimate``) or "float16" (as ``fhist train`` keeps them: half the memory).
    num_classes: the classes, where add_epoch gets no head (otherwise the head's rows; else the labels' largest + 1).
    refit_epochs, seed: the re-fits' epochs and their shuffling seed (``fhist estimate --refit-epochs --seed``).
    """

    def __init__(self, window=10, storage="float32", num_classes=None, refit_epochs=5, seed=0):
        from ._estimate import _History
        self._h = _History(int(window), str(storage), int(refit_epochs), int(seed))
        self._classes = int(num_classes or 0)

    def add_epoch(self, train_features, train_labels, val_features, val_labels, head_weight=None, head_bias=None,
                  epoch=None):
        """One epoch: train_features [N, d] from the training pass with train_labels [N]; val_features [M, d] of the
        same validation images every epoch with val_labels [M]; the network's own head (head_weight [c, d],
        head_bias [c]): the paper starts each re-fit from it, and "original" reads it. Without it the re-fits start
        from zero and "original" is refused. epoch: its number (default: the previous one + 1)."""
        hw = None if head_weight is None else _array(head_weight, "head_weight", "floats")
        hb = None if head_bias is None else _array(head_bias, "head_bias", "floats")
        self._h.add(int(epoch or 0), _array(train_features, "train_features", "floats"),
                    _array(train_labels, "train_labels", "labels"), _array(val_features, "val_features", "floats"),
                    _array(val_labels, "val_labels", "labels"), hw, hb, self._classes)

    def estimate(self, name="fh"):
        """The accuracy (a fraction) by `name`: "fh" (the paper's ensemble of the last K re-fit heads), "fh-paper"
        (the same, re-fit one head at a time as the paper's Appendix A.1), "refit" (one head, the latest epoch),
        "refit-paper", or "original" (the network's own head on the latest epoch)."""
        return self._h.estimate(str(name))["accuracy"]

    def estimate_details(self, name="fh"):
        """estimate() with the heads that went into it: {"accuracy": ..., "heads": ...}."""
        return self._h.estimate(str(name))

    @property
    def epochs(self):
        """The epoch numbers held (the last `window`)."""
        return self._h.epochs()

    @property
    def window(self):
        return self._h.window()

    def __len__(self):
        return len(self._h.epochs())

    def __repr__(self):
        return f"FeatureHistory(window={self.window}, epochs={self.epochs})"
