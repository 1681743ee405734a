"""Delayed match-to-sample, with a single test or with Miller's sequences (Miller et al. 1996).

Source: Miller, Erickson & Desimone (1996), "Neural mechanisms of visual working memory in
prefrontal cortex of the macaque", J. Neurosci. 16:5154 (the task: Fig. 1 and Methods).
The monkey fixated, saw a sample object, and after a delay a *sequence* of test objects:
zero or more non-matching objects, each followed by a delay, then the match.  It had to
release a lever when an object matched the sample and not before, so the sample had to
be held in memory across intervening objects; a response to a non-match was an error.
(On some of their trials the intervening non-matches repeated each other, "ABBA": here
non-matches are drawn independently, so repeats occur too.)

The single-test form -- one test object, report "match" or "non-match" after a go
signal -- is the common two-alternative version (NeuroGym's ``DelayMatchSample``).
"""
from __future__ import annotations

import numpy as np

from psychrnn_widgets.params import Parameter
from psychrnn_widgets.tasks.declarations import (
    HI, LO, STIM_NOISE, draw_duration, duration_parameter, longest, probability_parameter, white_noise_std,
)
from psychrnn_widgets.tasks.scoring import RESPONSE_THRESHOLD, argmax_choice, held_then_chose
from psychrnn_widgets.tasks.task import Task, TaskParameter, sized_by
from psychrnn_widgets.tasks.trials import one_hot

__all__ = ["DelayedMatchToSample"]

#: output channels (and the ``choice`` codes)
MATCH, NON_MATCH = 0, 1
#: the two forms of the task
MODES = ("two_choice", "sequence")


