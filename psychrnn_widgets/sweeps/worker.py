"""What runs on a worker: train one group of runs as an ensemble, return plain results.

:func:`train_group` is the function a sweep submits (to ``dask.distributed`` or, without
dask, calls in its own process).  It takes :class:`~.config.RunSpec` s (data, and the
task class by reference), builds each run's task and network from its seed, trains them
together as one :class:`~psychrnn_widgets.models.ensemble.Ensemble` and returns one dict per run holding only
NumPy arrays, numbers, strings, lists and dicts -- never a TensorFlow object:

``{'run_id', 'status': 'finished'|'diverged'|'failed', 'weights': {...} (as
Basic.get_weights()), 'metrics': {'epoch', 'trials', 'loss', 'accuracy'}, 'final_loss',
'final_accuracy', 'training_time', 'ensemble': K, 'worker', 'versions', 'error'}``

Faults: if building or training the ensemble raises, every run of the group is tried
again alone, so one bad run cannot fail the others; a run that still raises comes back
``failed`` with its traceback.  A network whose loss diverges comes back ``diverged``
(the others are unaffected, see :mod:`psychrnn_widgets.training.trainer`).

Progress: ``progress`` is a dask event topic (the worker publishes with
``Worker.log_event``; the sweep subscribes) or a callable (in-process runs).  Messages:
``{'kind': 'start', 'run_ids', 'worker', 'pid'}`` when a group starts (a retried group starts
again: that is how attempts are counted), and ``{'kind': 'progress', 'points': [[run_id,
epoch, trials, loss, accuracy], ...]}`` at most every ``progress_interval`` seconds.
"""
import os
import platform
import socket
import time
import traceback
import warnings

import numpy as np

__all__ = ["train_group", "configure_threads", "worker_thread_pools", "versions"]


def worker_thread_pools(threads):
    """TensorFlow's pool sizes for a worker given ``threads`` cores: ``{'intra_op': 1, 'inter_op': threads}``."""
    return {"intra_op": 1, "inter_op": int(threads)}


def configure_threads(threads):
    """Give TensorFlow ``threads`` cores in this process: one intra-op thread, ``threads`` inter-op threads.

    A worker only trains ensembles (plain graphs), whose steps were faster this way at every
    size measured on 2 cores (16 x 50 units: 54 against 83 ms; 4 x 256: 340-348 against
    406-484 ms; 2 x 50: 16-18 against 38-40 ms; ``benchmarks/README.md``, "Ensembles"):
    each small product runs whole and the inter-op threads run independent ones side by
    side.  A pool size already set in the worker's environment (``TF_NUM_INTRAOP_THREADS``
    / ``TF_NUM_INTEROP_THREADS``) is kept; once TensorFlow has started (an earlier task on
    this worker), the process keeps what it has (see :mod:`psychrnn_widgets.threads`).
    """
    if threads is None:
        return
    from ..threads import ENVIRONMENT, TensorFlowStartedError, environment_threads, set_tensorflow_threads

    wanted = worker_thread_pools(threads)
    sizes = {pool: environment_threads(pool) or wanted[pool] for pool in ENVIRONMENT}
    try:
        set_tensorflow_threads(**sizes)
    except TensorFlowStartedError:
        pass


def versions():
    """Versions of what a run depends on, as recorded with it."""
    import psychrnn_widgets

    found = {"psychrnn_widgets": psychrnn_widgets.__version__, "numpy": np.__version__,
             "python": platform.python_version()}
    import sys

    if "tensorflow" in sys.modules:
        found["tensorflow"] = sys.modules["tensorflow"].__version__
    try:
        import distributed

        found["dask.distributed"] = distributed.__version__
    except ImportError:
        pass
    return found


def _sink(progress):
    """A function that sends one message to the sweep (or drops it)."""
    if callable(progress):
        return progress
    if progress is None:
        return lambda message: None
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return lambda message: None
    return lambda message: worker.log_event(progress, message)


def _where():
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return f"{socket.gethostname()}:{os.getpid()}"


