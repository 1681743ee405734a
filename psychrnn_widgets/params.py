"""Every parameter, declared once: type, default, allowed values, unit and plain-language help.

A :class:`Parameter` is the one place that says what a ``network_params`` key, a
``train_params`` key or a task parameter may hold.  The model, the NumPy simulator, the
tasks, the training loop and every panel validate through these declarations and the
panels take their ranges, labels and help text from them; nobody copies a key list or
writes a range check of their own (a test enforces that the panels read them from here).

    >>> NETWORK_PARAMS["rec_noise"].validate(0.1)
    0.1
    >>> NETWORK_PARAMS["dt"].validate(float("nan"))
    Traceback (most recent call last):
    ...
    psychrnn_widgets.errors.ParameterError: network_params['dt'] must be a finite number > 0 (ms), got nan

Values are normalised on the way in: NumPy scalars and 0-d arrays (what ``numpy.load``
gives for a scalar saved in a weight file, e.g. PsychRNN's ``dale_ratio``) become plain
Python values, integral floats become ``int`` for integer parameters, names are
lower-cased.  Errors are :class:`~psychrnn_widgets.errors.ParameterError` carrying
``parameter``, ``value`` and ``allowed``.

Cross-parameter rules (``alpha = dt/tau <= 1``, mask and weight shapes against the network
sizes, ``init_minval < init_maxval``...) are in :func:`validate_network_params`.

NumPy only: this module is imported by the tasks layer and must stay cheap.
"""
from __future__ import annotations

import difflib
import math
import numbers
import os
import warnings
from dataclasses import dataclass, field

import numpy as np

from .errors import ParameterError
from .transfer import TRANSFER_FUNCTION_ALIASES, TRANSFER_FUNCTION_NAMES

__all__ = [
    "Parameter", "ALPHA", "NETWORK_PARAMS", "TRAIN_PARAMS", "CURRICULUM_PARAMS", "SWEEP_PARAMS", "THREAD_PARAMS",
    "ANALYSIS_PARAMS", "MAX_THREADS",
    "ENSEMBLE_PARAMS", "TASK_CORE_PARAMS",
    "REQUIRED_NETWORK_KEYS",
    "REGULARIZER_KEYS", "TRANSFER_FUNCTIONS", "RAND_INIT_NAMES", "INITIALIZER_NAMES", "OPTIMIZER_NAMES",
    "LOSS_FUNCTION_NAMES",
    "validate_network_params", "validate_train_params", "validate_values", "check_shapes", "validate_mask",
    "validate_array", "scalar",
    "register_task_keys", "known_task_keys", "warn_unknown_keys", "network_key_ignores", "describe",
]

#: transfer-function names (the NumPy and TensorFlow implementations live in transfer.py / models)
TRANSFER_FUNCTIONS = TRANSFER_FUNCTION_NAMES
#: PsychRNN's random initialisations for W_in / W_out / W_rec
RAND_INIT_NAMES = ("glorot_gauss", "glorot_unif", "const_gauss", "const_unif")
#: initialiser classes that may be named by a string in ``network_params['initializer']``
INITIALIZER_NAMES = ("GaussianSpectralRadius", "AlphaIdentity", "WeightInitializer")
#: optimisers that may be named by a string in ``train_params['optimizer']``
OPTIMIZER_NAMES = ("adam",)
#: the built-in losses (``psychrnn_widgets.models.losses``): PsychRNN's two, then the cross-entropy over
#: actions that NeuroGym trains with (softmax over the outputs, the target's largest channel as the class)
LOSS_FUNCTION_NAMES = ("mean_squared_error", "binary_cross_entropy", "categorical_cross_entropy")
REGULARIZER_KEYS = ("L1_in", "L1_rec", "L1_out", "L2_in", "L2_rec", "L2_out", "L2_firing_rate")

_MISSING = object()


def scalar(value):
    """``value`` with NumPy scalars and 0-d arrays (object arrays included) unwrapped to Python values."""
    if isinstance(value, np.ndarray) and value.shape == ():
        return value.item()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _short_repr(value, limit=80):
    if isinstance(value, np.ndarray) and value.size > 8:
        return f"array of shape {value.shape} ({value.dtype})"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _subject(where, name):
    """``network_params['dt']`` for dict-like sources, ``PerceptualDiscrimination: coherence`` otherwise."""
    if not where:
        return name
    if where.endswith("params"):
        return f"{where}[{name!r}]"
    return f"{where}: {name}"


