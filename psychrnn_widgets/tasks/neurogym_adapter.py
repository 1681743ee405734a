"""Batches from a NeuroGym environment, for training here (NeuroGym itself is optional).

NeuroGym (Molano-Mazon et al. 2022, https://github.com/neurogym/neurogym) writes each
trial of a ``TrialEnv`` as an observation array ``env.ob`` (steps, N_ob), a ground-truth
action per step ``env.gt`` (steps,) and period bounds ``env.start_t`` / ``env.end_t``
(ms).  :class:`NeuroGymTask` draws those trials with ``env.new_trial()`` and turns them
into this package's batches: ``x`` = the observations, ``y`` = the ground-truth action
one-hot (``hi`` on the correct action, ``lo`` elsewhere), ``mask`` = 1 while the trial
lasts (trials shorter than ``T`` are padded with zeros and mask 0; longer ones are cut).

This module does not import NeuroGym: it only uses the environment object it is given.
"""
from __future__ import annotations

import numbers

import numpy as np

from psychrnn_widgets.params import Parameter
from psychrnn_widgets.tasks.declarations import HI
from psychrnn_widgets.tasks.task import Task, TaskParameter

__all__ = ["NeuroGymTask"]


def _plain(value):
    """A trial-info value as a plain Python value (NumPy scalars and arrays unwrapped)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
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
    largest channel at the trial's last step is the ground-truth action there.

    Args:
        env: a NeuroGym ``TrialEnv`` (or a wrapper around one), e.g.
            ``neurogym.make('GoNogo-v0', dt=20)``.
        N_batch (int): trials per batch.
        T (float, optional): trial length (ms); default the longest of 50 trials.
        tau (float): the network's time constant (ms) (only reported, e.g. for ``alpha``).
        hi, lo (float): target of the correct action and of the others.
        seed: seeds the environment (through ``env.seed``) and makes batches reproducible.

    Trial parameters: ``ob`` (steps, N_in), ``gt`` (steps,) (-1 past the trial's end),
    ``length`` (steps), ``info`` (the environment's trial dict), ``periods``
    (``{name: [start, end]}`` ms); metadata ``choice`` (the ground-truth action at the
    trial's last step) and ``epochs``.
    """

    lo = TaskParameter(Parameter("lo", "float", 0.0, help="target value of the actions that are not correct",
                                 label="Target (other)", typical=(0.0, 0.5), group="targets"))
    hi = TaskParameter(HI)

    def __init__(self, env, N_batch=50, T=None, tau=100.0, hi=1.0, lo=0.0, seed=None):
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
            T = max(self._draw_trial()[0].shape[0] for _ in range(50)) * float(base.dt)
        super().__init__(int(np.prod(base.observation_space.shape)), int(n_actions), float(base.dt), tau, T,
                         N_batch, seed=seed)
        self.hi, self.lo = hi, lo

    @property
    def env(self):
        """The NeuroGym environment trials are drawn from."""
        return self._env

    def set_seed(self, seed=None):
        """Reseed this task and the environment (``env.seed``) from it."""
        super().set_seed(seed)
        env = self.__dict__.get("_env")
        seeder = None if env is None else _wrapped(env, "seed")
        if seeder is not None:
            seeder(int(self._rng.integers(2**31 - 1)))

    def _draw_trial(self):
        info = _wrapped(self._env, "new_trial")()
        base = self._base
        ob = np.asarray(base.ob, dtype=np.float32).reshape(len(base.ob), -1)
        periods = {name: [float(base.start_t[name]), float(base.end_t[name])] for name in base.start_t}
        return ob, np.asarray(base.gt).reshape(-1), _plain(dict(info or {})), periods

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
        trials.set_mask(1.0, "trial")
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
