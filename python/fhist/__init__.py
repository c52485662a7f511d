"""fhist from Python: your training loop drives fhist's search (ask and tell).

fhist keeps what it adds to your loop: the top-K / HyperBand / BOHB / ASHA / successive-halving / random schedule
with promotion by a ranking score, every score recorded every epoch, the SQLite journal with exact resume, and
``fhist report`` (console, CSV/JSON, HTML) on the journal.

    import fhist
    study = fhist.Study("runs/mine.db", space="space.json", min_budget=1, max_budget=9)
    while (job := study.ask()) is not None:
        for epoch in range(job.start_epoch, job.budget + 1):
            ...  # train epoch `epoch` of job.config; checkpoints in job.trial_dir
            study.report(job, epoch, train_loss=loss, val_acc=acc)
        study.tell(job)
    print(study.best())

or ``study.optimize(train, workers=2)`` with ``train(job, report)`` calling ``report(epoch, train_loss=...,
val_acc=...)``.

The estimators on your own numbers: ``fhist.FeatureHistory`` (the paper's feature-history ensemble on NumPy arrays
or torch tensors, equal to ``fhist estimate``) and ``fhist.score(name, epochs)`` (what a search ranks a trial by:
tse-ema, acc-tse, ... from its per-epoch losses and accuracies).
"""
import json
import os
import threading
import time

from ._fhist import Error, InputError, Job, _Study
from ._fhist import estimators as _estimators
from ._fhist import score as _score
from .features import FeatureHistory

__all__ = ["Study", "Job", "Error", "InputError", "FeatureHistory", "score", "estimators"]


def score(name, epochs, max_budget=None, num_classes=None, metric="val_acc", direction=None):
    """The score a search ranks a trial by after `epochs`, higher is better: a list of dicts, epoch 1 first, with the
    keys Study.report takes (train_loss, val_acc, val_loss, params). name: tse-ema, tse-e, tse-e:E, tse, acc-tse,
    best-acc, original, curve, val-loss, params, ... (estimators() lists them). max_budget: the epochs the run will
    train in all (acc-tse and curve look ahead to it; default: the epochs given). num_classes: acc-tse needs it (it
    compares the training loss with a uniform guess's, ln C). metric, direction: a study's own metric (a key of the
    dicts, e.g. "val_mse", "minimize"), which original and best-acc then read. Equals the score the journal records
    for the same epochs."""
    return _score(str(name), list(epochs), int(max_budget or 0), int(num_classes or 0), str(metric), direction or "")


def estimators():
    """Every score fhist knows: [{name, is_accuracy, description}]. is_accuracy: an estimate of the final accuracy
    (a fraction); otherwise a ranking score only."""
    return _estimators()


def _space_file(journal, definition):
    """A space given as a dict, as the file fhist reads: <journal>.space.json, named after the journal where the
    definition has no name. Nothing is written beside a journal that exists (creating the study refuses it)."""
    path = journal + ".space.json"
    if os.path.exists(journal):
        return path
    definition = dict(definition)
    if not definition.get("name"):
        definition["name"] = os.path.splitext(os.path.basename(journal))[0]
    try:
        text = json.dumps(definition, indent=1)
    except (TypeError, ValueError) as e:
        raise InputError(f"space: the dict is not JSON ({e}): numbers, strings, lists and dicts only") from None
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
    return path


