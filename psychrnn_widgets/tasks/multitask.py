"""Several tasks in one network, told apart by rule inputs (Yang et al. 2019).

Yang, Joglekar, Song, Newsome & Wang (2019), "Task representations in neural networks
trained to perform many cognitive tasks", Nat. Neurosci. 22:297.  One network was
trained on twenty tasks at once: every trial came from one task, chosen at random, and a
one-hot *rule* input said which.  The tasks shared input and output channels (a fixation
unit and rings), so the network had to reuse its machinery across tasks.
"""
from __future__ import annotations

import copy
import hashlib
from collections import OrderedDict

import numpy as np

from psychrnn_widgets.errors import ParameterError
from psychrnn_widgets.params import TASK_CORE_PARAMS, Parameter
from psychrnn_widgets.tasks.task import Task, TaskParameter, _vectorised_paths
from psychrnn_widgets.tasks.trials import one_hot

__all__ = ["MultiTask"]

#: how many recent batches a MultiTask remembers to score them without their trial params
_REMEMBERED = 16


def _check_weights(value, parameter, where):
    if value is None:
        return None
    if isinstance(value, (str, bytes, dict)):
        parameter.fail(value, where)
    try:
        weights = tuple(float(w) for w in value)
    except (TypeError, ValueError):
        parameter.fail(value, where)
    if not weights or not all(np.isfinite(weights)) or min(weights) < 0 or sum(weights) <= 0:
        parameter.fail(value, where)
    return weights


WEIGHTS = Parameter("weights", "object", None, allow_none=True, check=_check_weights, label="Task weights",
                    help="relative frequency of each task's trials (non-negative numbers, one per task, positive "
                         "sum); None: equally often", group="conditions")


def _default_tasks(dt, tau):
    from psychrnn_widgets.tasks.delayed_match_to_sample import DelayedMatchToSample
    from psychrnn_widgets.tasks.go_nogo import GoNoGo
    from psychrnn_widgets.tasks.perceptual_discrimination import PerceptualDiscrimination

    return [PerceptualDiscrimination(dt, tau, 2000.0, 1), GoNoGo(dt, tau, N_batch=1),
            DelayedMatchToSample(dt, tau, N_batch=1)]


def _fingerprint(y):
    return hashlib.blake2b(np.ascontiguousarray(y, dtype=np.float32).tobytes(), digest_size=16).digest()


