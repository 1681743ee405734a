"""Weight files: save, load and export to PsychRNN 1.0 (NumPy only, never TensorFlow).

File format (``save_weights``)
------------------------------
An uncompressed ``.npz`` archive (one ``.npy`` member per key) that holds no pickled
objects, so ``numpy.load(path, allow_pickle=False)`` reads every entry.

=========================  =================  ====================================
key                        dtype, shape       meaning
=========================  =================  ====================================
``format``                 str, ()            ``'psychrnn_widgets-weights-2'``
``W_in``                   float32 (N_rec,N_in)   *effective* input weights
``W_rec``                  float32 (N_rec,N_rec)  *effective* recurrent weights
``W_out``                  float32 (N_out,N_rec)  *effective* output weights
``b_rec``, ``b_out``       float32 (N_rec,), (N_out,)
``init_state``             float32 (1,N_rec)
``input_connectivity``,    as the matrices    masks (1 connected, 0 not)
``rec_connectivity``,
``output_connectivity``
``Dale_rec``, ``Dale_out`` (N_rec,N_rec)      diagonal sign (+1/-1) and readout gate
``dale_ratio``             float64, ()        fraction of E units; **0.0 = no Dale's law**
``meta_transfer_function`` str, ()            name (``relu``, ``tanh``...); **'' = unknown**
``alpha``,                 float64, ()        optional metadata
``meta_dt``, ``meta_tau``,
``meta_rec_noise``
``model``                  str, ()            optional class name (``'Basic'``, ``'LSTM'``...)
any other key              numeric array      e.g. LSTM/GRU gate weights ``W_f``, ``b_f``...
=========================  =================  ====================================

Every value means the same network in PsychRNN 1.0, whichever way it loads the file:

* ``dale_ratio``: PsychRNN applies Dale's law only ``if dale_ratio:``, so "no Dale's law" is
  stored as 0.0 (falsy there, and read back as ``None`` here; ``dale_ratio=0`` means no
  Dale's law in this package too).  PsychRNN's ``Basic(load_weights_path=...)`` and its
  ``Basic({**params, **dict(np.load(f, allow_pickle=True))})`` both unwrap it with
  ``.item()`` and so leave Dale's law off.
* ``dt``, ``tau``, ``rec_noise`` and the transfer function carry a ``meta_`` prefix
  (:data:`~psychrnn_widgets.params.WEIGHT_FILE_META`): in that second pattern PsychRNN would
  take the plain names as its parameters, and a string is no transfer function and a float64
  ``dt`` or ``rec_noise`` breaks its float32 graph.  Pass ``transfer_function`` in ``params``
  when PsychRNN loads a file (it never reads it from one); :func:`load_weights` returns the
  plain names.

Format 1 (``'psychrnn_widgets-weights-1'``, earlier versions) stored "no Dale's law" as NaN
and the metadata under the plain names; it still loads here (NaN and 0.0 both read as
``None``).  The marker changed because a reader of format 1 would take a stored 0.0 as
"Dale's law, every unit inhibitory", another network; such a reader refuses format 2 instead.

"Effective" means masks and Dale signs are already applied (``W[post, pre]``).  Keys
holding ``'/'`` (optimizer slots such as ``W_rec/Adam``) are never written or returned;
other ``None`` values are simply omitted.  Writes are atomic: a temporary file in the
target directory is flushed, fsync'ed and renamed over the target.

Loading (``load_weights``) also reads files written by PsychRNN 1.0 and master.  Those
hold pickled object arrays (``dale_ratio``; on master also ``transfer_function``, a
reference to ``tensorflow.python.ops.gen_nn_ops.relu``); they are read through a
restricted unpickler that accepts plain values and references to known transfer functions
only (see :mod:`psychrnn_widgets.io.safe_unpickle`), so opening a weight file can never
run code.  PsychRNN 1.0 files carry no transfer function: ``transfer_function`` is
``None`` and the caller defaults to relu.  PsychRNN applies Dale's law only when
``dale_ratio`` is truthy, so a PsychRNN file with ``dale_ratio == 0`` loads as ``None``
(the declaration of ``dale_ratio`` reads 0 as None everywhere).
PsychRNN's stored ``Dale_out`` is returned as is (its default is a copy of ``Dale_rec``,
+1/-1, a PsychRNN bug): the stored ``W_out`` was computed with it, so consumers must
re-apply the file's ``Dale_out``, not one rebuilt from ``dale_ratio``.

Export (``export_psychrnn``) writes what ``psychrnn.Basic(load_weights_path=...)`` loads
and runs with identical outputs; see its docstring for the Dale_out subtlety.
"""
import contextlib
import io
import math
import os
import pickle
import warnings
import zipfile
from numbers import Real
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

