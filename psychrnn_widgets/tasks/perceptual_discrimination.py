"""Two-alternative forced-choice perceptual discrimination (random-dot-motion style).

Loosely after Britten et al. (1992), J. Neurosci. 12:4745, with PsychRNN's trial
structure so that networks and results are comparable.
"""
from __future__ import annotations

import numbers

import numpy as np

from psychrnn_widgets.errors import ParameterError
from psychrnn_widgets.tasks.task import (
    Task,
    TaskParameter,
    argmax_accuracy,
    check_real,
    spread_channels,
)

__all__ = ["PerceptualDiscrimination", "psychrnn_noise_std"]

#: coherences drawn from when ``coherence`` is None (as PsychRNN)
DEFAULT_COHERENCES = (0.1, 0.3, 0.5, 0.7)


def psychrnn_noise_std(dt, stim_noise):
    """Standard deviation of PsychRNN's per-step input noise, ``sqrt(2*0.01*sqrt(10*dt))*stim_noise``.

    Written as PsychRNN computes it, ``sqrt(2 * .01 * sqrt(10) * sqrt(dt) * stim_noise**2)``
    (0.0447 for ``dt = 10``, ``stim_noise = 0.1``).  Works on scalars and arrays.
    """
    return np.sqrt(2 * 0.01 * np.sqrt(10) * np.sqrt(dt) * stim_noise * stim_noise)


def _check_coherence(name, value):
    if value is None:
        return None
    if isinstance(value, (numbers.Real, np.number)) and not isinstance(value, bool):
        return float(check_real(name, value, minimum=0))
    if isinstance(value, (str, bytes, dict)):
        raise ParameterError(f"{name} must be None, a number or a sequence of numbers, got {value!r}")
    try:
        values = tuple(value)
    except TypeError:
        raise ParameterError(
            f"{name} must be None, a number or a sequence of numbers, got {value!r}"
        ) from None
    if not values:
        raise ParameterError(f"{name} must not be an empty sequence")
    return tuple(float(check_real(f"{name}[{i}]", v, minimum=0)) for i, v in enumerate(values))


def _check_direction(name, value):
    if value is None:
        return None
    if isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, bool):
        if int(value) in (0, 1):
            return int(value)
    raise ParameterError(f"{name} must be 0, 1 or None (random), got {value!r}")


