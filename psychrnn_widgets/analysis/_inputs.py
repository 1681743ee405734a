"""What an analysis function is given, checked before it runs (NumPy only).

Numbers and choices go through their declarations
(:data:`~psychrnn_widgets.params.ANALYSIS_PARAMS`); arrays through :func:`array`, which
checks dtype (real numbers; integers where counts or indices are meant), finiteness,
the number of dimensions, sizes that must agree and emptiness.  Every error is a
:class:`~psychrnn_widgets.errors.ParameterError` that names the function and the argument,
e.g. ``psth: group must have shape (B=40,), got shape (39,)``.
"""
import numpy as np

from ..errors import ParameterError
from ..params import ANALYSIS_PARAMS, validate_array

__all__ = ["declared", "array", "indices", "fail"]


def fail(where, name, message, value=None, allowed=None):
    """Raise the ``ParameterError`` ``'<where>: <name> <message>'``."""
    raise ParameterError(f"{where}: {name} {message}", parameter=name, value=value, allowed=allowed)


def declared(where, **values):
    """Each keyword validated through its declaration in ``ANALYSIS_PARAMS``; one value or a tuple, in order."""
    checked = tuple(ANALYSIS_PARAMS[name].validate(value, where) for name, value in values.items())
    return checked[0] if len(checked) == 1 else checked


def _shape_text(shape):
    parts = [str(s) if isinstance(s, int) else str(s) for s in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def array(value, name, where, shape=None, min_ndim=None, allow_empty=False, integer=False, what=None):
    """``value`` as a finite float64 array (int64 with ``integer``), or ``ParameterError`` naming ``name``.

    Args:
        shape: the expected shape, a tuple whose entries are an int (that size), a string
            (a name: any size, the same wherever the name appears, e.g. ``("B", "T", "N")``
            against a dict given as ``sizes``), or None (any size).  Entries like ``"B=40"``
            fix the size and show the name.
        min_ndim: instead of ``shape``: at least this many dimensions, any sizes.
        allow_empty: accept an array with no elements (default: refused).
        integer: the values must be whole numbers (counts, indices, groups).
        what: the words for what is allowed (default from the other arguments).
    """
    what = what or ("an array of integers" if integer else "an array of finite numbers")
    if isinstance(value, np.ndarray) and value.dtype.kind == "c" or isinstance(value, complex):
        fail(where, name, f"must be {what} (real numbers), got complex values", value, what)
    if isinstance(value, (bool, np.bool_)):
        fail(where, name, f"must be {what}, got {value!r}", value, what)
    checked = validate_array(value, name, where=where, what=what)
    if shape is not None:
        sizes = {}
        expected = []
        for entry in shape:
            if isinstance(entry, str) and "=" in entry:
                label, size = entry.split("=")
                expected.append((f"{label}={size}", int(size)))
            elif isinstance(entry, str):
                expected.append((entry, None))
            else:
                expected.append((str(entry) if entry is not None else "any", entry))
        ok = checked.ndim == len(expected)
        if ok:
            for (label, size), got in zip(expected, checked.shape):
                if size is not None and size != got:
                    ok = False
                elif size is None and label != "any":
                    if sizes.setdefault(label, got) != got:
                        ok = False
        if not ok:
            fail(where, name, f"must have shape {_shape_text([e[0] for e in expected])}, got shape "
                 f"{checked.shape}", value, f"an array of shape {_shape_text([e[0] for e in expected])}")
    elif min_ndim is not None and checked.ndim < min_ndim:
        fail(where, name, f"must have at least {min_ndim} dimension{'s' if min_ndim > 1 else ''}, got shape "
             f"{checked.shape}", value, what)
    if not allow_empty and checked.size == 0:
        fail(where, name, f"must not be empty, got shape {checked.shape}", value, what)
    if integer:
        if not np.all(checked == np.round(checked)):
            bad = checked[checked != np.round(checked)].flat[0]
            fail(where, name, f"must hold whole numbers, got {bad:g}", value, what)
        if np.abs(checked).max(initial=0) > 2 ** 53:
            fail(where, name, "holds integers too large to be counts or indices", value, what)
        return checked.astype(np.int64)
    return checked


def indices(value, name, where, size, what="indices"):
    """A 1-D int64 array of indices into ``range(size)`` (an int is one index), or ``ParameterError``."""
    checked = array(np.atleast_1d(value) if np.ndim(value) == 0 and not isinstance(value, (str, bytes))
                    else value, name, where, shape=(None,), allow_empty=True, integer=True,
                    what=f"{what} in 0..{size - 1}")
    outside = checked[(checked < 0) | (checked >= size)]
    if outside.size:
        fail(where, name, f"must be {what} in 0..{size - 1}, got {int(outside[0])}", value, f"{what} in 0..{size - 1}")
    return checked
