"""The dashboard's run history: every network built, with its settings and curves, savable to disk.

A :class:`NetworkRecord` is one network the dashboard built: the model itself (its
weights live in it), the settings it was built from, the task it trained on and its
loss/accuracy curves over every run.  :class:`RunHistory` keeps them in order; building
a new network never drops the previous one, and any record can be brought back.

On disk a record is two files next to each other (:func:`save_record` / :func:`load_record`):

* ``<path>.npz`` -- the weights, the package's weight file (``io.weight_files``);
* ``<path>.json`` -- format ``psychrnn_widgets-run-1``: the label, the task-independent
  ``network_params`` (JSON values; masks and weights are in the ``.npz``), the task (its
  class name and ``get_task_params()``), the trainer's step and trial counts, and the
  curves ``{"loss": [[x...], [y...]], "accuracy": ..., "stages": ...}``.

Both are written atomically.  No widgets here (the panels display records).

Reading checks the run file before anything is built (:func:`check_run_document`): the
file is at most :data:`MAX_RUN_FILE_BYTES`; ``epoch`` and ``trials`` are integers in the
ranges :data:`RUN_FILE_PARAMS` declares (at most 2**53 - 1, the largest integer a JSON
number holds exactly; ``trials >= epoch``); each curve is a pair of equal-length lists of
finite numbers; the label, settings and task have their types.  A bad file raises a
``ParameterError`` naming the file and the field; nothing is built and nothing changes.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ParameterError, WeightFileError
from ..params import Parameter, validate_array

__all__ = ["NetworkRecord", "RunHistory", "save_record", "load_record", "check_run_document", "FORMAT",
           "RUN_FILE_PARAMS", "MAX_RUN_FILE_BYTES", "RUN_COLOURS", "run_document", "record_from_document",
           "package_versions"]

FORMAT = "psychrnn_widgets-run-1"
CURVES = ("loss", "accuracy", "stages")
#: largest run file read (a run's curves are a few thousand points: kilobytes to a few MB)
MAX_RUN_FILE_BYTES = 64 << 20
_LARGEST_EXACT_INTEGER = 2 ** 53 - 1  # JSON numbers are doubles: larger integers are not exact
#: the counts a run file stores, declared like every parameter
RUN_FILE_PARAMS = {
    "epoch": Parameter("epoch", "int", 0, help="optimiser steps the network was trained for", label="Steps",
                       unit="steps", low=0, high=_LARGEST_EXACT_INTEGER),
    "trials": Parameter("trials", "int", 0, help="trials the network was trained on", label="Trials",
                        unit="trials", low=0, high=_LARGEST_EXACT_INTEGER),
}


def _jsonable(value):
    """``value`` as JSON data, or None for what does not belong in the settings file (arrays, objects)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str) or value is None:
        return value
    if isinstance(value, (list, tuple)) and all(_jsonable(v) is not None or v is None for v in value):
        return [_jsonable(v) for v in value]
    return None


def jsonable_dict(params):
    """The JSON-storable entries of a dict (arrays, functions and objects left out)."""
    out = {}
    for key, value in params.items():
        converted = _jsonable(value)
        if converted is not None or value is None:
            out[str(key)] = converted
    return out