from ..errors import ParameterError, WeightFileError
from ..params import NETWORK_PARAMS, WEIGHT_FILE_META
from ..transfer import canonical_name, name_of
from .atomic import write_atomic
from .safe_unpickle import read_npz_safely

__all__ = ["FORMAT", "save_weights", "load_weights", "export_psychrnn", "read_npz_safely", "rate_network_sizes",
           "plain_names", "stored_dale_ratio", "RATE_NETWORK_KEYS", "MASK_KEYS"]

#: Value of the ``format`` entry in files written by :func:`save_weights`.
FORMAT = "psychrnn_widgets-weights-2"
_FLOAT_METADATA = ("alpha", "dt", "tau", "rec_noise")
_PSYCHRNN_KEYS = ("init_state", "W_in", "W_rec", "W_out", "b_rec", "b_out")
#: what a rate network (Basic) needs from a weights dict or file
RATE_NETWORK_KEYS = ("W_in", "W_rec", "W_out", "b_rec", "b_out", "init_state")
#: connectivity masks: 0/1 only (refused at save and at load otherwise)
MASK_KEYS = ("input_connectivity", "rec_connectivity", "output_connectivity")


def rate_network_sizes(weights, source, sizes=None, error=WeightFileError):
    """``(N_in, N_rec, N_out)`` of a rate network's weights, after checking them.

    Checks that every key of :data:`RATE_NETWORK_KEYS` is present, numeric, finite and of
    a consistent shape (``W_rec`` (N_rec, N_rec), ``W_in`` (N_rec, N_in), ``W_out``
    (N_out, N_rec), ``b_rec`` (N_rec,), ``b_out`` (N_out,), ``init_state`` N_rec values) and,
    when ``sizes = (N_in, N_rec, N_out)`` is given, that they match it.  Masks present must
    hold only 0s and 1s.

    Args:
        weights: a dict (e.g. from :func:`load_weights` or ``get_weights()``).
        source: what to name in errors (the file path, or e.g. ``"weights"``).
        error: the exception class (``WeightFileError`` for files, ``ParameterError`` for dicts).
    """
    missing = [key for key in RATE_NETWORK_KEYS if weights.get(key) is None]
    if missing:
        model = weights.get("model")
        hint = f" (it holds a {model!r} model)" if isinstance(model, str) and model not in ("Basic", "BasicScan") else ""
        raise error(f"{source}: missing {', '.join(repr(k) for k in missing)}{hint}; a rate network needs "
                    f"{', '.join(RATE_NETWORK_KEYS)}")
    arrays = {}
    for key in RATE_NETWORK_KEYS:
        try:
            array = np.asarray(weights[key], dtype=np.float64)
        except (TypeError, ValueError):
            raise error(f"{source}: {key!r} is not a numeric array") from None
        if not np.isfinite(array).all():
            raise error(f"{source}: {key!r} holds NaN or infinite values")
        arrays[key] = array
    W_rec = arrays["W_rec"]
    if W_rec.ndim != 2 or W_rec.shape[0] != W_rec.shape[1]:
        raise error(f"{source}: 'W_rec' must be square (N_rec, N_rec), got shape {W_rec.shape}")
    n_rec = W_rec.shape[0]
    W_in, W_out = arrays["W_in"], arrays["W_out"]
    if W_in.ndim != 2 or W_in.shape[0] != n_rec:
        raise error(f"{source}: 'W_in' has shape {W_in.shape}, expected (N_rec={n_rec}, N_in)")
    if W_out.ndim != 2 or W_out.shape[1] != n_rec:
        raise error(f"{source}: 'W_out' has shape {W_out.shape}, expected (N_out, N_rec={n_rec})")
    n_in, n_out = W_in.shape[1], W_out.shape[0]
    for key, shape in (("b_rec", (n_rec,)), ("b_out", (n_out,))):
        if arrays[key].shape != shape:
            raise error(f"{source}: {key!r} has shape {arrays[key].shape}, expected {shape}")
    if arrays["init_state"].size != n_rec:
        raise error(f"{source}: 'init_state' has shape {arrays['init_state'].shape}, expected (1, {n_rec})")
    if sizes is not None:
        expected = dict(zip(("N_in", "N_rec", "N_out"), sizes))
        found = {"N_in": n_in, "N_rec": n_rec, "N_out": n_out}
        wrong = [f"{k}={found[k]} (the network has {k}={expected[k]})" for k in found
                 if expected[k] is not None and expected[k] != found[k]]
        if wrong:
            raise error(f"{source}: the weights are for {', '.join(wrong)}")
    for key, shape in zip(MASK_KEYS, ((n_rec, n_in), (n_rec, n_rec), (n_out, n_rec))):
        if weights.get(key) is not None:
            _check_mask(weights[key], key, source, shape, error)
    return n_in, n_rec, n_out


