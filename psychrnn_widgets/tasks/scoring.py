"""Reading a choice out of network outputs, and scoring it (NumPy only).

Every function takes arrays shaped like a batch: ``(B, N_steps, N_out)`` for outputs,
targets and masks, and returns one value per trial (B,).
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "RESPONSE_THRESHOLD", "argmax_accuracy", "argmax_choice", "first_crossing", "held_then_chose", "ring_angle",
    "wrapped_distance", "gaussian_tuning",
]

_TWO_PI = 2 * np.pi
#: an output above this is a response (a broken fixation when it comes before the go cue)
RESPONSE_THRESHOLD = 0.5


def argmax_choice(output, output_mask):
    """The chosen channel of each trial: the largest time-mean of the masked output (PsychRNN's rule).

    Args:
        output: (B, N_steps, N_out).
        output_mask: (B, N_steps, N_out).

    Returns:
        int array (B,).
    """
    output, output_mask = np.asarray(output), np.asarray(output_mask)
    return np.argmax(np.mean(output * output_mask, axis=1), axis=-1)


def argmax_accuracy(correct_output, test_output, output_mask):
    """Fraction of trials whose :func:`argmax_choice` matches the target's (PsychRNN's accuracy).

    Args:
        correct_output: (B, N_steps, N_out) targets ``y``.
        test_output: (B, N_steps, N_out) network outputs.
        output_mask: (B, N_steps, N_out) mask (bool or float).

    Returns:
        float in [0, 1].
    """
    return float(np.mean(argmax_choice(test_output, output_mask) == argmax_choice(correct_output, output_mask)))


def held_then_chose(correct_output, test_output, output_mask, threshold=RESPONSE_THRESHOLD):
    """Score "hold still, then choose" trials: fixation held at every step, then the right response.

    The convention of tasks with a go cue and choice outputs (no fixation output): at a
    masked step whose target is 0 on every channel the network must *hold* (every output
    at or below ``threshold``); the steps whose target is non-zero are the *response
    window*, where the chosen channel (largest time-mean output over the window) must be
    the target's and its mean must exceed ``threshold`` (a response was made).  One step
    above the threshold before the window breaks fixation and fails the trial, as an
    experimenter aborts a trial when the eyes leave the fixation point.

    Args:
        correct_output: (B, N_steps, N_out) targets ``y``.
        test_output: (B, N_steps, N_out) network outputs.
        output_mask: (B, N_steps, N_out) mask; steps masked on no channel are not scored.
        threshold: float.

    Returns:
        bool array (B,).  A trial without a response window is not correct.
    """
    y = np.asarray(correct_output, dtype=np.float64)
    out = np.asarray(test_output, dtype=np.float64)
    counted = (np.asarray(output_mask) > 0).any(axis=-1)              # (B, T)
    responding = counted & (y != 0).any(axis=-1)                      # the response window
    holding = counted & ~responding
    held = ~((out > threshold) & holding[..., None]).any(axis=(1, 2))
    n_window = responding.sum(axis=1)
    window = responding[..., None]
    mean_out = (out * window).sum(axis=1) / np.maximum(n_window, 1)[:, None]
    mean_target = (y * window).sum(axis=1) / np.maximum(n_window, 1)[:, None]
    chosen = np.argmax(mean_out, axis=-1)
    responded = np.take_along_axis(mean_out, chosen[:, None], axis=1)[:, 0] > threshold
    return held & responded & (chosen == np.argmax(mean_target, axis=-1)) & (n_window > 0)


def first_crossing(signal, where, threshold=RESPONSE_THRESHOLD):
    """Index of the first step where ``signal > threshold`` among the steps ``where`` is true, else -1.

    Args:
        signal: (B, N_steps).
        where: (B, N_steps) bool, the steps that count.
        threshold: float.

    Returns:
        int array (B,).
    """
    above = (np.asarray(signal) > threshold) & np.asarray(where, dtype=bool)
    return np.where(above.any(axis=1), np.argmax(above, axis=1), -1)


def wrapped_distance(a, b):
    """``a - b`` wrapped into [-pi, pi] (radians; arrays broadcast)."""
    d = np.asarray(a, dtype=np.float64) - b
    return np.where(d > np.pi, d - _TWO_PI, np.where(d < -np.pi, d + _TWO_PI, d))


def gaussian_tuning(angles, preferred, sigma=1.0, norm=1.0):
    """Ring-tuned activity ``exp(-d**2 / (2 sigma**2)) / norm`` of channels preferring ``preferred``.

    ``d`` is the wrapped distance between each channel's preferred angle and the
    stimulus angle (radians).

    Args:
        angles: (B,) stimulus angles.
        preferred: (C,) preferred angles.
        sigma, norm: tuning width (radians) and divisor.

    Returns:
        float64 (B, C).
    """
    angles = np.asarray(angles, dtype=np.float64).reshape(-1, 1)
    d = wrapped_distance(np.asarray(preferred, dtype=np.float64), angles)
    return np.exp(-(d * d) / (2 * sigma * sigma)) / norm


def ring_angle(activity, preferred):
    """Population-vector angle (radians in [0, 2pi)) of ring activity (B, C); negative activity counts as 0."""
    activity = np.maximum(np.asarray(activity, dtype=np.float64), 0.0)
    preferred = np.asarray(preferred, dtype=np.float64)
    angle = np.arctan2(activity @ np.sin(preferred), activity @ np.cos(preferred))
    return np.mod(angle, _TWO_PI)