class DelayedMatchToSample(Task):
    """Remember a sample object and recognise it again (``n_stimuli + 1`` inputs, 2 outputs).

    Inputs: one channel per object identity (1 while that object is shown; white noise on
    every object channel) and a last channel, the fixation point, 1 from the start of the
    trial to the end of the response window: there is no go signal, the subject answers
    when the test object appears, as Miller's monkeys released the lever during the match.
    Outputs: 0 "match", 1 "non-match".  Until the response window both targets are 0 (hold
    still, keep fixating) and the mask is 1, so answering early is an error; in the response
    window the correct output's target is ``hi`` and the other's ``lo``.

    ``mode='two_choice'`` (default): periods ``fixation``, ``sample``, ``delay``, ``test``,
    ``decision``.  The test equals the sample with probability ``match_probability``
    (otherwise one of the other objects, uniformly); the response window is the test and
    the decision period after it, and the answer is "match" or "non-match".  Chance level
    0.5 (a fixed answer).

    ``mode='sequence'`` (Miller et al. 1996): after ``fixation``, ``sample`` and ``delay``
    come ``k`` test objects, ``test_0 .. test_{k-1}`` (``test`` ms each, separated by
    ``gap`` ms periods ``gap_0 ..``), where ``k - 1``, the number of non-matches before the
    match, is drawn uniformly from ``0 .. max_nonmatches``; the non-matches differ from the
    sample, the last object is the match.  The response window is the match object plus
    the ``decision`` period after it, with "match" the correct answer; answering during a
    non-match is an error.  Periods of objects a trial does not show have zero length.
    Chance level ``1 / (max_nonmatches + 1)`` (responding at a fixed position).

    Scoring (both modes): both outputs at or below 0.5 at every step before the response
    window (an answer before the test, or to a non-match, fails the trial), then the output
    with the larger mean over the window must be the correct one and its mean above 0.5
    (see :func:`~psychrnn_widgets.tasks.scoring.held_then_chose`).

    Args:
        dt, tau, T, N_batch: see :class:`~psychrnn_widgets.tasks.task.Task`.
        n_stimuli (int): number of object identities (one input channel each), at least 2.
        mode (str): ``'two_choice'`` or ``'sequence'``.
        match_probability (float): fraction of match trials (two_choice mode).
        max_nonmatches (int): most non-matches before the match (sequence mode), >= 1.
        fixation, sample, delay, test, gap, decision: durations in ms (a number or
            ``(min, max)``); ``sample``, ``test`` and ``decision`` must be > 0.
        stim_noise (float): input-noise strength.
        seed: makes batches reproducible.

    Trial parameters: ``sample_stimulus``, ``test_stimulus`` (the last test object),
    ``match`` (1/0), ``n_tests`` (objects shown after the delay), the durations,
    ``stim_noise``; in the sequence form also ``nonmatches`` (the identities shown before
    the match, -1 padded to ``max_nonmatches``) and ``gap``; metadata ``choice`` (0 match,
    1 non-match) and ``epochs``.
    """

    n_stimuli = TaskParameter(Parameter("n_stimuli", "int", 4, low=2, label="Objects", unit="channels",
                                        group="size", help="number of object identities (one input channel each)"))
    mode = TaskParameter(Parameter("mode", "choice", "two_choice", choices=MODES, label="Form",
                                   help="'two_choice': one test, report match / non-match after a go signal; "
                                        "'sequence': non-matches then the match, respond at the match only "
                                        "(Miller et al. 1996)", group="conditions"))
    match_probability = TaskParameter(probability_parameter("match_probability", 0.5, "fraction of match trials "
                                                            "(two_choice form)", "Match probability"))
    max_nonmatches = TaskParameter(Parameter("max_nonmatches", "int", 3, low=1, label="Most non-matches",
                                             help="most non-matching objects before the match (sequence form)",
                                             group="conditions"))
    fixation = TaskParameter(duration_parameter("fixation", 100.0, "wait before the sample"))
    sample = TaskParameter(duration_parameter("sample", 300.0, "the sample object", positive=True))
    delay = TaskParameter(duration_parameter("delay", (400.0, 800.0), "memory delay after the sample"))
    test = TaskParameter(duration_parameter("test", 300.0, "each test object", positive=True))
    gap = TaskParameter(duration_parameter("gap", 200.0, "delay between test objects (sequence form)"))
    decision = TaskParameter(duration_parameter("decision", 300.0, "response window after the test object (the "
                                                "answer counts from the test's onset)", positive=True))
    stim_noise = TaskParameter(STIM_NOISE)
    lo = TaskParameter(LO)
    hi = TaskParameter(HI)
    N_in = sized_by("n_stimuli", 1)

    defaults = {"T": 1800.0}

    def __init__(self, dt=10.0, tau=100.0, T=1800.0, N_batch=50, n_stimuli=4, mode="two_choice",
                 match_probability=0.5, max_nonmatches=3, fixation=100.0, sample=300.0, delay=(400.0, 800.0),
                 test=300.0, gap=200.0, decision=300.0, stim_noise=0.1, seed=None):
        self.n_stimuli = n_stimuli
        super().__init__(self.n_stimuli + 1, 2, dt, tau, T, N_batch, seed=seed)
        self.mode = mode
        self.match_probability = match_probability
        self.max_nonmatches = max_nonmatches
        self.fixation, self.sample, self.delay, self.test = fixation, sample, delay, test
        self.gap, self.decision = gap, decision
        self.stim_noise = stim_noise
        self.lo, self.hi = 0.2, 1.0
        self.warn_if_shorter(self.longest_trial())

    @property
    def sequence(self):
        """True in the sequence form (Miller et al. 1996)."""
        return self.mode == "sequence"

    @property
    def fixation_channel(self):
        """Index of the fixation input (the last one)."""
        return self.n_stimuli

    @property
    def chance_level(self):
        """A fixed answer: ``max(match_probability, 1 - match_probability)`` for two choices (0.5 by
        default); ``1 / (max_nonmatches + 1)`` for sequences (responding at a fixed position)."""
        if self.sequence:
            return 1.0 / (self.max_nonmatches + 1)
        return max(self.match_probability, 1.0 - self.match_probability)

    def longest_trial(self):
        """The longest trial the durations can make (ms)."""
        before = longest(self.fixation) + longest(self.sample) + longest(self.delay) + longest(self.decision)
        if not self.sequence:
            return before + longest(self.test)
        items = self.max_nonmatches + 1
        return before + items * longest(self.test) + (items - 1) * longest(self.gap)

    def sample_trials(self, n, batch=1):
        """Sample, test objects and period durations of ``n`` trials."""
        rng = self.rng
        k = self.n_stimuli
        sample = rng.integers(k, size=n)

        def other(size):  # objects differing from each trial's sample
            return (sample[:, None] + rng.integers(1, k, size=(n, size))) % k

        columns = {"sample_stimulus": sample}
        if self.sequence:
            n_tests = rng.integers(1, self.max_nonmatches + 2, size=n)
            distractors = other(self.max_nonmatches)
            before_match = np.arange(self.max_nonmatches)[None, :] < (n_tests - 1)[:, None]
            columns.update(test_stimulus=sample, match=np.ones(n, dtype=np.int64), n_tests=n_tests,
                           nonmatches=np.where(before_match, distractors, -1).astype(np.int64))
            names = ("fixation", "sample", "delay", "test", "gap", "decision")
        else:
            match = (rng.random(n) < self.match_probability).astype(np.int64)
            columns.update(test_stimulus=np.where(match == 1, sample, other(1)[:, 0]), match=match,
                           n_tests=np.ones(n, dtype=np.int64))
            names = ("fixation", "sample", "delay", "test", "decision")
        columns.update({name: self._duration(name, n) for name in names})
        columns["stim_noise"] = np.full(n, float(self.stim_noise))
        return columns

    def _duration(self, name, n):
        return draw_duration(getattr(self, name), self.rng, n)

    def describe_trials(self, trials):
        """Periods, objects, fixation input, targets and mask (see the class docstring)."""
        n, k = trials.n, self.n_stimuli
        objects = list(range(k))
        answer = one_hot(np.where(trials["match"].astype(bool), MATCH, NON_MATCH), 2, on=self.hi, off=self.lo)
        trials.periods_in_sequence({name: trials[name] for name in ("fixation", "sample", "delay")})
        trials.add_input(one_hot(trials["sample_stimulus"], k), "sample", channel=objects)
        scored = ["fixation", "sample", "delay"]
        if self.sequence:
            n_tests = trials["n_tests"].astype(np.intp)
            nonmatches = np.asarray(trials["nonmatches"]).reshape(n, -1)
            test, gap = trials["test"].astype(float), trials["gap"].astype(float)
            for j in range(self.max_nonmatches + 1):
                shown = j < n_tests
                is_match = j == n_tests - 1
                identity = np.where(is_match, trials["sample_stimulus"],
                                    nonmatches[:, j] if j < nonmatches.shape[1] else 0)
                trials.period(f"test_{j}", np.where(shown, test, 0.0))
                trials.period(f"gap_{j}", np.where(j < n_tests - 1, gap, 0.0))
                trials.add_input(one_hot(np.maximum(identity, 0), k), f"test_{j}", channel=objects)
                trials.set_target(answer * is_match[:, None], f"test_{j}")
                scored += [f"test_{j}", f"gap_{j}"]
            trials.period("decision", trials["decision"])
            trials.add_input(1.0, scored + ["decision"], channel=self.fixation_channel)
        else:
            trials.periods_in_sequence({"test": trials["test"], "decision": trials["decision"]})
            trials.add_input(one_hot(trials["test_stimulus"], k), "test", channel=objects)
            trials.set_target(answer, "test")  # the answer counts from the test's onset
            scored.append("test")
            trials.add_input(1.0, scored + ["decision"], channel=self.fixation_channel)
        trials.add_noise(white_noise_std(self.dt, self.tau, trials["stim_noise"].astype(float)), channel=objects)
        trials.set_target(answer, "decision")
        trials.set_mask(1.0, scored + ["decision"])
        trials.note(choice=np.where(trials["match"].astype(bool), MATCH, NON_MATCH))

    def decode_choice(self, output, output_mask):
        """The output with the larger time-mean over the masked steps (0 match, 1 non-match), per trial (B,)."""
        return argmax_choice(output, output_mask)

    def trial_correct(self, correct_output, test_output, output_mask):
        """Held until the response window, then the correct answer (bool (B,)); see the class docstring."""
        return held_then_chose(correct_output, test_output, output_mask, RESPONSE_THRESHOLD)
