"""Networks against recorded neurons: a data format for recordings, and a cross-validated linear fit.

**The format** (one ``.npz`` file, no pickled objects: it loads with
``numpy.load(path, allow_pickle=False)``; :func:`load_recordings` reads and checks it,
:meth:`Recordings.save` writes it):

=========================  ==============================================================
``activity``               (trials, time, neurons) numbers, finite: spike counts per bin,
                           rates, dF/F... (required)
``dt``                     ms per time bin, > 0 (required); bin ``k`` covers
                           ``[k dt, (k+1) dt)`` from the start of the trial
``condition__<name>``      one per condition, (trials,) numbers: the trial parameter
                           ``<name>`` of the task the network was trained on (e.g.
                           ``condition__context``, ``condition__motion_coherence``);
                           at least one (required).  A trial parameter that is itself
                           an array has one array per trial, (trials, ...), in the
                           shape the task uses (e.g. ``condition__pulses`` (trials,
                           slots, bits) for :class:`~psychrnn_widgets.tasks.FlipFlop`)
``task``                   the task's registered name, e.g. ``'ContextDependentIntegration'``
                           (optional: then give ``task=`` when fitting)
``task_params``            JSON text of the task's constructor arguments (optional)
``neuron_ids``             (neurons,) integers (optional)
``units``, ``description``  text (optional)
``format``                 ``'psychrnn_widgets.recordings/1'`` (written by ``save``)
=========================  ==============================================================

Trials with equal values in every condition are one *condition* (e.g. context x motion x
colour coherence, or one pulse sequence); a condition's trials are averaged into its PSTH.  Any trial parameter
not given (e.g. the epoch durations when they were fixed) is drawn by the task as usual,
so give every parameter that changes the inputs from trial to trial.

**The fit** (:func:`fit_recordings`): the network runs noise-free on the recorded
conditions (each trial's inputs rendered by the task from its condition values, without
input noise), its activity (``signal``: rates or states) is averaged into the recording's
time bins, and a ridge regression maps it (plus an intercept) to every recorded neuron
at every (trial, bin) sample.  Cross-validation is K-fold over *trials*
(``n_folds``, default 5), each condition's trials dealt evenly to the folds; within the
training trials the penalty is chosen per neuron by an inner K-fold over trials from
``penalties`` (relative to the mean eigenvalue of the standardised features' covariance;
default ``1e-6 ... 1e2``).  Every trial is predicted once, by the map fitted without it.

Reported per neuron: **R²** of the held-out predictions averaged within conditions (the
PSTHs) against the recorded PSTHs -- across conditions and bins, ``1 - SS_res / SS_tot``
-- the measure of how well the network explains the condition-dependent response;
``r2_trials``, the same on single trials (bounded by trial-to-trial and spiking noise);
and ``reliability``, the split-half reliability of the recorded PSTH (odd vs even trials
of each condition, Spearman-Brown corrected), the ceiling a perfect model would approach.
A neuron whose PSTH never varies (e.g. one that never spiked) has no R² (NaN); means and
medians are over the others.
Also the linear **CKA** between the network's and the recorded PSTHs (no fit).
"""
import json
import zipfile
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np

from ..errors import ParameterError
from ._inputs import array, declared, fail
from ._results import AnalysisResult
from ._source import as_simulator, simulate
from .similarity import centred_samples

__all__ = ["Recordings", "RecordingFit", "load_recordings", "check_recordings", "recording_inputs", "fit_recordings",
           "FORMAT", "MAX_BYTES", "EXAMPLE_NETWORK", "EXAMPLE_RECORDINGS", "FLIPFLOP_NETWORK", "FLIPFLOP_RECORDINGS"]

_DATA = Path(__file__).resolve().parents[1] / "data"
#: the shipped example: a trained ContextDependentIntegration network (``tools/make_cdi_example.py``) ...
EXAMPLE_NETWORK = _DATA / "cdi_network.npz"
#: ... and synthetic recordings of 30 of its units (Poisson spikes, 32 conditions x 16 trials, 50 ms bins)
EXAMPLE_RECORDINGS = _DATA / "cdi_recordings.npz"
#: the shipped memory example: a trained 3-bit FlipFlop network (``tools/make_flipflop_example.py``) ...
FLIPFLOP_NETWORK = _DATA / "flipflop_network.npz"
#: ... and synthetic recordings of 30 of its 64 units (Poisson spikes, 32 pulse sequences x 16 trials, 50 ms bins;
#: pulses in the first 500 ms, then 2.5 s of held memories)
FLIPFLOP_RECORDINGS = _DATA / "flipflop_recordings.npz"