def _check_mask(value, key, source, shape=None, error=WeightFileError):
    try:
        mask = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise error(f"{source}: {key!r} is not a numeric array") from None
    if shape is not None and mask.shape != tuple(shape):
        raise error(f"{source}: {key!r} has shape {mask.shape}, expected {tuple(shape)}")
    bad = ~np.isin(mask, (0.0, 1.0))
    if bad.any():
        raise error(f"{source}: {key!r} must hold only 0 and 1 (a connectivity mask); {int(bad.sum())} entries "
                    f"are other values, e.g. {float(mask[bad].flat[0]):g}")


# ----------------------------------------------------------------------------- API
def save_weights(path, weights):
    """Write the weights dict to ``path`` (``.npz`` appended if missing), atomically.

    Returns the ``pathlib.Path`` written.  Raises ``ParameterError`` for a value that
    would need pickling (object dtype), naming its key.

    Example (the file gives the same network back):

    >>> import os, tempfile
    >>> import numpy as np
    >>> from psychrnn_widgets import BasicSimulator, GaussianSpectralRadius, load_weights, save_weights
    >>> weights = GaussianSpectralRadius(N_in=2, N_rec=10, N_out=2, seed=0).initializations
    >>> path = save_weights(os.path.join(tempfile.mkdtemp(), "net"), weights)
    >>> path.name
    'net.npz'
    >>> sorted(load_weights(path))[:6]
    ['Dale_out', 'Dale_rec', 'W_in', 'W_out', 'W_rec', 'b_out']
    >>> x = np.ones((1, 5, 2), dtype=np.float32)
    >>> before = BasicSimulator(weights=weights, params={"dt": 10, "tau": 100}).run_trials(x, noise=False)[0]
    >>> after = BasicSimulator(weights_path=path, params={"dt": 10, "tau": 100}).run_trials(x, noise=False)[0]
    >>> bool(np.allclose(before, after))
    True
    """
    members = {"format": np.array(FORMAT)}
    for key in weights:
        if not isinstance(key, str):
            raise ParameterError(f"weight names must be strings, got {key!r}")
    for key, value in plain_names(weights).items():
        if "/" in key or key == "format":
            continue  # optimizer slots / our own marker
        if key in MASK_KEYS and value is not None:
            _check_mask(value, key, "save_weights", error=ParameterError)
        array = _plain_array(key, value)
        if array is not None:
            members[f"meta_{key}" if key in WEIGHT_FILE_META else key] = array
    return _write_npz_atomic(_npz_path(path), members)