def _fmt_bound(value):
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class Parameter:
    """The declaration of one parameter.

    Attributes:
        name: the key (PsychRNN's name), e.g. ``'rec_noise'``.
        kind: ``'int'``, ``'float'``, ``'bool'``, ``'choice'`` (one of ``choices``),
            ``'str'``, ``'path'``, ``'seed'`` (None, an int >= 0 or a NumPy Generator /
            SeedSequence), ``'callable'``, ``'mask'`` (a 0/1 array), ``'array'`` (a finite
            numeric array) or ``'object'`` (checked by ``check`` only).
        default: the value used when the key is absent (None: "not set / drawn").
        help: one line of plain language: what it is and what it does.
        label: a short plain-language label for a control (PsychRNN's name is shown under it).
        unit: ``'ms'``, ``'trials'``, ``'units'``... or ``''``.
        low, high: bounds for numbers (None: unbounded); ``low_open``/``high_open`` make them strict.
        typical: ``(low, high)`` of a sensible range, for sliders and help text.
        allow_none: None is a valid value.
        zero_is_none: 0 (and False) are read as None, PsychRNN's ``if value:`` rule (``dale_ratio``).
        choices: allowed names for ``'choice'``; ``aliases``: ``((alias, choice), ...)`` also accepted.
        callable_ok: a ``'choice'`` parameter that also accepts a function (transfer functions).
        required: the key must be present (``KeyError`` naming it otherwise).
        check: extra ``fn(value, parameter, where) -> value`` run after the kind's checks.
        group: where a panel shows it (``'size'``, ``'dynamics'``, ``'constraints'``...).
    """

    name: str
    kind: str
    default: object = None
    help: str = ""
    label: str = ""
    unit: str = ""
    low: float = None
    high: float = None
    low_open: bool = False
    high_open: bool = False
    typical: tuple = None
    allow_none: bool = False
    zero_is_none: bool = False
    choices: tuple = ()
    aliases: tuple = ()
    callable_ok: bool = False
    required: bool = False
    check: object = field(default=None, compare=False, repr=False)
    group: str = ""

    # --------------------------------------------------------------- describing
    @property
    def allowed(self):
        """What is allowed, in words (used in every error message)."""
        kind = self.kind
        if kind in ("int", "float"):
            text = "an integer" if kind == "int" else "a finite number"
            lo, hi = self.low, self.high
            if lo is not None and hi is not None:
                left, right = ("(" if self.low_open else "["), (")" if self.high_open else "]")
                text += f" in {left}{_fmt_bound(lo)}, {_fmt_bound(hi)}{right}"
            elif lo is not None:
                text += f" {'>' if self.low_open else '>='} {_fmt_bound(lo)}"
            elif hi is not None:
                text += f" {'<' if self.high_open else '<='} {_fmt_bound(hi)}"
            if self.unit:
                text += f" ({self.unit})"
        elif kind == "bool":
            text = "True or False"
        elif kind == "choice":
            text = "one of " + ", ".join(repr(c) for c in self.choices)
            if self.callable_ok:
                text += " or a function"
        elif kind == "str":
            text = "a string"
        elif kind == "path":
            text = "a file path (str or os.PathLike)"
        elif kind == "seed":
            text = "a non-negative integer, a numpy.random.Generator or SeedSequence"
        elif kind == "callable":
            text = "a function"
        elif kind == "mask":
            text = "an array of 0s and 1s"
        elif kind == "array":
            text = "a finite numeric array"
        else:
            text = self.help or "a valid value"
        if self.allow_none and kind != "seed":
            text += " or None" + (" (0 means None)" if self.zero_is_none else "")
        elif kind == "seed":
            text += " or None"
        return text

    @property
    def display_label(self):
        """The plain-language label (falls back to the name)."""
        return self.label or self.name

    def describe(self):
        """One line for help text: label, what it is, unit, sensible range, PsychRNN's name."""
        parts = [f"{self.display_label}: {self.help}" if self.help else self.display_label]
        if self.typical is not None:
            lo, hi = self.typical
            parts.append(f"typical {_fmt_bound(lo)}–{_fmt_bound(hi)}{(' ' + self.unit) if self.unit else ''}")
        elif self.unit:
            parts.append(f"in {self.unit}")
        parts.append(f"PsychRNN: {self.name}")
        return " · ".join(parts)

    def invalid_examples(self, shape=None):
        """Values this declaration must refuse: NaN, inf, negative, out of range, wrong type...

        For tests and the bad-input harness (``tools/bad_inputs.py``): every one of them
        must raise a ``ParameterError`` naming the parameter.  ``shape``: the expected
        shape of a mask or array parameter.
        """
        kind, examples = self.kind, []
        if kind in ("int", "float"):
            examples += [math.nan, math.inf, -math.inf, "1", True, [1.0], None]
            if kind == "int":
                examples.append(1.5)
            if self.low is not None:
                examples.append(self.low if self.low_open else self.low - 1)
                if self.low >= 0:
                    examples.append(-1)
            if self.high is not None:
                examples.append(self.high + 1 if not self.high_open else self.high)
        elif kind == "bool":
            examples += ["yes", 2, 0.5, math.nan]
        elif kind == "choice":
            examples += ["no_such_" + self.name, 3, math.nan]
        elif kind == "seed":
            examples += [-1, 1.5, "abc", math.nan]
        elif kind in ("mask", "array"):
            shape = shape or (3, 3)
            examples += ["abc", np.full(shape, math.nan), np.ones(tuple(s + 1 for s in shape))]
            if kind == "mask":
                examples.append(np.full(shape, 0.5))
        elif kind == "path":
            examples += ["", 3]
        elif kind == "str":
            examples += [3, None]
        elif kind == "callable":
            examples += [3, "not_a_function"]
        if self.allow_none or kind == "seed":
            examples = [v for v in examples if v is not None]
        return examples

    # --------------------------------------------------------------- validating
    def fail(self, value, where, reason=None):
        """Raise the ``ParameterError`` for ``value`` (``reason`` replaces 'must be <allowed>')."""
        message = f"{_subject(where, self.name)} {reason or 'must be ' + self.allowed}, got {_short_repr(value)}"
        raise ParameterError(message, parameter=self.name, value=value, allowed=self.allowed)

    def validate(self, value, where="network_params"):
        """Return ``value`` normalised, or raise ``ParameterError`` naming the parameter and what is allowed."""
        value = scalar(value)
        if self.zero_is_none and isinstance(value, numbers.Real) and value == 0:  # False too
            value = None
        if value is None:
            if self.allow_none or self.kind == "seed" or (self.kind in ("object",) and self.default is None):
                return None
            self.fail(value, where)
        checker = getattr(self, "_check_" + self.kind)
        value = checker(value, where)
        if self.check is not None:
            value = self.check(value, self, where)
        return value

    def _check_number(self, value, where, integer):
        if isinstance(value, (bool, str, bytes)) or not isinstance(value, numbers.Real):
            self.fail(value, where)
        number = float(value)
        if not math.isfinite(number):
            self.fail(value, where)
        if integer:
            if number != int(number):
                self.fail(value, where)
            number = int(number)
        lo, hi = self.low, self.high
        if lo is not None and (number < lo or (self.low_open and number == lo)):
            self.fail(value, where)
        if hi is not None and (number > hi or (self.high_open and number == hi)):
            self.fail(value, where)
        return number

    def _check_int(self, value, where):
        return self._check_number(value, where, integer=True)

    def _check_float(self, value, where):
        return self._check_number(value, where, integer=False)

    def _check_bool(self, value, where):
        if isinstance(value, bool):
            return value
        if isinstance(value, numbers.Integral) and value in (0, 1):
            return bool(value)
        self.fail(value, where)

    def _check_choice(self, value, where):
        if isinstance(value, str):
            key = value.strip()
            key = dict((a.lower(), c) for a, c in self.aliases).get(key.lower(), key)
            for choice in self.choices:
                if key.lower() == str(choice).lower():
                    return choice
            close = difflib.get_close_matches(key, [str(c) for c in self.choices], n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            self.fail(value, where, f"must be {self.allowed}{hint}")
        if self.callable_ok and callable(value):
            return value
        self.fail(value, where)

    def _check_str(self, value, where):
        if not isinstance(value, str):
            self.fail(value, where)
        return value

    def _check_path(self, value, where):
        if isinstance(value, (str, os.PathLike)) and os.fspath(value) != "":
            return value
        self.fail(value, where)

    def _check_seed(self, value, where):
        if isinstance(value, (np.random.Generator, np.random.SeedSequence)):
            return value
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            if isinstance(value, float) and math.isfinite(value) and value == int(value) and value >= 0:
                return int(value)
            self.fail(value, where)
        if value < 0:
            self.fail(value, where)
        return int(value)

    def _check_callable(self, value, where):
        if not callable(value):
            self.fail(value, where)
        return value

    def _check_mask(self, value, where):
        return validate_mask(value, self.name, where=where)

    def _check_array(self, value, where):
        return validate_array(value, self.name, where=where)

    def _check_object(self, value, where):
        return value


# ------------------------------------------------------------------- arrays and masks
def _as_float_array(value, name, where, what):
    if isinstance(value, (str, bytes, dict)) or callable(value):
        raise ParameterError(f"{_subject(where, name)} must be {what}, got {_short_repr(value)}",
                             parameter=name, value=value, allowed=what)
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError(f"{_subject(where, name)} must be {what}, got {_short_repr(value)} "
                             "(not a rectangular numeric array)", parameter=name, value=value, allowed=what) from None
    return array


def validate_array(value, name, shape=None, where="network_params", what="a finite numeric array"):
    """``value`` as a finite float64 array (of ``shape`` if given), else ``ParameterError``.

    ``shape`` may contain None for "any size"; a (N,) vector given for shape (1, N) is
    reshaped (PsychRNN's ``init_state`` comes both ways).
    """
    array = _as_float_array(value, name, where, what)
    if not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise ParameterError(f"{_subject(where, name)} must be {what}; it has {bad} NaN or infinite entr"
                             f"{'y' if bad == 1 else 'ies'}", parameter=name, value=value, allowed=what)
    if shape is not None:
        shape = tuple(shape)
        if len(shape) == 2 and shape[0] == 1 and array.ndim == 1 and shape[1] in (None, array.shape[0]):
            array = array.reshape(1, -1)
        if array.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, array.shape)):
            expected = "(" + ", ".join("any" if s is None else str(s) for s in shape) + (",)" if len(shape) == 1 else ")")
            raise ParameterError(f"{_subject(where, name)} must have shape {expected}, got shape {array.shape}",
                                 parameter=name, value=value, allowed=f"an array of shape {expected}")
    return array


