"""Ready-Set-Go interval reproduction (Jazayeri & Shadlen 2010).

Source: Jazayeri & Shadlen (2010), "Temporal context calibrates interval timing", Nat.
Neurosci. 13:1020 (the task: Fig. 1; the priors: Methods).  Two brief flashes, Ready and
Set, are separated by a sample interval ``t_s``; the subject must respond ``t_s`` after Set
(the production interval ``t_p``).  The sample intervals were drawn from one of three
discrete uniform prior distributions of 11 values each -- short 494-847 ms, intermediate
671-1023 ms, long 847-1200 ms -- and productions regressed towards each prior's mean.
RNNs trained on it reproduce the interval by scaling the speed of their dynamics (Wang,
Narain, Hosseini & Jazayeri 2018, Nat. Neurosci. 21:102; Sohn et al. 2019, Neuron
103:934).
"""
from __future__ import annotations

import numbers

import numpy as np

from psychrnn_widgets.params import Parameter
from psychrnn_widgets.tasks.declarations import (
    STIM_NOISE, check_duration, draw_duration, duration_parameter, longest, white_noise_std,
)
from psychrnn_widgets.tasks.scoring import RESPONSE_THRESHOLD, first_crossing
from psychrnn_widgets.tasks.task import Task, TaskParameter

__all__ = ["ReadySetGo", "PRIORS"]

#: the output counts as the Go response once it exceeds this
THRESHOLD = RESPONSE_THRESHOLD
#: Jazayeri & Shadlen (2010)'s prior distributions of the sample interval (ms): 11 equally spaced values each
PRIORS = {
    "short": tuple(np.linspace(494.0, 847.0, 11).round(1)),
    "intermediate": tuple(np.linspace(671.0, 1023.0, 11).round(1)),
    "long": tuple(np.linspace(847.0, 1200.0, 11).round(1)),
}


def _check_interval(value, parameter, where):
    if isinstance(value, str):
        key = value.strip().lower()
        if key in PRIORS:
            return key
        parameter.fail(value, where, "must be one of " + ", ".join(repr(k) for k in PRIORS) + " (Jazayeri & "
                       "Shadlen's priors), a duration in ms > 0 or (min, max) with 0 < min <= max")
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value) and value <= 0:
        parameter.fail(value, where, "must be > 0 ms (or a prior's name, or (min, max))")
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(
            isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value) and float(value[0]) <= 0:
        parameter.fail(value, where, "must have min > 0 ms")
    return check_duration(value, parameter, where)


INTERVAL = Parameter(
    "interval", "object", "short", check=_check_interval, unit="ms", label="Sample interval", group="timing",
    help="the sample interval between Ready and Set, to reproduce after Set: 'short', 'intermediate' or 'long' "
         "(Jazayeri & Shadlen's discrete priors, 11 values each), a number of ms, or (min, max) drawn uniformly")


def interval_values(spec):
    """The sample intervals (ms) an ``interval`` setting can draw: the prior's values, ``(spec,)`` or ``(min, max)``."""
    if isinstance(spec, str):
        return PRIORS[spec]
    return spec if isinstance(spec, tuple) else (float(spec),)


