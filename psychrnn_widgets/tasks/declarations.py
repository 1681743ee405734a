"""Task parameters shared by several tasks, and durations that are fixed or drawn per trial.

Each task declares its parameters with :class:`~psychrnn_widgets.params.Parameter`
(through :class:`~psychrnn_widgets.tasks.task.TaskParameter`); the declarations used by
more than one task live here, so that a parameter means the same thing everywhere.

A *duration* parameter is either a number of ms (fixed) or a pair ``(min, max)`` of ms
(drawn uniformly per trial): :func:`duration_parameter` declares one and
:func:`draw_duration` samples it.
"""
from __future__ import annotations

import numbers

import numpy as np

from psychrnn_widgets.params import Parameter

__all__ = [
    "HI", "LO", "STIM_NOISE", "TASK_SEED", "check_duration", "duration_parameter", "draw_duration", "probability_parameter",
    "white_noise_std", "values_parameter",
]

TASK_SEED = Parameter("seed", "seed", None, help="makes the task's batches reproducible (None: drawn from "
                      "NumPy's global generator, so np.random.seed(...) makes them repeatable)",
                      label="Task seed")

HI = Parameter("hi", "float", 1.0, help="target value of the correct output during the response",
               label="Target (correct)", typical=(0.5, 1.0), group="targets")
LO = Parameter("lo", "float", 0.2, help="target value of the other outputs during the response",
               label="Target (other)", typical=(0.0, 0.5), group="targets")
STIM_NOISE = Parameter("stim_noise", "float", 0.1, help="strength of the Gaussian noise added to the inputs "
                       "at every step", label="Input noise", low=0.0, typical=(0.0, 0.5), group="inputs")


def white_noise_std(dt, tau, stim_noise):
    """Per-step std of input noise of strength ``stim_noise``: ``sqrt(2 tau / dt) * stim_noise``.

    White noise in continuous time, sampled every ``dt`` ms: through the units' leak
    (``alpha = dt / tau``) the network integrates the same noise whatever ``dt``
    (the convention of Yang et al. 2019, Nat. Neurosci. 22:297).  Scalars or arrays.
    """
    return np.sqrt(2.0 * tau / dt) * stim_noise


# ----------------------------------------------------------------------------- durations
def check_duration(value, parameter, where):
    """The ``check`` of a duration :class:`~psychrnn_widgets.params.Parameter` (see :func:`duration_parameter`)."""
    positive = parameter.low_open  # a period that must last (a stimulus), not one that may be skipped
    bound = "> 0" if positive else ">= 0"
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if np.isfinite(value) and (value > 0 if positive else value >= 0):
            return float(value)
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(
            isinstance(v, numbers.Real) and not isinstance(v, bool) and np.isfinite(v) for v in value):
        lo, hi = float(value[0]), float(value[1])
        if (lo > 0 if positive else lo >= 0) and lo <= hi:
            return (lo, hi)
    parameter.fail(value, where, f"must be a duration in ms {bound}, or (min, max) with min {bound} and "
                   "min <= max (drawn uniformly per trial)")


def duration_parameter(name, default, help, label="", group="timing", positive=False):
    """Declare a duration (ms): a number (fixed) or ``(min, max)`` (uniform per trial).

    ``positive=True`` refuses 0 (for periods that carry the stimulus: without them the
    trial shows nothing to respond to).
    """
    return Parameter(name, "object", default, help=help + " (ms; a number, or (min, max) drawn per trial)",
                     label=label or name.replace("_", " ").capitalize(), unit="ms", check=check_duration,
                     low=0.0, low_open=positive, group=group)


def draw_duration(spec, rng, n):
    """``n`` durations (ms, float64) for a duration parameter's value ``spec``."""
    if isinstance(spec, tuple):
        lo, hi = spec
        return rng.uniform(lo, hi, size=n)
    return np.full(n, float(spec))


def longest(spec):
    """The largest duration ``spec`` can give (ms)."""
    return float(spec[1]) if isinstance(spec, tuple) else float(spec)


# ----------------------------------------------------------------------------- other kinds
def _check_values(value, parameter, where):
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = (value,)
    if isinstance(value, (str, bytes, dict)):
        parameter.fail(value, where, "must be a number or a non-empty sequence of numbers")
    try:
        values = tuple(float(v) for v in value if not isinstance(v, bool))
        if len(values) != len(tuple(value)):
            raise TypeError
    except (TypeError, ValueError):
        parameter.fail(value, where, "must be a number or a non-empty sequence of numbers")
    if not values or not all(np.isfinite(values)):
        parameter.fail(value, where, "must be a non-empty sequence of finite numbers")
    low, high = parameter.low, parameter.high
    if low is not None and (min(values) < low or (parameter.low_open and min(values) == low)):
        parameter.fail(value, where, f"must hold numbers {'>' if parameter.low_open else '>='} {low:g}"
                       + (f" and <= {high:g}" if high is not None else ""))
    if high is not None and max(values) > high:
        parameter.fail(value, where, f"must hold numbers <= {high:g}"
                       + (f" (and {'>' if parameter.low_open else '>='} {low:g})" if low is not None else ""))
    return values


def values_parameter(name, default, help, label="", unit="", low=None, low_open=False, high=None,
                     group="conditions"):
    """Declare a set of values to draw from per trial (a number or a sequence; stored as a tuple of floats)."""
    return Parameter(name, "object", tuple(default), help=help, label=label or name.replace("_", " ").capitalize(),
                     unit=unit, low=low, low_open=low_open, high=high, check=_check_values, group=group)


def probability_parameter(name, default, help, label=""):
    """Declare a probability in [0, 1]."""
    return Parameter(name, "float", default, help=help, label=label or name.replace("_", " ").capitalize(),
                     low=0.0, high=1.0, group="conditions")
