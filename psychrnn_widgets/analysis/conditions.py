"""Per-trial conditions of a task: signed evidence, correct choice, stimulus onset.

Behavioural analyses need, for every trial, the *signed evidence* (a number whose sign
says which choice it favours: positive for choice 1, negative for choice 0; its size how
strongly) and the *correct choice* (an output channel).  A task tells them through a
:class:`TaskConditions` adapter:

* a task that defines ``analysis_conditions()`` returning an adapter uses it;
* otherwise an adapter registered for its class (or a base class) with
  :func:`register_task_conditions` — :class:`PerceptualDiscriminationConditions` is
  registered for :class:`~psychrnn_widgets.tasks.PerceptualDiscrimination`;
* otherwise :class:`TrialParamConditions`, which reads the trial-param keys
  ``'evidence'`` (signed evidence) and ``'choice'`` (correct channel) when the task
  writes them, and falls back on the target (the channel with the largest time-mean
  masked target) for the choice.

Every analysis also accepts explicit ``evidence`` and ``choice`` arrays, so it is tied to
no task.

The built-in adapter for perceptual discrimination: evidence = ``coherence`` with the
sign of the stronger channel (``+coherence`` when ``direction == 1``, ``-coherence``
when 0), choice = ``direction``, stimulus onset = ``onset_time`` (ms).  Its evidence
levels are the task's coherences (both signs) plus 0 and two levels below the smallest
(c/4, c/2), which resolve the psychometric threshold.
"""
import copy
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..errors import ParameterError
from ._inputs import array, declared, fail

__all__ = ["TaskConditions", "TrialParamConditions", "PerceptualDiscriminationConditions", "ConditionBatch",
           "register_task_conditions", "task_conditions", "trial_conditions", "condition_batch",
           "chosen_channel"]


def chosen_channel(outputs, mask):
    """The choice of each trial: the channel with the largest time-mean masked output.

    ``outputs``, ``mask``: (B, T, N_out), finite, the same shape.  Returns int (B,).  The
    rule of the built-in tasks' ``accuracy_function`` (PsychRNN's).
    """
    outputs = array(outputs, "outputs", "chosen_channel", shape=("B", "T", "N_out"))
    mask = array(mask, "mask", "chosen_channel", shape=tuple(f"{k}={n}" for k, n in zip(("B", "T", "N_out"),
                                                                                        outputs.shape)))
    return np.argmax(np.mean(outputs * mask, axis=1), axis=-1)


class TaskConditions:
    """How a task describes its trials to the analyses (subclass per task family).

    Override :meth:`evidence` and :meth:`choice` (both from trial-param dicts); optionally
    :meth:`onset`, :meth:`levels` and :meth:`set_level` (which make a task's trials
    renderable at chosen evidence levels) and :meth:`fix_timing`.
    """

    def evidence(self, task, trial_params):
        """Signed evidence per trial, float (B,) (positive favours choice 1), or None if undefined."""
        return None

    def choice(self, task, trial_params, y=None, mask=None):
        """Correct choice per trial, int (B,), from ``trial_params`` or the targets ``y``/``mask`` (B, T, N_out)."""
        if y is None or mask is None:
            raise ParameterError(f"{type(task).__name__}: the correct choice needs the targets (y, mask)")
        return chosen_channel(y, mask)

    def onset(self, task, trial_params):
        """Stimulus onset per trial in ms, float (B,), or None (then no reaction times)."""
        return None

    def levels(self, task):
        """Sorted signed evidence levels for a psychometric curve (L,), or None (use the sampled ones)."""
        return None

    def set_level(self, task, params, level, rng):
        """Return ``params`` (a dict) changed to have signed evidence ``level``; None if unsupported."""
        return None

    def fix_timing(self, task, params):
        """Return ``params`` with a fixed, trial-independent timing (for condition averages)."""
        return params


class TrialParamConditions(TaskConditions):
    """Reads ``'evidence'`` and ``'choice'`` from each trial's params when present."""

    def evidence(self, task, trial_params):
        if all("evidence" in p for p in trial_params):
            return np.array([float(p["evidence"]) for p in trial_params])
        return None

    def choice(self, task, trial_params, y=None, mask=None):
        if all("choice" in p for p in trial_params):
            return np.array([int(p["choice"]) for p in trial_params])
        return super().choice(task, trial_params, y, mask)

    def onset(self, task, trial_params):
        if all("onset_time" in p for p in trial_params):
            return np.array([float(p["onset_time"]) for p in trial_params])
        return None