@dataclass
class NetworkRecord:
    """One network of the history.

    Attributes:
        model: the model (weights included).
        network_params: the task-independent settings it was built from (PsychRNN keys).
        task: the task it trains on (the last one used).
        label: a short name shown in the history, e.g. ``'#2 · 100 units'``.
        curves: ``{'loss': (x, y), 'accuracy': (x, y), 'stages': (x, y)}``, float32, x in trials.
        created: time.time() when it was built.
    """

    model: object
    network_params: dict
    task: object = None
    label: str = ""
    curves: dict = field(default_factory=lambda: {name: (np.zeros(0, np.float32), np.zeros(0, np.float32))
                                                  for name in CURVES})
    created: float = field(default_factory=time.time)
    #: what each Start trained, in order (see :mod:`~psychrnn_widgets.widgets.run_log`): JSON data
    training: list = field(default_factory=list)
    #: where the record came from when it was not built here (``'file runs/a.npz'``, ``'example ...'``)
    origin: str = ""
    #: a shipped example's card (title, accuracy, summary), else None
    card: dict = None

    @property
    def wall_time(self):
        """Seconds spent training this network (every Start; 0.0 when none was recorded)."""
        return float(sum(float(segment.get("wall_s") or 0.0) for segment in self.training))

    @property
    def learning_rates(self):
        """The learning rates it was trained with, in order, each once."""
        rates = []
        for segment in self.training:
            for rate, *_ in segment.get("pieces", ()):
                if not rates or rates[-1] != rate:
                    rates.append(rate)
        return rates

    def final(self, name):
        """The last value of curve ``name`` (``'loss'``, ``'accuracy'``), or None."""
        _, y = self.curves.get(name, ((), ()))
        return float(y[-1]) if len(y) else None

    @property
    def trials(self):
        from ..training.trainer import Trainer

        return Trainer.of(self.model).trials if self.model is not None else 0

    def summary(self):
        """One line: label, trials trained, last loss."""
        text = self.label
        text += f" · {self.trials:,} trials"
        _, loss = self.curves["loss"]
        if len(loss):
            text += f" · loss {float(loss[-1]):.3g}"
        return text


def network_summary(model):
    """``'50 units · Dale 80% E · 20% connected · noise 0.1'``: size and the constraints that are on (a model
    class other than Basic first: ``'LSTM · 50 units'``)."""
    parts = [f"{getattr(model, 'N_rec', '?')} units"]
    kind = registered_name(type(model)) if model is not None else "Basic"
    if kind not in ("Basic", "BasicScan"):
        parts.insert(0, kind)
    dale_ratio = getattr(model, "dale_ratio", None)
    if dale_ratio is not None:
        parts.append(f"Dale {100 * float(dale_ratio):.0f}% E")
    connectivity = getattr(model, "rec_connectivity", None)
    if connectivity is not None:
        fraction = float(np.mean(np.asarray(connectivity) != 0))
        if fraction < 1.0:
            parts.append(f"{100 * fraction:.0f}% connected")
    noise = getattr(model, "rec_noise", 0.0)
    if noise:
        parts.append(f"noise {float(noise):g}")
    return " · ".join(parts)


#: a run's colour in every view (loss and accuracy overlays, the Runs table, parallel coordinates)
RUN_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
               "#bcbd22", "#17becf")


class RunHistory:
    """The networks a dashboard built, in order (see the module docstring)."""

    def __init__(self):
        self.records = []

    def colour_of(self, record):
        """``record``'s colour: fixed by its place in the history (records are never removed), so stable."""
        try:
            index = next(i for i, r in enumerate(self.records) if r is record)
        except StopIteration:
            return "#555555"
        return RUN_COLOURS[index % len(RUN_COLOURS)]

    def unique_label(self, label):
        """``label``, or ``label (2)``, ``label (3)``... when a record of the history already has it."""
        taken = {r.label for r in self.records}
        if label not in taken:
            return label
        n = 2
        while f"{label} ({n})" in taken:
            n += 1
        return f"{label} ({n})"

    def add(self, model, network_params, task=None, label=None):
        """Append a record for a newly built ``model``; returns it."""
        index = len(self.records) + 1
        record = NetworkRecord(model=model, network_params=dict(network_params or {}), task=task,
                               label=label or f"#{index} · {network_summary(model)}")
        self.records.append(record)
        return record

    def find(self, model):
        """The record holding ``model`` (None if none)."""
        return next((r for r in self.records if r.model is model), None)

    def __len__(self):
        return len(self.records)

    def __getitem__(self, index):
        return self.records[index]

    def __iter__(self):
        return iter(self.records)


