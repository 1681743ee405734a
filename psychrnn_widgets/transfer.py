"""Transfer functions, known by name.

A model stores its transfer function by *name* (``'relu'``, ``'tanh'``...) so weight
files never hold code.  NumPy versions live here (no TensorFlow import); the
TensorFlow versions are looked up by the same names in ``models.rnn``.
"""
import numpy as np

from .errors import ParameterError


def _relu(x):
    return np.maximum(x, 0)


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free logistic


def _softplus(x):
    return np.logaddexp(0, x)


def _elu(x):
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


def _identity(x):
    return x


NUMPY_TRANSFER_FUNCTIONS = {
    "relu": _relu,
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "softplus": _softplus,
    "elu": _elu,
    "linear": _identity,
}

#: Names a weight file or ``network_params['transfer_function']`` may use.
TRANSFER_FUNCTION_NAMES = tuple(NUMPY_TRANSFER_FUNCTIONS)

#: other names accepted for the same functions, ``((alias, name), ...)``
TRANSFER_FUNCTION_ALIASES = (("identity", "linear"), ("logistic", "sigmoid"))
_ALIASES = dict(TRANSFER_FUNCTION_ALIASES)


def canonical_name(name):
    """Return the canonical transfer-function name for ``name`` or raise ``ParameterError``."""
    key = _ALIASES.get(str(name).lower(), str(name).lower())
    if key not in NUMPY_TRANSFER_FUNCTIONS:
        raise ParameterError(
            f"unknown transfer function {name!r}; known names: {', '.join(TRANSFER_FUNCTION_NAMES)}"
        )
    return key


def name_of(function):
    """Best-effort name of a transfer-function object (TF op, NumPy function or string).

    Returns ``None`` for a custom callable that is not one of the known functions.
    """
    if function is None:
        return None
    if isinstance(function, str):
        return canonical_name(function)
    raw = getattr(function, "__name__", "") or ""
    raw = raw.lstrip("_").lower()
    for candidate in (raw, raw.replace("_v2", "")):
        try:
            return canonical_name(candidate)
        except ParameterError:
            continue
    return None


def numpy_transfer_function(name_or_function):
    """NumPy implementation for a name, or the callable itself if it is already NumPy-usable."""
    if callable(name_or_function) and name_of(name_or_function) is None:
        return name_or_function  # a user's own NumPy function
    return NUMPY_TRANSFER_FUNCTIONS[name_of(name_or_function) or "relu"]
