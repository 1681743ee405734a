"""Ready-Set-Go interval reproduction (Jazayeri & Shadlen 2010).

Jazayeri & Shadlen (2010), "Temporal context calibrates interval timing", Nat. Neurosci.
13:1020.  Two brief flashes, Ready and Set, are separated by a sample interval ``t_s``;
the subject must respond ``t_s`` after Set (production interval ``t_p``).  RNNs trained
on it reproduce the interval by scaling the speed of their dynamics (Wang, Narain,
Hosseini & Jazayeri 2018, Nat. Neurosci. 21:102; Sohn et al. 2019, Neuron 103:934).
"""
from __future__ import annotations

import numpy as np

from psychrnn_widgets.params import Parameter
from psychrnn_widgets.tasks.declarations import (
    STIM_NOISE, draw_duration, duration_parameter, longest, white_noise_std,
)
from psychrnn_widgets.tasks.scoring import first_crossing
from psychrnn_widgets.tasks.task import Task, TaskParameter

__all__ = ["ReadySetGo"]

#: the output counts as the Go response once it exceeds this
THRESHOLD = 0.5


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
    (``t_s``, the sample interval, is read from the target the same way).

    Args:
        dt, tau, T, N_batch: see :class:`~psychrnn_widgets.tasks.task.Task`.
        interval: the sample interval ``t_s`` (ms), a number or ``(min, max)`` drawn per
            trial (Jazayeri & Shadlen's short prior was 494-847 ms, their long one 847-1200).
        fixation: ms before Ready (a number or ``(min, max)``).
        cue_duration (float): length of the Ready and Set flashes (ms), shorter than the interval.
        tolerance (float): relative error accepted by the accuracy.
        stim_noise (float): input-noise strength.
        seed: makes batches reproducible.

    Trial parameters: ``interval`` (ms), ``fixation`` (ms), ``stim_noise``; metadata
    ``epochs``.  :meth:`produced_interval` gives ``t_p`` per trial for analysis.
    """

    interval = TaskParameter(duration_parameter("interval", (500.0, 1000.0),
                                                "the sample interval between Ready and Set, to reproduce after Set"))
    fixation = TaskParameter(duration_parameter("fixation", 200.0, "wait before Ready"))
    cue_duration = TaskParameter(Parameter("cue_duration", "float", 50.0, low=0.0, low_open=True, unit="ms",
                                           label="Cue duration", help="length of the Ready and Set flashes",
                                           group="timing"))
    tolerance = TaskParameter(Parameter("tolerance", "float", 0.15, low=0.0, low_open=True, label="Tolerance",
                                        help="relative timing error the accuracy accepts, |t_p - t_s| / t_s",
                                        typical=(0.05, 0.3), group="scoring"))
    stim_noise = TaskParameter(STIM_NOISE)

    defaults = {"T": 2500.0}

    def __init__(self, dt=10.0, tau=100.0, T=2500.0, N_batch=50, interval=(500.0, 1000.0), fixation=200.0,
                 cue_duration=50.0, tolerance=0.15, stim_noise=0.1, seed=None):
        super().__init__(2, 1, dt, tau, T, N_batch, seed=seed)
        self.interval = interval
        self.fixation = fixation
        self.cue_duration = cue_duration
        self.tolerance = tolerance
        self.stim_noise = stim_noise
        shortest = self.interval[0] if isinstance(self.interval, tuple) else self.interval
        if shortest <= self.cue_duration:
            type(self).interval.parameter.fail(interval, type(self).__name__,
                                               f"must be longer than cue_duration ({self.cue_duration:g} ms)")
        self.warn_if_shorter(longest(self.fixation) + 2 * longest(self.interval), "the latest Go time")

    def sample_trials(self, n, batch=1):
        """Sample interval and fixation of ``n`` trials (ms)."""
        return {"interval": draw_duration(self.interval, self.rng, n),
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
