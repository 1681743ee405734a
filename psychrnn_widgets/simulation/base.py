"""Where a simulator's weights and constants come from (NumPy only, never TensorFlow).

:class:`Simulator` resolves PsychRNN's constructor arguments
``(rnn_model=None, params=None, weights_path=None, weights=None, transfer_function=None)``
into NumPy arrays and constants; the dynamics live in the subclasses
(:class:`~psychrnn_widgets.simulation.basic.BasicSimulator`, the gated simulators).

Rules (PsychRNN 1.0's, made strict and explained):

* **Weights** come from exactly one source.  PsychRNN's precedence is
  ``weights`` > ``weights_path`` > ``rnn_model``, and PsychRNN 1.0 raises when more than
  one is given; so does this package, with a :class:`~psychrnn_widgets.errors.ParameterError`
  that names the source PsychRNN would use and the one it would ignore.  Nothing given is
  an error too.  ``rnn_model`` is read through ``rnn_model.get_weights()``;
  ``weights_path`` through :func:`psychrnn_widgets.io.weight_files.load_weights` (files
  written here or by PsychRNN 1.0/master); ``weights`` is a dict as ``get_weights()``
  returns (a ``numpy.load`` result works too).
* **Constants** ``alpha`` (or ``dt`` and ``tau``) and ``rec_noise``: with ``rnn_model`` they
  are the model's, and passing ``params`` as well is an error (PsychRNN: "rnn_model takes
  precedence").  Otherwise ``params`` wins over the values stored with the weights (files
  and ``get_weights()`` dicts written here carry ``alpha, dt, tau, rec_noise``; PsychRNN
  files carry none).  In ``params`` (and in the stored values) ``alpha`` is used when given,
  else ``dt / tau``; ``alpha`` together with a ``dt``/``tau`` pair that disagrees, or only
  one of ``dt``/``tau``, is an error.  ``rec_noise`` defaults to 0.
* **Transfer function**: the ``transfer_function`` argument > ``params['transfer_function']``
  > the name stored with the weights (``rnn_model``'s, or the file's) > relu (PsychRNN
  1.0's default).  Names (``'relu'``, ``'tanh'``...), the TensorFlow functions of those
  names and NumPy callables are accepted; an explicit choice that differs from the stored
  name gives a ``UserWarning``.

``ParameterError`` is both a ``ValueError`` and a ``UserWarning``: PsychRNN code written as
``except UserWarning:`` still catches it.
"""
import math
import warnings
from collections.abc import Mapping

import numpy as np

from .. import seeding
from ..errors import ParameterError, WeightFileError
from ..io.weight_files import load_weights, plain_names, stored_dale_ratio
from ..params import ALPHA, NETWORK_PARAMS, scalar
from ..transfer import name_of, numpy_transfer_function

__all__ = ["Simulator", "as_rng"]

#: the three weight sources in PsychRNN's order of precedence
SOURCES = ("weights", "weights_path", "rnn_model")


def as_rng(seed):
    """The noise ``numpy.random.Generator`` for ``seed`` (None, an int >= 0, a SeedSequence or a Generator).

    An integer seed uses its ``'noise'`` stream (:mod:`psychrnn_widgets.seeding`); None
    draws the seed from NumPy's global generator, so ``np.random.seed`` is honoured.
    """
    return seeding.rng(NETWORK_PARAMS["seed"].validate(seed, "simulator"), "noise")


