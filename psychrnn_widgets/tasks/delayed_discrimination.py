"""Delayed (vibrotactile) frequency discrimination, after Romo et al. (1999), Nature 399:470.

Two stimuli separated by a delay; the network must report whether the first frequency
was higher or lower than the second.  PsychRNN's trial structure.
"""
from __future__ import annotations

import numpy as np

from psychrnn_widgets.errors import ParameterError
from psychrnn_widgets.tasks.perceptual_discrimination import psychrnn_noise_std
from psychrnn_widgets.tasks.task import (
    Task,
    TaskParameter,
    argmax_accuracy,
    check_real,
    spread_channels,
)

__all__ = ["DelayedDiscrimination"]

_F_MIN, _F_MAX = 10, 34  # frequency range mapped onto input levels 0.4 .. 1.2


def _optional_duration(name, value):
    return check_real(name, value, minimum=0, allow_none=True)


def scale_positive(f):
    """Map a frequency onto 0.4 .. 1.2, increasing with ``f`` (input channel 0)."""
    return 0.4 + 0.8 * (f - _F_MIN) / (_F_MAX - _F_MIN)


def scale_negative(f):
    """Map a frequency onto 0.4 .. 1.2, decreasing with ``f`` (input channel 1)."""
    return 0.4 + 0.8 * (_F_MAX - f) / (_F_MAX - _F_MIN)


class DelayedDiscrimination(Task):
    """Was the first vibration frequency higher ('>') or lower ('<') than the second?

    2 inputs, 2 outputs.  Epochs of each trial (ms), each drawn uniformly unless fixed:

    ==================  ==================  ==============================
    epoch               random duration     fixed by
    ==================  ==================  ==============================
    fore period         ``U * T/8``         ``onset_time``
    stimulus 1          ``U * T/4``         ``stim_duration_1``
    delay               ``U * T/4``         ``delay_duration``
    stimulus 2          ``U * T/4``         ``stim_duration_2``
    decision            ``U * T/8``         ``decision_duration``
    ==================  ==================  ==============================

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

    Trial-param keys: ``stimulus_1, delay, stimulus_2, decision, end`` (epoch start
    times, ms), ``stim_noise, f1, f2, choice`` (0 for '>', 1 for '<').
    """

    onset_time = TaskParameter(_optional_duration, "Fixed fore period (ms) or None.")
    stim_duration_1 = TaskParameter(_optional_duration, "Fixed first-stimulus duration (ms) or None.")
    delay_duration = TaskParameter(_optional_duration, "Fixed delay (ms) or None.")
    stim_duration_2 = TaskParameter(_optional_duration, "Fixed second-stimulus duration (ms) or None.")
    decision_duration = TaskParameter(_optional_duration, "Fixed decision window (ms) or None.")

    _param_keys = ("stimulus_1", "delay", "stimulus_2", "decision", "end",
                   "stim_noise", "f1", "f2", "choice")

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

    # ------------------------------------------------------------ PsychRNN-style API
    def trial_function(self, time, params):
        """Input, target and mask at ``time`` ms for one trial (per-trial fallback)."""
        x_t = self.noise_input(psychrnn_noise_std(self.dt, params["stim_noise"]))
        y_t = np.zeros(self.N_out)
        mask_t = np.zeros(self.N_out)
        if params["stimulus_1"] <= time < params["delay"]:
            x_t[0] += scale_positive(params["f1"])
            x_t[1] += scale_negative(params["f1"])
        if params["stimulus_2"] <= time < params["decision"]:
            x_t[0] += scale_positive(params["f2"])
            x_t[1] += scale_negative(params["f2"])
        if params["decision"] <= time < params["end"]:
            choice = int(params["choice"])
            y_t[choice] = self.hi
            y_t[1 - choice] = self.lo
            mask_t[:] = 1
        return x_t, y_t, mask_t

    def accuracy_function(self, correct_output, test_output, output_mask):
        """Fraction of trials whose larger time-mean masked output is the target's."""
        return argmax_accuracy(correct_output, test_output, output_mask)

    # ------------------------------------------------------------ vectorised path
    def _duration(self, fixed, scale, n):
        if fixed is not None:
            return np.full(n, float(fixed))
        return self.rng.random(n) * scale

    def _sample_columns(self, n, batch):
        T = self.T
        onset = self._duration(self.onset_time, T / 8.0, n)
        stim_1 = self._duration(self.stim_duration_1, T / 4.0, n)
        delay = self._duration(self.delay_duration, T / 4.0, n)
        stim_2 = self._duration(self.stim_duration_2, T / 4.0, n)
        decision = self._duration(self.decision_duration, T / 8.0, n)

        pairs = np.asarray(self.frequency_pairs)
        if pairs.ndim != 2 or pairs.shape[1] != 2 or len(pairs) == 0:
            raise ParameterError(
                f"frequency_pairs must be a non-empty list of (f_high, f_low) pairs, "
                f"got {self.frequency_pairs!r}"
            )
        options = list(self.decision_options)
        if not options or any(o not in (">", "<") for o in options):
            raise ParameterError(
                f"decision_options must be a non-empty list of '>' and '<', got {options!r}"
            )
        pair = pairs[self.rng.integers(len(pairs), size=n)]
        greater = np.asarray([o == ">" for o in options])[self.rng.integers(len(options), size=n)]

        start_delay = onset + stim_1
        start_stim_2 = start_delay + delay
        start_decision = start_stim_2 + stim_2
        return {
            "stimulus_1": onset,
            "delay": start_delay,
            "stimulus_2": start_stim_2,
            "decision": start_decision,
            "end": start_decision + decision,
            "stim_noise": np.full(n, float(self.stim_noise)),
            "f1": np.where(greater, pair[:, 0], pair[:, 1]),
            "f2": np.where(greater, pair[:, 1], pair[:, 0]),
            "choice": np.where(greater, 0, 1),
        }

    def _render_columns(self, columns, noise):
        col = {k: np.asarray(columns[k]) for k in self._param_keys}
        choice = col["choice"].astype(np.intp)
        if np.any((choice != 0) & (choice != 1)):
            raise ParameterError("trial param 'choice' must be 0 or 1")
        n = choice.shape[0]
        t = self.times  # (N_steps,) in ms

        def window(start, stop):
            return (col[start][:, None] <= t) & (t < col[stop][:, None])

        f1, f2 = col["f1"].astype(np.float64), col["f2"].astype(np.float64)
        level_1 = np.stack([scale_positive(f1), scale_negative(f1)], axis=1)
        level_2 = np.stack([scale_positive(f2), scale_negative(f2)], axis=1)
        if noise:
            std = psychrnn_noise_std(self.dt, col["stim_noise"].astype(np.float64))
            x = self.rng.standard_normal((n, t.size, 2), dtype=np.float32)
            x *= std.astype(np.float32)[:, None, None]
            spread_channels(window("stimulus_1", "delay"), level_1, out=x)
        else:
            x = spread_channels(window("stimulus_1", "delay"), level_1)
        # the stimulus windows are disjoint for sampled trials; if given params overlap
        # them, the levels add up, as in trial_function
        spread_channels(window("stimulus_2", "decision"), level_2, out=x)

        target = np.full((n, 2), self.lo, dtype=np.float32)
        target[np.arange(n), choice] = self.hi
        decide = window("decision", "end")
        y = spread_channels(decide, target)
        mask = spread_channels(decide, np.ones((n, 2), dtype=np.float32))
        return x, y, mask