def validate_mask(value, name, shape=None, where="network_params"):
    """A connectivity (or fixed-weights) mask: finite, only 0s and 1s (bools fine), of ``shape``.

    Returns a float64 array of 0.0/1.0.  A mask with other values would be applied as a
    weight scale, not as a mask (PsychRNN multiplies by it silently): it is refused here.
    """
    array = validate_array(value, name, shape, where, what="an array of 0s and 1s")
    bad = (array != 0) & (array != 1)
    if bad.any():
        example = float(array[bad].flat[0])
        raise ParameterError(f"{_subject(where, name)} must hold only 0 (no connection) and 1 (connection); "
                             f"{int(bad.sum())} entries are other values, e.g. {example:g}",
                             parameter=name, value=value, allowed="an array of 0s and 1s")
    return array


def _check_diagonal(array, parameter, where):
    if np.count_nonzero(array - np.diag(np.diag(array))):
        parameter.fail(array, where, "must be a diagonal matrix (only its diagonal is used)")
    return array


# ------------------------------------------------------------------- the declarations
def _declare(*parameters):
    return {p.name: p for p in parameters}


def _positive_int(name, label, help, unit="", typical=None, required=False, group="size"):
    return Parameter(name, "int", None, help=help, label=label, unit=unit, low=1, typical=typical,
                     required=required, group=group)


def _weight(name, label, help, typical=(0.0, 0.1)):
    return Parameter(name, "float", 0.0, help=help, label=label, low=0.0, typical=typical, group="regularisation")


#: shared by tasks and network_params (the same declaration object)
TASK_CORE_PARAMS = _declare(
    Parameter("N_in", "int", None, help="number of input channels the task sends to the network",
              label="Inputs", unit="channels", low=1, required=True, group="size"),
    Parameter("N_out", "int", None, help="number of output channels the network answers on",
              label="Outputs", unit="channels", low=1, required=True, group="size"),
    Parameter("dt", "float", 10.0, help="simulation time step; smaller is more exact and slower",
              label="Time step", unit="ms", low=0.0, low_open=True, typical=(1.0, 20.0), required=True,
              group="time"),
    Parameter("tau", "float", 100.0, help="time constant of each unit: how slowly its activity follows its input",
              label="Unit time constant", unit="ms", low=0.0, low_open=True, typical=(20.0, 200.0), required=True,
              group="time"),
    Parameter("T", "float", 2000.0, help="length of one trial", label="Trial length", unit="ms", low=0.0,
              low_open=True, typical=(500.0, 5000.0), group="time"),
    Parameter("N_batch", "int", 50, help="trials per training step (one batch)", label="Batch size", unit="trials",
              low=1, typical=(16, 256), required=True, group="size"),
)

NETWORK_PARAMS = _declare(
    Parameter("name", "str", None, help="a name for the model (several models may share one)", label="Name",
              required=True, group="model"),
    TASK_CORE_PARAMS["N_in"],
    Parameter("N_rec", "int", 50, help="number of recurrent units (neurons) in the network",
              label="Recurrent units", unit="units", low=1, typical=(20, 300), required=True, group="size"),
    TASK_CORE_PARAMS["N_out"],
    Parameter("N_steps", "int", None, help="time steps per trial, ceil(T / dt); any trial length works here",
              label="Time steps", unit="steps", low=1, required=True, group="time"),
    TASK_CORE_PARAMS["dt"],
    TASK_CORE_PARAMS["tau"],
    TASK_CORE_PARAMS["N_batch"],
    Parameter("rec_noise", "float", 0.0, help="standard deviation of the noise added to every unit at every step",
              label="Recurrent noise", low=0.0, typical=(0.0, 0.2), group="dynamics"),
    Parameter("transfer_function", "choice", "relu", help="the firing-rate function f applied to each unit's state",
              label="Transfer function", choices=TRANSFER_FUNCTIONS, aliases=TRANSFER_FUNCTION_ALIASES, callable_ok=True, group="dynamics"),
    Parameter("load_weights_path", "path", None, help="a weight file (.npz) to start from instead of random weights",
              label="Weight file", allow_none=True, group="model"),
    Parameter("initializer", "object", None, help="how the initial weights are drawn: an initialiser object or "
              "one of " + ", ".join(INITIALIZER_NAMES), label="Initialiser", allow_none=True, group="init"),
    Parameter("seed", "seed", None, help="makes the initial weights and the recurrent noise reproducible",
              label="Random seed", group="model"),
    *(Parameter(f"{key}_train", "bool", True, help=f"whether {key} changes during training",
                label=f"Train {key}", group="training")
      for key in ("W_in", "W_rec", "W_out", "b_rec", "b_out", "init_state")),
    Parameter("loss_function", "object", "mean_squared_error",
              help=", ".join(repr(name) for name in LOSS_FUNCTION_NAMES)
              + ", or the name of a key holding fn(pred, y, mask)", label="Loss", group="training"),
    *(_weight(key, f"{'L1' if key.startswith('L1') else 'L2'} penalty on "
              f"{ {'in': 'input weights', 'rec': 'recurrent weights', 'out': 'output weights'}[key.split('_')[1]]}",
              f"weight of the mean {'|w|' if key.startswith('L1') else 'w²'} of the effective "
              f"{key.split('_')[1]} weights in the loss")
      for key in REGULARIZER_KEYS[:6]),
    _weight("L2_firing_rate", "Firing-rate penalty", "weight of the mean squared firing rate f(x) in the loss"),
    Parameter("custom_regularization", "callable", None, help="fn(model, params) -> a scalar added to the loss",
              label="Custom regulariser", allow_none=True, group="regularisation"),
    Parameter("dale_ratio", "float", None, help="fraction of excitatory units (Dale's law); None or 0: no sign "
              "constraint (0 means no Dale's law, as in PsychRNN)", label="Excitatory fraction", low=0.0, high=1.0,
              typical=(0.5, 0.9), allow_none=True, zero_is_none=True, group="constraints"),
    Parameter("autapses", "bool", True, help="whether a unit may connect to itself", label="Self-connections",
              group="constraints"),
    Parameter("input_connectivity", "mask", None, help="which input weights exist (N_rec, N_in), 1 = connected",
              label="Input mask", allow_none=True, group="constraints"),
    Parameter("rec_connectivity", "mask", None, help="which recurrent weights exist (N_rec, N_rec), 1 = connected",
              label="Recurrent mask", allow_none=True, group="constraints"),
    Parameter("output_connectivity", "mask", None, help="which output weights exist (N_out, N_rec), 1 = connected",
              label="Output mask", allow_none=True, group="constraints"),
    Parameter("which_rand_init", "choice", "glorot_gauss", help="random distribution of the input and output weights",
              label="Input/output weight init", choices=RAND_INIT_NAMES, group="init"),
    Parameter("which_rand_W_rec_init", "choice", None, help="random distribution of W_rec (default: which_rand_init)",
              label="Recurrent weight init", choices=RAND_INIT_NAMES, allow_none=True, group="init"),
    Parameter("init_minval", "float", -0.1, help="lower end of the 'const_unif' initial weights",
              label="Uniform init minimum", group="init"),
    Parameter("init_maxval", "float", 0.1, help="upper end of the 'const_unif' initial weights",
              label="Uniform init maximum", group="init"),
    Parameter("spec_rad", "float", 1.1, help="spectral radius of the initial effective W_rec (how strongly the "
              "network's activity echoes)", label="Spectral radius", low=0.0, low_open=True, typical=(0.5, 1.5),
              group="init"),
    Parameter("identity_alpha", "float", None, help="diagonal value of W_rec for the AlphaIdentity initialiser",
              label="Identity value", allow_none=True, typical=(0.5, 1.0), group="init"),
    Parameter("W_in", "array", None, help="initial input weights (N_rec, N_in)", label="W_in", allow_none=True,
              group="weights"),
    Parameter("W_rec", "array", None, help="initial recurrent weights (N_rec, N_rec)", label="W_rec", allow_none=True,
              group="weights"),
    Parameter("W_out", "array", None, help="initial output weights (N_out, N_rec)", label="W_out", allow_none=True,
              group="weights"),
    Parameter("b_rec", "array", None, help="initial recurrent bias (N_rec,)", label="b_rec", allow_none=True,
              group="weights"),
    Parameter("b_out", "array", None, help="initial output bias (N_out,)", label="b_out", allow_none=True,
              group="weights"),
    Parameter("init_state", "array", None, help="initial state of the units (1, N_rec)", label="init_state",
              allow_none=True, group="weights"),
    Parameter("Dale_rec", "array", None, help="diagonal +1 (E) / -1 (I) matrix of presynaptic signs (N_rec, N_rec)",
              label="Dale_rec", allow_none=True, check=_check_diagonal, group="weights"),
    Parameter("Dale_out", "array", None, help="diagonal 1/0 matrix of the units the output reads (N_rec, N_rec)",
              label="Dale_out", allow_none=True, check=_check_diagonal, group="weights"),
)