def time_constants(mapping, where):
    """``(alpha, dt, tau)`` from ``mapping`` (any may be ``None``); see the module rules.

    Each value is validated by its declaration in :mod:`psychrnn_widgets.params` (finite,
    positive, ``alpha <= 1``).  Raises ``ParameterError`` for a lone ``dt`` or ``tau``
    without ``alpha``, or an ``alpha`` that disagrees with ``dt / tau``.
    """
    declared = {"alpha": ALPHA, "dt": NETWORK_PARAMS["dt"], "tau": NETWORK_PARAMS["tau"]}
    alpha, dt, tau = (None if mapping.get(key) is None else declared[key].validate(mapping[key], where)
                      for key in ("alpha", "dt", "tau"))
    from_dt_tau = dt / tau if dt is not None and tau is not None else None
    if alpha is None:
        if (dt is None) != (tau is None):
            have, missing = ("dt", "tau") if tau is None else ("tau", "dt")
            raise ParameterError(
                f"{where} gives {have} but not {missing}: pass both dt and tau (alpha = dt/tau), or alpha",
                parameter=missing)
        if from_dt_tau is not None:
            ALPHA.validate(from_dt_tau, f"{where} (dt / tau)")
        return from_dt_tau, dt, tau
    if from_dt_tau is not None and not math.isclose(alpha, from_dt_tau, rel_tol=1e-9, abs_tol=0.0):
        raise ParameterError(
            f"{where}: alpha={alpha:g} disagrees with dt/tau = {dt:g}/{tau:g} = {from_dt_tau:g}; "
            "pass alpha, or dt and tau, or values that agree", parameter="alpha", value=alpha)
    return alpha, dt, tau


