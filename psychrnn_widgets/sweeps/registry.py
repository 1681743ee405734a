"""The run registry: one directory per sweep, one JSON record and one weight file per run (NumPy only).

Layout::

    <registry>/sweep.json            the sweep's definition (task, base params, combinations, seed, identity)
    <registry>/runs/<run_id>.json    the run's record
    <registry>/runs/<run_id>.npz     the run's trained weights (``save_weights`` format)
    <registry>/runs/quarantine/      records that were malformed, moved aside (each with a ``.why.json``)
    <registry>/locks/                the drivers' locks (:mod:`.claims`)

A record (a JSON object) holds:

=====================  ==============================================================
``format``             ``'psychrnn_widgets-run-1'``
``run_id``, ``index``  the run's id (a digest of its configuration) and its position
``config``             task class (its registered name) and parameters,
                       ``network_params``, ``train_params``, seed and axis values
                       (:meth:`~.config.RunSpec.config`)
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
``weights_sha256``     the SHA-256 of that file, checked whenever the run is read
``claim``              the driver that last took the run (:mod:`.claims`)
``error``              for failed runs: the error and its traceback
``worker``, ``ensemble``  where it trained, and with how many networks in its ensemble
``created``, ``started``, ``finished``, ``training_time``   times (ISO 8601, seconds)
=====================  ==============================================================

Every file is written atomically (a temporary file renamed over the target), the weight
file before the record that names it, so a record that says ``finished`` always has its
weights.  What is read is not trusted:

* every path stays inside the registry: run ids are plain names, a record names only its
  own weight file, and paths are resolved (symlinks included) and refused with a
  :class:`~psychrnn_widgets.errors.RegistryError` when they land outside;
* a record is checked against its schema (:mod:`.records`) when read; a malformed one
  (not JSON, a JSON list, wrong types, ``attempts: -3``, ``final_accuracy: 7.5``...) is
  moved to ``runs/quarantine/`` with the reason, a
  :class:`~psychrnn_widgets.errors.RegistryWarning` says so, :meth:`Registry.problem`
  and ``Sweep.table()`` show it, and the run is done again;
* a finished run's weight file must match the SHA-256 in its record: a truncated, replaced
  or swapped file makes the run count as not finished (retrained on the next pass) and
  :meth:`Registry.load_weights` refuses it, so the registry never returns another run's network;
* ``sweep.json`` is checked the same way; a damaged one, or one of another sweep, is
  refused (never replaced, never re-seeded).

Task classes are found through the catalog (:mod:`psychrnn_widgets.catalog`): a record
names a registered class and reading it never imports a module.
"""
import datetime
import hashlib
import os
import threading
import uuid
import warnings
from pathlib import Path

from ..errors import RegistryError, RegistryWarning
from ..io.atomic import write_json_atomic
from .records import (DONE_STATUSES, RECORD_FORMAT, STATUSES, SWEEP_FORMAT, FileProblem, check_definition,
                      check_record, check_run_id, definition_identity, own_weights_file, read_json)

__all__ = ["Registry", "RECORD_FORMAT", "STATUSES", "DONE_STATUSES"]


def now():
    """The current UTC time, ISO 8601 (what records hold)."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def file_sha256(path):
    """SHA-256 hex digest of a file's bytes."""
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


