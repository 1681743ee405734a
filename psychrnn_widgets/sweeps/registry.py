"""The run registry: one directory per sweep, one JSON record and one weight file per run (NumPy only).

Layout::

    <registry>/sweep.json            the sweep's definition (task, base params, combinations, seed)
    <registry>/runs/<run_id>.json    the run's record
    <registry>/runs/<run_id>.npz     the run's trained weights (``save_weights`` format)

A record (a JSON object) holds:

=====================  ==============================================================
``format``             ``'psychrnn_widgets-run-1'``
``run_id``, ``index``  the run's id (a digest of its configuration) and its position
``config``             task class and parameters, ``network_params``, ``train_params``,
                       seed and axis values (:meth:`~.config.RunSpec.config`)
``seed``               the run's seed (task batches, initial weights, noise)
``status``             ``'queued'``, ``'running'``, ``'finished'``, ``'failed'`` or
                       ``'diverged'`` (its loss became NaN/inf: it is failed, weights
                       from before the bad update are saved)
``attempts``           how many times a worker started it (> 1: it was retried after a
                       worker died)
``versions``           psychrnn_widgets, TensorFlow, NumPy, Python, dask (where it ran)
``metrics``            ``{'epoch': [...], 'trials': [...], 'loss': [...], 'accuracy': [...]}``
                       every ``loss_epoch`` steps
``final_loss``,        on a fresh batch of the run's task after training (noise off)
``final_accuracy``
``weights_file``       the weight file, relative to the registry (``runs/<run_id>.npz``)
``error``              for failed runs: the error and its traceback
``worker``, ``ensemble``  where it trained, and with how many networks in its ensemble
``created``, ``started``, ``finished``, ``training_time``   times (ISO 8601, seconds)
=====================  ==============================================================

Every file is written atomically (a temporary file renamed over the target), the weight
file before the record that names it, so a record that says ``finished`` always has its
weights; a record that cannot be read (never the case after an atomic write, but files
can be edited by hand) counts as missing and the run is done again.
"""
import datetime
import json
import os
import threading
from pathlib import Path

from ..errors import ParameterError
from ..io.atomic import write_json_atomic

__all__ = ["Registry", "RECORD_FORMAT", "STATUSES", "DONE_STATUSES"]

RECORD_FORMAT = "psychrnn_widgets-run-1"
#: every status a record can have
STATUSES = ("queued", "running", "finished", "failed", "diverged")
#: statuses of runs that ended (a re-run does only runs that are not ``finished``)
DONE_STATUSES = ("finished", "failed", "diverged")


def now():
    """The current UTC time, ISO 8601 (what records hold)."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


class Registry:
    """The records of one sweep, in the directory ``path`` (created on first write).

    Thread-safe within a process: :meth:`update` reads, changes and writes a record under
    a lock (the sweep's driver is the only writer; workers return results instead of writing).
    """

    def __init__(self, path):
        self.path = Path(os.fsdecode(os.fspath(path))).expanduser()
        self.runs_dir = self.path / "runs"
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ paths
    def record_path(self, run_id):
        return self.runs_dir / f"{run_id}.json"

    def weights_path(self, run_id):
        return self.runs_dir / f"{run_id}.npz"

    # ------------------------------------------------------------------ sweep
    def read_definition(self):
        """The stored sweep definition (``sweep.json``), or None."""
        return _read_json(self.path / "sweep.json")

    def write_definition(self, definition):
        with self._lock:
            return write_json_atomic(self.path / "sweep.json", {"format": "psychrnn_widgets-sweep-1",
                                                                 "updated": now(), **definition})

    # ---------------------------------------------------------------- records
    def record(self, run_id):
        """The record of ``run_id`` as a dict, or None when it is missing or unreadable."""
        record = _read_json(self.record_path(run_id))
        if record is None or record.get("format") != RECORD_FORMAT or record.get("run_id") != run_id:
            return None
        return record

    def records(self):
        """Every readable record in the registry, by index then id."""
        if not self.runs_dir.is_dir():
            return []
        found = [self.record(p.stem) for p in self.runs_dir.glob("run-*.json")]
        return sorted((r for r in found if r is not None), key=lambda r: (r.get("index", 0), r["run_id"]))

    def is_finished(self, run_id):
        """True when the run's record says ``finished`` and its weight file exists."""
        record = self.record(run_id)
        return (record is not None and record.get("status") == "finished"
                and (self.path / record.get("weights_file", "")).is_file())

    def write(self, record):
        """Write a whole record (atomically); returns its path."""
        if record.get("status") not in STATUSES:
            raise ParameterError(f"a run record's status must be one of {', '.join(STATUSES)}, "
                                 f"got {record.get('status')!r}", parameter="status")
        record = dict(record, format=RECORD_FORMAT, updated=now())
        with self._lock:
            return write_json_atomic(self.record_path(record["run_id"]), record)

    def update(self, run_id, **fields):
        """Change fields of a record (created from ``fields`` if missing); returns the new record."""
        with self._lock:
            record = self.record(run_id) or {"run_id": run_id, "created": now(), "attempts": 0}
            record.update(fields)
            self.write(record)
            return record

    def save_weights(self, run_id, weights):
        """Write the run's weight file (atomically); returns its path relative to the registry."""
        from ..io.weight_files import save_weights

        path = save_weights(self.weights_path(run_id), weights)
        return path.relative_to(self.path).as_posix()

    # ---------------------------------------------------------------- reading
    def load_weights(self, run_id):
        """The run's weights dict (``load_weights`` of its weight file)."""
        from ..io.weight_files import load_weights

        record = self.record(run_id)
        if record is None or not record.get("weights_file"):
            raise FileNotFoundError(f"run {run_id} has no weight file in {self.path} (status: "
                                    f"{None if record is None else record.get('status')})")
        return load_weights(self.path / record["weights_file"])

    def model(self, run_id):
        """The run's trained network as a ``Basic`` (its ``network_params`` with the saved weights)."""
        from .config import from_json, resolve_class
        from ..models.basic import Basic  # TensorFlow: only when a model is asked for

        record = self.record(run_id)
        if record is None:
            raise KeyError(f"no record of run {run_id!r} in {self.path}")
        config = record["config"]
        task = resolve_class(config["task"]["class"])(**from_json(config["task"]["params"]), seed=config["seed"])
        params = task.get_task_params()
        params.update(from_json(config["network_params"]))
        params.setdefault("name", record.get("name", "net"))
        params.update(seed=config["seed"], load_weights_path=str(self.path / record["weights_file"]))
        return Basic(params)


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None