FORMAT = "psychrnn_widgets.recordings/1"
#: most bytes the arrays of a recordings file may unpack to (checked from the archive's directory first)
MAX_BYTES = 1 << 30
#: most members (arrays) in a recordings file
MAX_MEMBERS = 1000
#: most characters of a text field (task name, JSON parameters, description)
MAX_TEXT = 100_000
_PREFIX = "condition__"
_TEXT_FIELDS = ("task", "task_params", "units", "description", "format")
_DEFAULT_PENALTIES = 10.0 ** np.arange(-6, 3)


def _fail(where, name, message, value=None, allowed=None):
    raise ParameterError(f"{where}: {name} {message}", parameter=name, value=value, allowed=allowed)


def check_recordings(activity, conditions, dt, neuron_ids=None, where="Recordings"):
    """The checked ``(activity (trials, time, neurons) float64, conditions {name: (trials,) array}, dt, neuron_ids)``.

    Raises ``ParameterError`` naming the field: activity not 3-D, empty, NaN/inf;
    ``dt`` not > 0; no conditions, a condition not one number (or one array) per trial;
    neuron_ids of the wrong length.
    """
    activity = array(activity, "activity", where, shape=("trials", "time", "neurons"),
                     what="an array (trials, time, neurons) of finite numbers")
    try:
        dt = float(np.asarray(dt).reshape(()))
    except (TypeError, ValueError):
        _fail(where, "dt", f"must be one number (ms per time bin), got {dt!r}", dt, "a number > 0")
    if not np.isfinite(dt) or dt <= 0:
        _fail(where, "dt", f"must be > 0 ms per time bin, got {dt!r}", dt, "a number > 0")
    if not isinstance(conditions, dict) or not conditions:
        _fail(where, "conditions", "must be a dict of per-trial arrays, at least one (e.g. {'context': ...})",
              conditions, "a non-empty dict")
    checked = {}
    for name, values in conditions.items():
        if not isinstance(name, str) or not name.isidentifier():
            _fail(where, "conditions", f"names must be trial-parameter names (identifiers), got {name!r}", name,
                  "identifiers")
        label = f"conditions[{name!r}]"
        values = array(values, label, where, min_ndim=1, what="one finite number (or array) per trial")
        if values.shape[0] != activity.shape[0]:
            _fail(where, label, f"must have one value per trial: shape (trials={activity.shape[0]}, ...), got shape "
                  f"{values.shape}", None, f"an array of shape ({activity.shape[0]}, ...)")
        checked[name] = values
    if neuron_ids is not None:
        neuron_ids = array(neuron_ids, "neuron_ids", where, shape=(f"neurons={activity.shape[2]}",), integer=True)
    return activity, checked, dt, neuron_ids