class Registry:
    """The records of one sweep, in the directory ``path`` (created on first write).

    Thread-safe within a process: :meth:`update` reads, changes and writes a record under
    a lock.  Across processes, each run is written by the one driver that claimed it
    (:mod:`.claims`); workers return results instead of writing.
    """

    def __init__(self, path):
        self.path = Path(os.fsdecode(os.fspath(path))).expanduser()
        self.runs_dir = self.path / "runs"
        self.quarantine_dir = self.runs_dir / "quarantine"
        self.locks_dir = self.path / "locks"
        self._lock = threading.RLock()
        self._checked = {}  # weight file -> (its stat, the problem found or None)

    # ------------------------------------------------------------------ paths
    def inside(self, path, what="a path"):
        """``path`` if it resolves (symlinks followed) inside the registry; ``RegistryError`` otherwise."""
        root = os.path.realpath(self.path)
        resolved = os.path.realpath(path)
        try:
            outside = os.path.commonpath([root, resolved]) != root
        except ValueError:  # another drive (Windows)
            outside = True
        if outside:
            raise RegistryError(f"{what} {os.fspath(path)!r} resolves to {resolved!r}, outside the registry {root!r}; "
                                "a registry reads and writes only its own folder", parameter="path", value=path)
        return Path(path)

    def _run_file(self, run_id, suffix, resolve=True):
        """``runs/<run_id><suffix>``; the run id must be a plain name, the path (if ``resolve``) stay inside."""
        try:
            check_run_id(run_id)
        except FileProblem as problem:
            raise RegistryError(f"run registry {self.path}: {problem.reason}", parameter="run_id",
                                value=run_id) from None
        path = self.runs_dir / f"{run_id}{suffix}"
        return self.inside(path, f"the file of run {run_id}") if resolve else path

    def record_path(self, run_id):
        return self._run_file(run_id, ".json")

    def weights_path(self, run_id):
        return self._run_file(run_id, ".npz")

    # ------------------------------------------------------------------ sweep
    def read_definition(self):
        """The stored sweep definition (``sweep.json``) with its ``identity``, or None if there is none.

        Raises ``RegistryError`` when the file is damaged (unreadable, malformed, or its
        content does not match its recorded identity): it is never silently replaced or
        re-seeded, since every run id depends on it.
        """
        path = self.inside(self.path / "sweep.json", "sweep.json")
        try:
            definition = check_definition(read_json(path))
        except FileNotFoundError:
            return None
        except (FileProblem, OSError) as problem:
            raise self._damaged_definition(path, getattr(problem, "reason", problem)) from None
        definition = dict(definition, task=dict(definition["task"], **{"class": _task_name(definition)}))
        identity = definition_identity(definition)
        if definition.get("identity") not in (None, identity):
            raise self._damaged_definition(path, "its content does not match its recorded identity (edited by hand?)")
        definition["identity"] = identity
        return definition

    def _damaged_definition(self, path, reason):
        return RegistryError(f"{path} is damaged: {reason}. Its sweep cannot be resumed safely (run ids depend on it) "
                             "and it is not replaced: restore it, or move the registry folder aside and start the "
                             "sweep in a new one", parameter="sweep.json")

    def write_definition(self, definition):
        """Write ``sweep.json`` (atomically) with the definition's identity; returns its path."""
        with self._lock:
            document = {"format": SWEEP_FORMAT, "updated": now(), **definition,
                        "identity": definition_identity(definition)}
            return write_json_atomic(self.inside(self.path / "sweep.json", "sweep.json"), document)

    def adopt_definition(self, definition):
        """Make sure ``sweep.json`` holds ``definition``: write it if there is none, refuse another sweep's.

        Raises ``RegistryError`` when the registry belongs to another sweep (its identity
        differs; the message names the parts that differ) or its ``sweep.json`` is damaged.
        """
        with self._lock:
            stored = self.read_definition()
            if stored is not None:
                check_same_sweep(self.path, stored, definition)
            if stored is None or "identity" not in _raw_keys(self.path / "sweep.json"):
                self.write_definition(definition)  # new, or written before identities: recorded now

    # ---------------------------------------------------------------- records
    def record(self, run_id):
        """The record of ``run_id`` as a dict, or None when it is missing (or was malformed and moved aside)."""
        path = self._run_file(run_id, ".json", resolve=False)
        try:
            self.inside(path, f"the record of run {run_id}")
            return check_record(read_json(path), run_id)
        except FileNotFoundError:
            return None
        except RegistryError as error:
            self._quarantine(path, run_id, str(error))
        except FileProblem as problem:
            self._quarantine(path, run_id, problem.reason)
        except OSError as error:
            self._quarantine(path, run_id, f"cannot be read ({error})")
        return None

    def records(self):
        """Every readable record in the registry, by index then id (malformed ones are moved aside)."""
        if not self.runs_dir.is_dir():
            return []
        found = []
        for path in self.runs_dir.glob("run-*.json"):
            try:
                found.append(self.record(path.stem))
            except RegistryError:  # a file name that is no run id: not ours to read
                continue
        return sorted((r for r in found if r is not None), key=lambda r: (r.get("index", 0), r["run_id"]))

    def _quarantine(self, path, run_id, reason):
        """Move a malformed record to ``runs/quarantine/`` with a ``.why.json``; warn."""
        moment = datetime.datetime.now(datetime.timezone.utc)
        stamp = moment.strftime("%Y%m%dT%H%M%S.%f") + "-" + uuid.uuid4().hex[:6]
        target = self.quarantine_dir / f"{path.name}.{stamp}"
        where = "left in place (the registry cannot be written)"
        try:
            self.inside(self.quarantine_dir, "the quarantine folder")
            self.quarantine_dir.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)  # a symlink is moved itself, never followed
            write_json_atomic(target.with_name(target.name + ".why.json"),
                              {"file": path.name, "run_id": run_id, "reason": reason, "moved_to": target.name,
                               "when": moment.isoformat(timespec="microseconds")})
            where = f"moved to {target.relative_to(self.path).as_posix()}"
        except FileNotFoundError:
            return  # another reader moved it first (and warned)
        except (OSError, RegistryError):
            pass
        warnings.warn(f"run registry {self.path}: the record {path.name} {reason}; {where}. The run is done again "
                      "when the sweep runs", RegistryWarning, stacklevel=3)

    def quarantined(self):
        """The records moved aside, oldest first: dicts ``{file, run_id, reason, moved_to, when}``."""
        if not self.quarantine_dir.is_dir():
            return []
        notes = []
        for path in self.quarantine_dir.glob("*.why.json"):
            try:
                note = read_json(path, limit=1 << 20)
            except (OSError, FileProblem):
                continue
            if isinstance(note, dict) and all(isinstance(note.get(k), str) for k in ("run_id", "reason", "when")):
                notes.append(note)
        return sorted(notes, key=lambda note: note["when"])

    def problem(self, run_id, record=None):
        """Why ``run_id`` has to be done again, in words, or None.

        A finished run whose weight file is missing or does not match its record, or a run
        whose last record was malformed and moved aside (while it has no good record since).
        """
        record = self.record(run_id) if record is None else record
        if record is not None:
            return self.weights_problem(record) if record.get("status") == "finished" else None
        notes = [note for note in self.quarantined() if note["run_id"] == run_id]
        return f"its record {notes[-1]['reason']} (moved aside)" if notes else None

    def weights_problem(self, record):
        """Why the weight file of ``record`` cannot be trusted, or None (existence, path, SHA-256)."""
        run_id = record["run_id"]
        if not record.get("weights_file"):
            return "no weight file is recorded"
        try:
            path = self.inside(self.weights_path(run_id), f"the weight file of run {run_id}")
            stat = os.stat(path)
        except RegistryError as error:
            return str(error)
        except OSError:
            return f"its weight file {own_weights_file(run_id)} is missing"
        key = (stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_dev, record.get("weights_sha256"))
        cached = self._checked.get(str(path))
        if cached is not None and cached[0] == key:
            return cached[1]
        expected = record.get("weights_sha256")
        try:
            if expected is None:  # a record from before checksums: at least the file must load
                from ..io.weight_files import load_weights

                load_weights(path)
                problem = None
            else:
                problem = None if file_sha256(path) == expected else (
                    f"its weight file {own_weights_file(run_id)} does not match the SHA-256 in its record "
                    "(truncated, replaced or swapped)")
        except Exception as error:  # noqa: BLE001 - any failure to read it means it cannot be used
            problem = f"its weight file {own_weights_file(run_id)} cannot be read ({type(error).__name__}: {error})"
        self._checked[str(path)] = (key, problem)
        return problem

    def is_finished(self, run_id, record=None):
        """True when the run's record says ``finished`` and its weight file is there and matches the record."""
        record = self.record(run_id) if record is None else record
        return record is not None and record.get("status") == "finished" and self.weights_problem(record) is None

    def write(self, record):
        """Write a whole record (atomically, after checking it against the schema); returns its path."""
        record = dict(record, format=RECORD_FORMAT, updated=now())
        path = self.record_path(record.get("run_id"))
        try:
            check_record(record, record["run_id"])
        except FileProblem as problem:
            field = problem.reason.split(" ", 1)[0]
            raise RegistryError(f"run registry {self.path}: the record of {record['run_id']} cannot be written: "
                                f"{problem.reason}", parameter=field) from None
        with self._lock:
            return write_json_atomic(path, record)

    def update(self, run_id, **fields):
        """Change fields of a record (created from ``fields`` if missing); returns the new record."""
        self.record_path(run_id)  # refuses a run id that is no plain name before anything is read
        with self._lock:
            record = self.record(run_id) or {"run_id": run_id, "created": now(), "attempts": 0}
            record.update(fields)
            record["run_id"] = run_id
            self.write(record)
            return record

    def save_weights(self, run_id, weights):
        """Write the run's weight file (atomically); returns ``(path relative to the registry, its SHA-256)``."""
        from ..io.weight_files import save_weights

        path = save_weights(self.weights_path(run_id), weights)
        return path.relative_to(self.path).as_posix(), file_sha256(path)

    # ---------------------------------------------------------------- reading
    def load_weights(self, run_id):
        """The run's weights dict, after checking its weight file against the record's SHA-256."""
        from ..io.weight_files import load_weights

        record = self.record(run_id)
        if record is None or not record.get("weights_file"):
            raise FileNotFoundError(f"run {run_id} has no weight file in {self.path} (status: "
                                    f"{None if record is None else record.get('status')})")
        problem = self.weights_problem(record)
        if problem is not None:
            raise RegistryError(f"run {run_id} in {self.path}: {problem}; it is trained again when the sweep runs "
                                "again", parameter="weights_file")
        return load_weights(self.weights_path(run_id))

    def model(self, run_id):
        """The run's trained network as a ``Basic`` (its ``network_params`` with the checked, saved weights)."""
        from ..catalog import task_class
        from .config import from_json

        record = self.record(run_id)
        if record is None:
            raise KeyError(f"no record of run {run_id!r} in {self.path}")
        if "config" not in record:
            raise RegistryError(f"the record of run {run_id} in {self.path} holds no configuration",
                                parameter="config")
        config = record["config"]
        cls = task_class(config["task"]["class"], where=f"the record of run {run_id} in {self.path}")
        problem = self.weights_problem(record)  # checked before any network is built
        if problem is not None:
            raise RegistryError(f"run {run_id} in {self.path}: {problem}; it is trained again when the sweep runs "
                                "again", parameter="weights_file")
        from ..models.basic import Basic  # TensorFlow: only when a model is asked for

        task = cls(**from_json(config["task"]["params"]), seed=config["seed"])
        params = task.get_task_params()
        params.update(from_json(config["network_params"]))
        params.setdefault("name", record.get("name", "net"))
        params.update(seed=config["seed"], load_weights_path=str(self.weights_path(run_id)))
        return Basic(params)


def _task_name(definition):
    """The task class of a stored definition by its catalog name (an older ``'module:QualName'`` is matched)."""
    from ..catalog import TASKS
    from ..errors import UnknownClassError

    name = definition["task"]["class"]
    try:
        return TASKS.name_of(TASKS.get(name)) if ":" in name else name
    except UnknownClassError:
        return name


def _raw_keys(path):
    try:
        value = read_json(path)
    except (OSError, FileProblem):
        return ()
    return value.keys() if isinstance(value, dict) else ()


def check_same_sweep(path, stored, definition):
    """Raise ``RegistryError`` unless the stored definition is ``definition`` (same identity)."""
    if stored["identity"] == definition_identity(definition):
        return
    differ = [key for key in ("task", "network_params", "train_params", "combinations", "grid", "seed", "name")
              if stored.get(key) != definition.get(key)]
    raise RegistryError(f"the registry {path} belongs to another sweep (its sweep.json differs in "
                        f"{', '.join(differ) or 'its identity'}; stored seed {stored.get('seed')}, task "
                        f"{stored['task'].get('class')}). Give this sweep its own registry folder (registry=...), or "
                        "move that folder aside to start over", parameter="registry")