REQUIRED_NETWORK_KEYS = tuple(name for name, p in NETWORK_PARAMS.items() if p.required)

#: ``dt / tau``, derived (tasks report it; the NumPy simulator accepts it instead of dt and tau)
ALPHA = Parameter("alpha", "float", None, help="dt / tau: the fraction of a time constant one step covers",
                  label="Step / time constant", low=0.0, low_open=True, high=1.0, allow_none=True, group="time")

#: metadata our weight files store as ``meta_<name>`` (format 2 on): PsychRNN's "weights as
#: network_params" pattern would otherwise read them as its parameters (a NumPy string is no
#: transfer function there, and a float64 ``dt`` or ``rec_noise`` breaks its float32 graph)
WEIGHT_FILE_META = ("dt", "tau", "rec_noise", "transfer_function")

#: keys found in weight files and ``get_weights()`` dicts that are not parameters (PsychRNN's
#: "weights as network_params" pattern passes them all in)
WEIGHT_FILE_KEYS = frozenset({"format", "model", "alpha", "dt", "tau", "rec_noise", "transfer_function",
                              "dale_ratio", *(f"meta_{name}" for name in WEIGHT_FILE_META)})

#: ``format`` markers of our weight files that stored "no Dale's law" as a NaN ``dale_ratio``
NAN_DALE_RATIO_FORMATS = ("psychrnn_widgets-weights-1",)


def _check_optimizer(value, parameter, where):
    if isinstance(value, str):
        if value.strip().lower() in OPTIMIZER_NAMES:
            return None  # the default Adam
        parameter.fail(value, where, "must be an optimizer object with apply_gradients() or one of "
                       + ", ".join(repr(n) for n in OPTIMIZER_NAMES))
    if not hasattr(value, "apply_gradients"):
        parameter.fail(value, where, "must be an optimizer object with apply_gradients() (e.g. "
                       "tf.keras.optimizers.SGD(...)) or 'adam'")
    return value


def _check_callbacks(value, parameter, where):
    items = [value] if callable(value) else value
    try:
        items = list(items)
    except TypeError:
        parameter.fail(value, where, "must be a function or a list of functions fn(event)")
    for item in items:
        if not callable(item):
            parameter.fail(value, where, f"must be a function or a list of functions fn(event); {item!r} is not "
                           "callable")
    return items


def _check_control(value, parameter, where):
    for method in ("wait_if_paused", "request_stop"):
        if not callable(getattr(value, method, None)):
            parameter.fail(value, where, "must be a TrainingControl")
    return value


def _check_curriculum(value, parameter, where):
    for attribute in ("batch_generator", "metric_test", "metric_epoch"):
        if not hasattr(value, attribute):
            parameter.fail(value, where, "must be a Curriculum")
    return value


def _check_fixed_weights(value, parameter, where):
    if not isinstance(value, dict):
        parameter.fail(value, where, "must be a dict {variable name: 0/1 array, 1 = frozen}")
    return {key: validate_mask(mask, f"{parameter.name}[{key!r}]", where=where) for key, mask in value.items()}


def _check_generator(value, parameter, where):
    if not (hasattr(value, "__next__") or hasattr(value, "batch_generator")):
        parameter.fail(value, where, "must be a batch generator or a Task")
    return value


def _check_folder(value, parameter, where):
    """A folder path: refused when something that is not a folder already has that name."""
    if os.path.exists(value) and not os.path.isdir(value):
        parameter.fail(value, where, "must be a folder (or a path where one can be made); a file has that name")
    return value


