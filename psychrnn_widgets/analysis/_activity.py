"""What a comparison compares: activity arrays, given directly or made by running networks (NumPy only).

Every comparison (:mod:`~psychrnn_widgets.analysis.similarity`,
:mod:`~psychrnn_widgets.analysis.dynamics`) takes two *sides*, each either

* an activity array ``(trials, time, units)`` -- used as it is (a recording, states saved
  earlier, another package's network); or
* a network ``source`` (anything :func:`~psychrnn_widgets.analysis.as_simulator` takes:
  a model, a weights dict, a weight file, a simulator), run through the NumPy simulator
  with recurrent noise off on the same trials as the other side: the inputs ``x`` when
  given, else ``n_trials`` trials drawn from a seeded copy of ``task`` *without input
  noise* (the task itself is untouched).

``signal`` chooses what a network contributes: ``'rates'`` (default) ``f(state)``, what
its units transmit and what a recorded neuron's firing rate corresponds to; or
``'states'``, the pre-activation state the dynamics (and fixed points) live in.  With a
ReLU network the two differ below threshold: rates hide how far below zero a silent
unit is.  Arrays are taken as given, whatever ``signal`` says.
"""
import copy
from collections.abc import Mapping
from os import PathLike

import numpy as np

from ._inputs import array, declared, fail
from ._source import as_simulator, simulate

__all__ = ["is_activity", "side_activity", "paired_activity", "DEFAULT_TRIALS"]

#: trials drawn from a task when ``n_trials`` is None
DEFAULT_TRIALS = 100


def is_activity(value):
    """True when ``value`` is an activity array (not a network source)."""
    if isinstance(value, (str, bytes, PathLike, Mapping)) or hasattr(value, "get_weights"):
        return False
    if hasattr(value, "run_trials") or hasattr(value, "keys"):
        return False
    return isinstance(value, (np.ndarray, list, tuple)) or hasattr(value, "__array__")


def task_inputs(task, n_trials, seed, where):
    """``(x (B, T, N_in) float64, trial_params)`` of ``n_trials`` noise-free trials of a seeded copy of ``task``."""
    if not all(callable(getattr(task, name, None)) for name in ("generate_batch", "set_seed")):
        fail(where, "task", f"must be a Task (with generate_batch), got {type(task).__name__}", task, "a Task")
    n_trials, seed = declared(where, n_trials=n_trials, seed=seed)
    probe = copy.deepcopy(task)
    probe.set_seed(seed)
    x, _, _, params = probe.generate_batch(N_batch=n_trials or DEFAULT_TRIALS, noise=False)
    return np.asarray(x, np.float64), params


def side_activity(side, name, where, x, signal):
    """The activity ``(B, T, N)`` float64 of one side: an array checked, or a source run on ``x``."""
    if is_activity(side):
        return array(side, name, where, shape=("trials", "time", "units"))
    if x is None:
        fail(where, "task", f"is needed to run the network {name} on trials (or give x, the inputs, or an "
             "activity array (trials, time, units))", None, "a Task")
    try:
        sim = as_simulator(side)
    except Exception as error:  # noqa: BLE001 - say which side it was
        fail(where, name, f"must be an activity array (trials, time, units) or a network; {error}", side,
             "an array (trials, time, units), a model, a weights dict, a weight file or a simulator")
    if x.shape[2] != sim.N_in:
        fail(where, name, f"has {sim.N_in} inputs, the trials have {x.shape[2]}", side,
             f"a network with {x.shape[2]} inputs")
    _, states, rates = simulate(sim, x, rates=signal == "rates")
    return rates if signal == "rates" else states


def paired_activity(a, b, where, task=None, x=None, signal="rates", n_trials=None, seed=0):
    """Both sides' activity on the same trials: ``(A (B, T, N_a), B (B, T, N_b))`` float64.

    See the module docstring.  Raises ``ParameterError`` naming the argument: a side that
    is neither an array nor a network, sources without ``task`` or ``x``, arrays whose
    trial or time counts differ, NaN/inf, empty arrays.
    """
    signal = declared(where, signal=signal)
    if x is not None:
        x = array(x, "x", where, shape=("trials", "time", "N_in"))
    elif task is not None and not (is_activity(a) and is_activity(b)):
        x, _ = task_inputs(task, n_trials, seed, where)
    first = side_activity(a, "a", where, x, signal)
    second = side_activity(b, "b", where, x, signal)
    if first.shape[:2] != second.shape[:2]:
        fail(where, "b", f"must have the same trials and time steps as a: a has shape {first.shape}, b "
             f"{second.shape}", b, f"an array of shape ({first.shape[0]}, {first.shape[1]}, any)")
    return first, second