@dataclass(repr=False)
class Recordings:
    """Recorded activity with its trial conditions (see the module docstring for the file format).

    Attributes:
        activity (trials, time, neurons) float64; conditions ``{name: (trials, ...) float64}``;
        dt (ms per bin); task (registered name or None); task_params (dict or None);
        neuron_ids (neurons,) or None; units, description (text).
    """

    activity: np.ndarray
    conditions: dict
    dt: float
    task: str = None
    task_params: dict = None
    neuron_ids: np.ndarray = None
    units: str = ""
    description: str = ""

    def __post_init__(self):
        self.activity, self.conditions, self.dt, self.neuron_ids = check_recordings(
            self.activity, self.conditions, self.dt, self.neuron_ids)
        if self.task is not None and not isinstance(self.task, str):
            _fail("Recordings", "task", f"must be a task's registered name, got {type(self.task).__name__}",
                  self.task, "a string")
        if self.task_params is not None and not isinstance(self.task_params, dict):
            _fail("Recordings", "task_params", f"must be a dict of the task's arguments, got "
                  f"{type(self.task_params).__name__}", self.task_params, "a dict")

    @property
    def shape(self):
        """``(trials, time, neurons)``."""
        return self.activity.shape

    def condition_groups(self):
        """``(group (trials,) int, n_groups)``: trials with equal values in every condition share a group."""
        n = self.activity.shape[0]
        table = np.concatenate([self.conditions[name].reshape(n, -1) for name in sorted(self.conditions)], axis=1)
        _, group = np.unique(table, axis=0, return_inverse=True)
        group = np.asarray(group).reshape(-1)
        return group, int(group.max()) + 1

    def psth(self):
        """The mean activity of each condition, (n_groups, time, neurons) (groups as :meth:`condition_groups`)."""
        group, n = self.condition_groups()
        return _group_mean(self.activity, group, n)

    def save(self, path):
        """Write the recordings as an ``.npz`` file of the documented format (no pickles); returns the Path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {"activity": _compact(self.activity), "dt": np.float64(self.dt), "format": np.str_(FORMAT)}
        arrays.update({_PREFIX + name: values for name, values in self.conditions.items()})
        if self.task is not None:
            arrays["task"] = np.str_(self.task)
        if self.task_params is not None:
            arrays["task_params"] = np.str_(json.dumps(self.task_params))
        if self.neuron_ids is not None:
            arrays["neuron_ids"] = self.neuron_ids
        for key in ("units", "description"):
            if getattr(self, key):
                arrays[key] = np.str_(getattr(self, key))
        np.savez_compressed(path, **arrays)
        return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")

    def __repr__(self):
        return (f"Recordings({self.shape[0]} trials x {self.shape[1]} bins of {self.dt:g} ms x {self.shape[2]} "
                f"neurons, conditions {sorted(self.conditions)}, task {self.task!r})")


def _compact(activity):
    """Whole non-negative numbers (spike counts) as the smallest unsigned integer type that holds them."""
    if activity.size and np.all(activity >= 0) and np.all(activity == np.round(activity)):
        for dtype in (np.uint8, np.uint16, np.uint32):
            if activity.max() <= np.iinfo(dtype).max:
                return activity.astype(dtype)
    return activity


def _group_mean(values, group, n):
    sums = np.zeros((n,) + values.shape[1:])
    np.add.at(sums, group, values)
    return sums / np.bincount(group, minlength=n)[(slice(None),) + (None,) * (values.ndim - 1)]


def load_recordings(path):
    """Read and check a recordings ``.npz`` file (see the module docstring); returns :class:`Recordings`.

    The archive's directory is checked before anything is unpacked (at most
    :data:`MAX_MEMBERS` arrays, :data:`MAX_BYTES` bytes in all); pickled objects are refused.

    Raises:
        ParameterError: naming the field that is missing or wrong, with the file's name.
    """
    if not isinstance(path, (str, PathLike)):
        _fail("load_recordings", "path", f"must be a file path, got {type(path).__name__}", path, "a path")
    path = Path(path)
    where = f"load_recordings: {path.name}"
    if not path.is_file():
        _fail("load_recordings", "path", f"{str(path)!r} is not a file", str(path), "an existing .npz file")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as error:
        _fail("load_recordings", "path", f"{path.name} is not a readable .npz (zip) archive: {error}", str(path),
              "an .npz file")
    if len(members) > MAX_MEMBERS:
        _fail("load_recordings", "path", f"{path.name} holds {len(members)} arrays, more than {MAX_MEMBERS}",
              str(path), f"at most {MAX_MEMBERS} arrays")
    total = sum(member.file_size for member in members)
    if total > MAX_BYTES:
        _fail("load_recordings", "path", f"{path.name} unpacks to {total / 2**20:.0f} MiB, more than the "
              f"{MAX_BYTES / 2**20:.0f} MiB a recordings file may hold", str(path), f"at most {MAX_BYTES} bytes")
    values = {}
    try:
        with np.load(path, allow_pickle=False) as data:
            for key in data.files:
                values[key] = data[key]
    except ValueError as error:
        _fail(where, "file", f"holds something that is not a plain array (pickled objects are refused): {error}",
              str(path), "plain numeric and text arrays")
    except (OSError, EOFError, zipfile.BadZipFile) as error:
        _fail(where, "file", f"could not be read: {error}", str(path), "an .npz file")
    for required in ("activity", "dt"):
        if required not in values:
            _fail(where, required, f"is missing (the file has {sorted(values)}); a recordings file needs 'activity' "
                  "(trials, time, neurons), 'dt' and 'condition__<name>' arrays", None, "present")
    text = {}
    for key in _TEXT_FIELDS:
        if key in values:
            value = values.pop(key)
            if value.dtype.kind != "U" or value.ndim != 0 or len(str(value)) > MAX_TEXT:
                _fail(where, key, f"must be one text value (at most {MAX_TEXT} characters), got {value.dtype} "
                      f"{value.shape}", None, "text")
            text[key] = str(value)
    if "format" in text and text["format"].split("/")[0] != FORMAT.split("/")[0]:
        _fail(where, "format", f"is {text['format']!r}, not a recordings file ({FORMAT!r})", text["format"], FORMAT)
    task_params = None
    if "task_params" in text:
        try:
            task_params = json.loads(text["task_params"])
        except json.JSONDecodeError as error:
            _fail(where, "task_params", f"is not valid JSON: {error}", text["task_params"], "a JSON object")
        if not isinstance(task_params, dict):
            _fail(where, "task_params", "must be a JSON object of the task's arguments", text["task_params"],
                  "a JSON object")
    conditions = {key[len(_PREFIX):]: values.pop(key) for key in list(values) if key.startswith(_PREFIX)}
    if not conditions:
        _fail(where, "conditions", "are missing: give at least one 'condition__<name>' array (one value per trial)",
              None, "condition__<name> arrays")
    for name, value in conditions.items():
        if value.dtype.kind not in "biuf":
            _fail(where, f"condition__{name}", f"must hold numbers (one per trial), got dtype {value.dtype}", None,
                  "numbers")
    activity = values.pop("activity")
    if activity.dtype.kind not in "biuf":
        _fail(where, "activity", f"must hold numbers, got dtype {activity.dtype}", None, "numbers")
    dt = values.pop("dt")
    neuron_ids = values.pop("neuron_ids", None)
    unknown = sorted(values)
    if unknown:
        _fail(where, unknown[0], f"is not a field of a recordings file (fields: activity, dt, condition__<name>, "
              f"{', '.join(_TEXT_FIELDS)}, neuron_ids)", None, "a known field")
    try:
        return Recordings(activity=activity, conditions=conditions, dt=dt, task=text.get("task"),
                          task_params=task_params, neuron_ids=neuron_ids, units=text.get("units", ""),
                          description=text.get("description", ""))
    except ParameterError as error:
        raise ParameterError(f"{path.name}: {error}", parameter=error.parameter) from None


def _task_for(recordings, task, sim, where):
    if task is not None:
        if not all(callable(getattr(task, name, None)) for name in ("generate_batch", "trials_from_params")):
            fail(where, "task", f"must be a Task, got {type(task).__name__}", task, "a Task")
        return task
    if recordings.task is None:
        fail(where, "task", "is needed: the recordings do not name their task (give task=, or save the "
             "recordings with task='<registered name>')", None, "a Task")
    from ..catalog import task_class

    cls = task_class(recordings.task)
    params = dict(recordings.task_params or {})
    if sim.dt is not None:
        params.setdefault("dt", sim.dt)
    if sim.tau is not None:
        params.setdefault("tau", sim.tau)
    try:
        return cls(**params)
    except (TypeError, ValueError) as error:
        fail(where, "recordings", f"name task {recordings.task} with arguments {params} it does not accept: {error}",
             None, "the task's arguments")


def recording_inputs(task, recordings, seed=0):
    """The inputs ``x (trials, steps, N_in)`` of the recorded trials, rendered noise-free by ``task``.

    Each trial's parameters are drawn by a copy of ``task`` seeded with ``seed``, then
    overwritten by the trial's condition values (an array-valued one in the type and shape
    the task drew).  Raises ``ParameterError`` naming ``recordings`` for a condition that is
    not one of the task's trial parameters, or an array of another shape than the task's.
    """
    import copy
    import warnings

    where = "recording_inputs"
    probe = copy.deepcopy(task)
    probe.set_seed(declared(where, seed=seed))
    n = recordings.shape[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, _, _, drawn = probe.generate_batch(N_batch=n, noise=False)
    known = set(drawn[0])
    unknown = sorted(set(recordings.conditions) - known)
    if unknown:
        fail(where, "recordings", f"condition {unknown[0]!r} is not a trial parameter of {type(task).__name__} (its "
             f"parameters: {sorted(known)})", unknown[0], "the task's trial parameters")
    params = []
    for i, trial in enumerate(drawn):
        trial = dict(trial)
        for name, values in recordings.conditions.items():
            original = trial[name]
            value = values[i]
            if np.ndim(original) or np.ndim(value):
                trial[name] = _like(original, value, name, where)
                continue
            whole = isinstance(original, (int, np.integer)) and value == int(value)
            trial[name] = int(value) if whole else float(value)
        params.append(trial)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x, _, _ = probe.trials_from_params(params, noise=False)
    return np.asarray(x, np.float64)


def _like(original, value, name, where):
    """The recorded array ``value`` of an array-valued trial parameter, as the task's ``original`` (shape, type)."""
    drawn = np.asarray(original)
    if np.shape(value) != drawn.shape:
        fail(where, "recordings", f"condition {name!r} holds arrays of shape {np.shape(value)} per trial; the task's "
             f"{name!r} has shape {drawn.shape} (check the task parameters the recordings name, e.g. T)",
             np.shape(value), f"arrays of shape {drawn.shape}")
    whole = drawn.dtype.kind in "iub" and np.all(value == np.round(value))
    value = np.asarray(value, np.int64 if whole else np.float64)
    return value.tolist() if isinstance(original, (list, tuple)) else value


