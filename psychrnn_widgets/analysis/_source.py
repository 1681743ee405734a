"""Where an analysis gets its network from: a model, a weights dict, a weight file or a simulator.

Every analysis function that runs trials takes ``source`` — anything
:func:`as_simulator` accepts — and runs it through the NumPy
:class:`~psychrnn_widgets.simulation.basic.BasicSimulator` with recurrent noise off, so
it works on weight files without TensorFlow.  Only the fixed-point finder needs the
TensorFlow model itself (:mod:`psychrnn_widgets.analysis.fixed_points`).
"""
import contextlib
import contextvars
from collections.abc import Mapping
from os import PathLike

import numpy as np

from ..errors import ParameterError
from ..models.constraints import n_excitatory
from ..params import NETWORK_PARAMS
from ..simulation.basic import BasicSimulator
from ._inputs import array, declared, fail

__all__ = ["as_simulator", "network_weights", "excitatory_mask", "simulate", "checkpoints"]

_checkpoint = contextvars.ContextVar("psychrnn_widgets_analysis_checkpoint", default=None)


@contextlib.contextmanager
def checkpoints(check):
    """Within this block (this thread), every :func:`simulate` calls ``check()`` every few time steps.

    A caller running a long analysis in the background raises from ``check`` to abandon
    it (the dashboard does when training starts again).  ``check``: a function of no
    arguments.
    """
    if not callable(check):
        fail("checkpoints", "check", f"must be a function of no arguments, got {type(check).__name__}", check,
             "a function")
    token = _checkpoint.set(check)
    try:
        yield
    finally:
        _checkpoint.reset(token)


def checkpoint():
    """Call the ``check`` of the enclosing :func:`checkpoints` block, if any (long loops of an analysis)."""
    check = _checkpoint.get()
    if check is not None:
        check()


def as_simulator(source, params=None):
    """A :class:`BasicSimulator` for ``source`` (float64, so analyses are not float32-limited).

    Args:
        source: a model with ``get_weights()`` (``Basic``), a weights dict as
            ``get_weights()`` or :func:`~psychrnn_widgets.io.weight_files.load_weights`
            returns, a path to an ``.npz`` weight file, or a ``BasicSimulator`` (used as is).
        params: ``{'dt': ..., 'tau': ...}`` (ms) or ``{'alpha': ...}`` for weights that do
            not carry their time constants (PsychRNN files); ignored for a simulator.

    Raises:
        ParameterError: for anything else, or for a gated (LSTM/GRU) network, which the
            analyses (rates, lesions, Jacobians) do not cover.
    """
    if isinstance(source, BasicSimulator):
        return source
    if hasattr(source, "get_weights"):
        weights = dict(source.get_weights())
    elif isinstance(source, Mapping) or hasattr(source, "keys"):
        weights = {key: source[key] for key in source.keys()}
    elif isinstance(source, (str, PathLike)):
        from ..io.weight_files import load_weights

        weights = load_weights(source)
    else:
        raise ParameterError(
            "an analysis needs a network: a model (Basic), a weights dict from get_weights(), a path to an .npz "
            f"weight file or a BasicSimulator; got {type(source).__name__}"
        )
    kind = weights.get("model")
    if isinstance(kind, np.ndarray):
        kind = kind.reshape(-1)[0] if kind.size else None
    if kind is not None and str(kind) in ("LSTM", "GRU"):
        raise ParameterError(f"the analyses cover the leaky rate network (Basic); this is a {kind} network")
    return BasicSimulator(weights=weights, params=params, dtype=np.float64)


def network_weights(source, params=None):
    """Effective weights of ``source`` as float64 arrays, with its E/I split.

    Returns a dict with ``W_in (N_rec, N_in)``, ``W_rec (N_rec, N_rec)`` (W[post, pre]),
    ``W_out (N_out, N_rec)``, ``b_rec (N_rec,)``, ``b_out (N_out,)``,
    ``init_state (1, N_rec)``, ``dale_ratio`` (float or None), ``n_exc`` (int, the first
    ``n_exc`` units are excitatory; ``N_rec`` without Dale's law) and ``alpha``.
    """
    sim = as_simulator(source, params)
    n_exc = sim.N_rec if sim.dale_ratio is None else n_excitatory(sim.dale_ratio, sim.N_rec)
    return {
        "W_in": sim.W_in, "W_rec": sim.W_rec, "W_out": sim.W_out, "b_rec": sim.b_rec, "b_out": sim.b_out,
        "init_state": sim.init_state, "dale_ratio": sim.dale_ratio, "n_exc": n_exc, "alpha": sim.alpha,
    }


def excitatory_mask(source_or_n_rec, dale_ratio=None):
    """Boolean (N_rec,): True for excitatory units (all False without Dale's law).

    ``source_or_n_rec``: anything :func:`as_simulator` takes, or ``N_rec`` (an integer >= 1)
    with ``dale_ratio`` (None or in [0, 1]).
    """
    if isinstance(source_or_n_rec, (int, np.integer)) and not isinstance(source_or_n_rec, (bool, np.bool_)):
        n_rec = declared("excitatory_mask", n_rec=source_or_n_rec)
        dale_ratio = NETWORK_PARAMS["dale_ratio"].validate(dale_ratio, "excitatory_mask")
    else:
        sim = as_simulator(source_or_n_rec)
        n_rec, dale_ratio = sim.N_rec, sim.dale_ratio
    mask = np.zeros(n_rec, dtype=bool)
    if dale_ratio is not None:
        mask[:n_excitatory(dale_ratio, n_rec)] = True
    return mask


def simulate(source, x, perturbations=None, rates=True):
    """Run trials without recurrent noise: ``(outputs (B, T, N_out), states (B, T, N_rec), rates)``.

    ``x`` (B, T, N_in) inputs, finite, N_in the network's; ``perturbations`` as
    ``BasicSimulator.run_trials`` takes them.  ``rates`` (B, T, N_rec) = f(states), with
    silenced units' rates 0 where they are silenced (what the network actually
    transmits); None when ``rates=False`` (an analysis that needs only the outputs spares
    an array as large as the states).
    """
    sim = as_simulator(source)
    x = array(x, "x", "simulate", shape=("B", "T", f"N_in={sim.N_in}"))
    outputs, states = sim.run_trials(x, noise=False, perturbations=perturbations, checkpoint=_checkpoint.get())
    if not rates:
        return outputs, states, None
    rates = sim.transfer_function(states)
    if perturbations:
        from ..simulation.perturbations import PerturbationPlan

        plan = PerturbationPlan(perturbations, states.shape[1], sim.N_rec, sim.N_in, states.shape[0], sim.dtype)
        if plan.keep_rates is not None:
            rates = rates * plan.keep_rates
    return outputs, states, rates
