"""The :class:`Task` base class: trial structure, batches, seeds and task parameters.

A task describes, for every trial of a batch, what the network sees (``x``), what it
should answer (``y``) and when the answer counts (``mask``), sampled every ``dt`` ms for
``N_steps = ceil(T / dt)`` steps.

Describing a task (the one way, vectorised)
-------------------------------------------
Subclass :class:`Task`, declare its parameters, and write two methods::

    class SignTask(Task):
        strength = TaskParameter(Parameter("strength", "float", 0.5, low=0.0, label="Strength",
                                           help="mean input during the stimulus"))
        scored_by_choice = True  # accuracy: the output's choice is the target's

        def __init__(self, dt=10, tau=100, T=1000, N_batch=16, strength=0.5, seed=None):
            super().__init__(1, 2, dt, tau, T, N_batch, seed=seed)
            self.strength = strength

        def sample_trials(self, n, batch=1):
            return {"fixation": self.rng.uniform(100, 300, n), "choice": self.rng.integers(2, size=n)}

        def describe_trials(self, trials):
            sign = 2 * trials["choice"] - 1
            trials.period("fixation", trials["fixation"])     # ms, one value per trial
            trials.period("stimulus", 500)                     # follows the previous period
            trials.period("decision", end=np.inf)              # to the end of the trial
            trials.add_input(self.strength * sign, "stimulus", channel=0)
            trials.add_noise(0.1)                              # std per step, drawn when rendered
            trials.set_target(one_hot(trials["choice"], 2), "decision")
            trials.set_mask(1, "decision")
            trials.note(choice=trials["choice"], evidence=self.strength * sign)

(``tests/test_tasks.py`` runs this very task.)

``sample_trials(n, batch)``
    Draw the parameters of ``n`` trials at once from ``self.rng`` and return them as a
    dict of arrays of length ``n`` (coherences, stimulus angles, period durations in ms...).
``describe_trials(trials)``
    Given a :class:`~psychrnn_widgets.tasks.trials.Trials` holding those parameters
    (``trials['coherence']`` is an array (n,)), name the periods and set the inputs,
    targets, masks and input noise per period and channel; note the ground truth for
    analysis.  Nothing random happens here.

Everything else is derived from these two methods: :meth:`generate_batch` (no loop over
time steps), PsychRNN's :meth:`generate_trial_params` (one trial drawn through
``sample_trials``) and :meth:`trial_function` (the description rendered at one time),
and the trial metadata handed back with each batch (see :meth:`conditions`).

PsychRNN style (still supported, slow)
--------------------------------------
A subclass may instead implement :meth:`generate_trial_params` (one dict per trial) and
:meth:`trial_function` (input, target and mask of one trial at one time) as in
PsychRNN; batches are then rendered by calling ``trial_function`` once per step.

Which path a class uses is decided by where its methods are defined: the vectorised
path is used while ``describe_trials`` is defined at least as far down the class
hierarchy as ``trial_function`` and ``generate_trial`` (likewise ``sample_trials`` against
``generate_trial_params``).  So a subclass of a built-in task that overrides
``trial_function`` is rendered through its own ``trial_function``, never silently ignored.

Randomness: draw from ``self.rng`` (a :class:`numpy.random.Generator`), which ``seed=``
makes reproducible; without a seed it is seeded from NumPy's global generator, so
``np.random.seed(...)`` makes an unseeded task repeatable (:mod:`psychrnn_widgets.seeding`).
"""
from __future__ import annotations

import copy
import inspect
import math
import types
import warnings
from functools import lru_cache

import numpy as np

from psychrnn_widgets import seeding
from psychrnn_widgets.errors import ParameterError
from psychrnn_widgets.params import ALPHA, NETWORK_PARAMS, TASK_CORE_PARAMS, Parameter, register_task_keys
from psychrnn_widgets.tasks.declarations import TASK_SEED, draw_duration, longest
from psychrnn_widgets.tasks.scoring import argmax_accuracy, argmax_choice
from psychrnn_widgets.tasks.trials import Trials

