"""Two-alternative forced-choice perceptual discrimination (random-dot-motion style).

Source: Britten, Shadlen, Newsome & Movshon (1992), "The analysis of visual motion: a
comparison of neuronal and psychophysical performance", J. Neurosci. 12:4745 (Methods):
monkeys reported the net direction of a random-dot stimulus of varying coherence by a
saccade to one of two targets.  The trial structure and the scoring are PsychRNN's
``PerceptualDiscrimination`` (Ehrlich et al. 2021, eNeuro), so that networks and results
are comparable with PsychRNN's.
"""
from __future__ import annotations

import numbers

import numpy as np

from psychrnn_widgets.params import Parameter
from psychrnn_widgets.tasks.declarations import HI, LO, STIM_NOISE
from psychrnn_widgets.tasks.task import Task, TaskParameter

__all__ = ["PerceptualDiscrimination", "psychrnn_noise_std"]

#: coherences drawn from when ``coherence`` is None (as PsychRNN)
DEFAULT_COHERENCES = (0.1, 0.3, 0.5, 0.7)


def psychrnn_noise_std(dt, stim_noise):
    """Standard deviation of PsychRNN's per-step input noise, ``sqrt(2*0.01*sqrt(10*dt))*stim_noise``.

    Written as PsychRNN computes it, ``sqrt(2 * .01 * sqrt(10) * sqrt(dt) * stim_noise**2)``
    (0.0447 for ``dt = 10``, ``stim_noise = 0.1``).  Works on scalars and arrays.
    """
    return np.sqrt(2 * 0.01 * np.sqrt(10) * np.sqrt(dt) * stim_noise * stim_noise)


def _check_coherence(value, parameter, where):
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        values, single = (value,), True
    elif isinstance(value, (str, bytes, dict)):
        parameter.fail(value, where)
    else:
        try:
            values, single = tuple(value), False
        except TypeError:
            parameter.fail(value, where)
    if not values:
        parameter.fail(value, where, "must not be an empty sequence")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v) or v < 0:
            parameter.fail(value, where)
    values = tuple(float(v) for v in values)
    return values[0] if single else values


COHERENCE = Parameter(
    "coherence", "object", None, allow_none=True, check=_check_coherence, label="Coherence",
    help="how much stronger the chosen input is: a number (fixed), a sequence (drawn from per trial) or "
         "None (drawn from 0.1, 0.3, 0.5, 0.7); each >= 0", typical=(0.0, 1.0), group="conditions")
DIRECTION = Parameter("direction", "int", None, allow_none=True, low=0, high=1, label="Stronger channel",
                      help="which input channel is stronger (0 or 1); None draws it per trial",
                      group="conditions")


