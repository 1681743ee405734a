"""Go/No-Go: respond after a Go cue, withhold after a No-Go cue.

The classic response-inhibition paradigm (Donders 1868; e.g. Gomez, Ratcliff & Perea 2007,
J. Exp. Psychol. Gen. 136:389, for the modern decision-model account), here in the
delayed form of NeuroGym's ``GoNogo`` (Yang et al. 2019 collection): a cue, a delay,
then the go signal (the fixation cue turning off), at which the network must respond on
Go trials and stay silent on No-Go trials.
"""
from __future__ import annotations

import numpy as np

from psychrnn_widgets.tasks.declarations import (
    STIM_NOISE, duration_parameter, probability_parameter, white_noise_std,
)
from psychrnn_widgets.tasks.scoring import first_crossing
from psychrnn_widgets.tasks.task import Task, TaskParameter

__all__ = ["GoNoGo"]

#: the output counts as a response once it exceeds this
THRESHOLD = 0.5


class GoNoGo(Task):
    """Respond (output 1) in the decision period after a Go cue; stay at 0 after a No-Go cue.

    3 inputs, 1 output.  Inputs: 0 fixation cue (1 until the decision period: its
    offset is the go signal), 1 No-Go cue, 2 Go cue (1 during the stimulus period, with
    white noise).  Output: the response, target 0 until the decision period and then 1
    on Go trials, 0 on No-Go trials.  The mask is 1 from the trial start to the end of
    the decision period, so responding early is an error too.

    Periods (ms): ``fixation``, ``stimulus``, ``delay``, ``decision``.

    Scoring: the network *responds* at the first masked step where its output exceeds
    0.5.  A Go trial is correct when that response falls in the decision period; a
    No-Go trial when there is no response at all.

    Args:
        dt, tau, T, N_batch: see :class:`~psychrnn_widgets.tasks.task.Task`.
        go_probability (float): fraction of Go trials.
        fixation, stimulus, delay, decision: durations in ms (a number or ``(min, max)``).
        stim_noise (float): input-noise strength on the cue channels.
        seed: makes batches reproducible.

    Trial parameters: ``go`` (1 Go, 0 No-Go), the four durations, ``stim_noise``;
    metadata ``choice`` (= go: the correct response) and ``epochs``.
    """

    go_probability = TaskParameter(probability_parameter("go_probability", 0.5, "fraction of Go trials",
                                                         "Go probability"))
    fixation = TaskParameter(duration_parameter("fixation", 100.0, "fixation before the cue"))
    stimulus = TaskParameter(duration_parameter("stimulus", 300.0, "the Go or No-Go cue"))
    delay = TaskParameter(duration_parameter("delay", (200.0, 600.0), "wait between cue and go signal"))
    decision = TaskParameter(duration_parameter("decision", 300.0, "response window after the go signal"))
    stim_noise = TaskParameter(STIM_NOISE)

    defaults = {"T": 1300.0}
    timing = ("fixation", "stimulus", "delay", "decision")

    @property
    def chance_level(self):
        """Always or never responding: ``max(go_probability, 1 - go_probability)`` (0.5 by default)."""
        return max(self.go_probability, 1.0 - self.go_probability)

    def __init__(self, dt=10.0, tau=100.0, T=1300.0, N_batch=50, go_probability=0.5, fixation=100.0,
                 stimulus=300.0, delay=(200.0, 600.0), decision=300.0, stim_noise=0.1, seed=None):
        super().__init__(3, 1, dt, tau, T, N_batch, seed=seed)
        self.go_probability = go_probability
        self.fixation, self.stimulus, self.delay, self.decision = fixation, stimulus, delay, decision
        self.stim_noise = stim_noise
        self.warn_if_shorter()

    def sample_trials(self, n, batch=1):
        """Go or No-Go and the period durations of ``n`` trials."""
        go = (self.rng.random(n) < self.go_probability).astype(np.int64)
        columns = {"go": go}
        columns.update(self.sample_timing(n))
        columns["stim_noise"] = np.full(n, float(self.stim_noise))
        return columns

    def describe_trials(self, trials):
        """Periods, inputs, targets and mask (see the class docstring)."""
        go = trials["go"].astype(np.intp)
        self.timing_periods(trials)
        trials.add_input(1.0, ["fixation", "stimulus", "delay"], channel=0)
        trials.add_input(np.stack([1 - go, go], axis=1), "stimulus", channel=(1, 2))
        trials.add_noise(white_noise_std(self.dt, self.tau, trials["stim_noise"].astype(float)), channel=(1, 2))
        trials.set_target(go, "decision")
        trials.set_mask(1.0, list(self.timing))
        trials.note(choice=go)

    def _responses(self, output, output_mask):
        output, output_mask = np.asarray(output), np.asarray(output_mask)
        return first_crossing(output[..., 0], output_mask[..., 0] > 0, THRESHOLD)

    def decode_choice(self, output, output_mask):
        """1 if the output exceeds 0.5 at some masked step (a response), else 0, per trial (B,)."""
        return (self._responses(output, output_mask) >= 0).astype(np.intp)

    def trial_correct(self, correct_output, test_output, output_mask):
        """Go: the first response is inside the response window; No-Go: no response (bool (B,))."""
        response = self._responses(test_output, output_mask)
        go = self.decode_choice(correct_output, output_mask) == 1
        rows = np.arange(response.size)
        on_time = np.asarray(correct_output)[rows, np.maximum(response, 0), 0] > THRESHOLD
        return np.where(go, (response >= 0) & on_time, response < 0)
