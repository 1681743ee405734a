"""Delayed (vibrotactile) frequency discrimination, after Romo et al. (1999), Nature 399:470.

Source: Romo, Brody, Hernandez & Lemus (1999), "Neuronal correlates of parametric working
memory in the prefrontal cortex", Nature 399:470 (the task: Fig. 1).  Two vibrations of
frequencies f1 and f2 are separated by a delay; the monkey reported whether f2 was higher
or lower than f1.  The trial structure, the frequency pairs and the scoring are
PsychRNN's ``DelayedDiscrimination``: the network's choice is the output with the larger
time-mean over the decision period (the mask), compared with the target's; chance 0.5.
"""
from __future__ import annotations

import numpy as np

from psychrnn_widgets.params import Parameter
from psychrnn_widgets.tasks.declarations import HI, LO, STIM_NOISE
from psychrnn_widgets.tasks.perceptual_discrimination import psychrnn_noise_std
from psychrnn_widgets.tasks.task import Task, TaskParameter

__all__ = ["DelayedDiscrimination"]

_F_MIN, _F_MAX = 10, 34  # frequency range mapped onto input levels 0.4 .. 1.2

#: the epochs in order: (period name, its start key in the trial params, its duration parameter, scale of T)
_EPOCHS = (
    ("fixation", None, "onset_time", 1 / 8),
    ("stimulus_1", "stimulus_1", "stim_duration_1", 1 / 4),
    ("delay", "delay", "delay_duration", 1 / 4),
    ("stimulus_2", "stimulus_2", "stim_duration_2", 1 / 4),
    ("decision", "decision", "decision_duration", 1 / 8),
)


def scale_positive(f):
    """Map a frequency onto 0.4 .. 1.2, increasing with ``f`` (input channel 0)."""
    return 0.4 + 0.8 * (f - _F_MIN) / (_F_MAX - _F_MIN)


def scale_negative(f):
    """Map a frequency onto 0.4 .. 1.2, decreasing with ``f`` (input channel 1)."""
    return 0.4 + 0.8 * (_F_MAX - f) / (_F_MAX - _F_MIN)


def _duration(name, what, scale):
    return Parameter(name, "float", None, allow_none=True, low=0.0, unit="ms", group="timing",
                     label=what.capitalize(),
                     help=f"fixed {what}; None draws it per trial, uniform on [0, T*{scale:g}]")


def _check_pairs(value, parameter, where):
    try:
        pairs = [(float(a), float(b)) for a, b in value]
    except (TypeError, ValueError):
        parameter.fail(value, where)
    if not pairs or not all(np.isfinite(pairs).ravel()) or any(a == b for a, b in pairs):
        parameter.fail(value, where)
    return [tuple(int(v) if float(v).is_integer() else v for v in pair) for pair in pairs]


def _check_options(value, parameter, where):
    options = list(value) if isinstance(value, (list, tuple)) else None
    if not options or any(o not in (">", "<") for o in options):
        parameter.fail(value, where)
    return options


FREQUENCY_PAIRS = Parameter("frequency_pairs", "object", None, check=_check_pairs, label="Frequency pairs",
                            help="a non-empty list of (f_high, f_low) pairs in Hz (different values), one drawn "
                                 "per trial", unit="Hz", group="conditions")
DECISION_OPTIONS = Parameter("decision_options", "object", None, check=_check_options, label="Orders",
                             help="a non-empty list of '>' (f1 = f_high first) and '<' (f_low first), one drawn "
                                  "per trial", group="conditions")