TRAIN_PARAMS = _declare(
    Parameter("learning_rate", "float", 0.001, help="step size of the optimiser", label="Learning rate",
              low=0.0, low_open=True, typical=(1e-4, 1e-2)),
    Parameter("training_iters", "int", 50000, help="training budget in trials (steps = ceil(trials / batch size))",
              label="Training budget", unit="trials", low=1, typical=(1000, 100000)),
    Parameter("loss_epoch", "int", 10, help="record (and print) the loss every this many steps",
              label="Loss every", unit="steps", low=1),
    Parameter("verbosity", "bool", True, help="print progress lines while training", label="Print progress"),
    Parameter("save_weights_path", "path", None, help="where to save the weights when training ends",
              label="Save to", allow_none=True),
    Parameter("save_training_weights_epoch", "int", 100, help="snapshot the weights every this many steps",
              label="Snapshot every", unit="steps", low=1),
    Parameter("training_weights_path", "path", None, help="prefix of the snapshots (<prefix><step>.npz)",
              label="Snapshot prefix", allow_none=True),
    Parameter("checkpoint_every", "int", None, help="keep the weights every this many steps, for analyses "
              "across training (None: no checkpoints)", label="Checkpoint every", unit="steps", low=1,
              allow_none=True, typical=(10, 1000)),
    Parameter("keep_checkpoints", "int", 20, help="most checkpoints kept: evenly spaced over the whole run, plus "
              "the newest", label="Checkpoints kept", unit="checkpoints", low=2, high=10_000, typical=(5, 100)),
    Parameter("checkpoint_path", "path", None, help="folder for the checkpoints' weight files (None: kept in "
              "memory)", label="Checkpoint folder", allow_none=True, check=_check_folder),
    Parameter("curriculum", "object", None, help="a Curriculum: train on its stages in turn", label="Curriculum",
              allow_none=True, check=_check_curriculum),
    Parameter("optimizer", "object", None, help="the optimiser: None or 'adam' for Adam, or an object with "
              "apply_gradients()", label="Optimiser", allow_none=True, check=_check_optimizer),
    Parameter("clip_grads", "bool", True, help="clip each gradient to norm 1", label="Clip gradients"),
    Parameter("fixed_weights", "object", None, help="{variable: 0/1 array}, 1 where an entry must not change",
              label="Frozen weights", allow_none=True, check=_check_fixed_weights),
    Parameter("performance_cutoff", "float", None, help="stop once performance_measure reaches this",
              label="Stop at performance", allow_none=True),
    Parameter("performance_measure", "callable", None, help="fn(x, y, mask, output, epoch, losses, verbosity) "
              "-> performance", label="Performance measure", allow_none=True),
    Parameter("generator_function", "object", None, help="a batch generator that replaces the one passed to "
              "train() (PsychRNN's documented key)", label="Batch generator", allow_none=True,
              check=_check_generator),
    Parameter("callbacks", "object", None, help="fn(TrainingEvent) or a list of them, called on the training "
              "thread", label="Callbacks", allow_none=True, check=_check_callbacks),
    Parameter("control", "object", None, help="a TrainingControl to pause / resume / stop from another thread",
              label="Control", allow_none=True, check=_check_control),
    Parameter("jit_compile", "bool", None, help="XLA-compile the training step (None: when the model gains)",
              label="XLA", allow_none=True),
    Parameter("xla_switch", "choice", "at_step", help="when training changes to the XLA-compiled step: 'at_step' "
              "(a fixed step, so seeded runs are reproducible; waits for a late compiler) or 'when_ready' (as soon "
              "as it is compiled; never waits)", label="Switch to XLA", choices=("at_step", "when_ready")),
)


CURRICULUM_PARAMS = _declare(
    Parameter("thresholds", "float", 0.9, help="the metric value (e.g. accuracy) at which a stage is passed",
              label="Threshold", typical=(0.7, 0.95)),
    Parameter("metric_epoch", "int", 10, help="check the metric every this many training steps",
              label="Check every", unit="steps", low=1),
)


def _check_plain_name(value, parameter, where):
    """A name that is also one path component: no separators, no '..', not hidden, at most 128 characters."""
    if (not value or len(value) > 128 or value.startswith(".") or any(c in value for c in "/\\:\0")
            or value != value.strip()):
        parameter.fail(value, where, "must be a plain name (letters, digits, '_', '-', '.'; not starting with '.', "
                                     "no '/', '\\' or ':'), since it names a folder")
    return value


#: settings of a sweep (``psychrnn_widgets.sweeps``): how many runs, how they are grouped and executed
SWEEP_PARAMS = _declare(
    Parameter("seed", "int", None, help="seed of the sweep: run i gets spawn_seeds(seed, n_runs)[i]",
              label="Sweep seed", low=0, allow_none=True),
    Parameter("repeats", "int", None, help="replicates of every combination (each with its own seed)",
              label="Repeats", low=1, allow_none=True, typical=(1, 10)),
    Parameter("ensemble_size", "int", 16, help="most runs trained together in one ensemble (one compiled step)",
              label="Ensemble size", unit="networks", low=1, typical=(1, 64)),
    Parameter("n_workers", "int", None, help="worker processes of the LocalCluster a sweep starts (None: one per "
              "two CPU cores, at least 1)", label="Workers", unit="processes", low=1, allow_none=True),
    Parameter("threads_per_worker", "int", None, help="TensorFlow threads in each worker (None: CPU cores / workers)",
              label="Threads per worker", unit="threads", low=1, allow_none=True),
    Parameter("retries", "int", 1, help="times a group of runs is run again after its worker died (dask)",
              label="Retries", low=0, typical=(0, 3)),
    Parameter("name", "str", "net", help="the networks' name, also the default registry folder sweeps/<name>-<seed>",
              label="Name", check=_check_plain_name),
)


#: an ensemble built from one ``network_params`` dict (``Ensemble(network_params, n=...)``)
ENSEMBLE_PARAMS = _declare(
    Parameter("n", "int", None, help="how many networks to build from one network_params dict (each its own seed)",
              label="Networks", unit="networks", low=1, allow_none=True, typical=(2, 64)),
)


#: most threads a TensorFlow pool may be given: far above any machine's cores (each thread
#: reserves its stack; 10**9 of them would exhaust memory long before TensorFlow refused)
MAX_THREADS = 1024

#: TensorFlow's thread pools (``psychrnn_widgets.set_tensorflow_threads``), sized once per process
THREAD_PARAMS = _declare(
    Parameter("intra_op", "int", None, help="threads that split one TensorFlow operation (None: leave as is; "
              "TensorFlow's default is one per core)", label="Intra-op threads", unit="threads", low=1,
              high=MAX_THREADS, allow_none=True),
    Parameter("inter_op", "int", None, help="TensorFlow operations that run at once (None: leave as is; "
              "TensorFlow's default is one per core)", label="Inter-op threads", unit="threads", low=1,
              high=MAX_THREADS, allow_none=True),
)


