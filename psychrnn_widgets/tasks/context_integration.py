"""Context-dependent integration of one of two evidence streams (Mante et al. 2013).

Source: Mante, Sussillo, Shenoy & Newsome (2013), "Context-dependent computation by
recurrent dynamics in prefrontal cortex", Nature 503:78 (the task: Fig. 1; the trained RNN:
Figs. 5-6 and Methods).  Monkeys fixated, a context cue said whether the motion or the
colour of a random-dot stimulus mattered, the dots were shown, and after a delay the
fixation point went off and the monkey made a saccade reporting the relevant feature; a
trial was aborted when fixation broke before that go signal.  The same stimuli required
different decisions in the two contexts.  NeuroGym's ``ContextDecisionMaking`` has the
same structure (fixation input, fixation until the go).
"""
from __future__ import annotations

import numpy as np

from psychrnn_widgets.params import Parameter
from psychrnn_widgets.tasks.declarations import (
    HI, LO, STIM_NOISE, duration_parameter, values_parameter, white_noise_std,
)
from psychrnn_widgets.tasks.scoring import RESPONSE_THRESHOLD, argmax_choice, held_then_chose
from psychrnn_widgets.tasks.task import Task, TaskParameter
from psychrnn_widgets.tasks.trials import one_hot

__all__ = ["ContextDependentIntegration"]

#: context codes
MOTION, COLOR = 0, 1
#: input channels
MOTION_IN, COLOR_IN, MOTION_CUE, COLOR_CUE, FIXATION_IN = range(5)