class ReadySetGo(Task):
    """Measure the Ready-Set interval, then respond the same interval after Set.

    2 inputs, 1 output.  Inputs: 0 Ready cue, 1 Set cue (each 1 for ``cue_duration`` ms,
    with white noise on both channels).  Output: the Go response: target 0 from Set until
    ``Set + interval``, then 1 to the end of the trial.  The mask is 1 from Set onwards
    (before Set the output is free).

    Periods (ms): ``fixation``, ``ready`` (cue), ``measure`` (to Set: Set starts
    ``interval`` after Ready), ``set`` (cue), ``production`` (to ``Set + interval``),
    ``response`` (to the end of the trial).

    Scoring: the produced interval ``t_p`` is the time from Set to the first masked step
    where the output exceeds 0.5; a trial is correct when ``|t_p - t_s| <= tolerance * t_s``
    (``t_s``, the sample interval, is read from the target the same way).  Responding before
    Set counts as nothing (the mask starts at Set); never responding fails the trial.

    Chance level (:attr:`chance_level`): the accuracy of the best *fixed* production
    interval, which ignores ``t_s``; it depends on the prior and the tolerance (the short
    prior with tolerance 0.1: 0.455, since its 11 values span only a factor of 1.7).  A
    network beats it only by timing each interval.

    Args:
        dt, tau, T, N_batch: see :class:`~psychrnn_widgets.tasks.task.Task`.
        interval: the sample interval ``t_s``: ``'short'`` (default), ``'intermediate'`` or
            ``'long'`` -- Jazayeri & Shadlen's discrete priors (:data:`PRIORS`), one of their 11
            values drawn per trial --, a number of ms (fixed), or ``(min, max)`` ms drawn
            uniformly (this package's earlier default was ``(500, 1000)``).
        fixation: ms before Ready (a number or ``(min, max)``).
        cue_duration (float): length of the Ready and Set flashes (ms), shorter than the interval.
        tolerance (float): relative error accepted by the accuracy (default 0.1).
        stim_noise (float): input-noise strength.
        seed: makes batches reproducible.

    Trial parameters: ``interval`` (ms), ``fixation`` (ms), ``stim_noise``; metadata
    ``epochs``.  :meth:`produced_interval` gives ``t_p`` per trial for analysis.
    """

    interval = TaskParameter(INTERVAL)
    fixation = TaskParameter(duration_parameter("fixation", 200.0, "wait before Ready"))
    cue_duration = TaskParameter(Parameter("cue_duration", "float", 50.0, low=0.0, low_open=True, unit="ms",
                                           label="Cue duration", help="length of the Ready and Set flashes",
                                           group="timing"))
    tolerance = TaskParameter(Parameter("tolerance", "float", 0.1, low=0.0, low_open=True, high=1.0,
                                        high_open=True, label="Tolerance",
                                        help="relative timing error the accuracy accepts, |t_p - t_s| / t_s",
                                        typical=(0.05, 0.3), group="scoring"))
    stim_noise = TaskParameter(STIM_NOISE)

    defaults = {"T": 2500.0}

    def __init__(self, dt=10.0, tau=100.0, T=2500.0, N_batch=50, interval="short", fixation=200.0,
                 cue_duration=50.0, tolerance=0.1, stim_noise=0.1, seed=None):
        super().__init__(2, 1, dt, tau, T, N_batch, seed=seed)
        self.interval = interval
        self.fixation = fixation
        self.cue_duration = cue_duration
        self.tolerance = tolerance
        self.stim_noise = stim_noise
        shortest = min(interval_values(self.interval))
        if shortest <= self.cue_duration:
            type(self).interval.parameter.fail(interval, type(self).__name__,
                                               f"must be longer than cue_duration ({self.cue_duration:g} ms)")
        self.warn_if_shorter(longest(self.fixation) + 2 * max(interval_values(self.interval)), "the latest Go time")

    @property
    def chance_level(self):
        """The accuracy of the best fixed production interval under this prior and tolerance (see the class docstring)."""
        values = np.asarray(interval_values(self.interval), dtype=np.float64)
        if isinstance(self.interval, tuple):  # uniform on (min, max): a fine grid stands for it
            values = np.linspace(values[0], values[1], 2001)
        candidates = np.unique(np.concatenate([values * (1 + self.tolerance), values * (1 - self.tolerance), values]))
        within = np.abs(candidates[:, None] - values[None, :]) <= self.tolerance * values[None, :] * (1 + 1e-12)
        return float(within.mean(axis=1).max())

    def sample_trials(self, n, batch=1):
        """Sample interval and fixation of ``n`` trials (ms)."""
        if isinstance(self.interval, str):
            intervals = self.rng.choice(np.asarray(PRIORS[self.interval]), size=n)
        else:
            intervals = draw_duration(self.interval, self.rng, n)
        return {"interval": intervals,
                "fixation": draw_duration(self.fixation, self.rng, n),
                "stim_noise": np.full(n, float(self.stim_noise))}

    def describe_trials(self, trials):
        """Periods, cues, Go target and mask (see the class docstring)."""
        interval = trials["interval"].astype(float)
        cue = self.cue_duration
        trials.periods_in_sequence({"fixation": trials["fixation"], "ready": cue, "measure": interval - cue,
                                    "set": cue, "production": interval - cue})
        trials.period("response", end=np.inf)
        trials.add_input(1.0, "ready", channel=0)
        trials.add_input(1.0, "set", channel=1)
        trials.add_noise(white_noise_std(self.dt, self.tau, trials["stim_noise"].astype(float)))
        trials.set_target(1.0, "response")
        trials.set_mask(1.0, ["set", "production", "response"])

    def _intervals(self, output, correct_output, output_mask):
        """(produced, sample) intervals in steps from Set (-1 produced: no response)."""
        counted = np.asarray(output_mask)[..., 0] > 0
        set_step = np.argmax(counted, axis=1)
        produced = first_crossing(np.asarray(output)[..., 0], counted, THRESHOLD)
        sample = first_crossing(np.asarray(correct_output)[..., 0], counted, THRESHOLD)
        return np.where(produced >= 0, produced - set_step, -1), sample - set_step

    def produced_interval(self, output, correct_output, output_mask):
        """The produced interval ``t_p`` (ms) per trial, NaN where the output never crosses 0.5 after Set.

        Args:
            output: (B, N_steps, 1) network outputs.
            correct_output, output_mask: the batch's targets and mask (they say when Set was).
        """
        produced, _ = self._intervals(output, correct_output, output_mask)
        return np.where(produced >= 0, produced * self.dt, np.nan)

    def decode_choice(self, output, output_mask):
        """Not defined: the answer is a time (see :meth:`produced_interval`)."""
        raise NotImplementedError("ReadySetGo has no choice per trial; use produced_interval()")

    def trial_correct(self, correct_output, test_output, output_mask):
        """``|t_p - t_s| <= tolerance * t_s`` with ``t_p`` the produced interval (bool (B,))."""
        produced, sample = self._intervals(test_output, correct_output, output_mask)
        return (produced >= 0) & (np.abs(produced - sample) <= self.tolerance * sample)
