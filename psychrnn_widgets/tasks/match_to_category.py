"""Match-to-category on a ring of direction-tuned inputs.

Loosely after Freedman & Assad (2006), Nature 443:85, with PsychRNN's trial structure.
"""
from __future__ import annotations

import warnings

import numpy as np

from psychrnn_widgets.errors import ParameterError
from psychrnn_widgets.tasks.task import Task, argmax_accuracy, spread_channels

__all__ = ["MatchToCategory"]

_TWO_PI = 2 * np.pi


class MatchToCategory(Task):
    """Report which of ``N_out`` equal slices of the circle a stimulus direction falls in.

    Each trial draws an angle ``U(0, 2*pi)``; its category is
    ``int(angle / (2*pi / N_out))`` (slice 0 starts at angle 0).  Input channel ``i``
    prefers the angle ``linspace(0, 2*pi, N_in)[i]`` and receives the standard normal
    density of the wrapped angular distance (in radians, within [-pi, pi]) between its
    preferred angle and the stimulus.  Like PsychRNN, the ring keeps ``linspace``'s
    endpoint, so the first and last channels both prefer angle 0 (= 2*pi) and the ring
    is not quite evenly spaced; this is kept so that networks remain comparable.

    Timing (ms): stimulus on during ``[onset_time, onset_time + input_dur)`` = [200,
    1200); response window ``[1200, 2000)`` with target 1 on the category's output
    channel (0 on the others) and mask 1; mask 0 elsewhere.  Input noise: independent
    Gaussian on every step and channel with std ``stim_noise / (2 * dt)`` (0.005 at
    ``dt = 10``), as PsychRNN.  ``T`` should be at least 2000 ms.

    Args:
        dt, tau, T, N_batch: see :class:`~psychrnn_widgets.tasks.task.Task`.
        N_in (int): input channels around the ring (default 16).
        N_out (int): categories / output channels (default 2).
        seed (None | int | numpy.random.Generator): makes batches reproducible.

    Attributes:
        onset_time, input_dur, output_dur (float): timing above (200, 1000, 800).
        stim_noise (float): input-noise scale (0.1).

    Trial-param keys: ``angle, category, onset_time, input_dur, output_dur, stim_noise``.
    """

    _param_keys = ("angle", "category", "onset_time", "input_dur", "output_dur", "stim_noise")

    def __init__(self, dt, tau, T, N_batch, N_in=16, N_out=2, seed=None):
        super().__init__(N_in, N_out, dt, tau, T, N_batch, seed=seed)
        self.onset_time = 200.0
        self.input_dur = 1000.0
        self.output_dur = 800.0
        self.stim_noise = 0.1
        end = self.onset_time + self.input_dur + self.output_dur
        if self.T < end:
            warnings.warn(
                f"MatchToCategory: T={self.T} ms is shorter than the end of the response "
                f"window ({end:g} ms); trials will be cut short",
                UserWarning,
                stacklevel=2,
            )

    # ------------------------------------------------------------ helpers
    def bump(self, angles):
        """Ring input for stimulus ``angles`` (radians): array (len(angles), N_in), float64."""
        angles = np.asarray(angles, dtype=np.float64).reshape(-1, 1)
        preferred = np.linspace(0, _TWO_PI, self.N_in)  # endpoint kept, as PsychRNN
        d = preferred - angles
        d = np.where(d > np.pi, d - _TWO_PI, np.where(d < -np.pi, d + _TWO_PI, d))
        return np.exp(-(d * d) / 2.0) / np.sqrt(_TWO_PI)

    def _noise_std(self, stim_noise):
        return (1.0 / (2 * self.dt)) * stim_noise

    # ------------------------------------------------------------ PsychRNN-style API
    def trial_function(self, time, params):
        """Input, target and mask at ``time`` ms for one trial (per-trial fallback)."""
        x_t = self.noise_input(self._noise_std(params["stim_noise"]))
        y_t = np.zeros(self.N_out)
        mask_t = np.zeros(self.N_out)
        stim_end = params["onset_time"] + params["input_dur"]
        if params["onset_time"] <= time < stim_end:
            x_t += self.bump(params["angle"])[0]
        if stim_end <= time < stim_end + params["output_dur"]:
            y_t[int(params["category"])] = 1.0
            mask_t[:] = 1
        return x_t, y_t, mask_t

    def accuracy_function(self, correct_output, test_output, output_mask):
        """Fraction of trials whose larger time-mean masked output is the target's."""
        return argmax_accuracy(correct_output, test_output, output_mask)

    # ------------------------------------------------------------ vectorised path
    def _sample_columns(self, n, batch):
        angle = _TWO_PI * self.rng.random(n)
        # min() guards the (rounding-only) case angle / width == N_out
        category = np.minimum((angle / (_TWO_PI / self.N_out)).astype(np.int64), self.N_out - 1)
        return {
            "angle": angle,
            "category": category,
            "onset_time": np.full(n, float(self.onset_time)),
            "input_dur": np.full(n, float(self.input_dur)),
            "output_dur": np.full(n, float(self.output_dur)),
            "stim_noise": np.full(n, float(self.stim_noise)),
        }

    def _render_columns(self, columns, noise):
        col = {k: np.asarray(columns[k]) for k in self._param_keys}
        category = col["category"].astype(np.intp)
        if np.any((category < 0) | (category >= self.N_out)):
            raise ParameterError(f"trial param 'category' must be in 0 .. {self.N_out - 1}")
        n = category.shape[0]
        t = self.times  # (N_steps,) in ms
        onset = col["onset_time"].astype(np.float64)[:, None]
        stim_end = onset + col["input_dur"].astype(np.float64)[:, None]
        resp_end = stim_end + col["output_dur"].astype(np.float64)[:, None]

        stim_on = (onset <= t) & (t < stim_end)
        bumps = self.bump(col["angle"])
        if noise:
            std = self._noise_std(col["stim_noise"].astype(np.float64))
            x = self.rng.standard_normal((n, t.size, self.N_in), dtype=np.float32)
            x *= std.astype(np.float32)[:, None, None]
            spread_channels(stim_on, bumps, out=x)
        else:
            x = spread_channels(stim_on, bumps)

        respond = (stim_end <= t) & (t < resp_end)
        one_hot = np.zeros((n, self.N_out), dtype=np.float32)
        one_hot[np.arange(n), category] = 1.0
        y = spread_channels(respond, one_hot)
        mask = spread_channels(respond, np.ones((n, self.N_out), dtype=np.float32))
        return x, y, mask
