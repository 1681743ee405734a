"""What a sweep runs: a base configuration, the axes to vary, one :class:`RunSpec` per combination (NumPy only).

A sweep's configuration has three parts, with PsychRNN's vocabulary:

* the task: a :class:`~psychrnn_widgets.tasks.task.Task` subclass and its constructor
  arguments (``dt, tau, T, N_batch``, ``coherence``...), or a task object, whose class
  and constructor arguments are read from it;
* ``network_params`` (``N_rec``, ``dale_ratio``, masks, regularisers...), completed
  from the task's ``get_task_params()`` exactly as in PsychRNN's examples;
* ``train_params`` (``training_iters``, ``learning_rate``, ``loss_epoch``, ``clip_grads``,
  ``fixed_weights``).

Axes name the parameters to vary: ``{"learning_rate": [1e-3, 3e-3], "dale_ratio": [None,
0.8]}``.  A bare name goes where it is declared (``train_params`` first, then the task's
constructor, then ``network_params``); ``"task.coherence"``, ``"network.N_rec"``,
``"train.learning_rate"`` say it explicitly.  By default the runs are the grid (every
combination, the last axis varying fastest); ``grid=False`` zips lists of equal length;
a list of dicts gives the combinations one by one.  Two more axes: ``"seed"`` (explicit
seeds) and ``"repeat"`` (replicates: ``repeats=n`` is the axis ``range(n)``).

Seeds: run ``i`` of a sweep with seed ``s`` gets ``spawn_seeds(s, n_runs)[i]`` (the
``'ensemble'`` stream of :mod:`psychrnn_widgets.seeding`), unless a ``"seed"`` axis gives
it.  That one integer seeds the run's task (its batches) and its network (initial
weights and noise, independent streams), so a run is reproducible from its record alone.

A run's id is a digest of its whole configuration (seed included): the same definition
gives the same ids, which is how a re-run finds the runs already finished.  (The digest
reads the task class as ``'module:QualName'``, as records named it before the catalog, so
registries written then keep their ids.)

Records and ``sweep.json`` name the task class by its registered name
(:mod:`psychrnn_widgets.catalog`); a sweep registers the task class it is given.  Reading a
record never imports a module.  A sweep's definition has an identity (:meth:`SweepDefinition.identity`,
a digest of :meth:`SweepDefinition.definition`) that its registry keeps, so that another
sweep cannot be pointed at the same registry by mistake.

Unknown keys warn with a "did you mean", as ``Basic`` does: in ``network_params``,
``task_params`` (against the task's constructor) and in ``'network.'`` / ``'task.'`` axes.

Runs whose networks have the same shape and the same training schedule have the same
:meth:`RunSpec.group_key` and are trained together as an
:class:`~psychrnn_widgets.models.ensemble.Ensemble`.
"""
import difflib
import inspect
import itertools
import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from .. import seeding
from ..catalog import TASKS, class_path
from ..errors import ParameterError, UnknownClassError
from ..params import (NETWORK_PARAMS, SWEEP_PARAMS, TRAIN_PARAMS, network_key_ignores, validate_network_params,
                      validate_train_params, warn_unknown_keys)
from .records import definition_identity, digest as _digest

__all__ = ["RunSpec", "SweepDefinition", "to_json", "from_json", "registered_task", "SWEEP_TRAIN_KEYS", "SECTIONS"]

#: the parts of a run's configuration an axis can vary
SECTIONS = ("task", "network", "train")
#: ``train_params`` keys a sweep run may set (the others are live objects or per-process paths)
SWEEP_TRAIN_KEYS = ("training_iters", "learning_rate", "loss_epoch", "clip_grads", "fixed_weights")
_SPECIAL_AXES = ("seed", "repeat")
_ARRAY_TAG = "__ndarray__"


# ----------------------------------------------------------------------------- JSON
def to_json(value):
    """``value`` as plain JSON: NumPy scalars unwrapped, arrays as ``{"__ndarray__": nested list, "dtype": ...}``.

    Raises ``ParameterError`` for what JSON cannot hold (functions, objects): a sweep's
    configuration must be data, so that it can be recorded, hashed and sent to workers.
    """
    if isinstance(value, np.ndarray):
        return {_ARRAY_TAG: value.tolist(), "dtype": str(value.dtype)}
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        if not math.isfinite(value):
            raise ParameterError(f"sweep configurations hold finite numbers only, got {value}")
        return value
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ParameterError(f"sweep configuration keys must be strings, got {key!r}")
            out[key] = to_json(item)
        return out
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    raise ParameterError(f"a sweep configuration holds data only (numbers, strings, lists, dicts, arrays); "
                         f"{value!r} ({type(value).__name__}) cannot be recorded or sent to a worker. Give a name "
                         "(e.g. transfer_function='tanh') instead of a function")