def load_weights(path):
    """Read a weight file written here or by PsychRNN 1.0 / master; returns a dict.

    ``path`` may omit the ``.npz`` suffix.  Raises ``FileNotFoundError`` (naming the
    path) if it does not exist and ``WeightFileError`` (naming the path and the problem)
    if it is corrupt, not an ``.npz`` archive or holds unsafe pickled content.
    """
    path = Path(os.fsdecode(os.fspath(path))).expanduser()
    if not path.exists() and _npz_path(path).exists():  # save_weights('w') wrote w.npz
        path = _npz_path(path)
    raw = read_npz_safely(path)
    ours = "format" in raw
    if ours:
        _check_format(path, raw.pop("format"))
    weights = {"dale_ratio": None, "transfer_function": None}
    for key, array in (plain_names(raw) if ours else raw).items():
        if "/" in key:
            continue
        try:
            weights[key] = _from_file(key, array)
        except (TypeError, ValueError) as exc:
            raise WeightFileError(f"{path}: entry {key!r}: {exc}") from None
        if key in MASK_KEYS:
            _check_mask(weights[key], key, path)
    return weights


def export_psychrnn(path, weights):
    """Write ``weights`` in the form PsychRNN 1.0's ``Basic(load_weights_path=...)`` loads.

    Keys: ``init_state (1,N_rec)``, ``W_in, W_rec, W_out, b_rec, b_out``, ``Dale_rec,
    Dale_out``, the three masks (float32; masks default to ones, written as 0/1), and
    ``dale_ratio`` as PsychRNN writes it: a 0-d object array holding None or a float
    (pickled with the ``numpy.core`` path, which NumPy 1.x and 2.x both read).  No
    ``transfer_function`` entry: PsychRNN 1.0 takes it from ``params`` (a warning says so
    when it is not relu).  Returns the ``pathlib.Path`` written.

    PsychRNN stores effective matrices and re-applies ``|W*C| @ Dale`` (when
    ``dale_ratio`` is truthy; ``W*C`` otherwise) on load.  The matrices given here are
    effective, so each ``Dale`` written is one for which that maths is the identity:
    the given ``Dale_rec``/``Dale_out`` if they qualify, else the one built from
    ``dale_ratio`` -- for ``Dale_out`` first ``diag(1 for E, 0 for I)`` (our readout; our
    ``W_out`` is 0 on inhibitory columns), then PsychRNN's default ``diag(+1/-1)`` (files
    trained in PsychRNN have negative inhibitory readout columns).  Raises
    ``ParameterError`` when no choice reproduces a matrix (i.e. it is not effective).
    """
    return _write_npz_atomic(_npz_path(path), _psychrnn_members(weights))


def plain_names(weights):
    """A copy of ``weights`` with format-2 ``meta_<name>`` entries under their plain names.

    ``weights``: a dict, or what ``numpy.load`` returns for one of our files (the PsychRNN
    pattern ``dict(np.load(f))``).  ``meta_dt, meta_tau, meta_rec_noise,
    meta_transfer_function`` become ``dt, tau, rec_noise, transfer_function`` unless the plain
    name is already there; everything else is kept as is.
    """
    out = {key: weights[key] for key in weights.keys()}
    for name in WEIGHT_FILE_META:
        stored = out.pop(f"meta_{name}", None)
        if stored is not None and out.get(name) is None:
            out[name] = stored
    return out


# ------------------------------------------------------------------------- writing
def _npz_path(path):
    name = os.fsdecode(os.fspath(path))
    if not name.endswith(".npz"):
        name += ".npz"  # like numpy.savez
    return Path(name).expanduser()


