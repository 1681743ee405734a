"""Match-to-category on a ring of direction-tuned inputs.

Source: Freedman & Assad (2006), "Experience-dependent representation of visual
categories in parietal cortex", Nature 443:85 (the task: Fig. 1): motion directions were
split by a category boundary into two categories, and monkeys reported the category of a
sample direction.  The trial structure and the scoring are PsychRNN's
``MatchToCategory``: the network's choice is the output with the larger time-mean over
the response window (the mask), compared with the target's; chance 0.5.
"""
from __future__ import annotations

import numpy as np

from psychrnn_widgets.params import TASK_CORE_PARAMS, Parameter
from psychrnn_widgets.tasks.declarations import STIM_NOISE
from psychrnn_widgets.tasks.scoring import gaussian_tuning
from psychrnn_widgets.tasks.task import Task, TaskParameter
from psychrnn_widgets.tasks.trials import one_hot

__all__ = ["MatchToCategory"]

_TWO_PI = 2 * np.pi


def _time(name, default, help, label):
    return Parameter(name, "float", default, help=help, label=label, unit="ms", low=0.0, group="timing")


class MatchToCategory(Task):
    """Report which of ``N_out`` equal slices of the circle a stimulus direction falls in.

    Each trial draws an angle ``U(0, 2*pi)``; its category is
    ``int(angle / (2*pi / N_out))`` (slice 0 starts at angle 0).  Input channel ``i``
    prefers the angle ``linspace(0, 2*pi, N_in)[i]`` and receives the standard normal
    density of the wrapped angular distance (in radians, within [-pi, pi]) between its
    preferred angle and the stimulus.  Like PsychRNN, the ring keeps ``linspace``'s
    endpoint, so the first and last channels both prefer angle 0 (= 2*pi) and the ring
    is not quite evenly spaced; this is kept so that networks remain comparable.

    Periods (ms): ``fixation`` ``[0, onset_time)``, ``stimulus`` ``[onset_time,
    onset_time + input_dur)`` = [200, 1200), ``decision`` ``[1200, 2000)`` with target 1
    on the category's output channel (0 on the others) and mask 1; mask 0 elsewhere.
    Input noise: independent Gaussian on every step and channel with std
    ``stim_noise / (2 * dt)`` (0.005 at ``dt = 10``), as PsychRNN.  ``T`` should be at
    least 2000 ms.

    Args:
        dt, tau, T, N_batch: see :class:`~psychrnn_widgets.tasks.task.Task`.
        N_in (int): input channels around the ring (default 16).
        N_out (int): categories / output channels (default 2).
        seed (None | int | numpy.random.Generator): makes batches reproducible.

    Attributes:
        onset_time, input_dur, output_dur (float): timing above (200, 1000, 800).
        stim_noise (float): input-noise scale (0.1).

    Trial parameters: ``angle, category, onset_time, input_dur, output_dur, stim_noise``
    (PsychRNN's); metadata ``choice`` (= category) and ``epochs``.
    """

    onset_time = TaskParameter(_time("onset_time", 200.0, "when the stimulus comes on", "Stimulus onset"))
    input_dur = TaskParameter(_time("input_dur", 1000.0, "how long the stimulus stays on", "Stimulus duration"))
    output_dur = TaskParameter(_time("output_dur", 800.0, "length of the response window after the stimulus",
                                     "Response window"))
    stim_noise = TaskParameter(STIM_NOISE)

    scored_by_choice = True
    #: two balanced alternatives: a fixed or random choice is right half the time
    chance_level = 0.5

    def __init__(self, dt, tau, T, N_batch, N_in=16, N_out=2, seed=None):
        super().__init__(N_in, N_out, dt, tau, T, N_batch, seed=seed)
        self.onset_time = 200.0
        self.input_dur = 1000.0
        self.output_dur = 800.0
        self.stim_noise = 0.1
        self.warn_if_shorter(self.onset_time + self.input_dur + self.output_dur, "the end of the response window")

    def bump(self, angles):
        """Ring input for stimulus ``angles`` (radians): array (len(angles), N_in), float64."""
        preferred = np.linspace(0, _TWO_PI, self.N_in)  # endpoint kept, as PsychRNN
        return gaussian_tuning(angles, preferred, sigma=1.0, norm=np.sqrt(_TWO_PI))

    def sample_trials(self, n, batch=1):
        """Stimulus angle and category of ``n`` trials (timing and noise from the task)."""
        angle = _TWO_PI * self.rng.random(n)
        # min() guards the (rounding-only) case angle / width == N_out
        category = np.minimum((angle / (_TWO_PI / self.N_out)).astype(np.int64), self.N_out - 1)
        return {
            "angle": angle,
            "category": category,
            "onset_time": np.full(n, float(self.onset_time)),
            "input_dur": np.full(n, float(self.input_dur)),
            "output_dur": np.full(n, float(self.output_dur)),
            "stim_noise": np.full(n, float(self.stim_noise)),
        }

    def describe_trials(self, trials):
        """Periods, inputs, targets and mask of the trials (see the class docstring)."""
        category = trials["category"].astype(np.intp)
        if np.any((category < 0) | (category >= self.N_out)):
            TASK_CORE_PARAMS["N_out"].fail(trials["category"], "trial params",
                                           f"must hold categories in 0 .. {self.N_out - 1}")
        onset = trials["onset_time"].astype(np.float64)
        trials.period("fixation", end=onset)
        trials.period("stimulus", duration=trials["input_dur"].astype(np.float64))
        trials.period("decision", duration=trials["output_dur"].astype(np.float64))
        trials.add_noise((1.0 / (2 * self.dt)) * trials["stim_noise"].astype(np.float64))
        trials.add_input(self.bump(trials["angle"]), "stimulus")
        trials.set_target(one_hot(category, self.N_out), "decision")
        trials.set_mask(1.0, "decision")
        trials.note(choice=category)