class MultiTask(Task):
    """Trials of several tasks mixed in every batch, with one rule input per task.

    Each trial is drawn from task ``k`` with probability ``weights[k] / sum(weights)`` and
    described by that task's own ``describe_trials``.  The tasks share channels: input
    ``i`` of every task is input ``i`` here, likewise the outputs; a task with fewer
    channels leaves the others at 0 (unmasked).  Then one rule input per task follows:
    ``N_in = max(task.N_in) + n_tasks`` with channel ``max(task.N_in) + k`` at 1 for the
    whole of task ``k``'s trials; ``N_out = max(task.N_out)``; ``T = max(task.T)`` unless
    given (a task's periods that run "to the end of the trial" run to this ``T``).  All
    tasks must share ``dt`` and ``tau`` (given here, they are applied to every task).

    The tasks are copied; their random draws come from this task's ``rng`` (one seed makes
    the whole mixture reproducible).

    Scoring: each trial by its own task's ``trial_correct``; the chance level is the tasks'
    chance levels weighted by their frequencies.  PsychRNN's three-argument
    ``accuracy_function(y, output, mask)`` finds the trials' tasks by recognising ``y`` as
    one of the last batches this task generated; for other arrays pass
    ``trial_params=`` (the batch's fourth value).

    Args:
        tasks: list of :class:`~psychrnn_widgets.tasks.task.Task` objects (default:
            perceptual discrimination, Go/No-Go and delayed match-to-sample).
        dt, tau: ms; default those of the first task.
        T: trial length (ms); default the longest task's.
        N_batch (int): trials per batch.
        weights: relative frequencies, one per task (None: equal).
        seed: makes batches reproducible.

    Trial parameters: ``task`` (index), ``rule`` (the task's class name, numbered if it
    repeats), ``params`` (the task's own trial parameters); metadata: the task's own
    (``choice``, ``evidence`` where it defines them) and ``epochs``.
    """

    weights = TaskParameter(WEIGHTS)

    defaults = {}

    def __init__(self, tasks=None, dt=None, tau=None, T=None, N_batch=50, weights=None, seed=None):
        tasks = _default_tasks(dt or 10.0, tau or 100.0) if tasks is None else [copy.deepcopy(t) for t in tasks]
        if not tasks or not all(isinstance(t, Task) for t in tasks):
            raise ParameterError("MultiTask needs a non-empty list of Task objects", parameter="tasks", value=tasks)
        for task in tasks:
            if not _vectorised_paths(type(task))[1]:
                raise ParameterError(f"MultiTask: {type(task).__name__} has no describe_trials (it only writes "
                                     "trial_function), so its trials cannot be combined", parameter="tasks")
        for name, value in (("dt", dt), ("tau", tau)):
            if value is not None:
                value = TASK_CORE_PARAMS[name].validate(value, "MultiTask")
                for task in tasks:
                    setattr(task, name, value)
        dt, tau = tasks[0].dt, tasks[0].tau
        for task in tasks:
            if not np.isclose(task.dt, dt) or not np.isclose(task.tau, tau):
                raise ParameterError(f"MultiTask: every task needs the same dt and tau ({dt:g}, {tau:g} ms); "
                                     f"{type(task).__name__} has {task.dt:g}, {task.tau:g} (pass dt=, tau= to "
                                     "set them all)", parameter="dt", value=task.dt)
        self._tasks = tasks
        self._recent = OrderedDict()
        n_in = max(t.N_in for t in tasks)
        super().__init__(n_in + len(tasks), max(t.N_out for t in tasks), dt, tau,
                         max(t.T for t in tasks) if T is None else T, N_batch, seed=seed)
        self.weights = weights
        if self.weights is not None and len(self.weights) != len(tasks):
            WEIGHTS.fail(weights, "MultiTask", f"must have one entry per task ({len(tasks)})")
        self._sync()

    @property
    def tasks(self):
        """The task copies trials are drawn from (edit them through this list, e.g. ``multi.tasks[0].coherence``)."""
        return self._tasks

    @property
    def chance_level(self):
        """The tasks' chance levels weighted by how often each is drawn (None if a task states none)."""
        levels = [task.chance_level for task in self._tasks]
        if any(level is None for level in levels):
            return None
        weights = np.ones(len(levels)) if self.weights is None else np.asarray(self.weights, dtype=np.float64)
        return float(np.dot(weights, levels) / weights.sum())

    @property
    def rules(self):
        """One name per task: its class name, numbered when a class appears more than once."""
        names = [type(t).__name__ for t in self._tasks]
        return [f"{n}{names[:i].count(n) + 1}" if names.count(n) > 1 else n for i, n in enumerate(names)]

    def set_seed(self, seed=None):
        """Reseed; the tasks draw from this task's generator."""
        super().set_seed(seed)
        for task in self.__dict__.get("_tasks", ()):
            task.set_seed(self._rng)

    def _sync(self):
        for task in self._tasks:
            if task.dt != self.dt:
                task.dt = self.dt
            if task.tau != self.tau:
                task.tau = self.tau
            if task.__dict__.get("_rng") is not self.rng:
                task.set_seed(self.rng)

    def sample_trials(self, n, batch=1):
        """The task of each of ``n`` trials and its own parameters (with its metadata)."""
        self._sync()
        weights = np.ones(len(self._tasks)) if self.weights is None else np.asarray(self.weights)
        if weights.size != len(self._tasks):
            WEIGHTS.fail(self.weights, "MultiTask", f"must have one entry per task ({len(self._tasks)})")
        which = self.rng.choice(len(self._tasks), size=n, p=weights / weights.sum())
        params = np.empty(n, dtype=object)
        for k, task in enumerate(self._tasks):
            rows = np.flatnonzero(which == k)
            if rows.size:
                for row, p in zip(rows, task._trial_dicts(rows.size, batch)[1]):
                    params[row] = p
        return {"task": which, "rule": np.asarray(self.rules)[which], "params": params}

    def describe_trials(self, trials):
        """Each trial described by its own task, plus the rule inputs (see the class docstring)."""
        self._sync()
        which = trials["task"].astype(np.intp)
        params = trials["params"]
        for k, task in enumerate(self._tasks):
            rows = np.flatnonzero(which == k)
            if rows.size:
                task.describe_trials(trials.subset(task, rows, list(params[rows])))
        first_rule = self.N_in - len(self._tasks)
        trials.add_input(one_hot(which, len(self._tasks)), None, channel=range(first_rule, self.N_in))

    # ------------------------------------------------------------ scoring
    def generate_batch(self, N_batch=None, batch=1, noise=True):
        """As :meth:`Task.generate_batch`; the batch is remembered for :meth:`accuracy_function`."""
        x, y, mask, params = super().generate_batch(N_batch, batch, noise)
        self._remember(y, params)
        return x, y, mask, params

    def trials_from_params(self, trial_params, noise=True):
        """As :meth:`Task.trials_from_params`; the batch is remembered for :meth:`accuracy_function`."""
        x, y, mask = super().trials_from_params(trial_params, noise)
        self._remember(y, trial_params)
        return x, y, mask

    def _remember(self, y, trial_params):
        recent = self.__dict__.setdefault("_recent", OrderedDict())
        recent[_fingerprint(y)] = np.array([p["task"] for p in np.ravel(trial_params)], dtype=np.intp)
        while len(recent) > _REMEMBERED:
            recent.popitem(last=False)

    def _which(self, correct_output, trial_params):
        if trial_params is not None:
            return np.array([p["task"] for p in np.ravel(trial_params)], dtype=np.intp)
        which = self.__dict__.get("_recent", {}).get(_fingerprint(correct_output))
        if which is None:
            raise ValueError("MultiTask cannot tell which task each trial came from: score a batch it generated "
                             "recently, or pass trial_params=<the batch's fourth value>")
        return which

    def trial_correct(self, correct_output, test_output, output_mask, trial_params=None):
        """Each trial scored by its own task (bool (B,)); see the class docstring for ``trial_params``."""
        which = self._which(correct_output, trial_params)
        arrays = [np.asarray(a) for a in (correct_output, test_output, output_mask)]
        correct = np.zeros(which.size, dtype=bool)
        for k, task in enumerate(self._tasks):
            rows = which == k
            if rows.any():
                correct[rows] = task.trial_correct(*(a[rows][..., :task.N_out] for a in arrays))
        return correct

    def accuracy_function(self, correct_output, test_output, output_mask, trial_params=None):
        """Mean of :meth:`trial_correct` over the batch."""
        return float(np.mean(self.trial_correct(correct_output, test_output, output_mask, trial_params)))

    def decode_choice(self, output, output_mask, trial_params=None):
        """Each trial's choice decoded by its own task (-1 where that task has no choice); needs ``trial_params``."""
        if trial_params is None:
            raise ValueError("MultiTask.decode_choice needs trial_params (the batch's fourth value)")
        which = self._which(None, trial_params)
        output, output_mask = np.asarray(output), np.asarray(output_mask)
        choice = np.full(which.size, -1, dtype=np.intp)
        for k, task in enumerate(self._tasks):
            rows = which == k
            if rows.any():
                try:
                    choice[rows] = task.decode_choice(output[rows][..., :task.N_out],
                                                      output_mask[rows][..., :task.N_out])
                except NotImplementedError:
                    pass
        return choice