def from_json(value):
    """Inverse of :func:`to_json` (arrays come back as NumPy arrays of a numeric or boolean dtype only)."""
    if isinstance(value, dict):
        if _ARRAY_TAG in value:
            return _array_from_json(value)
        return {key: from_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_json(item) for item in value]
    return value


def _array_from_json(value):
    dtype = value.get("dtype", "float64")
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        dtype = None
    if dtype is None or dtype.kind not in "biuf":
        raise ParameterError(f"an array in a sweep configuration has the dtype {value.get('dtype')!r}; only "
                             "boolean, integer and float arrays are read", parameter="dtype", value=value.get("dtype"))
    try:
        return np.asarray(value[_ARRAY_TAG], dtype=dtype)
    except (TypeError, ValueError) as error:
        raise ParameterError(f"an array in a sweep configuration cannot be read ({error})",
                             parameter=_ARRAY_TAG) from None


def registered_task(task_class):
    """The catalog name of ``task_class``, registering it under its class name if it is new.

    A sweep is handed its task class by the user: registering it is what lets this
    process read the sweep's records back (records name classes, they never import them).
    """
    try:
        return TASKS.name_of(task_class)
    except UnknownClassError:
        pass
    try:
        TASKS.register(task_class)
    except ParameterError as error:
        raise ParameterError(f"Sweep: {error}.  Register your task under a name of its own first, e.g. "
                             f"psychrnn_widgets.register_task({task_class.__name__}, name='my_task')",
                             parameter="task", value=task_class) from None
    return TASKS.name_of(task_class)


# ----------------------------------------------------------------------------- tasks
def _constructor_names(task_class):
    signature = inspect.signature(task_class.__init__)
    return [name for name, p in list(signature.parameters.items())[1:]
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and name != "seed"]


def _takes_any_keyword(task_class):
    """True when the task's constructor has ``**kwargs`` (then no task key is "unknown")."""
    return any(p.kind == p.VAR_KEYWORD for p in inspect.signature(task_class.__init__).parameters.values())


def task_spec(task, task_params):
    """``(task_class, params)`` from a Task subclass with params, or from a task object."""
    if isinstance(task, type):
        return task, dict(task_params or {})
    if task_params:
        raise ParameterError("give task_params only with a task class; a task object carries its own parameters",
                             parameter="task_params")
    if not hasattr(task, "batch_generator"):
        raise ParameterError(f"task must be a Task subclass or a task object, got {task!r}", parameter="task")
    task_class = type(task)
    params = {name: getattr(task, name) for name in _constructor_names(task_class) if hasattr(task, name)}
    return task_class, params


# ----------------------------------------------------------------------------- runs
@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: everything a worker needs, as data.

    Attributes:
        run_id: ``'run-<digest>'`` of the configuration (seed included).
        index: position in the sweep (grid order).
        values: the axis values of this run, ``{axis name: value}``.
        seed: the run's seed (task batches, initial weights, noise).
        task_class: the Task subclass (sent to workers by reference).
        task_params, network_params, train_params: the run's three configuration parts
            (``network_params`` without the task's keys, which :meth:`network_params_for`
            adds).
    """

    run_id: str
    index: int
    values: dict
    seed: int
    task_class: type
    task_params: dict
    network_params: dict
    train_params: dict
    name: str = "net"
    error: str = field(default=None, compare=False)

    def config(self):
        """The run's configuration as plain JSON (what its record holds); the task class by its catalog name."""
        return {"task": {"class": registered_task(self.task_class), "params": to_json(self.task_params)},
                "network_params": to_json(self.network_params), "train_params": to_json(self.train_params),
                "seed": self.seed, "values": to_json(self.values)}

    def digest(self):
        """The digest of :meth:`config` that makes the run id (the class read as ``'module:QualName'``, see above)."""
        config = self.config()
        config["task"]["class"] = class_path(self.task_class)
        return _digest(config)

    def build_task(self):
        """The run's task, seeded with the run's seed."""
        return self.task_class(**self.task_params, seed=self.seed)

    def network_params_for(self, task):
        """``task.get_task_params()`` + the run's ``network_params`` + name and seed (PsychRNN's recipe)."""
        params = task.get_task_params()
        params.update(self.network_params)
        params["name"] = self.network_params.get("name", self.name)
        params["seed"] = self.seed
        return params

    def group_key(self):
        """Runs with equal keys train together in one ensemble: same shape, same schedule."""
        task = self.build_task()
        values = validate_network_params(self.network_params_for(task), warn_unknown=False)
        train = validate_train_params({k: v for k, v in self.train_params.items() if k != "fixed_weights"})
        transfer = values["transfer_function"]
        loss = values["loss_function"]
        return (values["N_in"], values["N_rec"], values["N_out"], float(values["dt"]) / float(values["tau"]),
                str(transfer), str(loss), task.N_batch, task.N_steps, train["training_iters"], train["loss_epoch"],
                train["clip_grads"])


