"""The :class:`Task` base class: trial structure, batches, seeds and task parameters.

A task describes, for every trial of a batch, what the network sees (``x``), what it
should answer (``y``) and when the answer counts (``mask``), sampled every ``dt`` ms for
``N_steps = ceil(T / dt)`` steps.

Two ways to write a task
------------------------
*PsychRNN style* (simple, slow): subclass :class:`Task`, implement
:meth:`Task.generate_trial_params` (one dict per trial) and :meth:`Task.trial_function`
(the input, target and mask of one trial at one time in ms).  Everything else, batches
included, works through a per-trial fallback that calls ``trial_function`` once per time
step.  Draw random numbers from ``self.rng`` (a :class:`numpy.random.Generator`) rather
than from ``np.random``: only then does ``seed=`` make the task's batches reproducible.
Code that uses ``np.random`` keeps working, it just is not seeded by the task.

*Vectorised* (what the built-in tasks do): additionally implement the protected hooks
``_sample_columns(n, batch)`` (all per-trial parameters at once, as arrays) and
``_render_columns(columns, noise)`` (whole batch, no loop over time), and list the keys
that ``_render_columns`` reads in ``_param_keys``.  The hooks are only used while they
are defined at least as far down the class hierarchy as the PsychRNN-style methods they
replace, so a subclass of a built-in task that overrides ``trial_function`` is rendered
through its own ``trial_function`` and never silently ignored.
"""
from __future__ import annotations

import copy
import math
import numbers
import operator
import types
import warnings
from functools import lru_cache

import numpy as np

from psychrnn_widgets.errors import ParameterError
from psychrnn_widgets.params import register_task_keys

__all__ = ["Task", "TaskParameter", "argmax_accuracy", "make_rng", "spread_channels"]

_RANDOM_STATE_TYPES = (
    np.random.Generator,
    np.random.RandomState,
    np.random.BitGenerator,
    np.random.SeedSequence,
    types.GeneratorType,
)


# --------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------
def check_positive_int(name, value):
    """Return ``value`` as a Python int if it is an integer >= 1, else raise ParameterError."""
    if isinstance(value, bool):
        raise ParameterError(f"{name} must be a positive integer, got {value!r}")
    try:
        ivalue = operator.index(value)
    except TypeError:
        raise ParameterError(
            f"{name} must be a positive integer, got {value!r} ({type(value).__name__})"
        ) from None
    if ivalue < 1:
        raise ParameterError(f"{name} must be a positive integer, got {ivalue}")
    return int(ivalue)


def check_real(name, value, *, minimum=None, strict=False, allow_none=False):
    """Return ``value`` as a finite Python number (int kept as int), else raise ParameterError.

    ``minimum`` with ``strict=True`` requires ``value > minimum``; with ``strict=False``
    it requires ``value >= minimum``.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    if isinstance(value, numbers.Integral):
        value = int(value)
    else:
        value = float(value)
        if not math.isfinite(value):
            raise ParameterError(f"{name} must be finite, got {value!r}")
    if minimum is not None:
        if strict and not value > minimum:
            raise ParameterError(f"{name} must be > {minimum}, got {value!r}")
        if not strict and not value >= minimum:
            raise ParameterError(f"{name} must be >= {minimum}, got {value!r}")
    return value


def _positive_real(name, value):
    return check_real(name, value, minimum=0, strict=True)


def make_rng(seed=None):
    """Turn ``seed`` (None, an int, a SeedSequence or a Generator) into a Generator.

    A Generator is used as is (shared, not copied); None gives fresh OS entropy.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not (
        seed is None
        or isinstance(seed, (numbers.Integral, np.random.SeedSequence, np.random.BitGenerator))
    ):
        raise ParameterError(
            f"seed must be None, a non-negative int or a numpy.random.Generator, got {seed!r}"
        )
    try:
        return np.random.default_rng(seed)
    except (ValueError, TypeError) as err:
        raise ParameterError(f"invalid seed {seed!r}: {err}") from None