# ----------------------------------------------------------------------------- files
def _paths(path):
    base = os.fsdecode(os.fspath(path))
    for suffix in (".npz", ".json"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    if not base:
        raise ParameterError("the path to save to is empty; give a file name such as 'runs/my_network'",
                             parameter="path")
    base = Path(base).expanduser()
    return base.with_name(base.name + ".npz"), base.with_name(base.name + ".json")


def _write_text_atomic(target, text):
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def run_document(record, weights_name=None):
    """The JSON document of ``record`` (format :data:`FORMAT`): label, model class, settings, task, counts,
    curves, the training log and the package versions.  Arrays of the settings (masks) are not in it."""
    from ..training.trainer import Trainer

    model = record.model
    trainer = Trainer.of(model)
    task = record.task
    return {
        "format": FORMAT,
        "label": record.label,
        "model": registered_name(type(model)),
        "network_params": jsonable_dict(record.network_params),
        "task": None if task is None else {"class": _task_name(type(task)),
                                           "params": jsonable_dict(task.get_task_params())},
        "epoch": trainer.epoch,
        "trials": trainer.trials,
        "curves": {name: [np.asarray(x, np.float64).tolist(), np.asarray(y, np.float64).tolist()]
                   for name, (x, y) in record.curves.items()},
        "training": list(record.training),
        "weights": weights_name,
        "versions": package_versions(),
        "saved": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def package_versions():
    """``{'psychrnn_widgets': ..., 'numpy': ..., 'tensorflow': ..., 'python': ...}`` (installed distributions)."""
    import platform
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for name, distributions in (("psychrnn_widgets", ("psychrnn_widgets",)), ("numpy", ("numpy",)),
                                ("tensorflow", ("tensorflow", "tensorflow-cpu", "tensorflow_cpu"))):
        versions[name] = None
        for distribution in distributions:
            try:
                versions[name] = metadata.version(distribution)
                break
            except metadata.PackageNotFoundError:
                continue
    return versions


def save_record(record, path):
    """Write ``record`` as ``<path>.npz`` (weights) and ``<path>.json`` (settings, task, curves); returns both paths."""
    from ..io.weight_files import save_weights

    weights_path, json_path = _paths(path)
    document = run_document(record, weights_path.name)
    save_weights(weights_path, record.model.get_weights())
    _write_text_atomic(json_path, json.dumps(document, indent=1))
    return weights_path, json_path


def load_record(path, name="loaded"):
    """Read a record written by :func:`save_record`: the model (from the weight file), settings, task, curves.

    The task is rebuilt when the task catalog knows its class (a built-in, or a class
    registered in this process, by its registered name; nothing is imported because the
    file names it); otherwise ``task`` is None and the dashboard keeps its own.  The model
    is of the class the weight file names, found in the model catalog (any registered
    class: ``Basic``, ``LSTM``, ``GRU``, a user's); an unregistered one is an
    ``UnknownClassError`` saying how to register it.  The model's trainer gets the saved
    step and trial counts (the optimiser state is not saved: training continues with a
    fresh one).
    """
    from ..io.weight_files import load_weights

    weights_path, json_path = _paths(path)
    document = check_run_document(_read_run_file(json_path), json_path)
    return record_from_document(document, load_weights(weights_path), name=name, origin=f"file {json_path}")


def record_from_document(document, weights, name="loaded", settings_arrays=None, origin=""):
    """A :class:`NetworkRecord` from a checked run ``document`` and a weights dict (``load_weights``'s).

    ``settings_arrays``: array-valued settings stored beside the document (masks), added to
    the record's ``network_params``.
    """
    from ..catalog import TASKS
    from ..errors import UnknownClassError
    from ..models.loading import load_model
    from ..training.trainer import Trainer

    task_info = document.get("task") or {}
    task = None
    try:
        cls = TASKS.get(task_info.get("class"))
    except UnknownClassError:
        cls = None  # not a class this process knows: the dashboard keeps its own task
    if cls is not None:
        task = _rebuild_task(cls, task_info.get("params") or {})
    settings = dict(document.get("network_params") or {})
    settings.update(settings_arrays or {})
    sizes = {}
    if task is not None:
        sizes = {key: getattr(task, key) for key in ("N_in", "N_out", "N_steps", "dt", "tau", "N_batch")}
    else:
        params = task_info.get("params") or {}
        sizes = {key: params[key] for key in ("N_in", "N_out", "N_steps", "dt", "tau", "N_batch") if key in params}
    params = {**sizes, **{k: v for k, v in settings.items() if k not in ("seed",)}}
    model = load_model(weights, params, name=name)
    trainer = Trainer.of(model)
    trainer.epoch = document["epoch"]
    trainer.trials = document["trials"]
    trainer.last_good_at = (trainer.epoch, trainer.trials)
    return NetworkRecord(model=model, network_params=settings, task=task, label=document.get("label") or name,
                         curves=document["curves"], training=list(document.get("training") or []), origin=origin)


def _read_run_file(json_path):
    try:
        size = json_path.stat().st_size
    except FileNotFoundError:
        raise FileNotFoundError(2, "run file not found", str(json_path)) from None
    except OSError as error:
        raise WeightFileError(f"{json_path}: not a readable run file ({error})") from None
    if size > MAX_RUN_FILE_BYTES:
        raise WeightFileError(f"{json_path}: {size} bytes is larger than a run file may be "
                              f"({MAX_RUN_FILE_BYTES >> 20} MiB)")
    try:
        return json.loads(json_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(2, "run file not found", str(json_path)) from None
    except (OSError, ValueError, RecursionError) as error:  # RecursionError: JSON nested thousands deep
        raise WeightFileError(f"{json_path}: not a readable run file ({type(error).__name__}: {error})") from None


def check_run_document(document, source="run file"):
    """The parsed run file ``document`` with its counts and curves checked and converted.

    Returns a copy in which ``epoch`` and ``trials`` are ints (validated through
    :data:`RUN_FILE_PARAMS`; absent means 0) and ``curves`` is ``{name: (x (n,), y (n,))}``
    float32 for every name of ``CURVES`` (absent: empty).  Raises ``WeightFileError`` when
    it is not a run file and ``ParameterError`` naming ``source`` and the field otherwise:
    an epoch that is not an integer in range (``1e300``), fewer trials than steps, a curve
    that is not two lists of one length of finite numbers (ragged, NaN, text), a label that
    is not text, settings or a task that are not JSON objects.
    """
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise WeightFileError(f"{source}: not a {FORMAT} file")
    where = str(source)
    out = dict(document)
    for key, parameter in RUN_FILE_PARAMS.items():
        value = document.get(key)
        out[key] = 0 if value is None else parameter.validate(value, where)
    if out["trials"] < out["epoch"]:
        RUN_FILE_PARAMS["trials"].fail(out["trials"], where, f"must be at least the number of steps "
                                       f"({out['epoch']}: every step trains on one trial or more)")
    label = document.get("label")
    if label is not None and not isinstance(label, str):
        raise ParameterError(f"{where}: 'label' must be text, got {type(label).__name__}", parameter="label",
                             value=label, allowed="a string")
    for key in ("network_params", "task"):
        value = document.get(key)
        if value is not None and not isinstance(value, dict):
            raise ParameterError(f"{where}: {key!r} must be a JSON object, got {type(value).__name__}",
                                 parameter=key, value=value, allowed="a JSON object (dict)")
    task_params = (document.get("task") or {}).get("params")
    if task_params is not None and not isinstance(task_params, dict):
        raise ParameterError(f"{where}: task 'params' must be a JSON object, got {type(task_params).__name__}",
                             parameter="params", value=task_params, allowed="a JSON object (dict)")
    curves = document.get("curves")
    if curves is None:
        curves = {}
    if not isinstance(curves, dict):
        raise ParameterError(f"{where}: 'curves' must be a JSON object {{name: [x, y]}}, got {type(curves).__name__}",
                             parameter="curves", value=curves, allowed="a JSON object {name: [x, y]}")
    out["curves"] = {name: _checked_curve(curves.get(name), name, where) for name in CURVES}
    out["training"] = _checked_training(document.get("training"), where)
    return out


#: most training segments (Starts) a run file may list
MAX_TRAINING_SEGMENTS = 10_000


def _checked_training(value, where):
    """The training log of a run file: a list of segments (see :mod:`~psychrnn_widgets.widgets.run_log`)."""
    if value is None:
        return []

    def bad(detail, field="training"):
        raise ParameterError(f"{where}: {field!r} {detail}", parameter=field, value=value,
                             allowed="a list of training segments (JSON objects)")

    if not isinstance(value, list):
        bad(f"must be a list, got {type(value).__name__}")
    if len(value) > MAX_TRAINING_SEGMENTS:
        bad(f"lists {len(value)} segments; at most {MAX_TRAINING_SEGMENTS}")
    out = []
    for i, segment in enumerate(value):
        field = f"training[{i}]"
        if not isinstance(segment, dict):
            bad(f"must be a JSON object, got {type(segment).__name__}", field)
        pieces = segment.get("pieces", [])
        if not isinstance(pieces, list) or not all(
                isinstance(p, list) and len(p) in (2, 3) and type(p[0]) in (int, float) and math.isfinite(p[0])
                and p[0] > 0 and type(p[1]) is int and 0 <= p[1] <= _LARGEST_EXACT_INTEGER
                and (len(p) == 2 or type(p[2]) is bool) for p in pieces):
            bad("pieces must be [learning rate > 0, steps >= 0(, XLA true/false)]", field)
        for key in ("wall_s",):
            number = segment.get(key, 0.0)
            if type(number) not in (int, float) or not math.isfinite(number) or number < 0:
                bad(f"{key} must be a finite number of seconds >= 0", field)
        n_batch = segment.get("N_batch", 1)
        if type(n_batch) is not int or not 1 <= n_batch <= 1 << 20:
            bad("N_batch must be an integer in [1, 2**20]", field)
        task = segment.get("task")
        if task is not None and not (isinstance(task, dict) and isinstance(task.get("class"), str)
                                     and isinstance(task.get("params", {}), dict)):
            bad("task must be {'class': name, 'params': {...}}", field)
        state = segment.get("task_state")
        if state is not None and not isinstance(state, dict):
            bad("task_state must be a JSON object (a NumPy bit generator's state)", field)
        out.append(segment)
    return out


def _checked_curve(value, name, where):
    """``(x (n,), y (n,))`` float32 from a stored ``[x, y]`` pair (None: empty)."""
    if value is None:
        return np.zeros(0, np.float32), np.zeros(0, np.float32)
    subject = f"curves[{name!r}]"
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        length = f" of length {len(value)}" if isinstance(value, list) else ""
        raise ParameterError(f"{where}: {subject} must be a pair [x, y] of lists of numbers, got "
                             f"{type(value).__name__}{length}",
                             parameter=subject, value=value, allowed="[x, y]: two lists of one length")
    allowed = "a list of finite numbers"
    parts = []
    for part, axis in zip(value, ("x", "y")):
        if isinstance(part, list) and any(type(v) is bool for v in part):
            raise ParameterError(f"{where}: {subject} {axis} must be {allowed}, got true/false values",
                                 parameter=subject, value=value, allowed=allowed)
        array = validate_array(part, f"{subject} {axis}", shape=(None,), where=where, what=allowed)
        with np.errstate(over="ignore"):
            parts.append(array.astype(np.float32))
        if not np.isfinite(parts[-1]).all():
            raise ParameterError(f"{where}: {subject} {axis} holds numbers beyond float32's range (3.4e38)",
                                 parameter=subject, value=value, allowed=allowed)
    x, y = parts
    if x.shape != y.shape:
        raise ParameterError(f"{where}: {subject} has {x.size} x values and {y.size} y values; a curve needs one y "
                             "per x", parameter=subject, value=value, allowed="[x, y]: two lists of one length")
    return x, y


def registered_name(cls):
    """The catalog name a saved run gives its model class (the class name when it is not registered)."""
    from ..catalog import MODELS
    from ..errors import UnknownClassError

    try:
        return MODELS.name_of(cls)
    except UnknownClassError:
        return cls.__name__


def _task_name(cls):
    """The catalog name a saved run gives its task class (the class name when it is not registered)."""
    from ..catalog import TASKS
    from ..errors import UnknownClassError

    try:
        return TASKS.name_of(cls)
    except UnknownClassError:
        return cls.__name__


def _rebuild_task(cls, params):
    """A built-in task from its saved parameters (constructor arguments, then other declared attributes)."""
    import inspect

    signature = inspect.signature(cls.__init__)
    kwargs = {k: v for k, v in params.items() if k in signature.parameters and k != "self"}
    for key, value in kwargs.items():
        if isinstance(value, list):
            kwargs[key] = tuple(value)
    task = cls(**kwargs)
    for key, value in params.items():
        if key in kwargs or key in ("alpha", "N_steps") or not hasattr(task, key):
            continue
        try:
            setattr(task, key, tuple(value) if isinstance(value, list) else value)
        except (AttributeError, ParameterError):
            pass
    return task