def _resolve_axis(name, task_class):
    """``(section, key)`` of an axis name."""
    if name in _SPECIAL_AXES:
        return "run", name
    if "." in name:
        section, key = name.split(".", 1)
        if section not in SECTIONS:
            raise ParameterError(f"axis {name!r}: the part before the dot must be one of {', '.join(SECTIONS)}",
                                 parameter="axes", value=name)
        return section, key
    if name in TRAIN_PARAMS:
        return "train", name
    if name in _constructor_names(task_class):
        return "task", name
    if name in NETWORK_PARAMS:
        return "network", name
    known = list(TRAIN_PARAMS) + _constructor_names(task_class) + list(NETWORK_PARAMS) + list(_SPECIAL_AXES)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.7)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ParameterError(f"axis {name!r} is not a train_params key, a parameter of {task_class.__name__} or a "
                         f"network_params key{hint}; prefix it with 'task.', 'network.' or 'train.' to say where it "
                         "goes", parameter="axes", value=name)


def _check_train_params(train_params, where):
    for key in train_params:
        if key not in SWEEP_TRAIN_KEYS:
            advice = "it is not a train_params key" if key not in TRAIN_PARAMS else \
                "a sweep records and sends its runs' settings as data and drives training itself"
            raise ParameterError(f"{where}: train_params[{key!r}] cannot be set in a sweep ({advice}); allowed: "
                                 f"{', '.join(SWEEP_TRAIN_KEYS)}", parameter=key)