__all__ = ["Task", "TaskParameter", "argmax_accuracy", "check_real", "sized_by"]

_RANDOM_STATE_TYPES = (
    np.random.Generator,
    np.random.RandomState,
    np.random.BitGenerator,
    np.random.SeedSequence,
    types.GeneratorType,
)

_N_STEPS = NETWORK_PARAMS["N_steps"]


def check_real(name, value, *, minimum=None, strict=False, allow_none=False):
    """Return ``value`` as a finite number (int kept as int), else raise ParameterError.

    A small check for the ``check`` form of :class:`TaskParameter` (user tasks written
    before :class:`~psychrnn_widgets.params.Parameter` existed).  ``minimum`` with
    ``strict=True`` requires ``value > minimum``, otherwise ``value >= minimum``.
    """
    if value is None and allow_none:
        return None
    parameter = Parameter(name, "float", low=minimum, low_open=strict)
    checked = parameter.validate(value, where="")
    return int(value) if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else checked


# --------------------------------------------------------------------------------------
# a validated, declared task parameter
# --------------------------------------------------------------------------------------
class TaskParameter:
    """Descriptor for a declared task parameter, validated every time it is set.

    ``TaskParameter(Parameter(...))`` wraps a :class:`~psychrnn_widgets.params.Parameter`
    (type, default, range, unit, help, label); the attribute name must be the
    declaration's name.  Values are validated with ``Parameter.validate(value,
    where=<task class name>)``, so a bad value raises
    :class:`~psychrnn_widgets.errors.ParameterError` naming the task and the parameter.
    Declared names are registered with :func:`psychrnn_widgets.params.register_task_keys`
    (``network_params = task.get_task_params()`` never warns about them), listed by
    :meth:`Task.parameters` and shown by the task panel with their label, range and help.

    ``TaskParameter(check, doc)`` (a function ``check(name, value) -> value``) is the
    older form, still accepted: it is declared as an ``'object'`` parameter whose help
    is ``doc``.
    """

    def __init__(self, parameter, doc=""):
        if isinstance(parameter, Parameter):
            self.parameter, self._check = parameter, None
        elif callable(parameter):
            self.parameter, self._check = None, parameter
        else:
            raise TypeError("TaskParameter needs a params.Parameter (or a check function)")
        self._doc = doc
        self.name = getattr(self.parameter, "name", None)
        self.__doc__ = self.parameter.help if self.parameter is not None else doc

    def __set_name__(self, owner, name):
        if self.parameter is None:
            check = self._check
            self.parameter = Parameter(name, "object", None, help=self._doc or name, label=name,
                                       check=lambda value, parameter, where: check(name, value))
        elif self.parameter.name != name:
            raise TypeError(f"{owner.__name__}.{name} is declared with Parameter({self.parameter.name!r}); "
                            "the names must match")
        self.name = name
        self._slot = "_param_" + name  # never a method's name (a parameter may be called 'sample')
        register_task_keys([name])

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        try:
            return obj.__dict__[self._slot]
        except KeyError:
            raise AttributeError(f"task parameter {self.name!r} has not been set") from None

    def __set__(self, obj, value):
        value = self.validate(value, type(obj).__name__)
        if self.name in ("dt", "tau"):
            _check_alpha(obj, **{self.name: value})
        obj.__dict__[self._slot] = value
        if self.name in ("T", "dt"):
            obj.__dict__.pop("_N_steps_override", None)

    @property
    def typed(self):
        """False for the older ``TaskParameter(check, doc)`` form, whose declaration says nothing of the type."""
        return self._check is None

    def validate(self, value, where=""):
        """``value`` checked and normalised (ParameterError naming ``where`` and the parameter otherwise)."""
        if self._check is not None:
            return self._check(self.name, value)
        return self.parameter.validate(value, where=where)