class PerceptualDiscrimination(Task):
    """Which of two noisy input channels has the larger mean? (2 inputs, 2 outputs)

    Trial structure (times in ms, ``U`` uniform on [0, 1), drawn per trial):

    * stimulus onset ``U * T/2``; duration ``U * T/4 + T/8``;
    * while ``onset < t < onset + duration`` (strict), the chosen channel ``direction``
      receives ``1 + coherence`` and the other ``1``;
    * Gaussian input noise on every step and channel, std ``psychrnn_noise_std(dt,
      stim_noise)`` (0.0447 at ``dt = 10``);
    * target ``hi = 1.0`` on the chosen output and ``lo = 0.2`` on the other for
      ``t > onset + duration + 20``, 0 before;
    * mask 0 while ``t < onset + duration``, 1 afterwards.

    Args:
        dt, tau, T, N_batch: see :class:`~psychrnn_widgets.tasks.task.Task`.
        coherence (None | float | sequence of float): None draws each trial's coherence
            from {0.1, 0.3, 0.5, 0.7}; a number fixes it; a sequence is drawn from
            uniformly.  Must be >= 0.
        direction (None | 0 | 1): which channel is stronger; None draws 0 or 1 per trial.
            Unlike PsychRNN 1.0, which ignores a given direction, it is honoured here.
        seed (None | int | numpy.random.Generator): makes batches reproducible.

    Attributes:
        lo, hi (float): target values of the unchosen and chosen output (0.2, 1.0).
        stim_noise (float): input-noise scale (0.1).

    Trial-param keys: ``coherence, direction, stim_noise, onset_time, stim_duration``.
    """

    coherence = TaskParameter(_check_coherence, "Fixed coherence, a set to draw from, or None.")
    direction = TaskParameter(_check_direction, "Fixed stronger channel (0/1) or None.")

    _param_keys = ("coherence", "direction", "stim_noise", "onset_time", "stim_duration")

    #: target delay after stimulus offset (ms)
    response_delay = 20.0

    def __init__(self, dt, tau, T, N_batch, coherence=None, direction=None, seed=None):
        super().__init__(2, 2, dt, tau, T, N_batch, seed=seed)
        self.coherence = coherence
        self.direction = direction
        self.lo = 0.2
        self.hi = 1.0
        self.stim_noise = 0.1

    # ------------------------------------------------------------ PsychRNN-style API
    def trial_function(self, time, params):
        """Input, target and mask at ``time`` ms for one trial (per-trial fallback)."""
        x_t = self.noise_input(psychrnn_noise_std(self.dt, params["stim_noise"]))
        y_t = np.zeros(self.N_out)
        mask_t = np.ones(self.N_out)
        onset = params["onset_time"]
        offset = onset + params["stim_duration"]
        chosen = int(params["direction"])
        if onset < time < offset:
            x_t[chosen] += 1 + params["coherence"]
            x_t[1 - chosen] += 1
        if time > offset + self.response_delay:
            y_t[chosen] = self.hi
            y_t[1 - chosen] = self.lo
        if time < offset:
            mask_t[:] = 0
        return x_t, y_t, mask_t

    def accuracy_function(self, correct_output, test_output, output_mask):
        """Fraction of trials whose larger time-mean masked output is the target's."""
        return argmax_accuracy(correct_output, test_output, output_mask)

    # ------------------------------------------------------------ vectorised path
    def _sample_columns(self, n, batch):
        rng = self.rng
        coh = self.coherence
        if coh is None:
            coherence = np.asarray(DEFAULT_COHERENCES)[rng.integers(len(DEFAULT_COHERENCES), size=n)]
        elif isinstance(coh, tuple):
            coherence = np.asarray(coh)[rng.integers(len(coh), size=n)]
        else:
            coherence = np.full(n, coh)
        if self.direction is None:
            direction = rng.integers(2, size=n)
        else:
            direction = np.full(n, self.direction)
        T = self.T
        onset = rng.random(n) * T / 2.0
        duration = rng.random(n) * T / 4.0 + T / 8.0
        return {
            "coherence": coherence,
            "direction": direction,
            "stim_noise": np.full(n, float(self.stim_noise)),
            "onset_time": onset,
            "stim_duration": duration,
        }

    def _render_columns(self, columns, noise):
        coherence = np.asarray(columns["coherence"], dtype=np.float64)
        direction = np.asarray(columns["direction"]).astype(np.intp)
        if np.any((direction != 0) & (direction != 1)):
            raise ParameterError("trial param 'direction' must be 0 or 1")
        onset = np.asarray(columns["onset_time"], dtype=np.float64)[:, None]
        offset = onset + np.asarray(columns["stim_duration"], dtype=np.float64)[:, None]
        n = coherence.shape[0]
        t = self.times  # (N_steps,) in ms
        rows = np.arange(n)

        # per-trial channel levels during the stimulus and during the response
        amp = np.ones((n, 2), dtype=np.float32)
        amp[rows, direction] = 1 + coherence
        level = np.full((n, 2), self.lo, dtype=np.float32)
        level[rows, direction] = self.hi

        stim_on = (onset < t) & (t < offset)  # (n, N_steps)
        if noise:
            std = psychrnn_noise_std(self.dt, np.asarray(columns["stim_noise"], dtype=np.float64))
            x = self.rng.standard_normal((n, t.size, 2), dtype=np.float32)
            x *= std.astype(np.float32)[:, None, None]
            spread_channels(stim_on, amp, out=x)
        else:
            x = spread_channels(stim_on, amp)
        y = spread_channels(t > offset + self.response_delay, level)
        mask = spread_channels(t >= offset, np.ones((n, 2), dtype=np.float32))
        return x, y, mask

    def __repr__(self):
        return (
            f"PerceptualDiscrimination(dt={self.dt!r}, tau={self.tau!r}, T={self.T!r}, "
            f"N_batch={self.N_batch!r}, coherence={self.coherence!r}, "
            f"direction={self.direction!r})"
        )
