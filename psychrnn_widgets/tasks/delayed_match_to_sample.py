"""Delayed match-to-sample (Miller, Erickson & Desimone 1996).

Miller, Erickson & Desimone (1996), "Neural mechanisms of visual working memory in
prefrontal cortex of the macaque", J. Neurosci. 16:5154.  A sample stimulus is shown,
held in memory over a delay, and compared with a test stimulus: the subject reports
whether the test matches the sample.
"""
from __future__ import annotations

import numpy as np

from psychrnn_widgets.params import TASK_CORE_PARAMS
from psychrnn_widgets.tasks.declarations import (
    HI, LO, STIM_NOISE, duration_parameter, probability_parameter, white_noise_std,
)
from psychrnn_widgets.tasks.task import Task, TaskParameter
from psychrnn_widgets.tasks.trials import one_hot

__all__ = ["DelayedMatchToSample"]

#: output channels (and the ``choice`` codes)
MATCH, NON_MATCH = 0, 1


class DelayedMatchToSample(Task):
    """Does the test stimulus match the sample seen before the delay? (``N_in`` stimuli and inputs, 2 outputs)

    Inputs: one channel per stimulus identity (1 while that stimulus is shown, with white
    noise on every channel).  Outputs: 0 match, 1 non-match; from the test's onset to the
    end of the decision period (the monkeys answered while the test was on) the target is
    ``hi`` on the correct output and ``lo`` on the other, and the mask is 1.

    Periods (ms): ``fixation``, ``sample``, ``delay``, ``test``, ``decision``.  The test
    equals the sample with probability ``match_probability``; otherwise it is one of the
    other stimuli, uniformly.

    Args:
        dt, tau, T, N_batch: see :class:`~psychrnn_widgets.tasks.task.Task`.
        N_in (int): number of stimulus identities (one input channel each), at least 2.
        match_probability (float): fraction of match trials.
        fixation, sample, delay, test, decision: durations in ms (a number or ``(min, max)``).
        stim_noise (float): input-noise strength.
        seed: makes batches reproducible.

    Trial parameters: ``sample_stimulus, test_stimulus`` (identities), ``match`` (1/0),
    the five durations, ``stim_noise``; metadata ``choice`` (0 match, 1 non-match) and
    ``epochs``.
    """

    match_probability = TaskParameter(probability_parameter("match_probability", 0.5, "fraction of match trials",
                                                            "Match probability"))
    fixation = TaskParameter(duration_parameter("fixation", 100.0, "wait before the sample"))
    sample = TaskParameter(duration_parameter("sample", 300.0, "the sample stimulus"))
    delay = TaskParameter(duration_parameter("delay", (400.0, 800.0), "memory delay"))
    test = TaskParameter(duration_parameter("test", 300.0, "the test stimulus"))
    decision = TaskParameter(duration_parameter("decision", 300.0, "response window after the test (the answer "
                                                "counts from the test's onset)"))
    stim_noise = TaskParameter(STIM_NOISE)
    lo = TaskParameter(LO)
    hi = TaskParameter(HI)

    defaults = {"T": 1800.0}
    scored_by_choice = True
    timing = ("fixation", "sample", "delay", "test", "decision")

    def __init__(self, dt=10.0, tau=100.0, T=1800.0, N_batch=50, N_in=4, match_probability=0.5,
                 fixation=100.0, sample=300.0, delay=(400.0, 800.0), test=300.0, decision=300.0, stim_noise=0.1,
                 seed=None):
        super().__init__(N_in, 2, dt, tau, T, N_batch, seed=seed)
        if self.N_in < 2:
            TASK_CORE_PARAMS["N_in"].fail(N_in, type(self).__name__, "must be at least 2 (stimulus identities)")
        self.match_probability = match_probability
        self.fixation, self.sample, self.delay, self.test, self.decision = fixation, sample, delay, test, decision
        self.stim_noise = stim_noise
        self.lo, self.hi = 0.2, 1.0
        self.warn_if_shorter()

    def sample_trials(self, n, batch=1):
        """Sample and test identities, match flag and period durations of ``n`` trials."""
        rng = self.rng
        sample = rng.integers(self.N_in, size=n)
        match = (rng.random(n) < self.match_probability).astype(np.int64)
        other = (sample + rng.integers(1, self.N_in, size=n)) % self.N_in
        columns = {"sample_stimulus": sample, "test_stimulus": np.where(match == 1, sample, other), "match": match}
        columns.update(self.sample_timing(n))
        columns["stim_noise"] = np.full(n, float(self.stim_noise))
        return columns

    def describe_trials(self, trials):
        """Periods, stimuli, targets and mask (see the class docstring)."""
        choice = np.where(trials["match"].astype(bool), MATCH, NON_MATCH)
        self.timing_periods(trials)
        trials.add_input(one_hot(trials["sample_stimulus"], self.N_in), "sample")
        trials.add_input(one_hot(trials["test_stimulus"], self.N_in), "test")
        trials.add_noise(white_noise_std(self.dt, self.tau, trials["stim_noise"].astype(float)))
        # the answer counts from test onset, as the monkeys released the lever during the test
        trials.set_target(one_hot(choice, 2, on=self.hi, off=self.lo), ["test", "decision"])
        trials.set_mask(1.0, ["test", "decision"])
        trials.note(choice=choice)