class DelayedDiscrimination(Task):
    """Was the first vibration frequency higher ('>') or lower ('<') than the second?

    2 inputs, 2 outputs.  Epochs of each trial (ms), each drawn uniformly unless fixed:

    ==============  ==================  ==============================
    period          random duration     fixed by
    ==============  ==================  ==============================
    ``fixation``    ``U * T/8``         ``onset_time``
    ``stimulus_1``  ``U * T/4``         ``stim_duration_1``
    ``delay``       ``U * T/4``         ``delay_duration``
    ``stimulus_2``  ``U * T/4``         ``stim_duration_2``
    ``decision``    ``U * T/8``         ``decision_duration``
    ==============  ==================  ==============================

    The pair ``(f_high, f_low)`` is drawn from ``frequency_pairs`` and the order from
    ``decision_options``: '>' presents ``f1 = f_high`` then ``f2 = f_low`` (correct
    output channel 0), '<' the reverse (channel 1).  During stimulus ``k`` (half-open
    window ``[start, end)``) input channel 0 carries ``0.4 + 0.8*(f-10)/24`` and channel 1
    ``0.4 + 0.8*(34-f)/24``; both channels carry the same Gaussian noise as
    :class:`~psychrnn_widgets.tasks.perceptual_discrimination.PerceptualDiscrimination`.
    During the decision window ``[decision, end)`` the target is ``hi = 1.0`` on the
    correct channel and ``lo = 0.2`` on the other, and the mask is 1; elsewhere target
    and mask are 0.  Fixed durations are in ms (PsychRNN's docstring says "in terms of
    T", but its code, like this one, uses them as ms).

    Args:
        dt, tau, T, N_batch: see :class:`~psychrnn_widgets.tasks.task.Task`.
        onset_time, stim_duration_1, delay_duration, stim_duration_2, decision_duration
            (None | float >= 0): fix that epoch's duration; None draws it per trial.
        seed (None | int | numpy.random.Generator): makes batches reproducible.

    Trial parameters: ``stimulus_1, delay, stimulus_2, decision, end`` (epoch start
    times, ms), ``stim_noise, f1, f2, choice`` (0 for '>', 1 for '<') (PsychRNN's);
    metadata ``evidence`` (``f2 - f1`` in Hz: positive favours choice 1) and ``epochs``.
    """

    onset_time = TaskParameter(_duration("onset_time", "fore period", 1 / 8))
    stim_duration_1 = TaskParameter(_duration("stim_duration_1", "first-stimulus duration", 1 / 4))
    delay_duration = TaskParameter(_duration("delay_duration", "delay", 1 / 4))
    stim_duration_2 = TaskParameter(_duration("stim_duration_2", "second-stimulus duration", 1 / 4))
    decision_duration = TaskParameter(_duration("decision_duration", "decision window", 1 / 8))
    frequency_pairs = TaskParameter(FREQUENCY_PAIRS)
    decision_options = TaskParameter(DECISION_OPTIONS)
    stim_noise = TaskParameter(STIM_NOISE)
    lo = TaskParameter(LO)
    hi = TaskParameter(HI)

    scored_by_choice = True
    #: two balanced alternatives: a fixed or random choice is right half the time
    chance_level = 0.5

    def __init__(self, dt, tau, T, N_batch, onset_time=None, stim_duration_1=None,
                 delay_duration=None, stim_duration_2=None, decision_duration=None, seed=None):
        super().__init__(2, 2, dt, tau, T, N_batch, seed=seed)
        self.onset_time = onset_time
        self.stim_duration_1 = stim_duration_1
        self.delay_duration = delay_duration
        self.stim_duration_2 = stim_duration_2
        self.decision_duration = decision_duration
        self.frequency_pairs = [(18, 10), (22, 14), (26, 18), (30, 22), (34, 26)]
        self.decision_options = [">", "<"]
        self.lo = 0.2
        self.hi = 1.0
        self.stim_noise = 0.1

    def sample_trials(self, n, batch=1):
        """Epoch start times (ms), frequencies and the correct choice of ``n`` trials."""
        starts = {}
        t = np.zeros(n)
        for name, start_key, duration_key, scale in _EPOCHS:
            if start_key is not None:
                starts[start_key] = t
            fixed = getattr(self, duration_key)
            t = t + (np.full(n, float(fixed)) if fixed is not None else self.rng.random(n) * (self.T * scale))
        starts["end"] = t
        pairs = np.asarray(self.frequency_pairs)
        pair = pairs[self.rng.integers(len(pairs), size=n)]
        greater = np.asarray([o == ">" for o in self.decision_options])[
            self.rng.integers(len(self.decision_options), size=n)]
        return {
            **starts,
            "stim_noise": np.full(n, float(self.stim_noise)),
            "f1": np.where(greater, pair[:, 0], pair[:, 1]),
            "f2": np.where(greater, pair[:, 1], pair[:, 0]),
            "choice": np.where(greater, 0, 1),
        }

    def describe_trials(self, trials):
        """Periods, inputs, targets and mask of the trials (see the class docstring)."""
        choice = trials["choice"].astype(np.intp)
        if np.any((choice != 0) & (choice != 1)):
            DECISION_OPTIONS.fail(trials["choice"], "trial params", "must give choice 0 or 1")
        bounds = [np.zeros(trials.n)] + [trials[key].astype(np.float64) for key in
                                         ("stimulus_1", "delay", "stimulus_2", "decision", "end")]
        for (name, _, _, _), start, end in zip(_EPOCHS, bounds[:-1], bounds[1:]):
            trials.period(name, start=start, end=end)
        f1, f2 = trials["f1"].astype(np.float64), trials["f2"].astype(np.float64)
        trials.add_noise(psychrnn_noise_std(self.dt, trials["stim_noise"].astype(np.float64)))
        # the stimulus windows are disjoint for sampled trials; if given params overlap
        # them, the levels add up
        trials.add_input(np.stack([scale_positive(f1), scale_negative(f1)], axis=1), "stimulus_1")
        trials.add_input(np.stack([scale_positive(f2), scale_negative(f2)], axis=1), "stimulus_2")
        target = np.full((trials.n, 2), float(self.lo))
        target[np.arange(trials.n), choice] = self.hi
        trials.set_target(target, "decision")
        trials.set_mask(1.0, "decision")
        trials.note(choice=choice, evidence=f2 - f1)