class PerceptualDiscriminationConditions(TrialParamConditions):
    """Perceptual discrimination: evidence = ±coherence (sign of ``direction``), choice = ``direction``."""

    def evidence(self, task, trial_params):
        sign = np.array([2.0 * int(p["direction"]) - 1.0 for p in trial_params])
        return sign * np.array([float(p["coherence"]) for p in trial_params])

    def choice(self, task, trial_params, y=None, mask=None):
        return np.array([int(p["direction"]) for p in trial_params])

    def levels(self, task):
        from ..tasks.perceptual_discrimination import DEFAULT_COHERENCES

        coherence = task.coherence
        if coherence is None:
            coherence = DEFAULT_COHERENCES
        coherences = np.unique(np.abs(np.atleast_1d(np.asarray(coherence, dtype=float))))
        smallest = coherences[coherences > 0].min() if np.any(coherences > 0) else 0.1
        magnitudes = np.unique(np.concatenate([[0.0, smallest / 4, smallest / 2], coherences]))
        return np.unique(np.concatenate([-magnitudes, magnitudes]))

    def set_level(self, task, params, level, rng):
        direction = int(level > 0) if level != 0 else int(rng.integers(2))
        return {**params, "coherence": abs(float(level)), "direction": direction}

    def fix_timing(self, task, params):
        T = float(task.T)
        return {**params, "onset_time": T / 4.0, "stim_duration": T / 4.0}


_REGISTRY = []


def register_task_conditions(task_class, adapter):
    """Use ``adapter`` (a :class:`TaskConditions`) for ``task_class`` and its subclasses.

    Later registrations win over earlier ones for the same class.
    """
    if not isinstance(task_class, type):
        raise ParameterError(f"register_task_conditions: task_class must be a class, got {task_class!r}",
                             parameter="task_class", value=task_class, allowed="a Task class")
    if not isinstance(adapter, TaskConditions):
        raise ParameterError(f"adapter must be a TaskConditions instance, got {type(adapter).__name__}")
    _REGISTRY.insert(0, (task_class, adapter))


def _register_builtins():
    from ..tasks.perceptual_discrimination import PerceptualDiscrimination

    register_task_conditions(PerceptualDiscrimination, PerceptualDiscriminationConditions())


_register_builtins()


def task_conditions(task):
    """The :class:`TaskConditions` adapter for ``task`` (see the module docstring)."""
    own = getattr(task, "analysis_conditions", None)
    if callable(own):
        return own()
    for task_class, adapter in _REGISTRY:
        if isinstance(task, task_class):
            return adapter
    return TrialParamConditions()


def trial_conditions(task, trial_params, y=None, mask=None):
    """``(evidence (B,) float or None, choice (B,) int)`` of a batch of ``task``.

    ``trial_params``: the batch's trial-param dicts (B,); ``y``, ``mask`` (B, T, N_out)
    are needed only when the task's params do not carry the choice.
    """
    params = list(trial_params)
    adapter = task_conditions(task)
    return adapter.evidence(task, params), adapter.choice(task, params, y, mask)


@dataclass
class ConditionBatch:
    """Trials grouped by evidence level, ready to simulate.

    Attributes:
        x (B, T, N_in), y (B, T, N_out), mask (B, T, N_out): float32 inputs, targets, mask.
        trial_params (B,): object array of dicts.
        evidence (B,) float: signed evidence of each trial (positive favours choice 1).
        choice (B,) int: correct choice (output channel).
        levels (L,) float: the distinct evidence levels, sorted.
        level_index (B,) int: index of each trial's level in ``levels``.
        onset (B,) float or None: stimulus onset, ms.
        dt (float): ms per step; ``times`` (T,) the time of each step, ms.
    """

    x: np.ndarray
    y: np.ndarray
    mask: np.ndarray
    trial_params: np.ndarray
    evidence: np.ndarray
    choice: np.ndarray
    levels: np.ndarray
    level_index: np.ndarray
    onset: np.ndarray = None
    dt: float = 1.0
    times: np.ndarray = field(default=None)

    def __post_init__(self):
        if self.times is None:
            self.times = np.arange(self.x.shape[1]) * float(self.dt)

    def __len__(self):
        return self.x.shape[0]