def _plain_array(key, value):
    """The array stored for ``weights[key]`` (``None`` to omit it)."""
    if key == "dale_ratio":  # 0.0 for None: falsy in PsychRNN's `if self.dale_ratio:`, never pickled
        ratio = stored_dale_ratio(value)
        return np.array(0.0 if ratio is None else ratio, dtype=np.float64)
    if key == "transfer_function":
        name = name_of(value)
        if name is None and value is not None:
            warnings.warn(f"transfer function {value!r} has no known name; the file records it as unknown")
        return np.array(name or "")
    if value is None:
        return None
    if key in _FLOAT_METADATA and isinstance(value, Real):
        return np.array(float(value), dtype=np.float64)
    array = np.asarray(value)
    if array.dtype.hasobject:
        raise ParameterError(
            f"weights[{key!r}] holds Python objects ({type(value).__name__}); weight files "
            "store only numeric, boolean and string arrays"
        )
    return array


def _write_npz_atomic(target, members):
    """Write ``{key: ndarray | npy bytes}`` as ``target`` via a temp file + ``os.replace``."""

    def write(fh):
        with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
            for key, value in members.items():
                with archive.open(key + ".npy", "w", force_zip64=True) as member:
                    if isinstance(value, bytes):
                        member.write(value)
                    else:
                        npy_format.write_array(member, value, allow_pickle=False)

    return write_atomic(target, write)


# ------------------------------------------------------------------------- reading
def _check_format(path, marker):
    text = str(marker[()]) if marker.shape == () else ""
    prefix = FORMAT.rsplit("-", 1)[0] + "-"
    version = text[len(prefix):] if text.startswith(prefix) else ""
    if not version.isdigit():
        raise WeightFileError(f"{path}: unknown weight-file format {text!r}")
    if int(version) > int(FORMAT.rsplit("-", 1)[1]):
        raise WeightFileError(f"{path}: format {text!r} was written by a newer psychrnn_widgets")


def _single(array):
    if array.size != 1:
        raise ValueError(f"expected a single value, got an array of shape {array.shape}")
    return array.reshape(()).item()