class ContextDependentIntegration(Task):
    """Hold fixation, then report the sign of the motion or of the colour evidence, as the context says.

    5 inputs, 2 outputs.  Inputs: 0 motion evidence, 1 colour evidence (each its signed
    coherence during the stimulus, plus white noise), 2 motion-context cue, 3 colour-context
    cue (1 for the whole trial), 4 fixation (1 until the decision period: its offset is the
    go signal).  Outputs: 0 (relevant coherence < 0), 1 (> 0).

    Trial structure (periods, ms): ``fixation`` (context cue only), ``stimulus`` (both
    evidence streams), ``delay``, ``decision`` (after the go signal).  Targets: 0 on both
    outputs until the go signal (hold still), then ``hi`` on the correct output and ``lo`` on
    the other; the mask is 1 over all four periods.  Each trial draws its context, and a
    motion and a colour coherence independently (a magnitude from ``coherences`` with a
    random sign), so the irrelevant stream agrees or conflicts with the relevant one
    equally often.

    Scoring (as the monkeys were scored, and NeuroGym's): a trial is correct when both
    outputs stay at or below 0.5 at every step before the go signal (breaking fixation once
    aborts the trial), and in the decision period the output with the larger mean is the
    correct one and its mean exceeds 0.5 (a response was made).  See
    :func:`~psychrnn_widgets.tasks.scoring.held_then_chose`.  Chance level 0.5 (a random
    choice, or following the irrelevant stream).

    Args:
        dt, tau, T, N_batch: see :class:`~psychrnn_widgets.tasks.task.Task`.
        coherences: magnitudes in (0, 1] drawn from for each stream (the fraction of dots
            moving coherently, or of the dominant colour, made signed).
        context (None | 0 | 1): fix the context (0 motion, 1 colour); None draws it.
        fixation, stimulus, delay, decision: period durations in ms, a number or
            ``(min, max)`` drawn per trial; ``stimulus`` and ``decision`` must be > 0.
        stim_noise (float): input-noise strength; per-step std ``sqrt(2 tau/dt) * stim_noise``.
        seed: makes batches reproducible.

    Trial parameters: ``context, motion_coherence, color_coherence`` (signed),
    ``fixation, stimulus, delay, decision`` (durations, ms), ``stim_noise``; metadata
    ``choice`` (1 when the relevant coherence is positive), ``evidence`` (the relevant
    coherence) and ``epochs``.
    """

    coherences = TaskParameter(values_parameter(
        "coherences", (0.05, 0.15, 0.5), "coherence magnitudes drawn from (each with a random sign) for the motion "
        "and the colour stream, each in (0, 1]", label="Coherences", low=0.0, low_open=True, high=1.0))
    context = TaskParameter(Parameter("context", "int", None, allow_none=True, low=0, high=1, label="Context",
                                      help="0: report motion, 1: report colour, None: drawn per trial",
                                      group="conditions"))
    fixation = TaskParameter(duration_parameter("fixation", 200.0, "context cue alone before the stimulus"))
    stimulus = TaskParameter(duration_parameter("stimulus", 750.0, "both evidence streams on", positive=True))
    delay = TaskParameter(duration_parameter("delay", (100.0, 300.0), "gap between stimulus and go signal"))
    decision = TaskParameter(duration_parameter("decision", 300.0, "response window after the go signal",
                                                positive=True))
    stim_noise = TaskParameter(STIM_NOISE)
    lo = TaskParameter(LO)
    hi = TaskParameter(HI)

    defaults = {"T": 1600.0}
    timing = ("fixation", "stimulus", "delay", "decision")
    chance_level = 0.5

    def __init__(self, dt=10.0, tau=100.0, T=1600.0, N_batch=50, coherences=(0.05, 0.15, 0.5), context=None,
                 fixation=200.0, stimulus=750.0, delay=(100.0, 300.0), decision=300.0, stim_noise=0.1, seed=None):
        super().__init__(5, 2, dt, tau, T, N_batch, seed=seed)
        self.coherences = coherences
        self.context = context
        self.fixation, self.stimulus, self.delay, self.decision = fixation, stimulus, delay, decision
        self.stim_noise = stim_noise
        self.lo, self.hi = 0.2, 1.0
        self.warn_if_shorter()

    def sample_trials(self, n, batch=1):
        """Context, signed motion and colour coherences and period durations of ``n`` trials."""
        rng = self.rng
        context = rng.integers(2, size=n) if self.context is None else np.full(n, self.context)
        magnitudes = np.asarray(self.coherences)
        signed = magnitudes[rng.integers(len(magnitudes), size=(2, n))] * rng.choice([-1.0, 1.0], size=(2, n))
        columns = {"context": context, "motion_coherence": signed[0], "color_coherence": signed[1]}
        columns.update(self.sample_timing(n))
        columns["stim_noise"] = np.full(n, float(self.stim_noise))
        return columns

    def describe_trials(self, trials):
        """Periods, inputs, targets and mask (see the class docstring)."""
        context = trials["context"].astype(np.intp)
        evidence = np.stack([trials["motion_coherence"], trials["color_coherence"]], axis=1).astype(float)
        relevant = evidence[np.arange(trials.n), context]
        choice = (relevant > 0).astype(np.intp)
        self.timing_periods(trials)
        before_go = ["fixation", "stimulus", "delay"]
        trials.add_input(one_hot(context, 2), None, channel=(MOTION_CUE, COLOR_CUE))
        trials.add_input(1.0, before_go, channel=FIXATION_IN)
        trials.add_input(evidence, "stimulus", channel=(MOTION_IN, COLOR_IN))
        trials.add_noise(white_noise_std(self.dt, self.tau, trials["stim_noise"].astype(float)),
                         channel=(MOTION_IN, COLOR_IN))
        trials.set_target(one_hot(choice, 2, on=self.hi, off=self.lo), "decision")
        trials.set_mask(1.0, list(self.timing))
        trials.note(choice=choice, evidence=relevant)

    def decode_choice(self, output, output_mask):
        """The output with the larger time-mean over the masked steps, per trial (B,) (PsychRNN's rule).

        Before the go signal both targets are 0, so the decision period decides.
        """
        return argmax_choice(output, output_mask)

    def trial_correct(self, correct_output, test_output, output_mask):
        """Fixation held until the go signal, then the correct choice (bool (B,)); see the class docstring."""
        return held_then_chose(correct_output, test_output, output_mask, RESPONSE_THRESHOLD)