def _copy_with_seed(task, seed):
    probe = copy.deepcopy(task)
    probe.set_seed(seed)
    return probe


def condition_batch(task, levels=None, n_per_level=50, seed=0, fixed_timing=False, noise=True, n_trials=None):
    """Draw trials of ``task`` at each signed evidence level (from a seeded copy: ``task`` is untouched).

    Args:
        task: a Task.
        levels: signed evidence levels (L,), finite; default the adapter's (for perceptual
            discrimination, see the module docstring).  Tasks whose adapter cannot set a
            level are sampled as they come and grouped by their own evidence values
            (``levels`` then selects among them).
        n_per_level: trials per level (when levels can be set), 1 to 10,000.
        seed: seed of the copy's random stream (input noise, timing).
        fixed_timing: give every trial the same timing (adapter's ``fix_timing``), so
            averages over trials line up in time.
        noise: render with the task's input noise (False: noise-free inputs).
        n_trials: batch size for tasks sampled as they come (default ``n_per_level * 10``).

    Returns:
        :class:`ConditionBatch`.

    Raises:
        ParameterError: naming the argument (``task`` that is not a Task, NaN or empty
            ``levels``, ``n_per_level=0``...), or ``levels`` that select no trial of a task
            sampled as it comes.
    """
    where = "condition_batch"
    if not all(callable(getattr(task, name, None)) for name in ("generate_batch", "trials_from_params", "set_seed")):
        fail(where, "task", f"must be a Task (with generate_batch), got {type(task).__name__}", task, "a Task")
    n_per_level, seed, fixed_timing, noise, n_trials = declared(
        where, n_per_level=n_per_level, seed=seed, fixed_timing=fixed_timing, noise=noise, n_trials=n_trials)
    if levels is not None:
        levels = array(levels, "levels", where, shape=("L",))
    adapter = task_conditions(task)
    probe = _copy_with_seed(task, seed)
    rng = np.random.default_rng(seed)
    if levels is None:
        levels = adapter.levels(task)
    settable = levels is not None and adapter.set_level(task, {}, 0.0, rng) is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tasks without 'stim_noise' warn that noise stays on
        if settable:
            levels = np.asarray(levels, dtype=float)
            n = int(n_per_level) * len(levels)
            _, _, _, params = probe.generate_batch(N_batch=n, noise=False)
            target = np.repeat(levels, int(n_per_level))
            params = [adapter.set_level(task, dict(p), lev, rng) for p, lev in zip(params, target)]
        else:
            n = int(n_trials or int(n_per_level) * 10)
            _, _, _, params = probe.generate_batch(N_batch=n, noise=False)
            params = [dict(p) for p in params]
        if fixed_timing:
            params = [adapter.fix_timing(task, p) for p in params]
        x, y, mask = probe.trials_from_params(params, noise=noise)
    evidence, choice = trial_conditions(task, params, y, mask)
    if evidence is None:
        evidence = 2.0 * choice - 1.0  # no graded evidence: the sign of the correct choice
    if settable:
        evidence = np.where(target == 0, 0.0, evidence)  # level 0 keeps its level whatever the direction
    found = np.unique(evidence)
    if levels is None or not settable:
        keep = np.ones(len(evidence), bool) if levels is None else np.isin(evidence, levels)
        levels = found if levels is None else np.intersect1d(found, levels)
        if levels.size == 0:
            fail(where, "levels", f"select none of the {len(evidence)} trials drawn (their evidence values are "
                 f"{np.round(found[:8], 4).tolist()}{'...' if found.size > 8 else ''})", levels,
                 "levels the task's trials have")
        x, y, mask, evidence, choice = x[keep], y[keep], mask[keep], evidence[keep], choice[keep]
        params = [p for p, k in zip(params, keep) if k]
    level_index = np.searchsorted(levels, evidence)
    onset = adapter.onset(task, params)
    trial_params = np.empty(len(params), dtype=object)
    trial_params[:] = params
    return ConditionBatch(x=x, y=y, mask=mask, trial_params=trial_params, evidence=np.asarray(evidence, float),
                          choice=np.asarray(choice, int), levels=np.asarray(levels, float),
                          level_index=level_index, onset=onset, dt=float(task.dt))