def _check_alpha(task, dt=None, tau=None):
    """Refuse a ``dt`` or ``tau`` that makes ``alpha = dt / tau`` leave its declared range (a step longer than tau)."""
    dt = task.__dict__.get("_param_dt") if dt is None else dt
    tau = task.__dict__.get("_param_tau") if tau is None else tau
    if dt is None or tau is None or dt / tau <= ALPHA.high:
        return
    raise ParameterError(f"{type(task).__name__}: alpha = dt / tau = {dt:g} / {tau:g} = {dt / tau:g} must be <= "
                         f"{ALPHA.high:g} (a step longer than the time constant makes the leaky update overshoot); "
                         "lower dt or raise tau", parameter="dt", value=dt, allowed=f"dt <= tau ({tau:g} ms)")


class sized_by:  # noqa: N801 - used like a property
    """A channel count (``N_in``/``N_out``) that follows the task parameter ``source``: ``source + extra``.

    Assigning the count (as :meth:`Task.__init__` does) is accepted when it agrees and
    refused otherwise, naming the parameter to set instead.
    """

    def __init__(self, source, extra=0):
        self.source, self.extra = source, extra
        self.__doc__ = f"number of channels: {source}{f' + {extra}' if extra else ''}"

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        return getattr(obj, self.source) + self.extra

    def __set__(self, obj, value):
        if value != self.__get__(obj):
            raise ParameterError(f"{type(obj).__name__}: {self.name} is {self.__doc__.split(': ')[1]} "
                                 f"({self.__get__(obj)}); set {self.source} instead, got {value!r}",
                                 parameter=self.name, value=value)


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
    """(samples parameters with ``sample_trials``, renders with ``describe_trials``) for ``cls``."""
    sampler = _defining_class(cls, "sample_trials")
    can_sample = sampler is not Task and issubclass(sampler, _defining_class(cls, "generate_trial_params"))
    describer = _defining_class(cls, "describe_trials")
    can_render = describer is not Task and all(
        issubclass(describer, _defining_class(cls, name)) for name in ("trial_function", "generate_trial"))
    return can_sample, can_render


def _describes(cls):
    return _defining_class(cls, "describe_trials") is not Task


def _params_list(trial_params):
    if isinstance(trial_params, dict):
        return [trial_params]
    if isinstance(trial_params, np.ndarray):
        trial_params = trial_params.ravel()
    params = list(trial_params)
    for i, p in enumerate(params):
        if not isinstance(p, dict):
            raise ParameterError(f"trial_params must be a sequence of dicts; item {i} is {type(p).__name__}")
    if not params:
        raise ParameterError("trial_params is empty: at least one trial is needed")
    return params


def _object_array(items):
    arr = np.empty(len(items), dtype=object)
    arr[:] = items
    return arr


