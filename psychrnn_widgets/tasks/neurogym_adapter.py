"""Batches from a NeuroGym environment, for training here (NeuroGym itself is optional).

NeuroGym (Molano-Mazon et al. 2022, https://github.com/neurogym/neurogym) writes each
trial of a ``TrialEnv`` as an observation array ``env.ob`` (steps, N_ob), a ground-truth
action per step ``env.gt`` (steps,) and period bounds ``env.start_t`` / ``env.end_t``
(ms).  :class:`NeuroGymTask` draws those trials with ``env.new_trial()`` and turns them
into this package's batches: ``x`` = the observations, ``y`` = the ground-truth action
one-hot (``hi`` on the correct action, ``lo`` elsewhere), ``mask`` = 1 while the trial
lasts (trials shorter than ``T`` are padded with zeros and mask 0; longer ones are cut),
``fixation_weight`` instead of 1 at the steps whose correct action is 0 (fixation).

Trained and scored as NeuroGym's supervised examples train and score: the task prefers the
``'categorical_cross_entropy'`` loss (a softmax over the outputs against the ground-truth
action at every step, PyTorch's ``CrossEntropyLoss``), which ``get_task_params()`` names, and
a trial is correct when the largest output at its last step is the ground-truth action
there.  The same integer seed gives the environment's own trials: ``NeuroGymTask(env,
seed=s)`` draws what ``env.seed(s)`` followed by ``env.new_trial()`` draws.

This module does not import NeuroGym: it only uses the environment object it is given.
"""
from __future__ import annotations

import copy
import numbers

import numpy as np

from psychrnn_widgets.params import Parameter
from psychrnn_widgets.tasks.declarations import HI
from psychrnn_widgets.tasks.task import Task, TaskParameter

__all__ = ["NeuroGymTask"]


def plain_value(value):
    """A trial-info value as a plain Python value (NumPy scalars and arrays unwrapped)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [plain_value(v) for v in value]
    if isinstance(value, dict):
        return {k: plain_value(v) for k, v in value.items()}
    return value


def _wrapped(env, name):
    """``env``'s attribute ``name``, looked up through gymnasium wrappers without their deprecation warning."""
    if hasattr(type(env), "get_wrapper_attr"):
        try:
            return env.get_wrapper_attr(name)
        except AttributeError:
            pass
    return getattr(getattr(env, "unwrapped", env), name, None)