class Study:
    """A search in a journal, driven by your loop.

    journal: the SQLite journal (a new one, or with resume=True the one to continue).
    space: a built-in space name, a JSON space file (fhist's format or ConfigSpace's; any parameter names), or the
        same as a dict: fhist's {"params": [...]} or ConfigSpace's (cs.to_serialized_dict() in ConfigSpace 1.x),
        written to <journal>.space.json when the study is created (the journal keeps the definition too).
    algo: top-k-auto (default: the one-epoch top-K when the first 40 trials' one-epoch ranking holds up, HyperBand
        when it does not) | hyperband | bohb | dehb | sh | asha | random | top-k | top-k-hb.
        min_budget, max_budget, eta: budgets in epochs.
    estimator: the score jobs are ranked and promoted by: tse-ema (default), tse-ema-paper, tse, tse-e, acc-tse, original,
        best-acc, curve, val-loss, params, auto (each rung by the score that best predicted the next rung so far).
        The feature-based ones (fh, ...) need fhist's own trainer.
    metric: what the search optimizes, reported by your loop every epoch: val_acc (default), val_loss, or your own
        keyword of report() (e.g. "val_mse"). direction: "maximize" or "minimize" (required for any metric but
        val_acc). The incumbent is the best metric at the full budget; original and best-acc rank by it.
    seed: the sampler's seed and each trial's (job.seed).
    n_configs: random / sh / asha: configurations (0: as HyperBand's largest bracket).
    keep_checkpoints: keep every file in a finished trial's folder (otherwise only log.txt, metrics.jsonl, job.json).
    resume: continue the journal; the other settings are the stored ones. Jobs asked and never told (a crash,
        Ctrl-C) are asked again, with start_epoch after the epochs already reported.
    """

    def __init__(self, journal, space="hparams", algo="top-k-auto", min_budget=1, max_budget=9, eta=3,
                 estimator=None, seed=0, resume=False, n_configs=0, iterations=1, keep_checkpoints=False,
                 metric="val_acc", direction=None):
        if resume:
            self._s = _Study.open(str(journal))
        else:
            if isinstance(space, dict):
                space = _space_file(str(journal), space)
            self._s = _Study.create(str(journal), str(space), algo, int(min_budget), int(max_budget), int(eta),
                                    estimator or "", int(seed), int(n_configs), int(iterations),
                                    bool(keep_checkpoints), str(metric), direction or "")

    def ask(self):
        """The next job (.trial, .config dict, .budget, .start_epoch, .max_budget, .trial_dir, .seed), or None: the
        search is done, or every job that can start is out (tell one first; see done())."""
        return self._s.ask()

    def done(self):
        """True when every job has been told and the schedule has no more."""
        return self._s.done()

    def report(self, job, epoch, train_loss=None, val_acc=None, val_loss=None, params=None, seconds=None,
               num_classes=None, **metrics):
        """One epoch of `job`, in order from job.start_epoch to job.budget. The study's metric is required (val_acc,
        a fraction, by default; or the keyword you named, e.g. val_mse=0.12), and train_loss for the TSE scores;
        num_classes lets acc-tse (and auto) score the epoch (it compares the loss
        with a uniform guess's, ln C); any other keyword is stored as your own metric (numbers or JSON values)."""
        self._s.report(job, int(epoch), train_loss, val_acc, val_loss, params, seconds, num_classes, metrics)

    def tell(self, job):
        """Every epoch of the job's budget was reported: score it, record it, let the scheduler decide. Returns
        {trial, budget, score, <metric>, state, message, seconds}, the metric under its own name (val_acc)."""
        return self._s.tell(job)

    def tell_failed(self, job, reason):
        """The job failed: recorded with `reason`, never promoted."""
        return self._s.tell_failed(job, str(reason))

    def best(self):
        """The incumbent: {trial, config, budget, score, <metric> (val_acc), ...}, or None before any job is told:
        the best metric among trials trained to the full budget (the lowest for direction="minimize")."""
        return self._s.best()

    def summary(self):
        return self._s.summary()

    def optimize(self, fn, workers=1, max_trials=None):
        """Runs the whole search: fn(job, report) trains a job, calling report(epoch, train_loss=..., val_acc=...,
        **metrics) per epoch. An exception from fn is a failed trial (its message stored); Ctrl-C stops cleanly:
        the jobs running stay out in the journal and Study(journal, resume=True).optimize(fn) goes on. With
        workers > 1, jobs run on that many threads (fn must be thread-safe; PyTorch releases the GIL while it
        computes). max_trials: start no new trial once the journal holds this many (counted over the whole journal,
        a resumed study's earlier trials included); the promotions of those still run, then optimize returns with
        the search not done (done() is False): optimize again with a larger max_trials, or None, goes on.
        Returns best()."""
        if max_trials is not None and int(max_trials) < 1:
            raise InputError(f"max_trials must be >= 1 or None (got {max_trials})")
        self._s.limit_trials(int(max_trials or 0))
        stop = threading.Event()
        errors = []

        def run_one(job):
            def report(epoch, **values):
                if stop.is_set():
                    raise KeyboardInterrupt
                self.report(job, epoch, **values)
            try:
                fn(job, report)
            except KeyboardInterrupt:
                stop.set()
                return
            except (Error, InputError) as e:
                # A misuse of report (an epoch out of order, a missing val_acc): the loop's own bug, not the
                # configuration's. Stop, leaving the job out for a resume after the fix.
                errors.append(e)
                stop.set()
                return
            except Exception as e:  # noqa: BLE001 - any failure of the user's training is the trial's
                self.tell_failed(job, f"{type(e).__name__}: {e}")
                return
            self.tell(job)

        def worker():
            while not stop.is_set() and not self.done():
                job = self.ask()
                if job is None:
                    if self._s.trial_limit_reached():
                        return  # max_trials: nothing out, and the next job would start a trial beyond it
                    time.sleep(0.005)  # every startable job is out: wait for one to be told
                    continue
                run_one(job)

        if workers <= 1:
            try:
                worker()
            except KeyboardInterrupt:
                stop.set()
        else:
            threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
            for t in threads:
                t.start()
            try:
                while any(t.is_alive() for t in threads):
                    for t in threads:
                        t.join(0.1)
            except KeyboardInterrupt:
                stop.set()
                for t in threads:
                    t.join()
        if errors:
            raise errors[0]
        if stop.is_set() and not self.done():
            raise KeyboardInterrupt("fhist: stopped; the journal resumes with Study(journal, resume=True)")
        return self.best()