def _columns_to_dicts(columns):
    keys = list(columns)
    values = [np.asarray(columns[k]).tolist() for k in keys]
    return [dict(zip(keys, row)) for row in zip(*values)]


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
        seed (None | int | numpy.random.Generator): seeds ``self.rng``; None seeds it
            from NumPy's global generator (``np.random.seed(...)`` makes it repeatable).

    Derived values, consistent with ``dt``, ``tau``, ``T``:
        alpha (float): ``dt / tau``.  Assigning it (PsychRNN tasks do, in ``__init__``)
            sets ``tau = dt / alpha``, so that the network built from
            :meth:`get_task_params` integrates with that alpha.
        N_steps (int): ``ceil(T / dt)``; step ``t`` is at time ``t * dt`` ms.  Assigning
            a different number stores an override (PsychRNN's independent attribute):
            batches, ``times`` and :meth:`get_task_params` use it until ``T`` or ``dt``
            is assigned again.

    Subclasses implement :meth:`sample_trials` and :meth:`describe_trials` (see the
    module docstring), or PsychRNN's :meth:`generate_trial_params` and
    :meth:`trial_function`; optionally :meth:`trial_correct` (or
    :meth:`accuracy_function`) and :meth:`decode_choice`.

    Class attribute ``defaults``: constructor values the task picker uses for a fresh
    instance (e.g. ``{'T': 1800}``) on top of the core parameters' declared defaults.
    """

    N_in = TaskParameter(TASK_CORE_PARAMS["N_in"])
    N_out = TaskParameter(TASK_CORE_PARAMS["N_out"])
    dt = TaskParameter(TASK_CORE_PARAMS["dt"])
    tau = TaskParameter(TASK_CORE_PARAMS["tau"])
    T = TaskParameter(TASK_CORE_PARAMS["T"])
    N_batch = TaskParameter(TASK_CORE_PARAMS["N_batch"])

    _CORE = ("N_in", "N_out", "dt", "tau", "T", "N_batch", "alpha", "N_steps")

    #: constructor values for a fresh instance (see :meth:`with_defaults`)
    defaults = {}
    #: True: a trial is correct when :meth:`decode_choice` of the output equals that of the target
    scored_by_choice = False
    #: the accuracy of the best answer that ignores the stimulus while obeying the task's cues (a
    #: fixed or random choice, a response at a fixed time): what a network scores without having
    #: learnt the task.  A number (a subclass may compute it from its settings as a property);
    #: None: not stated.
    chance_level = None
    #: the loss the task is meant to be trained with, by name (one of ``params.LOSS_FUNCTION_NAMES``), or
    #: None for the network's default (PsychRNN's mean squared error).  :meth:`get_task_params` names it
    #: as ``loss_function``, so a network built from those parameters trains with it unless its
    #: ``network_params`` name another loss.
    preferred_loss = None
    #: names of duration parameters (ms: a number or ``(min, max)``) that lay out the trial's
    #: periods end to end, as NeuroGym's ``timing`` (see :meth:`sample_timing`)
    timing = ()

    def __init__(self, N_in, N_out, dt, tau, T, N_batch, seed=None):
        self.N_in = N_in
        self.N_out = N_out
        self.dt = dt
        self.tau = tau
        self.T = T
        self.N_batch = N_batch
        self.set_seed(seed)

    @classmethod
    def with_defaults(cls, **overrides):
        """An instance built from the declared defaults (``dt`` 10 ms, ``tau`` 100 ms...), ``overrides`` on top.

        Only constructor arguments are passed; those without a default take the core
        declaration's default or the class's ``defaults``.
        """
        signature = inspect.signature(cls.__init__)
        values = {}
        for name, p in list(signature.parameters.items())[1:]:
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            if name in overrides:
                values[name] = overrides[name]
            elif name in cls.defaults:
                values[name] = cls.defaults[name]
            elif p.default is p.empty and name in TASK_CORE_PARAMS:
                values[name] = TASK_CORE_PARAMS[name].default
        return cls(**values)

    def sample_timing(self, n):
        """The durations (ms) of the :attr:`timing` periods for ``n`` trials: ``{name: array (n,)}``."""
        return {name: draw_duration(getattr(self, name), self.rng, n) for name in self.timing}

    def timing_periods(self, trials):
        """Lay out the :attr:`timing` periods end to end from the trials' durations; returns them."""
        return trials.periods_in_sequence({name: trials[name] for name in self.timing})

    def warn_if_shorter(self, end=None, what="the longest trial"):
        """Warn (UserWarning) when ``T`` ends before ``end`` ms, the end of ``what``.

        ``end`` defaults to the longest trial the :attr:`timing` periods can make.
        """
        if end is None:
            end = sum(longest(getattr(self, name)) for name in self.timing)
        if self.T < end:
            warnings.warn(f"{type(self).__name__}: T={self.T:g} ms is shorter than {what} ({end:g} ms); "
                          "trials will be cut short", UserWarning, stacklevel=3)

    # ---------------------------------------------------------------- derived values
    @property
    def alpha(self):
        """``dt / tau``: the fraction of a time constant covered by one step (see the class docstring)."""
        return self.dt / self.tau

    @alpha.setter
    def alpha(self, value):
        if value is None:
            ALPHA.fail(value, type(self).__name__, "must be a number (dt / tau)")
        value = ALPHA.validate(value, where=type(self).__name__)
        if not self._has("dt"):
            raise ParameterError(f"{type(self).__name__}: set dt before alpha (alpha = dt / tau sets tau)",
                                 parameter="alpha", value=value)
        if self._has("tau") and math.isclose(value, self.dt / self.tau, rel_tol=1e-12):
            return
        self.tau = self.dt / value

    def _has(self, name):
        return "_param_" + name in self.__dict__

    @property
    def N_steps(self):
        """Number of time steps per trial: ``ceil(T / dt)``, or the value assigned (see the class docstring)."""
        override = self.__dict__.get("_N_steps_override")
        if override is not None:
            return override
        return int(np.ceil(self.T / self.dt))

    @N_steps.setter
    def N_steps(self, value):
        value = _N_STEPS.validate(value, where=type(self).__name__)
        natural = None
        if self._has("T") and self._has("dt"):
            natural = int(np.ceil(self.T / self.dt))
        self.__dict__["_N_steps_override"] = None if value == natural else value

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
            rng = self._rng = seeding.rng(None, "task")
        return rng

    @rng.setter
    def rng(self, seed):
        self.set_seed(seed)

    def set_seed(self, seed=None):
        """Reseed ``self.rng`` and restart the generator behind :meth:`get_trial_batch`.

        Args:
            seed (None | int | numpy.random.Generator | SeedSequence): None draws the
                seed from NumPy's global generator; a Generator is used as it is (shared).
        """
        seed = TASK_SEED.validate(seed, where=type(self).__name__)
        self._rng = seeding.rng(seed, "task")
        self._batch_generator = None

    # ---------------------------------------------------------------- the description
    def sample_trials(self, n, batch=1):
        """Draw the parameters of ``n`` trials at once (the vectorised :meth:`generate_trial_params`).

        Args:
            n (int): number of trials.
            batch (int): batch number (from 1).

        Returns:
            dict: parameter name -> array whose first axis has length ``n``.  Draw from
            ``self.rng`` only.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement sample_trials(n, batch) -> dict of "
                                  "arrays, or PsychRNN's generate_trial_params(batch, trial) -> dict")

    def describe_trials(self, trials):
        """Describe a batch: periods, inputs, targets, masks, noise and notes, on ``trials``.

        Args:
            trials (Trials): the trials (their parameters are ``trials[name]``, arrays (n,));
                see :mod:`psychrnn_widgets.tasks.trials` for the vocabulary.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement describe_trials(trials), or "
                                  "PsychRNN's trial_function(time, params)")

    def describe(self, trial_params, times=None):
        """The :class:`~psychrnn_widgets.tasks.trials.Trials` describing ``trial_params`` (not rendered).

        Args:
            trial_params: a dict of arrays (as :meth:`sample_trials` returns) or a
                sequence of per-trial dicts.
            times: step times in ms (default :attr:`times`).
        """
        trials = Trials(self, trial_params, self.times if times is None else times)
        self.describe_trials(trials)
        return trials

    # ---------------------------------------------------------------- PsychRNN's interface
    def generate_trial_params(self, batch, trial):
        """Draw the parameters of one trial.

        Args:
            batch (int): batch number (from 1).
            trial (int): index of the trial within the batch.

        Returns:
            dict: whatever :meth:`trial_function` needs (onset times, stimulus, choice...),
            plus the trial's metadata.  A task with :meth:`sample_trials` gets this method
            for free: one trial drawn through it.
        """
        if _defining_class(type(self), "sample_trials") is not Task:
            return self._draw(1, batch)[0]
        raise NotImplementedError(
            f"{type(self).__name__} must implement generate_trial_params(batch, trial) -> dict"
        )

    def trial_function(self, time, params):
        """Input, target and mask of one trial at one time.

        A task with :meth:`describe_trials` gets this method for free: its description
        rendered at ``time`` (noise drawn from :attr:`rng` as ``std * standard_normal(N_in)``).

        Args:
            time (float): time in ms since trial start (``t * dt`` for step ``t``).
            params (dict): as returned by :meth:`generate_trial_params`.

        Returns:
            tuple: ``x_t`` shape (N_in,), ``y_t`` shape (N_out,), ``mask_t`` shape
            (N_out,) (1 where the target counts for training, 0 where it is ignored).
        """
        if _describes(type(self)):
            return self._one_step(time, params, noise=True)
        raise NotImplementedError(
            f"{type(self).__name__} must implement trial_function(time, params) -> (x_t, y_t, mask_t)"
        )

    def _one_step(self, time, params, noise):
        trials = self.describe([params], np.array([float(time)]))
        x, y, mask = trials.render(noise, self.rng, one_step=True)
        return x[0, 0], y[0, 0], mask[0, 0]

    def noise_input(self, std):
        """One time step's input (N_in,): zeros plus N(0, std^2) noise from :attr:`rng` (no draw when std is 0).

        The start of a PsychRNN-style ``trial_function`` whose stimulus rides on input noise.
        """
        x_t = np.zeros(self.N_in)
        if std:
            x_t += std * self.rng.standard_normal(self.N_in)
        return x_t

    # ---------------------------------------------------------------- scoring
    def decode_choice(self, output, output_mask):
        """The network's choice per trial, coded like the trial metadata's ``'choice'``.

        Default: the output channel with the largest time-mean of the masked output
        (PsychRNN's rule).  Tasks whose answer is not a channel override it.

        Args:
            output: (B, N_steps, N_out) network outputs (or targets).
            output_mask: (B, N_steps, N_out).

        Returns:
            int array (B,).
        """
        return argmax_choice(output, output_mask)

    def trial_correct(self, correct_output, test_output, output_mask):
        """Whether each trial was answered correctly, bool (B,) (what :meth:`accuracy_function` averages).

        Args:
            correct_output: (B, N_steps, N_out) targets ``y``.
            test_output: (B, N_steps, N_out) network outputs.
            output_mask: (B, N_steps, N_out) mask.

        Tasks with ``scored_by_choice = True`` are scored by :meth:`decode_choice`: a trial
        is correct when the output's choice is the target's.

        Raises:
            NotImplementedError: the task has no notion of a correct answer.
        """
        if self.scored_by_choice:
            return self.decode_choice(test_output, output_mask) == self.decode_choice(correct_output, output_mask)
        raise NotImplementedError(
            f"{type(self).__name__} does not define accuracy_function(correct_output, test_output, "
            "output_mask) (or trial_correct); implement it to use accuracy-based metrics"
        )

    def accuracy_function(self, correct_output, test_output, output_mask):
        """Task accuracy in [0, 1] as an experimenter would score it: the mean of :meth:`trial_correct`.

        Args:
            correct_output: (B, N_steps, N_out) targets ``y``.
            test_output: (B, N_steps, N_out) network outputs.
            output_mask: (B, N_steps, N_out) mask.
        """
        return float(np.mean(self.trial_correct(correct_output, test_output, output_mask)))

    # ---------------------------------------------------------------- one trial
    def generate_trial(self, params, noise=True):
        """Render one trial by calling :meth:`trial_function` at every step (PsychRNN's per-trial path).

        Args:
            params (dict): trial parameters.
            noise (bool): False renders the trial without input noise (for PsychRNN-style
                tasks: with ``params['stim_noise'] = 0``, PsychRNN's convention).

        Returns:
            tuple: ``x`` (N_steps, N_in), ``y`` (N_steps, N_out), ``mask`` (N_steps,
            N_out), all float32.

        Raises:
            ValueError: ``trial_function`` returned values of the wrong shape (the message
                names the task and the expected shapes).
        """
        step = self.trial_function
        if not noise:
            if _describes(type(self)) and _defining_class(type(self), "trial_function") is Task:
                def step(time, p):
                    return self._one_step(time, p, noise=False)
            else:
                params = self._noise_free(params)
        n_steps, dt = self.N_steps, self.dt
        x = np.zeros((n_steps, self.N_in), dtype=np.float32)
        y = np.zeros((n_steps, self.N_out), dtype=np.float32)
        mask = np.zeros((n_steps, self.N_out), dtype=np.float32)
        for t in range(n_steps):
            values = step(t * dt, params)
            try:
                x[t], y[t], mask[t] = values
            except (ValueError, TypeError):
                self._report_step_shapes(values, t * dt)
        return x, y, mask

    def _report_step_shapes(self, values, time):
        expected = f"x_t ({self.N_in},), y_t ({self.N_out},), mask_t ({self.N_out},)"
        try:
            got = ", ".join(str(np.shape(v)) for v in values)
            count = len(values)
        except TypeError:
            got, count = type(values).__name__, 0
        what = f"{count} values with shapes {got}" if count else got
        raise ValueError(f"{type(self).__name__}.trial_function(time={time:g}, params) must return 3 arrays: "
                         f"{expected}; it returned {what}") from None

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
    def _sample(self, n, batch):
        columns = self.sample_trials(n, batch)
        for key, value in columns.items():
            if np.shape(value)[:1] != (n,):
                raise ValueError(f"{type(self).__name__}.sample_trials({n}, ...) must return arrays of length "
                                 f"{n}; {key!r} has shape {np.shape(value)}")
        return columns

    def _trial_dicts(self, n, batch):
        """``(source, dicts)``: ``n`` trials' parameters (columns if sampled vectorised, else the dicts) and dicts."""
        if _vectorised_paths(type(self))[0]:
            columns = self._sample(n, batch)
            return columns, _columns_to_dicts(columns)
        params = [self.generate_trial_params(batch, trial) for trial in range(n)]
        return params, params

    def _draw(self, n, batch):
        """``n`` trial-parameter dicts (with metadata) drawn through :meth:`sample_trials`."""
        columns = self._sample(n, batch)
        return self._with_metadata(_columns_to_dicts(columns), self.describe(columns))

    @staticmethod
    def _with_metadata(params, trials):
        for p, meta in zip(params, trials.metadata()):
            p.update(meta)
        return params

    def generate_batch(self, N_batch=None, batch=1, noise=True):
        """Draw and render one batch.

        Args:
            N_batch (int, optional): number of trials; default ``self.N_batch``.
            batch (int): batch number passed to :meth:`sample_trials` / :meth:`generate_trial_params`.
            noise (bool): False renders without input noise.

        Returns:
            tuple: ``x`` float32 (B, N_steps, N_in), ``y`` float32 (B, N_steps, N_out),
            ``mask`` float32 (B, N_steps, N_out), ``trial_params`` object array (B,) of
            dicts (the trial parameters plus the metadata described in
            :mod:`psychrnn_widgets.tasks`).
        """
        n = self.N_batch if N_batch is None else TASK_CORE_PARAMS["N_batch"].validate(N_batch, type(self).__name__)
        return self._draw_batch(n, batch, noise)

    def _draw_batch(self, n, batch, noise, trial_params=True):
        """Draw and render ``n`` trials: :meth:`generate_batch`'s ``(x, y, mask, trial_params)``.

        With ``trial_params=False``, a task that samples and renders vectorised returns
        ``(x, y, mask)`` from the same draws, without building the per-trial dicts; any
        other task still returns all four.
        """
        can_sample, can_render = _vectorised_paths(type(self))
        if not trial_params and can_sample and can_render:
            return self.describe(self._sample(n, batch)).render(noise, self.rng)
        source, params = self._trial_dicts(n, batch)
        if can_render:
            trials = self.describe(source)
            x, y, mask = trials.render(noise, self.rng)
            self._with_metadata(params, trials)
        else:
            if _describes(type(self)):
                self._with_metadata(params, self.describe(source))
            x, y, mask = self._render_each(params, noise)
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
        params = _params_list(trial_params)
        if _vectorised_paths(type(self))[1]:
            return self.describe(params).render(noise, self.rng)
        return self._render_each(params, noise)

    def _render_each(self, params, noise):
        n_steps = self.N_steps
        n = len(params)
        x = np.empty((n, n_steps, self.N_in), dtype=np.float32)
        y = np.empty((n, n_steps, self.N_out), dtype=np.float32)
        mask = np.empty((n, n_steps, self.N_out), dtype=np.float32)
        for i, p in enumerate(params):
            x[i], y[i], mask[i] = self.generate_trial(p, noise=noise)
        return x, y, mask

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

    def training_batches(self):
        """Infinite generator of ``(x, y, mask)``: the batches of :meth:`batch_generator`, without ``trial_params``.

        What training reads (``model.train(task, ...)``, ensembles).  For a task whose
        parameters are sampled and rendered vectorised (every built-in task) the per-trial
        dicts and their metadata -- about a third of a hello-world batch's cost -- are not
        built; the draws, the batch counter and the arrays are exactly those of
        :meth:`batch_generator`.  A task that overrides :meth:`generate_batch` or
        :meth:`batch_generator`, or samples or renders trial by trial, gives
        :meth:`batch_generator`'s batches, fourth value included.
        """
        cls = type(self)
        if _defining_class(cls, "generate_batch") is not Task or _defining_class(cls, "batch_generator") is not Task:
            yield from self.batch_generator()  # (x, y, mask[, trial_params]), checked by the training loop
            return
        batch = 1
        while True:
            yield self._draw_batch(self.N_batch, batch, noise=True, trial_params=False)
            batch += 1

    def get_trial_batch(self):
        """Next batch of the task's own persistent :meth:`batch_generator`.

        The generator is created on first use and restarted by :meth:`set_seed`.
        """
        if self.__dict__.get("_batch_generator") is None:
            self._batch_generator = self.batch_generator()
        return next(self._batch_generator)

    # ---------------------------------------------------------------- metadata
    @staticmethod
    def conditions(trial_params):
        """The trials' parameters and metadata as columns, for analysis.

        Args:
            trial_params: the fourth value of a batch (dicts).

        Returns:
            dict: every key whose values are numbers (or equal-length lists) -> array (B,)
            (or (B, k); NaN for trials without the key); each epoch ``name`` of ``'epochs'`` -> ``name + '_start'`` and
            ``name + '_end'`` arrays (B,) in ms (NaN for trials without that epoch).
        """
        params = _params_list(trial_params)
        out = {}
        keys = []
        for p in params:
            keys.extend(k for k in p if k not in keys)
        for key in keys:
            if key == "epochs":
                continue
            values = [p.get(key, np.nan) for p in params]
            try:
                column = np.asarray(values)
            except ValueError:
                continue
            if column.dtype != object:
                out[key] = column
        names = []
        for p in params:
            names.extend(k for k in p.get("epochs", {}) if k not in names)
        for name in names:
            bounds = np.array([p.get("epochs", {}).get(name, (np.nan, np.nan)) for p in params], dtype=float)
            out[name + "_start"], out[name + "_end"] = bounds[:, 0], bounds[:, 1]
        return out

    # ---------------------------------------------------------------- parameters
    @classmethod
    def parameters(cls):
        """Declared parameters of this task class: name -> :class:`~psychrnn_widgets.params.Parameter`."""
        out = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                if isinstance(value, TaskParameter):
                    out[name] = value.parameter
        return out

    @classmethod
    def parameter_names(cls):
        """Names of the declared parameters of this task class."""
        return list(cls.parameters())

    def get_task_params(self):
        """A plain-dict copy of the task's parameters (the start of ``network_params``).

        Holds ``N_in, N_out, dt, tau, T, N_batch, alpha, N_steps``, every declared
        parameter and any other public attribute a user task set (all registered as task
        keys, so :func:`~psychrnn_widgets.params.validate_network_params` does not warn
        about them), never the random generator or private attributes; and
        ``loss_function`` when the task has a :attr:`preferred_loss` (no other task's
        parameters name a loss, so their networks keep PsychRNN's mean squared error).
        Editing it does not change the task.
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
        if self.preferred_loss is not None:
            out.setdefault("loss_function", self.preferred_loss)
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
        shown = [f"{name}={getattr(self, name)!r}" for name in ("dt", "tau", "T", "N_batch")]
        for name in self.parameter_names():
            if name not in Task._CORE and name in inspect.signature(type(self).__init__).parameters:
                shown.append(f"{name}={getattr(self, name, None)!r}")
        return f"{type(self).__name__}({', '.join(shown)})"