class SweepDefinition:
    """The base configuration and the axes; :attr:`runs` lists the :class:`RunSpec` s.

    Args: see :class:`~psychrnn_widgets.sweeps.sweep.Sweep` (which adds execution and the registry).
    """

    def __init__(self, task, task_params=None, network_params=None, train_params=None, axes=None, grid=True,
                 repeats=None, seed=None, name="net"):
        self.task_class, self.task_params = task_spec(task, task_params)
        registered_task(self.task_class)
        self.network_params = dict(network_params or {})
        self.train_params = dict(train_params or {})
        _check_train_params(self.train_params, "the sweep's base configuration")
        self.name = SWEEP_PARAMS["name"].validate(self.network_params.get("name", name), "Sweep")
        self.grid = bool(grid)
        seed = SWEEP_PARAMS["seed"].validate(seed, "Sweep")
        self.seed = seeding.seed_from_global() if seed is None else seed
        self.combinations = self._combinations(axes, grid, repeats)
        for values in self.combinations:  # configurations must be data (recorded, hashed, sent to workers)
            to_json(values)
        to_json(self.task_params), to_json(self.network_params), to_json(self.train_params)
        self._warn_unknown_keys()
        self._runs = None

    def _warn_unknown_keys(self):
        """Warn (with a "did you mean") about keys of network_params, task_params and axes that nobody declared."""
        task_keys = _constructor_names(self.task_class)
        open_task = _takes_any_keyword(self.task_class)
        known_network = set(NETWORK_PARAMS) | set(task_keys)
        warn_unknown_keys(self.network_params, known_network, "Sweep: network_params",
                          ignore=network_key_ignores(self.network_params), stacklevel=5)
        if not open_task:
            warn_unknown_keys(self.task_params, task_keys, f"Sweep: task_params of {self.task_class.__name__}",
                              stacklevel=5)
        axes = {name for values in self.combinations for name in values}
        network_axes = {name.split(".", 1)[1]: None for name in axes if name.startswith("network.")}
        warn_unknown_keys(network_axes, known_network, "Sweep: axis 'network.<key>'",
                          ignore=network_key_ignores(network_axes), stacklevel=5)
        if not open_task:
            task_axes = {name.split(".", 1)[1]: None for name in axes if name.startswith("task.")}
            warn_unknown_keys(task_axes, task_keys, f"Sweep: axis 'task.<key>' of {self.task_class.__name__}",
                              stacklevel=5)

    # ------------------------------------------------------------- combinations
    def _combinations(self, axes, grid, repeats):
        if isinstance(axes, (list, tuple)):
            if not all(isinstance(item, dict) for item in axes):
                raise ParameterError("axes must be a dict {name: list of values} or a list of dicts (one per run)",
                                     parameter="axes")
            combinations = [dict(item) for item in axes] or [{}]
        else:
            axes = dict(axes or {})
            for name, values in axes.items():
                if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
                    raise ParameterError(f"axis {name!r} must be a list of values, got {values!r}", parameter="axes",
                                         value=values)
                if len(values) == 0:
                    raise ParameterError(f"axis {name!r} has no values", parameter="axes", value=name)
            names = list(axes)
            value_lists = [list(axes[n]) for n in names]
            if grid:
                combinations = [dict(zip(names, combo)) for combo in itertools.product(*value_lists)]
            else:
                lengths = {len(v) for v in value_lists}
                if len(lengths) > 1:
                    raise ParameterError(f"with grid=False every axis needs the same number of values, got "
                                         f"{dict(zip(names, map(len, value_lists)))}", parameter="axes")
                combinations = [dict(zip(names, combo)) for combo in zip(*value_lists)] or [{}]
        repeats = SWEEP_PARAMS["repeats"].validate(repeats, "Sweep")
        if repeats is not None:
            if any("repeat" in c for c in combinations):
                raise ParameterError("give repeats=... or a 'repeat' axis, not both", parameter="repeats")
            combinations = [dict(c, repeat=r) for c in combinations for r in range(repeats)]
        for combination in combinations:
            for name in combination:
                _resolve_axis(name, self.task_class)
        return combinations

    # ------------------------------------------------------------------- runs
    @property
    def runs(self):
        """The :class:`RunSpec` of every combination, in order (computed once)."""
        if self._runs is None:
            seeds = seeding.spawn_seeds(self.seed, len(self.combinations))
            self._runs = [self._run(i, values, seeds[i]) for i, values in enumerate(self.combinations)]
            ids = [run.run_id for run in self._runs]
            if len(set(ids)) != len(ids):
                raise ParameterError("two runs of the sweep have the same configuration and seed (a 'seed' axis "
                                     "repeats a value?)", parameter="axes")
        return self._runs

    def _run(self, index, values, seed):
        parts = {"task": dict(self.task_params), "network": dict(self.network_params),
                 "train": dict(self.train_params)}
        error = None
        for name, value in values.items():
            section, key = _resolve_axis(name, self.task_class)
            if section == "run":
                if key == "seed":
                    seed = NETWORK_PARAMS["seed"].validate(value, "Sweep: axis 'seed'")
                continue
            parts[section][key] = value
        try:
            _check_train_params(parts["train"], f"run {index}")
        except ParameterError as exc:
            error = str(exc)
        spec = RunSpec(run_id="", index=index, values=dict(values), seed=int(seed), task_class=self.task_class,
                       task_params=parts["task"], network_params=parts["network"], train_params=parts["train"],
                       name=self.name, error=error)
        run_id = "run-" + spec.digest()[:12]
        return RunSpec(run_id=run_id, index=index, values=spec.values, seed=spec.seed, task_class=spec.task_class,
                       task_params=spec.task_params, network_params=spec.network_params,
                       train_params=spec.train_params, name=spec.name, error=error)

    def definition(self):
        """The sweep as plain JSON (what ``sweep.json`` in the registry holds, with :meth:`identity`)."""
        return {"task": {"class": registered_task(self.task_class), "params": to_json(self.task_params)},
                "network_params": to_json(self.network_params), "train_params": to_json(self.train_params),
                "combinations": [to_json(c) for c in self.combinations], "grid": self.grid, "seed": self.seed,
                "name": self.name}

    def identity(self):
        """A digest of :meth:`definition`: two sweeps with the same identity make the same runs."""
        return definition_identity(self.definition())

    def __len__(self):
        return len(self.combinations)