# --------------------------------------------------------------------------------------
# a validated, discoverable task parameter
# --------------------------------------------------------------------------------------
class TaskParameter:
    """Descriptor for a task parameter that is validated every time it is set.

    ``check(name, value) -> value`` validates and normalises the value (raising
    :class:`~psychrnn_widgets.errors.ParameterError`).  Parameters declared this way are
    listed by :meth:`Task.get_task_params` and by :meth:`Task.parameter_names`.
    """

    def __init__(self, check, doc=""):
        self.check = check
        self.__doc__ = doc
        self.name = None

    def __set_name__(self, owner, name):
        self.name = name
        self._slot = "_" + name

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        try:
            return obj.__dict__[self._slot]
        except KeyError:
            raise AttributeError(f"task parameter {self.name!r} has not been set") from None

    def __set__(self, obj, value):
        obj.__dict__[self._slot] = self.check(self.name, value)


# --------------------------------------------------------------------------------------
# accuracy shared by the built-in tasks
# --------------------------------------------------------------------------------------
def argmax_accuracy(correct_output, test_output, output_mask):
    """Fraction of trials whose chosen channel matches the target's (PsychRNN's rule).

    The choice of a trial is the channel with the largest time-mean of the masked output;
    the same rule applied to ``correct_output`` gives the correct choice.

    Args:
        correct_output: array (B, N_steps, N_out), the targets ``y``.
        test_output: array (B, N_steps, N_out), the network outputs.
        output_mask: array (B, N_steps, N_out), the mask (bool or float).

    Returns:
        float in [0, 1].
    """
    correct_output = np.asarray(correct_output)
    test_output = np.asarray(test_output)
    output_mask = np.asarray(output_mask)
    chosen = np.argmax(np.mean(test_output * output_mask, axis=1), axis=-1)
    truth = np.argmax(np.mean(correct_output * output_mask, axis=1), axis=-1)
    return float(np.mean(chosen == truth))


# --------------------------------------------------------------------------------------
# fast rendering helper for vectorised tasks
# --------------------------------------------------------------------------------------
def spread_channels(on, levels, out=None):
    """Return ``on[b, t] * levels[b, c]`` as a float32 array (B, N_steps, C).

    ``on`` is a (B, N_steps) boolean (or 0/1) window, ``levels`` a (B, C) array of the
    values each channel takes inside the window.  With ``out`` given, the product is
    *added* to it in place (e.g. onto input noise) and ``out`` is returned.

    The loop runs over the (few) channels, never over time: one long inner loop per
    channel is several times faster than broadcasting over a short last axis.
    """
    on = np.asarray(on).astype(np.float32, copy=False)
    levels = np.asarray(levels, dtype=np.float32)
    if out is None:
        out = np.empty(on.shape + (levels.shape[1],), dtype=np.float32)
        for c in range(levels.shape[1]):
            np.multiply(on, levels[:, c, None], out=out[:, :, c])
    else:
        for c in range(levels.shape[1]):
            out[:, :, c] += on * levels[:, c, None]
    return out


# --------------------------------------------------------------------------------------
# which code path a task class can use
# --------------------------------------------------------------------------------------
def _defining_class(cls, name):
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass
    return None


@lru_cache(maxsize=None)
def _vectorised_paths(cls):
    """(can sample parameters as arrays, can render a batch without a time loop) for ``cls``."""
    sampler = _defining_class(cls, "_sample_columns")
    renderer = _defining_class(cls, "_render_columns")
    can_sample = sampler is not Task and issubclass(
        sampler, _defining_class(cls, "generate_trial_params")
    )
    can_render = renderer is not Task and all(
        issubclass(renderer, _defining_class(cls, name))
        for name in ("trial_function", "generate_trial")
    )
    return can_sample, can_render


def _params_list(trial_params):
    if isinstance(trial_params, dict):
        return [trial_params]
    if isinstance(trial_params, np.ndarray):
        trial_params = trial_params.ravel()
    params = list(trial_params)
    for i, p in enumerate(params):
        if not isinstance(p, dict):
            raise ParameterError(
                f"trial_params must be a sequence of dicts; item {i} is {type(p).__name__}"
            )
    if not params:
        raise ParameterError("trial_params is empty: at least one trial is needed")
    return params


def _object_array(items):
    arr = np.empty(len(items), dtype=object)
    arr[:] = items
    return arr


