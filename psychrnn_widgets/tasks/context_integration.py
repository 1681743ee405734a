"""Context-dependent integration of one of two evidence streams (Mante et al. 2013).

Mante, Sussillo, Shenoy & Newsome (2013), "Context-dependent computation by recurrent
dynamics in prefrontal cortex", Nature 503:78.  Monkeys saw coloured random dots and,
depending on a context cue, reported either the dominant motion direction or the
dominant colour; the same stimuli required different decisions in the two contexts.
The paper's RNN received a noisy motion input, a noisy colour input and two context
inputs, and was trained to report the sign of the relevant evidence.
"""
from __future__ import annotations

import numpy as np

from psychrnn_widgets.params import Parameter
from psychrnn_widgets.tasks.declarations import (
    HI, LO, STIM_NOISE, duration_parameter, values_parameter, white_noise_std,
)
from psychrnn_widgets.tasks.task import Task, TaskParameter
from psychrnn_widgets.tasks.trials import one_hot

__all__ = ["ContextDependentIntegration"]

#: context codes
MOTION, COLOR = 0, 1


class ContextDependentIntegration(Task):
    """Report the sign of the motion or of the colour evidence, as the context cue says.

    4 inputs, 2 outputs.  Inputs: 0 motion evidence, 1 colour evidence (each its signed
    coherence during the stimulus, plus white noise), 2 motion-context cue, 3 colour-context
    cue (1 for the whole trial).  Outputs: 0 (relevant coherence < 0), 1 (> 0).

    Periods (ms): ``fixation`` (context cue only), ``stimulus`` (both evidence streams),
    ``delay``, ``decision`` (target ``hi`` on the correct output, ``lo`` on the other,
    mask 1); mask 0 elsewhere.  Each trial draws its context, and a motion and a colour
    coherence independently (a magnitude from ``coherences`` with a random sign), so the
    irrelevant stream agrees or conflicts with the relevant one equally often.

    Args:
        dt, tau, T, N_batch: see :class:`~psychrnn_widgets.tasks.task.Task`.
        coherences: magnitudes (> 0) drawn from for each stream.
        context (None | 0 | 1): fix the context (0 motion, 1 colour); None draws it.
        fixation, stimulus, delay, decision: period durations in ms, a number or
            ``(min, max)`` drawn per trial.
        stim_noise (float): input-noise strength; per-step std ``sqrt(2 tau/dt) * stim_noise``.
        seed: makes batches reproducible.

    Trial parameters: ``context, motion_coherence, color_coherence`` (signed),
    ``fixation, stimulus, delay, decision`` (durations, ms), ``stim_noise``; metadata
    ``choice`` (1 when the relevant coherence is positive), ``evidence`` (the relevant
    coherence) and ``epochs``.
    """

    coherences = TaskParameter(values_parameter(
        "coherences", (0.05, 0.15, 0.5), "coherence magnitudes drawn from (each with a random sign) for the motion "
        "and the colour stream", label="Coherences", low=0.0, low_open=True))
    context = TaskParameter(Parameter("context", "int", None, allow_none=True, low=0, high=1, label="Context",
                                      help="0: report motion, 1: report colour, None: drawn per trial",
                                      group="conditions"))
    fixation = TaskParameter(duration_parameter("fixation", 200.0, "context cue alone before the stimulus"))
    stimulus = TaskParameter(duration_parameter("stimulus", 750.0, "both evidence streams on"))
    delay = TaskParameter(duration_parameter("delay", (100.0, 300.0), "gap between stimulus and response"))
    decision = TaskParameter(duration_parameter("decision", 300.0, "response window"))
    stim_noise = TaskParameter(STIM_NOISE)
    lo = TaskParameter(LO)
    hi = TaskParameter(HI)

    defaults = {"T": 1600.0}
    scored_by_choice = True
    timing = ("fixation", "stimulus", "delay", "decision")

    def __init__(self, dt=10.0, tau=100.0, T=1600.0, N_batch=50, coherences=(0.05, 0.15, 0.5), context=None,
                 fixation=200.0, stimulus=750.0, delay=(100.0, 300.0), decision=300.0, stim_noise=0.1, seed=None):
        super().__init__(4, 2, dt, tau, T, N_batch, seed=seed)
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
        trials.add_input(one_hot(context, 2), None, channel=(2, 3))
        trials.add_input(evidence, "stimulus", channel=(0, 1))
        trials.add_noise(white_noise_std(self.dt, self.tau, trials["stim_noise"].astype(float)), channel=(0, 1))
        trials.set_target(one_hot(choice, 2, on=self.hi, off=self.lo), "decision")
        trials.set_mask(1.0, "decision")
        trials.note(choice=choice, evidence=relevant)