@dataclass(repr=False)
class RecordingFit(AnalysisResult):
    """How well a network's activity explains recordings (:func:`fit_recordings`).

    Attributes:
        r2 (neurons,): held-out R² of each neuron's PSTH (see the module docstring).
        r2_trials (neurons,): held-out R² on single trials.
        reliability (neurons,): split-half reliability of each recorded PSTH (NaN with
            fewer than 2 trials in every condition).
        mean_r2, median_r2 (float): over neurons.
        cka (float): linear CKA of the network's and the recorded PSTHs.
        penalties (n_folds, neurons): the relative ridge penalty chosen per fold and neuron.
        recorded_psth, predicted_psth (conditions, bins, neurons); times (bins,) ms (bin starts).
        signal (str), n_folds (int), n_units (int: the network's).
    """

    r2: np.ndarray
    r2_trials: np.ndarray
    reliability: np.ndarray
    mean_r2: float
    median_r2: float
    cka: float
    penalties: np.ndarray
    recorded_psth: np.ndarray
    predicted_psth: np.ndarray
    times: np.ndarray
    signal: str
    n_folds: int
    n_units: int
    figsize = (9.0, 3.5)

    def draw(self, figure):
        left, right = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
        order = np.argsort(-self.r2)
        left.bar(np.arange(len(order)), self.r2[order], color="0.6", width=0.8, label="R² (PSTH, held out)")
        if np.any(np.isfinite(self.reliability)):
            left.plot(np.arange(len(order)), self.reliability[order], "k.", ms=4, label="reliability")
        left.axhline(self.mean_r2, color="#d62728", lw=1, label=f"mean {self.mean_r2:.2f}")
        left.set_ylim(min(0.0, float(np.nanmin(self.r2[order])) - 0.05), 1.05)
        left.set_xlabel("neuron (sorted)")
        left.set_ylabel("R²")
        left.legend(fontsize=7)
        left.set_title(f"{self.n_units}-unit network ({self.signal}): CKA {self.cka:.2f}", fontsize=9)
        best = int(order[len(order) // 2])  # the median neuron: a typical fit
        colors = [f"C{i % 10}" for i in range(10)]
        for g in range(min(len(self.recorded_psth), 8)):
            right.plot(self.times, self.recorded_psth[g, :, best], color=colors[g], lw=1)
            right.plot(self.times, self.predicted_psth[g, :, best], color=colors[g], lw=1, ls="--")
        right.set_xlabel("time (ms)")
        right.set_ylabel("activity")
        right.set_title(f"median neuron {best}: recorded (solid) vs predicted (dashed), R² {self.r2[best]:.2f}",
                        fontsize=8)


def _folds(group, n_folds, rng):
    """A fold index per trial: each group's trials shuffled and dealt round-robin (from a random offset)."""
    fold = np.zeros(len(group), np.int64)
    offset = 0
    for g in np.unique(group):
        members = rng.permutation(np.flatnonzero(group == g))
        fold[members] = (offset + np.arange(len(members))) % n_folds
        offset += len(members)
    return fold


def _ridge_paths(F, Y, penalties):
    """Ridge coefficients (penalties, p + 1, M) of standardised ``F`` (n, p) -> centred ``Y`` (n, M), intercept last."""
    mean, scale = F.mean(axis=0), F.std(axis=0)
    scale = np.where(scale > 1e-12, scale, 1.0)
    Z = (F - mean) / scale
    y_mean = Y.mean(axis=0)
    U, s, Vt = np.linalg.svd(Z, full_matrices=False)
    UtY = U.T @ (Y - y_mean)
    reference = np.sum(s ** 2) / max(Z.shape[1], 1)
    paths = []
    for penalty in penalties:
        shrink = s / (s ** 2 + penalty * reference)
        W = Vt.T @ (shrink[:, None] * UtY) / scale[:, None]
        paths.append(np.vstack([W, (y_mean - mean @ W)[None]]))
    return np.stack(paths)


def _predict(F, coefficients):
    return F @ coefficients[:-1] + coefficients[-1]


def _reliability(activity, group, n_groups):
    """Split-half (odd/even trials per condition) reliability of each neuron's PSTH, Spearman-Brown corrected."""
    half = np.zeros(len(group), np.int64)
    for g in range(n_groups):
        members = np.flatnonzero(group == g)
        half[members[1::2]] = 1
    keep = [g for g in range(n_groups) if np.sum(group == g) >= 2]
    if not keep:
        return np.full(activity.shape[2], np.nan)
    first = np.stack([activity[(group == g) & (half == 0)].mean(axis=0) for g in keep])
    second = np.stack([activity[(group == g) & (half == 1)].mean(axis=0) for g in keep])
    a = first.reshape(-1, activity.shape[2])
    b = second.reshape(-1, activity.shape[2])
    a, b = a - a.mean(axis=0), b - b.mean(axis=0)
    denominator = np.sqrt(np.sum(a ** 2, axis=0) * np.sum(b ** 2, axis=0))
    r = np.where(denominator > 0, np.sum(a * b, axis=0) / np.where(denominator > 0, denominator, 1.0), np.nan)
    return 2 * r / (1 + r)


def _r2(recorded, predicted):
    residual = np.sum((recorded - predicted) ** 2, axis=0)
    total = np.sum((recorded - recorded.mean(axis=0)) ** 2, axis=0)
    return np.where(total > 0, 1.0 - residual / np.where(total > 0, total, 1.0), np.nan)


def fit_recordings(source, recordings, task=None, *, signal="rates", n_folds=5, penalties=None, seed=0):
    """Fit a cross-validated linear map from a network's activity to recorded neurons (see the module docstring).

    Args:
        source: a network (model, weights dict, weight file, simulator) -- or an activity
            array (trials, steps, units) on the recorded trials, used as it is.
        recordings: :class:`Recordings` or a path to a recordings ``.npz`` file.
        task: the task that renders the recorded conditions as inputs; default the one the
            recordings name (built with their ``task_params``, and the network's dt and tau).
        signal: ``'rates'`` (default) or ``'states'``.
        n_folds: K of the K-fold cross-validation over trials (and of the inner choice of
            the penalty); default 5.
        penalties: relative ridge penalties to choose from (default ``1e-6 ... 1e2``, 9 values).
        seed: the folds and the trial parameters the conditions leave open.

    Returns:
        :class:`RecordingFit`.

    Raises:
        ParameterError: naming the argument (a recording that does not fit the task -- an
            unknown condition, a bin width that is not a whole number of the task's time
            steps, trials shorter than the recording --, too few trials for the folds...).
    """
    where = "fit_recordings"
    signal, n_folds, penalties, seed = declared(where, signal=signal, n_folds=n_folds, penalties=penalties, seed=seed)
    penalties = _DEFAULT_PENALTIES if penalties is None else penalties
    if isinstance(recordings, (str, PathLike)):
        recordings = load_recordings(recordings)
    elif not isinstance(recordings, Recordings):
        fail(where, "recordings", f"must be Recordings or a path to a recordings .npz file, got "
             f"{type(recordings).__name__}", recordings, "Recordings or a path")
    B, n_bins, M = recordings.shape
    group, n_groups = recordings.condition_groups()
    if B < n_folds:
        fail(where, "n_folds", f"must be at most the number of trials ({B}), got {n_folds}", n_folds,
             f"an integer in [2, {B}]")
    from ._activity import is_activity

    if is_activity(source):
        activity = array(source, "source", where, shape=(f"trials={B}", "steps", "units"))
        step_ms = recordings.dt if activity.shape[1] == n_bins else None
        if step_ms is None:
            fail(where, "source", f"as an activity array must have the recording's {n_bins} time bins, got "
                 f"{activity.shape[1]}", None, f"(trials={B}, {n_bins}, units)")
    else:
        sim = as_simulator(source)
        task = _task_for(recordings, task, sim, where)
        x = recording_inputs(task, recordings, seed)
        if x.shape[2] != sim.N_in:
            fail(where, "source", f"has {sim.N_in} inputs, the task {type(task).__name__} gives {x.shape[2]}", None,
                 f"a network with {x.shape[2]} inputs")
        _, states, rates = simulate(sim, x, rates=signal == "rates")
        activity = rates if signal == "rates" else states
        step_ms = float(task.dt)
    ratio = recordings.dt / step_ms
    if abs(ratio - round(ratio)) > 1e-6 or round(ratio) < 1:
        fail(where, "recordings", f"bins of {recordings.dt:g} ms are not a whole number of the task's {step_ms:g} ms "
             "steps", recordings.dt, f"a multiple of {step_ms:g} ms")
    ratio = int(round(ratio))
    if activity.shape[1] < n_bins * ratio:
        fail(where, "recordings", f"cover {n_bins * recordings.dt:g} ms, longer than the task's trials "
             f"({activity.shape[1] * step_ms:g} ms)", None, "recordings no longer than the trials")
    N = activity.shape[2]
    features = activity[:, :n_bins * ratio].reshape(B, n_bins, ratio, N).mean(axis=2)
    Y = recordings.activity
    rng = np.random.default_rng(seed)
    fold = _folds(group, n_folds, rng)
    predicted = np.zeros_like(Y)
    chosen = np.zeros((n_folds, M))
    for k in range(n_folds):
        train, test = fold != k, fold == k
        if not test.any():
            continue
        inner = _folds(group[train], n_folds, rng)
        F_train, Y_train = features[train], Y[train]
        errors = np.zeros((len(penalties), M))
        for j in range(n_folds):
            fit_rows, check_rows = inner != j, inner == j
            if not check_rows.any() or not fit_rows.any():
                continue
            paths = _ridge_paths(F_train[fit_rows].reshape(-1, N), Y_train[fit_rows].reshape(-1, M), penalties)
            F_check, Y_check = F_train[check_rows].reshape(-1, N), Y_train[check_rows].reshape(-1, M)
            for i, coefficients in enumerate(paths):
                errors[i] += np.sum((Y_check - _predict(F_check, coefficients)) ** 2, axis=0)
        best = np.argmin(errors, axis=0)
        chosen[k] = penalties[best]
        paths = _ridge_paths(F_train.reshape(-1, N), Y_train.reshape(-1, M), penalties)
        coefficients = paths[best, :, np.arange(M)].T  # (p + 1, M): each neuron its own penalty
        predicted[test] = _predict(features[test].reshape(-1, N), coefficients).reshape(-1, n_bins, M)
    recorded_psth = _group_mean(Y, group, n_groups)
    predicted_psth = _group_mean(predicted, group, n_groups)
    r2 = _r2(recorded_psth.reshape(-1, M), predicted_psth.reshape(-1, M))
    r2_trials = _r2(Y.reshape(-1, M), predicted.reshape(-1, M))
    network_psth = _group_mean(features, group, n_groups)
    X_c = centred_samples(network_psth, "source", where)
    Y_c = centred_samples(recorded_psth, "recordings", where)
    cka = float(np.linalg.norm(X_c.T @ Y_c) ** 2 / (np.linalg.norm(X_c.T @ X_c) * np.linalg.norm(Y_c.T @ Y_c)))
    return RecordingFit(r2=r2, r2_trials=r2_trials, reliability=_reliability(Y, group, n_groups),
                        mean_r2=float(np.nanmean(r2)), median_r2=float(np.nanmedian(r2)), cka=cka, penalties=chosen,
                        recorded_psth=recorded_psth, predicted_psth=predicted_psth,
                        times=np.arange(n_bins) * recordings.dt, signal=signal, n_folds=n_folds, n_units=N)