def stored_dale_ratio(value):
    """A stored or given dale_ratio: None (0.0 in our files, NaN in format 1, None or 0 in PsychRNN's) or in [0, 1]."""
    if isinstance(value, np.ndarray):
        value = _single(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return NETWORK_PARAMS["dale_ratio"].validate(value, "weights")  # 0 -> None, PsychRNN's `if self.dale_ratio:`


def _from_file(key, array):
    """Convert one stored array to its value in the weights dict."""
    if key == "dale_ratio":
        return stored_dale_ratio(array)
    if key == "transfer_function":
        name = _single(array)
        if name is None or name == "":
            return None
        if not isinstance(name, str):
            raise ValueError(f"expected a transfer-function name, got {type(name).__name__}")
        return canonical_name(name)
    if array.dtype.hasobject:
        array = _plain_object_array(array)
        if not isinstance(array, np.ndarray):
            return array
    if array.shape == () and key in _FLOAT_METADATA:
        return float(array)
    if array.shape == () and array.dtype.kind == "U":
        return str(array[()])
    if array.dtype.kind == "f" and array.dtype != np.float32:
        array = array.astype(np.float32)
    return array


def _plain_object_array(array):
    """An extra object array from a PsychRNN file -> plain value or numeric array."""
    if array.shape == ():
        value = array.item()
        if value is None or isinstance(value, (bool, int, float, complex, str, np.generic)):
            return value
    converted = np.array(array.tolist())
    if converted.dtype.hasobject:
        raise TypeError("holds Python objects that are not plain numbers")
    return converted


# ------------------------------------------------------------------------- export
def _psychrnn_members(weights):
    model = weights.get("model")
    if model not in (None, "Basic", "BasicScan"):
        raise ParameterError(f"export_psychrnn writes PsychRNN Basic networks only, not {model!r}")
    try:
        arrays = {key: np.asarray(weights[key], dtype=np.float32) for key in _PSYCHRNN_KEYS}
    except KeyError as exc:
        raise ParameterError(f"export_psychrnn needs weights[{exc.args[0]!r}]") from None
    N_rec, N_in = arrays["W_in"].shape
    N_out = arrays["W_out"].shape[0]
    shapes = {"init_state": (1, N_rec), "W_rec": (N_rec, N_rec), "W_out": (N_out, N_rec),
              "b_rec": (N_rec,), "b_out": (N_out,)}
    arrays["init_state"] = arrays["init_state"].reshape(-1)[None, :]
    masks = {"input_connectivity": (N_rec, N_in), "rec_connectivity": (N_rec, N_rec),
             "output_connectivity": (N_out, N_rec)}
    for key, shape in masks.items():
        mask = weights.get(key)
        arrays[key] = np.ones(shape, np.float32) if mask is None else (np.asarray(mask) != 0).astype(np.float32)
        shapes[key] = shape
    for key, shape in shapes.items():
        if arrays[key].shape != shape:
            raise ParameterError(f"weights[{key!r}] has shape {arrays[key].shape}, expected {shape}")

    ratio = stored_dale_ratio(weights.get("dale_ratio"))
    sign = np.ones(N_rec, np.float32)
    if ratio is not None:
        sign[int(ratio * N_rec):] = -1.0
    dale = bool(ratio)  # PsychRNN: `if self.dale_ratio:`
    given = {key: weights.get(key) for key in ("Dale_rec", "Dale_out")}
    candidates = {
        "Dale_rec": [given["Dale_rec"], np.diag(sign)],
        "Dale_out": [given["Dale_out"], np.diag((sign > 0).astype(np.float32)), np.diag(sign)],
    }
    checks = {"Dale_rec": ("W_rec", "rec_connectivity"), "Dale_out": ("W_out", "output_connectivity")}
    for dale_key, (w_key, c_key) in checks.items():
        options = [np.asarray(d, np.float32) for d in candidates[dale_key] if d is not None]
        good = [d for d in options if d.shape == (N_rec, N_rec)
                and _reproduced(arrays[w_key], arrays[c_key], d if dale else None)]
        if not good:
            raise ParameterError(_not_effective(w_key, c_key, ratio))
        arrays[dale_key] = good[0]
    if not _reproduced(arrays["W_in"], arrays["input_connectivity"], "abs" if dale else None):
        raise ParameterError(_not_effective("W_in", "input_connectivity", ratio))

    transfer = weights.get("transfer_function")
    with contextlib.suppress(ParameterError):
        transfer = name_of(transfer)
    if transfer not in (None, "relu"):
        warnings.warn(f"PsychRNN 1.0 does not read the transfer function from the file; "
                      f"pass params['transfer_function'] (here {transfer!r}) when loading it")
    arrays["dale_ratio"] = _psychrnn_object_npy(ratio)
    return arrays


def _reproduced(W, C, dale):
    """Does PsychRNN's load-time maths give ``W`` back?  ``dale``: None, 'abs' or a matrix."""
    masked = W * C
    if dale is None:
        again = masked
    elif isinstance(dale, str):
        again = np.abs(masked)
    else:
        again = np.abs(masked) @ dale
    return bool(np.array_equal(again, W))


def _not_effective(w_key, c_key, ratio):
    if ratio:
        maths = f"|{w_key} * {c_key}|" + (" @ Dale" if w_key != "W_in" else "")
    else:
        maths = f"{w_key} * {c_key}"
    return (f"cannot export weights[{w_key!r}]: PsychRNN re-applies {maths} on load "
            f"(dale_ratio={ratio}) and that changes it; export the effective weights "
            "(as returned by get_weights()/load_weights)")


def _psychrnn_object_npy(value):
    """``.npy`` bytes of a 0-d object array holding ``value``, as PsychRNN's np.savez writes it."""
    payload = pickle.dumps(np.array(value, dtype=object), protocol=3)
    # NumPy 2 names numpy._core, which NumPy < 1.26 cannot import; numpy.core works in both.
    payload = payload.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
    buffer = io.BytesIO()
    npy_format.write_array_header_1_0(buffer, {"descr": "|O", "fortran_order": False, "shape": ()})
    buffer.write(payload)
    return buffer.getvalue()