class _Progress:
    """Collects (run_id, epoch, trials, loss, accuracy) points from ensemble events; sends them in batches."""

    def __init__(self, send, run_ids, interval):
        self.send, self.run_ids, self.interval = send, run_ids, float(interval)
        self.points = []
        self.last = time.monotonic()

    def __call__(self, event):
        losses = event.extra.get("losses") if event.extra else None
        if event.kind == "step" and losses is not None and event.extra.get("accuracies") is not None:
            accuracies = event.extra["accuracies"]
            for run_id, loss, accuracy in zip(self.run_ids, losses, accuracies):
                if loss is not None:
                    self.points.append([run_id, event.global_epoch, event.global_trials, loss, accuracy])
        if self.points and (event.kind != "step" or time.monotonic() - self.last >= self.interval):
            self.flush()

    def flush(self):
        if self.points:
            self.send({"kind": "progress", "points": self.points})
            self.points = []
        self.last = time.monotonic()


def _train_ensemble(runs, send, progress_interval):
    """Train ``runs`` as one ensemble; one result dict per run."""
    from ..models.ensemble import Ensemble
    from ..training.trainer import Trainer

    t0 = time.perf_counter()
    tasks = [run.build_task() for run in runs]
    with warnings.catch_warnings():  # runs sharing a 'seed' axis value are distinct runs, on purpose
        warnings.filterwarnings("ignore", message="Ensemble: networks .* have the same seed")
        ensemble = Ensemble([run.network_params_for(task) for run, task in zip(runs, tasks)])
    first = runs[0].train_params
    train_params = {key: first[key] for key in ("training_iters", "loss_epoch", "clip_grads") if key in first}
    train_params.update(verbosity=False, learning_rate=[run.train_params.get("learning_rate", 0.001) for run in runs],
                        fixed_weights=[run.train_params.get("fixed_weights") for run in runs])
    reporter = _Progress(send, [run.run_id for run in runs], progress_interval)
    train_params["callbacks"] = [reporter]
    ensemble.train(tasks, train_params)
    reporter.flush()
    trainer = Trainer.of(ensemble)

    batches = [task.get_trial_batch()[:3] for task in tasks]  # fresh trials after the training batches
    x, y, mask = (np.stack([b[i] for b in batches]) for i in range(3))
    outputs, _ = ensemble.test(x, noise=False)
    final_losses = ensemble.losses(x, y, mask)
    elapsed = time.perf_counter() - t0
    results = []
    for k, (run, task) in enumerate(zip(runs, tasks)):
        try:
            accuracy = float(task.accuracy_function(y[k], outputs[k], mask[k]))
        except NotImplementedError:
            accuracy = None
        if accuracy is not None and not np.isfinite(accuracy):
            accuracy = None  # e.g. no trial was scored: a record holds no NaN
        diverged = trainer.diverged.get(k)
        results.append({
            "run_id": run.run_id, "status": "diverged" if diverged else "finished",
            "weights": ensemble.get_weights(k), "metrics": trainer.history[k],
            "final_loss": float(final_losses[k]) if np.isfinite(final_losses[k]) else None,
            "final_accuracy": accuracy, "training_time": elapsed, "ensemble": ensemble.K,
            "error": diverged})
    return results


def _failed(run, error):
    return {"run_id": run.run_id, "status": "failed", "weights": None, "metrics": None, "final_loss": None,
            "final_accuracy": None, "training_time": None, "ensemble": None,
            "error": "".join(traceback.format_exception(type(error), error, error.__traceback__))}


def train_group(runs, progress=None, threads=None, progress_interval=0.25):
    """Train ``runs`` (same :meth:`~.config.RunSpec.group_key`) together; see the module docstring.

    Args:
        runs: a list of :class:`~.config.RunSpec`.
        progress: a dask event topic (str), a callable ``fn(message)``, or None.
        threads: TensorFlow threads for this process (applied before TensorFlow's first op).
        progress_interval: seconds between progress messages.

    Returns:
        a list of result dicts, one per run, in the order of ``runs``.
    """
    configure_threads(threads)
    send = _sink(progress)
    where = _where()
    send({"kind": "start", "run_ids": [run.run_id for run in runs], "worker": where, "pid": os.getpid()})
    try:
        results = _train_ensemble(runs, send, progress_interval)
    except Exception as error:  # noqa: BLE001 - isolate the faulty run(s), the others go on
        if len(runs) == 1:
            results = [_failed(runs[0], error)]
        else:
            results = []
            for run in runs:
                try:
                    results.extend(_train_ensemble([run], send, progress_interval))
                except Exception as single_error:  # noqa: BLE001 - reported in the run's record
                    results.append(_failed(run, single_error))
    stamp = versions()
    for result in results:
        result.update(worker=where, versions=stamp)
    return results
