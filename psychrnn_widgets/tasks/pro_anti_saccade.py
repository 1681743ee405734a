"""Pro- and anti-saccades on a ring (Hallett 1978; as trained in RNNs by Yang et al. 2019).

Source: Hallett (1978), "Primary and secondary saccades to goals defined by
instructions", Vision Res. 18:1279 (review: Munoz & Everling 2004, Nat. Rev. Neurosci.
5:218).  A peripheral target appears; depending on the rule the subject looks at it
(pro-saccade) or to the opposite location (anti-saccade), but only when the fixation
point goes off.  The ring encoding (direction-tuned input and output units, a fixation
input and output, rule inputs) and the scoring follow Yang, Joglekar, Song, Newsome & Wang
(2019), "Task representations in neural networks trained to perform many cognitive
tasks", Nat. Neurosci. 22:297 (Methods, "Tasks" and the performance measure): a trial
fails if the fixation output drops below 0.5 before the go cue, and the response, read
by population vector at the end of the trial, must lie within 36 degrees of the target.
"""
from __future__ import annotations

import numpy as np

from psychrnn_widgets.params import Parameter
from psychrnn_widgets.tasks.declarations import (
    STIM_NOISE, duration_parameter, probability_parameter, white_noise_std,
)
from psychrnn_widgets.tasks.scoring import RESPONSE_THRESHOLD, gaussian_tuning, ring_angle, wrapped_distance
from psychrnn_widgets.tasks.task import Task, TaskParameter, sized_by
from psychrnn_widgets.tasks.trials import one_hot

__all__ = ["ProAntiSaccade"]

_TWO_PI = 2 * np.pi
#: rule codes
PRO, ANTI = 0, 1
#: a response counts when its direction is within this of the target (0.2 pi = 36 degrees, Yang et al. 2019)
ANGLE_TOLERANCE = 0.2 * np.pi