def _index_pair(value, parameter, where):
    """``value`` as two integers >= 0, or the parameter's ``ParameterError``."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
        parameter.fail(value, where)
    pair = []
    for item in value:
        item = scalar(item)
        if (isinstance(item, bool) or not isinstance(item, numbers.Real) or not math.isfinite(item)
                or item != int(item) or item < 0):
            parameter.fail(value, where)
        pair.append(int(item))
    return tuple(pair)


def _check_window(value, parameter, where):
    """``(start, stop)`` time steps, integers with ``0 <= start < stop``."""
    start, stop = _index_pair(value, parameter, where)
    if start >= stop:
        parameter.fail(value, where)
    return start, stop


def _check_channels(value, parameter, where):
    """Two different output channels ``(choice 0, choice 1)``, integers >= 0."""
    first, second = _index_pair(value, parameter, where)
    if first == second:
        parameter.fail(value, where)
    return first, second


def _check_sign(value, parameter, where):
    if isinstance(value, str) and value == "abs":
        return value
    if isinstance(value, (bool, np.bool_)) or value not in (1, -1):
        parameter.fail(value, where)
    return int(value)


_ANALYSIS_SIZE = 100_000  # most trials, states or draws an analysis call makes

#: the numeric (and a few choice) arguments of ``psychrnn_widgets.analysis``: every public
#: function validates its arguments through these (errors name the argument)
ANALYSIS_PARAMS = _declare(
    Parameter("n_per_level", "int", 100, help="trials drawn at each evidence level", label="Trials per level",
              unit="trials", low=1, high=10_000, typical=(20, 200)),
    Parameter("n_trials", "int", None, help="trials drawn for a task whose evidence cannot be set (default "
              "n_per_level * 10)", label="Trials", unit="trials", low=1, high=_ANALYSIS_SIZE, allow_none=True),
    Parameter("seed", "seed", 0, help="seed of the trials an analysis draws (the same trials before and after a "
              "lesion)", label="Seed"),
    Parameter("threshold", "float", 0.4, help="output difference that marks a decision (reaction times)",
              label="Decision threshold", low=0.0, low_open=True, typical=(0.1, 0.8)),
    Parameter("rule", "choice", "commit", help="reaction time: 'commit' (from when the output stays beyond the "
              "threshold) or 'first' (first crossing)", label="Reaction-time rule", choices=("commit", "first")),
    Parameter("channels", "object", (0, 1), help="the two output channels compared: (choice 0, choice 1)",
              label="Channels", check=_check_channels),
    Parameter("ci", "choice", "hessian", help="confidence intervals of a psychometric fit: 'hessian' (Wald) or "
              "'bootstrap'", label="Intervals", choices=("hessian", "bootstrap")),
    Parameter("ci_level", "float", 0.95, help="coverage of the confidence intervals", label="Interval level",
              low=0.0, high=1.0, low_open=True, high_open=True, typical=(0.68, 0.99)),
    Parameter("n_bootstrap", "int", 200, help="refits of the parametric bootstrap", label="Bootstrap refits",
              low=2, high=_ANALYSIS_SIZE, typical=(100, 2000)),
    Parameter("lapses", "bool", True, help="fit the guess and lapse rates (False: a 2-parameter logistic)",
              label="Fit lapses"),
    Parameter("fit", "bool", True, help="fit a psychometric function to the curve", label="Fit"),
    Parameter("correct_only", "bool", True, help="average reaction times over correct trials only",
              label="Correct trials only"),
    Parameter("fixed_timing", "bool", False, help="give every trial the same timing (condition averages line up)",
              label="Fixed timing"),
    Parameter("noise", "bool", True, help="draw the inputs with the task's input noise", label="Input noise"),
    Parameter("bias", "float", 0.0, help="evidence at the midpoint of a psychometric function", label="Bias"),
    Parameter("slope", "float", 1.0, help="steepness of a psychometric function (1 / evidence units)",
              label="Slope"),
    Parameter("guess", "float", 0.0, help="P(choice 1) far on the choice-0 side (lower asymptote)", label="Guess rate",
              low=0.0, high=1.0),
    Parameter("lapse", "float", 0.0, help="1 - P(choice 1) far on the choice-1 side", label="Lapse rate",
              low=0.0, high=1.0),
    Parameter("n_groups", "int", None, help="number of conditions (groups) to average over", label="Groups",
              low=1, high=_ANALYSIS_SIZE, allow_none=True),
    Parameter("n_rec", "int", None, help="number of recurrent units", label="Units", unit="units", low=1,
              required=True),
    Parameter("window", "object", None, help="(start, stop) time steps, 0 <= start < stop", label="Window",
              unit="steps", allow_none=True, check=_check_window),
    Parameter("n_components", "int", 3, help="principal components to keep", label="Components", low=1, high=1000,
              typical=(2, 10)),
    Parameter("n", "int", None, help="how many states (sample_states) or units (select_units) to choose",
              label="How many", low=1, high=_ANALYSIS_SIZE, allow_none=True),
    Parameter("noise_scale", "float", 0.0, help="standard deviation of the noise added to sampled states",
              label="State noise", low=0.0),
    Parameter("sign", "object", 1, help="1: the most choice-1-preferring units, -1: the choice-0 ones, 'abs': "
              "the most selective either way", label="Preference", check=_check_sign),
    Parameter("kind", "choice", "silence", help="what a lesion does to its units: silence, clamp or kick",
              label="Perturbation", choices=("silence", "clamp", "kick")),
    Parameter("value", "float", 0.0, help="state a clamp holds its units at", label="Clamp value"),
    Parameter("delta", "float", 1.0, help="added to the units' state by a kick", label="Kick size"),
    Parameter("step", "int", 0, help="time step of a kick", label="Kick step", unit="steps", low=0),
    Parameter("start", "int", 0, help="first time step of a silence or clamp", label="From step", unit="steps",
              low=0),
    Parameter("stop", "int", None, help="time step a silence or clamp ends before (None: the end of the trial)",
              label="To step", unit="steps", low=1, allow_none=True),
    Parameter("q_tolerance", "float", 1e-8, help="keep points whose speed q is below this (raise it for slow "
              "points)", label="Speed tolerance", low=0.0, low_open=True, typical=(1e-10, 1e-4)),
    Parameter("unique_tolerance", "float", 1e-3, help="distance under which two fixed points are one",
              label="Uniqueness distance", low=0.0, typical=(1e-4, 1e-1)),
    Parameter("max_iterations", "int", 5000, help="most optimiser steps of the fixed-point search",
              label="Optimiser steps", unit="steps", low=1, high=10_000_000, typical=(500, 20000)),
    Parameter("learning_rate", "float", 0.01, help="first step size of the fixed-point search (state units)",
              label="Search step size", low=0.0, low_open=True, typical=(1e-3, 1e-1)),
    Parameter("final_lr_ratio", "float", 1e-3, help="the search's step size decays to learning_rate times this",
              label="Final step ratio", low=0.0, high=1.0, low_open=True),
    Parameter("chunk", "int", 100, help="optimiser steps between progress and Stop checks of the search",
              label="Steps per chunk", unit="steps", low=1, high=100_000),
    Parameter("newton_steps", "int", 8, help="Newton polishing steps after the search (0: none)",
              label="Newton steps", unit="steps", low=0, high=1000),
    Parameter("eps", "float", 1e-6, help="finite-difference step of a numerical Jacobian (state units)",
              label="Difference step", low=0.0, high=1.0, low_open=True),
    Parameter("progress", "callable", None, help="progress(fraction, message), called as the search runs",
              label="Progress", allow_none=True),
    Parameter("should_stop", "callable", None, help="should_stop() -> bool: cancels the search when True",
              label="Stop check", allow_none=True),
)


#: measures of the distance between a checkpoint and the final network (``analysis.dynamics_over_training``)
DISTANCE_METRICS = ("procrustes", "dsa", "cka", "cca")


def _check_metrics(value, parameter, where):
    """One measure's name or a non-empty sequence of them (repeats ignored); returns a tuple in the given order."""
    names = (value,) if isinstance(value, str) else value
    try:
        names = tuple(names)
    except TypeError:
        parameter.fail(value, where)
    if not names or any(not isinstance(n, str) or n not in DISTANCE_METRICS for n in names):
        parameter.fail(value, where)
    return tuple(dict.fromkeys(names))


