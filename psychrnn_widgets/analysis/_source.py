"""Where an analysis gets its network from: a model, a weights dict, a weight file or a simulator.

Every analysis function that runs trials takes ``source`` -- anything
:func:`as_simulator` accepts -- and runs it through the model's NumPy twin with recurrent
noise off, so it works on weight files without TensorFlow.  The twin is found by the
model class's registered name (:func:`psychrnn_widgets.catalog.simulator_class`: the
``model`` entry of the weights; none means ``Basic``, as in PsychRNN's files), so ``Basic``,
``LSTM``, ``GRU`` and a user's registered class with a twin are analysed alike.  Analyses
of the recurrent weight matrix (connectivity, E/I) need a rate network
(:func:`rate_network`); only the fixed-point finder needs the TensorFlow model itself
(:mod:`psychrnn_widgets.analysis.fixed_points`).
"""
import contextlib
import contextvars
from collections.abc import Mapping
from os import PathLike

import numpy as np

from ..catalog import simulator_class
from ..errors import ParameterError
from ..models.constraints import n_excitatory
from ..params import NETWORK_PARAMS
from ..simulation.base import Simulator
from ._inputs import array, declared, fail

__all__ = ["as_simulator", "network_weights", "excitatory_mask", "simulate", "checkpoints", "rate_network"]

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
    """The NumPy twin of ``source``'s network, float64 (analyses are not float32-limited).

    Args:
        source: a model with ``get_weights()``, a weights dict as ``get_weights()`` or
            :func:`~psychrnn_widgets.io.weight_files.load_weights` returns, a path to an
            ``.npz`` weight file, or a simulator (used as is).
        params: ``{'dt': ..., 'tau': ...}`` (ms) or ``{'alpha': ...}`` for weights that do
            not carry their time constants (PsychRNN files); ignored for a simulator.

    Raises:
        ParameterError: for anything else, or a model class with no NumPy twin (its
            ``simulator`` is None: a user class that declares none).
        UnknownClassError: the weights name a model class that is not registered.
    """
    if isinstance(source, Simulator):
        return source
    if hasattr(source, "get_weights"):
        weights = dict(source.get_weights())
        twin = simulator_class(source)
        kind = type(source).__name__
    elif isinstance(source, Mapping) or hasattr(source, "keys"):
        weights = {key: source[key] for key in source.keys()}
        twin = kind = None
    elif isinstance(source, (str, PathLike)):
        from ..io.weight_files import load_weights

        weights = load_weights(source)
        twin = kind = None
    else:
        raise ParameterError(
            "an analysis needs a network: a model, a weights dict from get_weights(), a path to an .npz weight file "
            f"or a simulator; got {type(source).__name__}", parameter="source", value=source,
            allowed="a model, weights, a weight file or a simulator")
    if kind is None:
        kind = weights.get("model")
        if isinstance(kind, np.ndarray):
            kind = str(kind.reshape(-1)[0]) if kind.size == 1 else None
        kind = "Basic" if kind in (None, "") else str(kind)
        twin = simulator_class(kind, where="the weights' model entry")
    if twin is None:
        raise ParameterError(
            f"{kind} has no NumPy twin, and the analyses run trials in NumPy: give the class a simulator "
            "(a SteppedSimulator subclass that writes one step, see docs/new_model.md) and set "
            f"{kind}.simulator to it. Fixed points need only the model's next_state and work without one",
            parameter="source", value=kind, allowed="a model class with a simulator")
    return twin(weights=weights, params=params, dtype=np.float64)


def rate_network(source, where):
    """``as_simulator(source)`` when it is a rate network (W_in, W_rec, W_out); a ParameterError saying why not."""
    sim = as_simulator(source)
    if not sim.has_rate_weights:
        kind = sim.weights.get("model") if hasattr(sim, "weights") else None
        fail(where, "source", f"is a {kind or type(sim).__name__} network: {where} studies a rate network's "
             "recurrent weight matrix W_rec, which it does not have (its analyses through trials and "
             "fixed points still apply)", kind, "a rate network (Basic)")
    return sim


def network_weights(source, params=None):
    """Effective weights of ``source`` as float64 arrays, with its E/I split.

    Returns a dict with ``W_in (N_rec, N_in)``, ``W_rec (N_rec, N_rec)`` (W[post, pre]),
    ``W_out (N_out, N_rec)``, ``b_rec (N_rec,)``, ``b_out (N_out,)``,
    ``init_state (1, N_rec)``, ``dale_ratio`` (float or None), ``n_exc`` (int, the first
    ``n_exc`` units are excitatory; ``N_rec`` without Dale's law) and ``alpha``.
    """
    sim = as_simulator(source, params)
    if not sim.has_rate_weights:
        rate_network(sim, "network_weights")
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
    the simulators' ``run_trials`` take them.  ``rates`` (B, T, N_rec) = what the units
    transmit (``f(states)`` for a rate network, the hidden state of a gated one), with
    silenced units' rates 0 where they are silenced (what the network actually
    transmits); None when ``rates=False`` (an analysis that needs only the outputs spares
    an array as large as the states).
    """
    sim = as_simulator(source)
    x = array(x, "x", "simulate", shape=("B", "T", f"N_in={sim.N_in}"))
    outputs, states = sim.run_trials(x, noise=False, perturbations=perturbations, checkpoint=_checkpoint.get())
    if not rates:
        return outputs, states, None
    rates = sim.rates(states)
    if perturbations:
        from ..simulation.perturbations import PerturbationPlan

        plan = PerturbationPlan(perturbations, states.shape[1], sim.N_rec, sim.N_in, states.shape[0], sim.dtype)
        if plan.keep_rates is not None:
            rates = rates * plan.keep_rates
    return outputs, states, rates