class Simulator:
    """Base NumPy simulator: resolves the weights and constants (see the module docstring).

    Args:
        rnn_model: a trained model (``Basic``, ``LSTM``, ``GRU``...); its ``get_weights()``,
            ``alpha``, ``rec_noise`` and transfer function are used.
        params (dict): ``alpha`` or ``dt`` and ``tau`` (ms), ``rec_noise``, optionally
            ``transfer_function``; other keys (a whole ``network_params``) are ignored.
            Not allowed together with ``rnn_model``.
        weights_path (str or path): an ``.npz`` weight file (ours or PsychRNN's).
        weights (dict): weights as returned by ``get_weights()`` / ``load_weights``.
        transfer_function: name or NumPy callable; see the module docstring.
        seed: seed or ``numpy.random.Generator`` for the recurrent noise.
        dtype: computation and result dtype, ``float32`` (default) or ``float64``.
            float32 performs TensorFlow's float32 operations in the same order and so
            matches ``model.test(x, noise=False)`` to ~1e-7–1e-6; float64 is closer to the
            exact maths, and therefore differs from TF's float32 result by TF's own
            rounding error (~1e-6 over a few hundred steps).

    Attributes:
        source (str): ``'rnn_model'``, ``'weights_path'`` or ``'weights'``.
        weights (dict): the weights as read from the source (not copied or cast).
        alpha (float or None), dt, tau (float or None, ms), rec_noise (float),
        transfer_function (NumPy callable), transfer_function_name (str or None),
        N_in, N_rec, N_out (int), dale_ratio (float or None), dtype, rng.
    """

    #: whether the dynamics need alpha (the leaky rate network does, gated models do not)
    needs_alpha = True
    #: whether the dynamics use the transfer function
    uses_transfer_function = True
    #: whether the network has a rate network's W_in, W_rec and W_out (connectivity analyses need them)
    has_rate_weights = False
    #: the parts of the flat dynamical state, each (B, N_rec); the first is the units' activity
    state_parts = ("hidden",)

    def __init__(self, rnn_model=None, params=None, weights_path=None, weights=None, transfer_function=None,
                 *, seed=None, dtype=np.float32):
        cls = type(self).__name__
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ParameterError(f"{cls}: dtype must be float32 or float64, got {self.dtype}")
        self.rng = as_rng(seed)
        given = {"weights": weights, "weights_path": weights_path, "rnn_model": rnn_model}
        self.source = self._choose_source(cls, given)
        self.weights_path = weights_path
        if rnn_model is not None and params is not None:
            raise ParameterError(
                f"{cls}: params was passed together with rnn_model; the model's alpha (dt/tau), rec_noise and "
                "transfer function take precedence (PsychRNN's rule), so params would be ignored. Pass only "
                "rnn_model, or weights=rnn_model.get_weights() together with params to override them."
            )
        if params is not None and not isinstance(params, Mapping):
            raise ParameterError(f"{cls}: params must be a dict, got {type(params).__name__}")
        params = dict(params or {})

        weights, stored = self._read_source(cls, given)
        self.weights = weights
        self._set_constants(cls, params, stored)
        self._set_transfer_function(cls, transfer_function, params, stored)
        self.dale_ratio = stored_dale_ratio(weights.get("dale_ratio"))  # 0, 0.0 and NaN (format 1): None
        self._load_weights(cls, weights)

    # ------------------------------------------------------------------ sources
    @staticmethod
    def _choose_source(cls, given):
        passed = [name for name in SOURCES if given[name] is not None]
        if not passed:
            raise ParameterError(
                f"{cls}: no weights given; pass exactly one of rnn_model=<a trained model>, "
                "weights_path=<an .npz weight file> or weights=<a dict as returned by get_weights()>"
            )
        if len(passed) > 1:
            used, ignored = passed[0], passed[1:]
            raise ParameterError(
                f"{cls}: {' and '.join(passed)} were all passed, but the weights come from one source only. "
                f"{used} takes precedence (PsychRNN's order: weights > weights_path > rnn_model), so "
                f"{' and '.join(ignored)} would be ignored; pass only {used}=... (or only the one you meant)."
            )
        return passed[0]

    def _read_source(self, cls, given):
        """``(weights dict, stored constants dict)`` from the chosen source."""
        if self.source == "rnn_model":
            model = given["rnn_model"]
            if not hasattr(model, "get_weights"):
                raise ParameterError(f"{cls}: rnn_model must be a model with get_weights(), got {type(model).__name__}")
            weights = dict(model.get_weights())
            stored = {key: weights.get(key) for key in ("alpha", "dt", "tau", "rec_noise")}
            for key in ("alpha", "dt", "tau", "rec_noise"):
                if getattr(model, key, None) is not None:
                    stored[key] = getattr(model, key)
            name = getattr(model, "transfer_function_name", None)
            if name is None:
                name = name_of(getattr(model, "transfer_function", None))
            stored["transfer_function"] = name
            stored["custom_transfer"] = name is None and getattr(model, "transfer_function", None) is not None
            return weights, stored

        if self.source == "weights_path":
            weights = load_weights(given["weights_path"])
        else:
            raw = given["weights"]
            if not isinstance(raw, Mapping) and not hasattr(raw, "keys"):
                raise ParameterError(f"{cls}: weights must be a dict of arrays, got {type(raw).__name__}")
            weights = plain_names(raw)  # numpy.load of our file: meta_dt... under their plain names
        stored = {key: weights.get(key) for key in ("alpha", "dt", "tau", "rec_noise")}
        value = weights.get("transfer_function")
        if isinstance(value, np.ndarray) and value.size == 1:
            value = scalar(value.reshape(()))
        if value is None or value == "":
            name = None
        elif isinstance(value, str) or callable(value):
            name = name_of(value)  # None for a custom callable; ParameterError for an unknown name
        else:
            raise ParameterError(f"{cls}: weights['transfer_function'] must be a name, got {value!r}")
        stored["transfer_function"] = name
        stored["custom_transfer"] = name is None and callable(value)
        return weights, stored

    # ---------------------------------------------------------------- constants
    def _set_constants(self, cls, params, stored):
        where = f"{cls}: params"
        alpha, dt, tau = time_constants(params, where)
        stored_alpha, stored_dt, stored_tau = time_constants(stored, f"{cls}: the {self.source}'s stored constants")
        if alpha is None:
            alpha, dt, tau = stored_alpha, stored_dt, stored_tau
        elif stored_alpha is not None and not math.isclose(alpha, stored_alpha, rel_tol=1e-9):
            warnings.warn(
                f"{cls}: params gives alpha={alpha:g}, which overrides the alpha={stored_alpha:g} stored with "
                f"the {self.source}", UserWarning, stacklevel=4,
            )
        if alpha is None and self.needs_alpha:
            raise ParameterError(
                f"{cls}: alpha is unknown: the {self.source} carries no time constants (PsychRNN weight files do "
                "not); pass params={'dt': ..., 'tau': ...} (ms) or params={'alpha': ...}"
            )
        self.alpha, self.dt, self.tau = alpha, dt, tau
        declared = NETWORK_PARAMS["rec_noise"]
        if params.get("rec_noise") is not None:
            rec_noise = declared.validate(params["rec_noise"], where)
        elif stored.get("rec_noise") is not None:
            rec_noise = declared.validate(stored["rec_noise"], f"{cls}: the {self.source}")
        else:
            rec_noise = declared.default
        self.rec_noise = rec_noise

    def _set_transfer_function(self, cls, argument, params, stored):
        stored_name = stored.get("transfer_function")
        explicit, origin = argument, "transfer_function"
        if explicit is None and params.get("transfer_function") is not None:
            explicit, origin = params["transfer_function"], "params['transfer_function']"
        if explicit is None:
            if stored.get("custom_transfer") and self.uses_transfer_function:
                raise ParameterError(
                    f"{cls}: the {self.source} uses a custom transfer function with no known name; pass "
                    "transfer_function=<a NumPy version of it>"
                )
            explicit, origin = stored_name or "relu", None
        if isinstance(explicit, str) or name_of(explicit) is not None:
            name = name_of(explicit)  # raises ParameterError for an unknown name
        elif callable(explicit):
            name = None
        else:
            raise ParameterError(f"{cls}: {origin} must be a name or a NumPy function, got {explicit!r}")
        if origin is not None and self.source == "rnn_model" and self.uses_transfer_function:
            given_name = name if name is not None else getattr(explicit, "__name__", repr(explicit))
            model_name = stored_name if stored_name is not None else "a custom function"
            if given_name != stored_name:
                raise ParameterError(
                    f"{cls}: {origin}={given_name!r} does not match the model's transfer function "
                    f"({model_name!r}); the simulation would not be the trained network. Leave {origin} out (the "
                    "model's is used) or pass a NumPy version with the same name", parameter="transfer_function",
                    value=explicit)
        if origin is not None and stored_name is not None and name is not None and name != stored_name:
            warnings.warn(
                f"{cls}: {origin}={name!r} overrides the transfer function {stored_name!r} stored with the "
                f"{self.source}; the simulation will differ from the trained network", UserWarning, stacklevel=4,
            )
        self.transfer_function = numpy_transfer_function(explicit)
        self.transfer_function_name = name

    # ------------------------------------------------------------------ weights
    def _array(self, cls, weights, key, shape=None):
        """``weights[key]`` as a C-contiguous array of ``self.dtype``; checks presence and shape."""
        if weights.get(key) is None:
            model = weights.get("model")
            hint = f" (these weights are from a {model!r} model)" if isinstance(model, str) else ""
            raise ParameterError(f"{cls}: the weights from {self.source} lack {key!r}{hint}")
        try:
            array = np.ascontiguousarray(weights[key], dtype=self.dtype)
        except (TypeError, ValueError):
            raise ParameterError(f"{cls}: weights[{key!r}] is not a numeric array") from None
        if shape is not None and array.shape != tuple(shape):
            raise ParameterError(f"{cls}: weights[{key!r}] has shape {array.shape}, expected {tuple(shape)}")
        return array

    @property
    def source_label(self):
        """What errors name as the weights' origin: the file path, or ``'weights'`` / ``'rnn_model'``."""
        return str(self.weights_path) if self.source == "weights_path" else self.source

    @property
    def _source_error(self):
        return WeightFileError if self.source == "weights_path" else ParameterError

    def _load_weights(self, cls, weights):  # pragma: no cover - subclasses implement
        raise NotImplementedError

    # ---------------------------------------------------------------- dynamics
    @property
    def state_size(self):
        """Values in the flat dynamical state, ``len(state_parts) * N_rec`` (the TF model's ``state_size``)."""
        return len(self.state_parts) * self.N_rec

    def rates(self, states):
        """What the units transmit given their ``states`` (..., N_rec): ``f(states)`` for a rate network."""
        return self.transfer_function(states)

    def next_state(self, state, rnn_in):
        """One noiseless step on flat states: ``state`` (B, state_size), ``rnn_in`` (B, N_in) -> (B, state_size).

        The NumPy twin of the TF model's ``next_state`` (what Jacobians by finite
        differences use).
        """
        state = np.asarray(state, dtype=self.dtype)
        rnn_in = np.asarray(rnn_in, dtype=self.dtype)
        if state.ndim != 2 or state.shape[1] != self.state_size:
            raise ParameterError(f"state must have shape (batch, state_size={self.state_size}), got {state.shape}",
                                 parameter="state", value=state.shape)
        if rnn_in.shape != (state.shape[0], self.N_in):
            raise ParameterError(f"rnn_in must have shape (batch={state.shape[0]}, N_in={self.N_in}), got "
                                 f"{rnn_in.shape}", parameter="rnn_in", value=rnn_in.shape)
        return self._next_state(state, rnn_in)

    def _next_state(self, state, rnn_in):  # pragma: no cover - subclasses implement
        raise NotImplementedError(f"{type(self).__name__} must implement _next_state")

    def rnn_step(self, *args, **kwargs):
        """One step of the network (PsychRNN's abstract ``Simulator.rnn_step``); see the subclasses."""
        raise NotImplementedError(f"{type(self).__name__} must implement rnn_step")

    def run_trials(self, trial_input, *args, **kwargs):
        """Run a batch of trials (PsychRNN's abstract ``Simulator.run_trials``); see the subclasses.

        Returns ``(outputs (B, T, N_out), states (B, T, N_rec))``.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement run_trials")

    # ------------------------------------------------------------------- inputs
    def as_input_batch(self, trial_input, what="trial_input"):
        """Validate ``trial_input`` (B, T, N_in) and return it as ``self.dtype``."""
        try:
            array = np.asarray(trial_input, dtype=self.dtype)
        except (TypeError, ValueError):
            raise ParameterError(f"{what} must be a numeric array of shape (batch, time, N_in={self.N_in})",
                                 parameter=what) from None
        if array.ndim != 3 or array.shape[2] != self.N_in or array.shape[0] < 1 or array.shape[1] < 1:
            raise ParameterError(
                f"{what} must have shape (batch, time, N_in={self.N_in}) with batch, time >= 1, got {array.shape}",
                parameter=what, value=array.shape)
        if not np.isfinite(array).all():
            raise ParameterError(f"{what} holds NaN or infinite values; inputs must be finite", parameter=what)
        return array

    def step_of(self, time_ms):
        """Index of the step that integrates the input sampled at ``time_ms``: ``floor(time_ms / dt)``.

        ``run_trials``' step ``k`` uses ``trial_input[:, k]`` (time ``k*dt``) and produces
        ``states[:, k]``.  Needs ``dt`` (from ``params``, the model or the weight file).
        """
        if self.dt is None:
            raise ParameterError(f"{type(self).__name__}: dt is unknown (only alpha was given); pass params with dt")
        return int(math.floor(float(time_ms) / self.dt + 1e-9))

    def _rng(self, rng):
        return self.rng if rng is None else as_rng(rng)

    def __repr__(self):
        alpha = "" if self.alpha is None else f", alpha={self.alpha:g}"
        return (f"{type(self).__name__}(N_in={self.N_in}, N_rec={self.N_rec}, N_out={self.N_out}{alpha}, "
                f"source={self.source!r})")