class PerceptualDiscrimination(Task):
    """Which of two noisy input channels has the larger mean? (2 inputs, 2 outputs)

    Trial structure (times in ms, ``U`` uniform on [0, 1), drawn per trial):

    ==============  =====================================  ===========================
    period          window                                 content
    ==============  =====================================  ===========================
    ``fixation``    ``[0, onset]``                         noise only
    ``stimulus``    ``(onset, onset + duration)``          chosen channel ``1 + coherence``, other ``1``
    ``delay``       ``[offset, offset + 20]``              mask 1, target 0
    ``decision``    ``(offset + 20, end)``                 target ``hi`` / ``lo``, mask 1
    ==============  =====================================  ===========================

    with onset ``U * T/2``, duration ``U * T/4 + T/8``, ``offset = onset + duration``;
    Gaussian input noise on every step and channel, std ``psychrnn_noise_std(dt,
    stim_noise)`` (0.0447 at ``dt = 10``).

    Scoring (PsychRNN's): the network's choice is the output with the larger time-mean over
    the masked steps (from stimulus offset on); a trial is correct when it is the stronger
    channel.  There is no fixation requirement (the mask is 0 before the stimulus ends).
    Chance level 0.5.

    Args:
        dt, tau, T, N_batch: see :class:`~psychrnn_widgets.tasks.task.Task`.
        coherence (None | float | sequence of float): None draws each trial's coherence
            from {0.1, 0.3, 0.5, 0.7}; a number fixes it; a sequence is drawn from
            uniformly.  Must be >= 0.
        direction (None | 0 | 1): which channel is stronger; None draws 0 or 1 per trial.
            Unlike PsychRNN 1.0, which ignores a given direction, it is honoured here.
        seed (None | int | numpy.random.Generator): makes batches reproducible.

    Attributes:
        lo, hi (float): target values of the unchosen and chosen output (0.2, 1.0).
        stim_noise (float): input-noise scale (0.1).

    Trial parameters: ``coherence, direction, stim_noise, onset_time, stim_duration``
    (PsychRNN's), metadata ``choice`` (= direction), ``evidence`` (coherence signed
    towards channel 1) and ``epochs``.

    Example:

    >>> from psychrnn_widgets import PerceptualDiscrimination
    >>> task = PerceptualDiscrimination(dt=10, tau=100, T=2000, N_batch=4, seed=0)
    >>> task.alpha, task.N_steps
    (0.1, 200)
    >>> x, y, mask, trial_params = task.get_trial_batch()
    >>> x.shape, y.shape, mask.shape, len(trial_params)
    ((4, 200, 2), (4, 200, 2), (4, 200, 2), 4)
    >>> task.accuracy_function(y, y, mask)   # the targets themselves score 1
    1.0
    """

    coherence = TaskParameter(COHERENCE)
    direction = TaskParameter(DIRECTION)
    stim_noise = TaskParameter(STIM_NOISE)
    lo = TaskParameter(LO)
    hi = TaskParameter(HI)

    #: target delay after stimulus offset (ms)
    response_delay = 20.0
    #: accuracy: the larger time-mean masked output is the target's (PsychRNN's rule)
    scored_by_choice = True

    @property
    def chance_level(self):
        """0.5: a fixed or random choice is right half the time (1.0 when ``direction`` is fixed)."""
        return 0.5 if self.direction is None else 1.0

    def __init__(self, dt, tau, T, N_batch, coherence=None, direction=None, seed=None):
        super().__init__(2, 2, dt, tau, T, N_batch, seed=seed)
        self.coherence = coherence
        self.direction = direction
        self.lo = 0.2
        self.hi = 1.0
        self.stim_noise = 0.1

    def sample_trials(self, n, batch=1):
        """Coherence, direction, onset ``U*T/2`` and duration ``U*T/4 + T/8`` of ``n`` trials."""
        rng = self.rng
        coh = self.coherence
        if coh is None:
            coherence = np.asarray(DEFAULT_COHERENCES)[rng.integers(len(DEFAULT_COHERENCES), size=n)]
        elif isinstance(coh, tuple):
            coherence = np.asarray(coh)[rng.integers(len(coh), size=n)]
        else:
            coherence = np.full(n, coh)
        if self.direction is None:
            direction = rng.integers(2, size=n)
        else:
            direction = np.full(n, self.direction)
        T = self.T
        return {
            "coherence": coherence,
            "direction": direction,
            "stim_noise": np.full(n, float(self.stim_noise)),
            "onset_time": rng.random(n) * T / 2.0,
            "stim_duration": rng.random(n) * T / 4.0 + T / 8.0,
        }

    def describe_trials(self, trials):
        """Periods, inputs, targets and mask of the trials (see the class docstring)."""
        coherence = trials["coherence"].astype(np.float64)
        direction = trials["direction"].astype(np.intp)
        if np.any((direction != 0) & (direction != 1)):
            DIRECTION.fail(trials["direction"], "trial params", "must be 0 or 1")
        onset = trials["onset_time"].astype(np.float64)
        rows = np.arange(trials.n)
        amp = np.ones((trials.n, 2))
        amp[rows, direction] = 1 + coherence
        level = np.full((trials.n, 2), float(self.lo))
        level[rows, direction] = self.hi

        trials.period("fixation", end=onset, closed="both")
        stimulus = trials.period("stimulus", start=onset, duration=trials["stim_duration"].astype(np.float64),
                                 closed="neither")
        trials.period("delay", start=stimulus.end, duration=self.response_delay, closed="both")
        trials.period("decision", end=np.inf, closed="right")
        trials.add_noise(psychrnn_noise_std(self.dt, trials["stim_noise"].astype(np.float64)))
        trials.add_input(amp, "stimulus")
        trials.set_target(level, "decision")
        trials.set_mask(1.0, ["delay", "decision"])
        trials.note(choice=direction, evidence=np.where(direction == 1, coherence, -coherence))