class NeuroGymTask(Task):
    """A NeuroGym environment's trials as batches (supervised, as NeuroGym's ``Dataset``).

    ``N_in`` is the size of the observation, ``N_out`` the number of actions (a
    ``Discrete`` action space), ``dt`` the environment's.  Each trial's observations,
    ground truth and periods are stored in its trial parameters, so
    :meth:`trials_from_params` re-renders exactly the same trials.

    Scoring (NeuroGym's supervised convention): a trial is correct when the output's
    largest channel at the trial's last step is the ground-truth action there.  Training:
    :attr:`preferred_loss` is ``'categorical_cross_entropy'`` (the outputs are the logits
    of the actions, as in NeuroGym's examples); ``get_task_params()`` names it as
    ``loss_function``, and ``network_params`` may name another.

    Args:
        env: a NeuroGym ``TrialEnv`` (or a wrapper around one), e.g.
            ``neurogym.make('GoNogo-v0', dt=20)``.
        N_batch (int): trials per batch.
        T (float, optional): trial length (ms); default the longest of 50 trials drawn
            after seeding (the same ``T`` for the same seed).
        tau (float, optional): the network's time constant (ms) (only reported, e.g. for
            ``alpha``); default ``max(100, 2 * dt)``, so that at NeuroGym's default ``dt`` of
            100 ms a step covers half a time constant (``alpha = 0.5``) rather than the whole
            of it (``alpha = 1``: no leak, which left explicit-context ContextDecisionMaking
            at 0.36 in ``tools/neurogym_side_by_side.py``).
        hi, lo (float): target of the correct action and of the others.
        fixation_weight (float): the mask (the loss's weight) at steps whose correct
            action is 0, fixation; 1 elsewhere in the trial.  1 (default) weighs every step
            alike, as ``CrossEntropyLoss()``; NeuroGym's context-dependent example weighs
            fixation 0.05 (``CrossEntropyLoss(weight=[0.05, 1, 1])``), which the same value
            here reproduces with ``'categorical_cross_entropy'``.
        seed: an integer is handed to ``env.seed`` as it is, so the task's trials are the
            environment's own for that seed; a Generator (or None) seeds the environment
            with an integer drawn from it.  Batches are reproducible either way.

    Trial parameters: ``ob`` (steps, N_in), ``gt`` (steps,) (-1 past the trial's end),
    ``length`` (steps), ``info`` (the environment's trial dict), ``periods``
    (``{name: [start, end]}`` ms); metadata ``choice`` (the ground-truth action at the
    trial's last step) and ``epochs``.
    """

    lo = TaskParameter(Parameter("lo", "float", 0.0, help="target value of the actions that are not correct",
                                 label="Target (other)", typical=(0.0, 0.5), group="targets"))
    hi = TaskParameter(HI)
    fixation_weight = TaskParameter(Parameter(
        "fixation_weight", "float", 1.0, help="weight in the loss of the steps whose correct action is fixation "
        "(action 0), the other steps of the trial weighing 1", label="Fixation weight", low=0.0, low_open=True,
        typical=(0.05, 1.0), group="targets"))

    preferred_loss = "categorical_cross_entropy"
    #: trials of a copy of the environment that :attr:`chance_level` is estimated from
    CHANCE_TRIALS = 2000

    def __init__(self, env, N_batch=50, T=None, tau=None, hi=1.0, lo=0.0, fixation_weight=1.0, seed=None):
        base = getattr(env, "unwrapped", env)
        for attribute in ("new_trial", "dt", "observation_space", "action_space"):
            if _wrapped(env, attribute) is None:
                raise TypeError(f"NeuroGymTask needs a NeuroGym TrialEnv (no {attribute!r} on {type(env).__name__})")
        n_actions = getattr(base.action_space, "n", None)
        if not isinstance(n_actions, numbers.Integral):
            raise TypeError("NeuroGymTask needs a Discrete action space (one output per action)")
        self._env = env
        self._base = base
        if T is None:
            Task.set_seed(self, seed)  # the environment too: the same seed gives the same T
            self._seed_env(seed)
            T = max(self._draw_trial()[0].shape[0] for _ in range(50)) * float(base.dt)
        if tau is None:
            tau = max(100.0, 2.0 * float(base.dt))
        super().__init__(int(np.prod(base.observation_space.shape)), int(n_actions), float(base.dt), tau, T,
                         N_batch, seed=seed)
        self.hi, self.lo = hi, lo
        self.fixation_weight = fixation_weight

    @property
    def env(self):
        """The NeuroGym environment trials are drawn from."""
        return self._env

    def set_seed(self, seed=None):
        """Reseed this task and the environment: ``env.seed(seed)`` for an integer, else a seed drawn from it."""
        super().set_seed(seed)
        if self.__dict__.get("_env") is not None:
            self._seed_env(seed)

    def _seed_env(self, seed):
        seeder = _wrapped(self._env, "seed")
        if seeder is None:
            return
        if isinstance(seed, numbers.Integral) and not isinstance(seed, (bool, np.bool_)):
            seeder(int(seed))
        else:
            seeder(int(self._rng.integers(2**31 - 1)))

    @property
    def chance_level(self):
        """The accuracy of always answering the commonest final action (what ignoring the stimulus scores).

        Estimated once from :attr:`CHANCE_TRIALS` trials of a copy of the environment seeded
        with 0 (the task's own trials are not touched): the fraction of trials whose
        ground truth at the last step is the commonest one (0.5 for a balanced two-choice
        environment).
        """
        level = self.__dict__.get("_chance_level")
        if level is None:
            probe = copy.deepcopy(self._env)
            seeder = _wrapped(probe, "seed")
            if seeder is not None:
                seeder(0)
            base = getattr(probe, "unwrapped", probe)
            new_trial = _wrapped(probe, "new_trial")
            final = []
            for _ in range(self.CHANCE_TRIALS):
                new_trial()
                gt = np.asarray(base.gt).reshape(-1)
                final.append(int(gt[min(len(gt), self.N_steps) - 1]))
            level = self._chance_level = float(np.max(np.bincount(final)) / len(final))
        return level

    def _draw_trial(self):
        info = _wrapped(self._env, "new_trial")()
        base = self._base
        ob = np.asarray(base.ob, dtype=np.float32).reshape(len(base.ob), -1)
        periods = {name: [float(base.start_t[name]), float(base.end_t[name])] for name in base.start_t}
        return ob, np.asarray(base.gt).reshape(-1), plain_value(dict(info or {})), periods

    def sample_trials(self, n, batch=1):
        """Draw ``n`` trials from the environment (observations, ground truth, periods)."""
        steps = self.N_steps
        ob = np.zeros((n, steps, self.N_in), dtype=np.float32)
        gt = np.full((n, steps), -1, dtype=np.int64)
        length = np.zeros(n, dtype=np.int64)
        info, periods = np.empty(n, dtype=object), np.empty(n, dtype=object)
        for i in range(n):
            trial_ob, trial_gt, info[i], periods[i] = self._draw_trial()
            length[i] = min(trial_ob.shape[0], steps)
            ob[i, :length[i]] = trial_ob[:length[i]]
            gt[i, :length[i]] = trial_gt[:length[i]]
        return {"ob": ob, "gt": gt, "length": length, "info": info, "periods": periods}

    def describe_trials(self, trials):
        """The recorded observations and ground truth as time series (see the class docstring)."""
        dt = self.dt
        length = trials["length"].astype(float)
        gt = trials["gt"].reshape(trials.n, -1).astype(np.intp)
        target = np.where(gt[..., None] == np.arange(self.N_out), float(self.hi), float(self.lo))
        trials.period("trial", end=length * dt)
        trials.add_input(trials["ob"].reshape(trials.n, gt.shape[1], self.N_in), "trial")
        trials.set_target(target, "trial")
        weight = np.where(gt == 0, float(self.fixation_weight), 1.0)
        trials.set_mask(np.repeat(weight[..., None], self.N_out, axis=-1), "trial")
        periods = trials["periods"]
        names = [name for name in (periods[0] if len(periods) else {})
                 if name != "trial" and all(name in p for p in periods)]
        for name in names:
            bounds = np.array([p[name] for p in periods], dtype=float)
            trials.period(name, start=bounds[:, 0], end=bounds[:, 1])
        last = np.maximum(trials["length"].astype(np.intp) - 1, 0)
        trials.note(choice=gt[np.arange(trials.n), last])

    def decode_choice(self, output, output_mask):
        """The largest output channel at each trial's last masked step (B,)."""
        output = np.asarray(output)
        counted = np.asarray(output_mask).max(axis=-1) > 0
        last = output.shape[1] - 1 - np.argmax(counted[:, ::-1], axis=1)
        return np.argmax(output[np.arange(output.shape[0]), last], axis=-1)

    def trial_correct(self, correct_output, test_output, output_mask):
        """The output's largest channel at the last step is the ground-truth action (bool (B,))."""
        return self.decode_choice(test_output, output_mask) == self.decode_choice(correct_output, output_mask)