class ProAntiSaccade(Task):
    """Saccade towards (pro) or away from (anti) a ring stimulus when fixation ends.

    ``n_ring + 3`` inputs, ``n_ring + 1`` outputs.  Inputs: 0 fixation (1 until the
    decision period), ``1 .. n_ring`` the ring (a Gaussian bump of width one channel
    spacing around the stimulus direction, during the stimulus period, with white noise),
    ``n_ring + 1`` pro rule, ``n_ring + 2`` anti rule (the trial's rule: 1 for the whole
    trial).  Outputs: 0 fixation (target 1 until the decision period, then 0), ``1 ..
    n_ring`` the response ring (target: a bump around the response direction -- the
    stimulus direction for pro, the opposite one for anti -- during the decision period,
    0 before).  The mask is 1 over the whole trial.

    Periods (ms): ``fixation``, ``stimulus``, ``delay`` (memory; may be 0), ``decision``.

    Scoring (Yang et al. 2019): a trial is correct when the fixation output is above 0.5
    at *every* step before the decision period (one step below breaks fixation), and at
    the last step of the decision period the fixation output is below 0.5 (the saccade
    was made) and the direction read from the ring output there (population vector) lies
    within 36 degrees of the response direction.  Chance level 0.2 (72 of 360 degrees: a
    well-timed saccade in a direction that ignores the stimulus).

    Args:
        dt, tau, T, N_batch: see :class:`~psychrnn_widgets.tasks.task.Task`.
        n_ring (int): direction-tuned units on each ring.
        anti_probability (float): fraction of anti-saccade trials (0: all pro, 1: all anti).
        fixation, stimulus, delay, decision: durations in ms (a number or ``(min, max)``).
        stim_noise (float): input-noise strength on the ring inputs.
        seed: makes batches reproducible.

    Trial parameters: ``stimulus_angle`` (radians), ``rule`` (0 pro, 1 anti), the four
    durations, ``stim_noise``; metadata ``response_angle`` (radians), ``choice`` (the
    ring output channel nearest the response direction, 0 .. n_ring-1) and ``epochs``.
    """

    n_ring = TaskParameter(Parameter("n_ring", "int", 8, low=2, label="Ring units", unit="channels", group="size",
                                     help="direction-tuned input and output units on the ring (Yang et al.: 32)"))
    anti_probability = TaskParameter(probability_parameter("anti_probability", 0.5,
                                                           "fraction of anti-saccade trials", "Anti probability"))
    fixation = TaskParameter(duration_parameter("fixation", 200.0, "fixation before the stimulus"))
    stimulus = TaskParameter(duration_parameter("stimulus", 300.0, "the ring stimulus", positive=True))
    delay = TaskParameter(duration_parameter("delay", (0.0, 300.0), "memory delay after the stimulus"))
    decision = TaskParameter(duration_parameter("decision", 300.0, "saccade window after fixation ends",
                                                positive=True))
    stim_noise = TaskParameter(STIM_NOISE)
    N_in = sized_by("n_ring", 3)
    N_out = sized_by("n_ring", 1)

    defaults = {"T": 1100.0}
    timing = ("fixation", "stimulus", "delay", "decision")
    #: a saccade in a direction that ignores the stimulus lands within the tolerance this often
    chance_level = 2 * ANGLE_TOLERANCE / _TWO_PI

    def __init__(self, dt=10.0, tau=100.0, T=1100.0, N_batch=50, n_ring=8, anti_probability=0.5, fixation=200.0,
                 stimulus=300.0, delay=(0.0, 300.0), decision=300.0, stim_noise=0.1, seed=None):
        self.n_ring = n_ring
        super().__init__(self.n_ring + 3, self.n_ring + 1, dt, tau, T, N_batch, seed=seed)
        self.anti_probability = anti_probability
        self.fixation, self.stimulus, self.delay, self.decision = fixation, stimulus, delay, decision
        self.stim_noise = stim_noise
        self.warn_if_shorter()

    @property
    def preferred(self):
        """Preferred directions of the ring units (radians), (n_ring,)."""
        return np.arange(self.n_ring) * (_TWO_PI / self.n_ring)

    def ring(self, angles):
        """Ring activity (B, n_ring) for directions ``angles`` (radians): bumps of width one channel spacing."""
        return gaussian_tuning(angles, self.preferred, sigma=_TWO_PI / self.n_ring)

    def sample_trials(self, n, batch=1):
        """Stimulus direction, rule and period durations of ``n`` trials."""
        rng = self.rng
        columns = {"stimulus_angle": _TWO_PI * rng.random(n),
                   "rule": (rng.random(n) < self.anti_probability).astype(np.int64)}
        columns.update(self.sample_timing(n))
        columns["stim_noise"] = np.full(n, float(self.stim_noise))
        return columns

    def describe_trials(self, trials):
        """Periods, inputs, targets and mask (see the class docstring)."""
        n_ring = self.n_ring
        ring_channels = range(1, n_ring + 1)
        rule = trials["rule"].astype(np.intp)
        response = np.mod(trials["stimulus_angle"] + np.pi * rule, _TWO_PI)
        before = ["fixation", "stimulus", "delay"]
        self.timing_periods(trials)
        trials.add_input(1.0, before, channel=0)
        trials.add_input(self.ring(trials["stimulus_angle"]), "stimulus", channel=ring_channels)
        trials.add_input(one_hot(rule, 2), None, channel=(n_ring + 1, n_ring + 2))
        trials.add_noise(white_noise_std(self.dt, self.tau, trials["stim_noise"].astype(float)),
                         channel=ring_channels)
        trials.set_target(1.0, before, channel=0)
        trials.set_target(self.ring(response), "decision", channel=ring_channels)
        trials.set_mask(1.0, list(self.timing))
        nearest = np.argmin(np.abs(wrapped_distance(self.preferred[None, :], response[:, None])), axis=1)
        trials.note(response_angle=response, choice=nearest)

    def _decode(self, output, correct_output, output_mask):
        """(response angle (B,), mean fixation output before, during the decision period)."""
        output = np.asarray(output)
        counted = np.asarray(output_mask)[..., 0] > 0
        deciding = counted & (np.asarray(correct_output)[..., 0] < 0.5)
        holding = counted & ~deciding

        def mean_over(values, where):
            return (values * where).sum(axis=1) / np.maximum(where.sum(axis=1), 1)

        ring = (output[..., 1:] * deciding[..., None]).sum(axis=1) / np.maximum(deciding.sum(axis=1), 1)[:, None]
        return ring_angle(ring, self.preferred), mean_over(output[..., 0], holding), mean_over(output[..., 0], deciding)

    def decode_choice(self, output, output_mask):
        """The ring output channel nearest the response direction, per trial (B,).

        The decision period is taken as the masked steps where the fixation output is
        below 0.5 (for targets, exactly the decision period).
        """
        angle, _, _ = self._decode(output, output, output_mask)
        return np.argmin(np.abs(wrapped_distance(self.preferred[None, :], angle[:, None])), axis=1)

    def trial_correct(self, correct_output, test_output, output_mask):
        """Fixation held at every step before the go cue, then a saccade within 36 degrees (bool (B,)).

        See the class docstring (Yang et al. 2019's rule).
        """
        y, out = np.asarray(correct_output), np.asarray(test_output)
        counted = np.asarray(output_mask)[..., 0] > 0
        before_go = counted & (y[..., 0] > 0.5)
        deciding = counted & ~before_go
        held = ~np.any(before_go & (out[..., 0] <= RESPONSE_THRESHOLD), axis=1)
        has_decision = deciding.any(axis=1)
        last = deciding.shape[1] - 1 - np.argmax(deciding[:, ::-1], axis=1)  # last step of the decision period
        rows = np.arange(y.shape[0])
        released = out[rows, last, 0] < RESPONSE_THRESHOLD
        angle = ring_angle(out[rows, last, 1:], self.preferred)
        target = ring_angle(y[rows, last, 1:], self.preferred)
        on_target = np.abs(wrapped_distance(angle, target)) < ANGLE_TOLERANCE
        return held & has_decision & released & on_target