def _check_options(value, parameter, where):
    if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
        parameter.fail(value, where)
    return dict(value)


def _check_penalties(value, parameter, where):
    """Ridge penalties: one number or a 1-D sequence of them, each finite and > 0."""
    if isinstance(value, (str, bytes, bool, np.bool_)):
        parameter.fail(value, where)
    try:
        values = np.atleast_1d(np.asarray(value, dtype=np.float64))
    except (TypeError, ValueError):
        parameter.fail(value, where)
    if values.ndim != 1 or values.size == 0 or values.size > 100 or not np.all(np.isfinite(values)) \
            or np.any(values <= 0):
        parameter.fail(value, where)
    return np.unique(values)


#: comparisons between networks, their dynamics and recordings (``analysis.similarity``,
#: ``analysis.dynamics``, ``analysis.recordings``, ``analysis.fixed_point_family``)
ANALYSIS_PARAMS.update(_declare(
    Parameter("signal", "choice", "rates", help="what a network contributes to a comparison: 'rates' f(state) "
              "or 'states' (pre-activation)", label="Signal", choices=("rates", "states")),
    Parameter("distance", "choice", "angular", help="'angular' (radians, scale-free) or 'euclidean'",
              label="Distance", choices=("angular", "euclidean")),
    Parameter("n_pcs", "int", None, help="principal components of each side compared (None: all units, zero-"
              "padded / by variance_kept)", label="Components", low=1, high=_ANALYSIS_SIZE, allow_none=True),
    Parameter("variance_kept", "float", 0.99, help="SVCCA: fraction of each side's variance its kept principal "
              "components explain", label="Variance kept", low=0.0, high=1.0, low_open=True, typical=(0.9, 0.99)),
    Parameter("n_delays", "int", 10, help="DSA: delays in the delay embedding (Hankel matrix)", label="Delays",
              low=1, high=1000, typical=(1, 50)),
    Parameter("delay_interval", "int", 1, help="DSA: time steps between two delays", label="Delay interval",
              unit="steps", low=1, high=1000),
    Parameter("rank", "int", 10, help="DSA: dimensions of the reduced-rank DMD operator", label="DMD rank",
              low=1, high=2000, typical=(3, 50)),
    Parameter("ridge", "float", 0.0, help="DSA: ridge penalty of the DMD least-squares fit", label="DMD ridge",
              low=0.0),
    Parameter("n_starts", "int", 10, help="starting points of a search (DSA: orthogonal transformations; "
              "context_line_attractors: initial states per context)", label="Starts", low=1, high=10_000,
              typical=(4, 256)),
    Parameter("n_iterations", "int", 500, help="DSA: most L-BFGS iterations per start (and per re-centring)",
              label="Iterations", low=1, high=100_000),
    Parameter("n_folds", "int", 5, help="folds of the cross-validation over trials (the inner choice of the "
              "penalty uses as many)", label="Folds", low=2, high=100, typical=(3, 10)),
    Parameter("penalties", "object", None, help="ridge penalties tried (relative to the mean eigenvalue of the "
              "features' covariance); None: 1e-6 ... 1e2", label="Ridge penalties", allow_none=True,
              check=_check_penalties),
    Parameter("n_restarts", "int", 2, help="fixed points: rounds of re-runs of candidates that did not converge",
              label="Re-runs", low=0, high=100),
    Parameter("restart_scale", "float", 0.1, help="fixed points: perturbation of a re-run, times the spread of the "
              "starting states", label="Re-run perturbation", low=0.0, typical=(0.01, 1.0)),
    Parameter("outlier_scale", "float", 10.0, help="fixed points farther than this times the spread of the starting "
              "states from their centroid are discarded", label="Outlier distance", low=0.0, low_open=True,
              typical=(2.0, 100.0)),
    Parameter("metrics", "object", ("procrustes", "dsa"), help="measures of the distance to the final network: "
              "any of 'procrustes', 'dsa', 'cka', 'cca'", label="Measures", check=_check_metrics),
    Parameter("fixed_points", "bool", True, help="search every checkpoint for fixed points (needs TensorFlow)",
              label="Fixed points"),
    Parameter("dsa_options", "object", None, help="keyword arguments of dsa_distance (n_delays, rank, ...)",
              label="DSA options", allow_none=True, check=_check_options),
))


# ------------------------------------------------------------------- unknown keys
_TASK_KEYS = {"T", "alpha", "N_steps"}


def register_task_keys(names):
    """Remember ``names`` as task parameters (``get_task_params()`` keys): never "unknown" in ``network_params``."""
    _TASK_KEYS.update(str(name) for name in names)


def known_task_keys():
    return frozenset(_TASK_KEYS)


def warn_unknown_keys(params, known, where, ignore=(), stacklevel=3):
    """Warn once per key of ``params`` that is not in ``known`` (with a "did you mean" hint)."""
    for key in params:
        if not isinstance(key, str) or key in known or key in ignore:
            continue
        close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.75)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        warnings.warn(f"{where}: unknown key {key!r} is ignored{hint}", UserWarning, stacklevel=stacklevel)


# ------------------------------------------------------------------- whole dicts
def validate_network_params(params, extra=None, warn_unknown=True, stacklevel=3):
    """Validate a whole ``network_params`` dict; return a normalised copy with every declared key.

    Args:
        params: the dict (PsychRNN's keys; task keys and weight-file keys are tolerated).
        extra: more declarations (a model subclass's own keys, ``{name: Parameter}``).
        warn_unknown: warn about keys nobody declared (misspellings get a "did you mean").

    Returns:
        dict: every declared key (absent ones at their default), validated and normalised,
        plus the undeclared keys of ``params`` unchanged.

    Raises:
        KeyError: a required key is missing (named, with the list of required keys).
        ParameterError: a value, or a combination (alpha = dt/tau > 1, a mask of the wrong
            shape, init_minval >= init_maxval...), is invalid; the error names the parameter.
    """
    if not hasattr(params, "keys"):
        raise ParameterError(f"network_params must be a dict, got {type(params).__name__}",
                             parameter="network_params", value=params, allowed="a dict")
    params = _dale_ratio_of_old_files(params)
    declared = dict(NETWORK_PARAMS)
    declared.update(extra or {})
    for key in REQUIRED_NETWORK_KEYS:
        if key not in params:
            raise KeyError(f"network_params is missing the required key {key!r} "
                           f"(required: {', '.join(REQUIRED_NETWORK_KEYS)})")
    out = validate_values(params, declared, fill_defaults=True)
    _check_time_constants(out)
    check_shapes(out)
    loss = out["loss_function"]
    if isinstance(loss, str) and loss not in LOSS_FUNCTION_NAMES:
        if not callable(params.get(loss)):
            NETWORK_PARAMS["loss_function"].fail(
                loss, "network_params",
                "must be " + ", ".join(repr(name) for name in LOSS_FUNCTION_NAMES) + ", or the name of a key "
                f"that holds your function (network_params[{loss!r}] = fn(predictions, y, output_mask))")
    elif not isinstance(loss, str) and not callable(loss):
        NETWORK_PARAMS["loss_function"].fail(loss, "network_params")
    initializer = out["initializer"]
    if isinstance(initializer, str):
        names = {n.lower(): n for n in INITIALIZER_NAMES}
        names.update({"gaussian_spectral_radius": "GaussianSpectralRadius", "alpha_identity": "AlphaIdentity",
                      "weight_initializer": "WeightInitializer"})
        canonical = names.get(initializer.strip().lower())
        if canonical is None:
            NETWORK_PARAMS["initializer"].fail(initializer, "network_params",
                                               "must be an initialiser object or one of "
                                               + ", ".join(repr(n) for n in INITIALIZER_NAMES))
        out["initializer"] = canonical
    elif initializer is not None and not hasattr(initializer, "initializations"):
        NETWORK_PARAMS["initializer"].fail(initializer, "network_params",
                                           "must be a WeightInitializer (or subclass) object or one of "
                                           + ", ".join(repr(n) for n in INITIALIZER_NAMES))

    if warn_unknown:
        warn_unknown_keys(params, declared, "network_params", ignore=network_key_ignores(params),
                          stacklevel=stacklevel + 1)
    return out