# --------------------------------------------------------------------------------------
# the base class
# --------------------------------------------------------------------------------------
class Task:
    """Base class of every task (PsychRNN-compatible).

    Args:
        N_in (int): number of input channels.
        N_out (int): number of output channels.
        dt (float): simulation time step in ms.
        tau (float): unit time constant in ms.
        T (float): trial length in ms.
        N_batch (int): number of trials per batch.
        seed (None | int | numpy.random.Generator): seeds ``self.rng``. PsychRNN-style
            subclasses may leave it out (then batches are not reproducible).

    Derived, read-only, always consistent with the current ``dt``, ``tau``, ``T``:
        alpha (float): ``dt / tau``.
        N_steps (int): ``ceil(T / dt)``; step ``t`` is at time ``t * dt`` ms.

    Subclasses implement :meth:`generate_trial_params` and :meth:`trial_function`, and
    optionally :meth:`accuracy_function`.  See the module docstring for the faster,
    vectorised hooks.
    """

    N_in = TaskParameter(check_positive_int, "Number of input channels.")
    N_out = TaskParameter(check_positive_int, "Number of output channels.")
    dt = TaskParameter(_positive_real, "Simulation time step (ms).")
    tau = TaskParameter(_positive_real, "Unit time constant (ms).")
    T = TaskParameter(_positive_real, "Trial length (ms).")
    N_batch = TaskParameter(check_positive_int, "Trials per batch.")

    #: keys of a trial-param dict that ``_render_columns`` reads (vectorised tasks only)
    _param_keys = ()

    _CORE = ("N_in", "N_out", "dt", "tau", "T", "N_batch", "alpha", "N_steps")

    def __init__(self, N_in, N_out, dt, tau, T, N_batch, seed=None):
        self.N_in = N_in
        self.N_out = N_out
        self.dt = dt
        self.tau = tau
        self.T = T
        self.N_batch = N_batch
        self._rng = make_rng(seed)
        self._batch_generator = None

    # ---------------------------------------------------------------- derived values
    @property
    def alpha(self):
        """``dt / tau``: the fraction of a time constant covered by one step."""
        return self.dt / self.tau

    @property
    def N_steps(self):
        """Number of time steps per trial, ``ceil(T / dt)``."""
        return int(np.ceil(self.T / self.dt))

    @property
    def times(self):
        """The time of every step in ms, ``arange(N_steps) * dt`` (float64, shape (N_steps,))."""
        return np.arange(self.N_steps) * self.dt

    # ---------------------------------------------------------------- randomness
    @property
    def rng(self):
        """The :class:`numpy.random.Generator` every random draw of the task comes from.

        Assigning a seed or a Generator is the same as calling :meth:`set_seed`.
        """
        rng = self.__dict__.get("_rng")
        if rng is None:  # a subclass that never called Task.__init__
            rng = self._rng = make_rng(None)
        return rng

    @rng.setter
    def rng(self, seed):
        self.set_seed(seed)

    def set_seed(self, seed=None):
        """Reseed ``self.rng`` and restart the generator behind :meth:`get_trial_batch`.

        Args:
            seed (None | int | numpy.random.Generator): None draws fresh entropy.
        """
        self._rng = make_rng(seed)
        self._batch_generator = None

    # ---------------------------------------------------------------- to implement
    def generate_trial_params(self, batch, trial):
        """Draw the parameters of one trial.

        Args:
            batch (int): batch number (from 1).
            trial (int): index of the trial within the batch.

        Returns:
            dict: whatever :meth:`trial_function` needs (onset times, stimulus, choice...).
            It is also handed back with each batch, for analysis.

        A task with the vectorised ``_sample_columns`` hook (the built-ins) gets this
        method for free: one trial drawn through that hook.
        """
        if _defining_class(type(self), "_sample_columns") is not Task:
            return self._columns_to_dicts(self._sample_columns(1, batch))[0]
        raise NotImplementedError(
            f"{type(self).__name__} must implement generate_trial_params(batch, trial) -> dict"
        )

    def trial_function(self, time, params):
        """Input, target and mask of one trial at one time.

        Args:
            time (float): time in ms since trial start (``t * dt`` for step ``t``).
            params (dict): as returned by :meth:`generate_trial_params`.

        Returns:
            tuple: ``x_t`` shape (N_in,), ``y_t`` shape (N_out,), ``mask_t`` shape
            (N_out,) (1 where the target counts for training, 0 where it is ignored).
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement trial_function(time, params) "
            "-> (x_t, y_t, mask_t)"
        )

    def noise_input(self, std):
        """One time step's input (N_in,): zeros plus N(0, std^2) noise from :attr:`rng` (no draw when std is 0).

        The start of a ``trial_function`` whose stimulus rides on input noise.
        """
        x_t = np.zeros(self.N_in)
        if std:
            x_t += std * self.rng.standard_normal(self.N_in)
        return x_t

    def accuracy_function(self, correct_output, test_output, output_mask):
        """Task accuracy in [0, 1] as an experimenter would score it (optional).

        Args:
            correct_output: (B, N_steps, N_out) targets ``y``.
            test_output: (B, N_steps, N_out) network outputs.
            output_mask: (B, N_steps, N_out) mask.

        Raises:
            NotImplementedError: the base class has no notion of a correct choice.
        """
        raise NotImplementedError(
            f"{type(self).__name__} does not define accuracy_function(correct_output, "
            "test_output, output_mask); implement it to use accuracy-based metrics"
        )

    # ---------------------------------------------------------------- one trial
    def generate_trial(self, params, noise=True):
        """Render one trial by calling :meth:`trial_function` at every step.

        This is the per-trial fallback (and the only loop over time in the package).

        Args:
            params (dict): trial parameters.
            noise (bool): False renders the trial with ``params['stim_noise'] = 0``
                (the PsychRNN convention for the input-noise scale).

        Returns:
            tuple: ``x`` (N_steps, N_in), ``y`` (N_steps, N_out), ``mask`` (N_steps,
            N_out), all float32.
        """
        if not noise:
            params = self._noise_free(params)
        n_steps, dt = self.N_steps, self.dt
        x = np.zeros((n_steps, self.N_in), dtype=np.float32)
        y = np.zeros((n_steps, self.N_out), dtype=np.float32)
        mask = np.zeros((n_steps, self.N_out), dtype=np.float32)
        for t in range(n_steps):
            x[t], y[t], mask[t] = self.trial_function(t * dt, params)
        return x, y, mask

    def _noise_free(self, params):
        if "stim_noise" in params:
            return {**params, "stim_noise": 0.0}
        warnings.warn(
            f"{type(self).__name__}: cannot switch input noise off for trials without a "
            "'stim_noise' parameter; rendering them as trial_function defines them",
            UserWarning,
            stacklevel=3,
        )
        return params

    # ---------------------------------------------------------------- batches
    def generate_batch(self, N_batch=None, batch=1, noise=True):
        """Draw and render one batch.

        Args:
            N_batch (int, optional): number of trials; default ``self.N_batch``.
            batch (int): batch number passed to :meth:`generate_trial_params`.
            noise (bool): False renders without input noise.

        Returns:
            tuple: ``x`` float32 (B, N_steps, N_in), ``y`` float32 (B, N_steps, N_out),
            ``mask`` float32 (B, N_steps, N_out), ``trial_params`` object array (B,) of dicts.
        """
        n = self.N_batch if N_batch is None else check_positive_int("N_batch", N_batch)
        can_sample, can_render = _vectorised_paths(type(self))
        columns = None
        if can_sample:
            columns = self._sample_columns(n, batch)
            params = self._columns_to_dicts(columns)
            if not can_render:
                columns = None
        else:
            params = [self.generate_trial_params(batch, trial) for trial in range(n)]
        x, y, mask = self._render(params, columns, noise)
        return x, y, mask, _object_array(params)

    def trials_from_params(self, trial_params, noise=True):
        """Render trials from given parameter dicts (e.g. a fixed probe batch).

        Args:
            trial_params: a dict, a sequence or an object array of dicts, as found in
                the fourth value returned by :meth:`generate_batch`.
            noise (bool): False renders without input noise (exactly reproducible).

        Returns:
            tuple: ``x``, ``y``, ``mask`` float32 arrays with batch size ``len(trial_params)``.
        """
        return self._render(_params_list(trial_params), None, noise)

    def _render(self, params, columns, noise):
        if _vectorised_paths(type(self))[1]:
            if columns is None:
                columns = self._dicts_to_columns(params)
            x, y, mask = self._render_columns(columns, noise)
            return x, y, mask
        n_steps = self.N_steps
        n = len(params)
        x = np.empty((n, n_steps, self.N_in), dtype=np.float32)
        y = np.empty((n, n_steps, self.N_out), dtype=np.float32)
        mask = np.empty((n, n_steps, self.N_out), dtype=np.float32)
        for i, p in enumerate(params):
            x[i], y[i], mask[i] = self.generate_trial(p, noise=noise)
        return x, y, mask

    @staticmethod
    def _columns_to_dicts(columns):
        keys = list(columns)
        values = [np.asarray(columns[k]).tolist() for k in keys]
        return [dict(zip(keys, row)) for row in zip(*values)]

    def _dicts_to_columns(self, params):
        try:
            return {k: np.array([p[k] for p in params]) for k in self._param_keys}
        except KeyError as err:
            raise ParameterError(
                f"{type(self).__name__} trial params need the key {err.args[0]!r} "
                f"(required keys: {', '.join(self._param_keys)})"
            ) from None

    def _sample_columns(self, n, batch):  # pragma: no cover - documented hook
        """Vectorised :meth:`generate_trial_params`: dict of arrays of length ``n``."""
        raise NotImplementedError

    def _render_columns(self, columns, noise):  # pragma: no cover - documented hook
        """Vectorised rendering of a batch from a dict of parameter arrays."""
        raise NotImplementedError

    def batch_generator(self):
        """Infinite generator of batches; the batch counter starts at 1.

        Yields:
            tuple: ``(x, y, mask, trial_params)`` as :meth:`generate_batch` returns them.
            ``N_batch`` is read again for every batch.
        """
        batch = 1
        while True:
            yield self.generate_batch(batch=batch)
            batch += 1

    def get_trial_batch(self):
        """Next batch of the task's own persistent :meth:`batch_generator`.

        The generator is created on first use and restarted by :meth:`set_seed`.
        """
        if self.__dict__.get("_batch_generator") is None:
            self._batch_generator = self.batch_generator()
        return next(self._batch_generator)

    # ---------------------------------------------------------------- parameters
    @classmethod
    def parameter_names(cls):
        """Names of the validated :class:`TaskParameter` attributes of this task class."""
        names = []
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                if isinstance(value, TaskParameter) and name not in names:
                    names.append(name)
        return names

    def get_task_params(self):
        """A plain-dict copy of the task's parameters (the start of ``network_params``).

        Holds ``N_in, N_out, dt, tau, T, N_batch, alpha, N_steps`` and every other public
        parameter of the task (e.g. ``coherence``, ``direction``, ``lo``, ``hi``), never
        the random generator or private attributes.  Editing it does not change the task.
        """
        out = {name: getattr(self, name) for name in self._CORE}
        for name in self.parameter_names():
            if name not in out:
                out[name] = getattr(self, name)
        for name, value in vars(self).items():
            if name.startswith("_") or name in out or name == "rng":
                continue
            if isinstance(value, _RANDOM_STATE_TYPES):
                continue
            out[name] = value
        for name, value in out.items():
            try:
                out[name] = copy.deepcopy(value)
            except Exception:  # noqa: BLE001 - an uncopyable user attribute stays shared
                pass
        register_task_keys(out)  # network_params built from it never warn about these keys
        return out

    def __getstate__(self):
        # the persistent batch generator cannot be pickled (e.g. to send a task to a
        # dask worker); the copy restarts it, with the random state carried over
        state = self.__dict__.copy()
        state["_batch_generator"] = None
        return state

    def __repr__(self):
        return (
            f"{type(self).__name__}(dt={self.dt!r}, tau={self.tau!r}, T={self.T!r}, "
            f"N_batch={self.N_batch!r}, N_in={self.N_in!r}, N_out={self.N_out!r})"
        )