def network_key_ignores(params):
    """Keys of ``params`` that are not ``network_params`` keys yet must not be warned about as unknown.

    Task parameters (PsychRNN passes ``get_task_params()`` along), weight-file entries, the
    key that holds a custom loss function (``loss_function='my_loss'``) and optimiser slots
    (names with a '/').
    """
    ignore = set(known_task_keys()) | WEIGHT_FILE_KEYS
    if isinstance(params.get("loss_function"), str):
        ignore.add(params["loss_function"])
    ignore.update(k for k in params if isinstance(k, str) and "/" in k)  # optimiser slots in weight files
    return ignore


def _dale_ratio_of_old_files(params):
    """``params`` with a NaN ``dale_ratio`` read as None when an old weight file of ours says so; else an error.

    Files written before format 2 stored "no Dale's law" as NaN.  Passed in the PsychRNN way
    (``{**params, **dict(np.load(f))}``) their ``format`` entry comes along and identifies
    them; a NaN without it is refused with a ``ParameterError`` saying how to load such a file.
    """
    value = scalar(params.get("dale_ratio"))
    if not (isinstance(value, float) and math.isnan(value)):
        return params
    marker = scalar(params.get("format"))
    if isinstance(marker, str) and marker in NAN_DALE_RATIO_FORMATS:
        return {**params, "dale_ratio": None}
    NETWORK_PARAMS["dale_ratio"].fail(
        value, "network_params", "must be a number in [0, 1] or None; NaN meant 'no Dale's law' only in weight "
        "files of format 1 (load those with load_weights or load_weights_path)")


def validate_values(values, declared=NETWORK_PARAMS, where="network_params", fill_defaults=False):
    """Validate the keys of ``values`` that ``declared`` knows; return a normalised copy.

    Undeclared keys are copied unchanged; with ``fill_defaults`` every declared key is
    present in the result (at its default when absent).  Cross-parameter rules checked
    here: ``init_minval < init_maxval``.  (Shapes need the sizes: :func:`check_shapes`.)
    """
    out = {}
    for key, parameter in declared.items():
        value = values.get(key, _MISSING)
        if value is _MISSING:
            if fill_defaults:
                out[key] = parameter.default
            continue
        out[key] = parameter.validate(value, where)
    for key in values:
        if key not in declared:
            out[key] = values[key]
    low = out.get("init_minval", NETWORK_PARAMS["init_minval"].default)
    high = out.get("init_maxval", NETWORK_PARAMS["init_maxval"].default)
    if "init_minval" in declared and low >= high:
        NETWORK_PARAMS["init_minval"].fail(low, where, f"must be below init_maxval ({high:g})")
    return out


def _check_time_constants(values, where="network_params"):
    dt, tau = values.get("dt"), values.get("tau")
    if dt is not None and tau is not None and dt / tau > 1.0:
        raise ParameterError(
            f"{where}: alpha = dt / tau = {dt:g} / {tau:g} = {dt / tau:g} must be <= 1 (a step longer than the "
            "time constant makes the leaky update overshoot); lower dt or raise tau",
            parameter="dt", value=dt, allowed=f"dt <= tau ({tau:g} ms)")


def check_shapes(values, where="network_params"):
    """Check (and normalise, in place) masks and weight arrays of ``values`` against its N_in, N_rec, N_out."""
    n_in, n_rec, n_out = values["N_in"], values["N_rec"], values["N_out"]
    shapes = {
        "input_connectivity": (n_rec, n_in), "rec_connectivity": (n_rec, n_rec),
        "output_connectivity": (n_out, n_rec), "W_in": (n_rec, n_in), "W_rec": (n_rec, n_rec),
        "W_out": (n_out, n_rec), "b_rec": (n_rec,), "b_out": (n_out,), "init_state": (1, n_rec),
        "Dale_rec": (n_rec, n_rec), "Dale_out": (n_rec, n_rec),
    }
    for key, shape in shapes.items():
        value = values.get(key)
        if value is None:
            continue
        if NETWORK_PARAMS[key].kind == "mask":
            values[key] = validate_mask(value, key, shape, where)
        else:
            values[key] = validate_array(value, key, shape, where)
    return values


def validate_train_params(train_params, stacklevel=4):
    """Validate ``train_params``; return every declared key (defaults filled), unknown keys warned and dropped."""
    if train_params is None:
        train_params = {}
    if not hasattr(train_params, "keys"):
        raise ParameterError(f"train_params must be a dict, got {type(train_params).__name__}",
                             parameter="train_params", value=train_params, allowed="a dict")
    warn_unknown_keys(train_params, TRAIN_PARAMS, "train_params", stacklevel=stacklevel)
    out = {}
    for key, parameter in TRAIN_PARAMS.items():
        value = train_params.get(key, _MISSING)
        out[key] = parameter.default if value is _MISSING else parameter.validate(value, "train_params")
    if (out["performance_cutoff"] is None) != (out["performance_measure"] is None):
        raise ParameterError(
            "performance_cutoff and performance_measure must be given together: training is cut off when "
            "performance_measure(...) reaches performance_cutoff", parameter="performance_cutoff",
            value=out["performance_cutoff"], allowed="both or neither")
    if out["checkpoint_path"] is not None and out["checkpoint_every"] is None:
        raise ParameterError(
            "checkpoint_path is where checkpoints go: give checkpoint_every (steps) too, or no checkpoints are taken",
            parameter="checkpoint_every", value=None, allowed="an integer >= 1 (steps) with checkpoint_path")
    return out


def describe(parameters):
    """``{name: describe()}`` for a dict of declarations (e.g. for a help panel)."""
    return {name: p.describe() for name, p in parameters.items()}
