"""Read ``.npz`` archives without ever running code stored in them (NumPy only).

``numpy.load(..., allow_pickle=True)`` unpickles object arrays with the full pickle
machinery, so a crafted file can call ``os.system`` the moment it is opened.  PsychRNN's
weight files *do* hold pickled object arrays (``dale_ratio``, and on PsychRNN master a
reference to ``tensorflow.python.ops.gen_nn_ops.relu`` under ``transfer_function``), so
they cannot be read with ``allow_pickle=False`` either.  This module parses each
``.npy`` member itself:

* plain (non-object) arrays go through ``numpy.lib.format.read_array(allow_pickle=False)``;
* object arrays are unpickled with :class:`RestrictedUnpickler`, whose ``find_class``
  resolves only NumPy's array-reconstruction globals and turns a reference to a known
  transfer function (``relu``, ``tanh``... from a ``tensorflow``/``keras``/``tf_keras``/
  ``numpy`` module) into a :class:`TransferFunctionRef` -- a plain string holding the
  canonical name; the module named in the pickle is never imported.  Any other global
  (``os.system``, ``builtins.eval``, any class...) is refused when the pickle names it,
  i.e. before anything could be called.
"""
import errno
import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

from ..errors import ParameterError, WeightFileError
from ..transfer import TRANSFER_FUNCTION_NAMES, canonical_name

__all__ = ["TransferFunctionRef", "RefusedGlobal", "RestrictedUnpickler", "read_npz_safely"]


class TransferFunctionRef(str):
    """Stand-in for a pickled reference to a known transfer function.

    It is the canonical name (``'relu'``...) as a ``str``; it is not callable, so a pickle
    that tries to call the function it referenced fails without running anything.
    """

    __slots__ = ()

    def __repr__(self):
        return f"TransferFunctionRef({str(self)!r})"


class RefusedGlobal(pickle.UnpicklingError):
    """A pickle named a global that is not on the allow-list."""

    def __init__(self, module, name):
        super().__init__(f"refused global {module}.{name}")
        self.module, self.name = module, name


# NumPy's own pickles of arrays and scalars name numpy.core.multiarray (NumPy 1) or
# numpy._core.multiarray (NumPy 2); neither module is imported: the names map to the
# checked builders below.
#: most values an object array in a weight file may hold (PsychRNN's hold one: 0-d arrays)
MAX_OBJECT_ITEMS = 10_000
#: most bytes of one pickled member
MAX_PICKLE_BYTES = 1 << 20


class _ArrayBuilder:
    """What NumPy's pickled ``_reconstruct(ndarray, shape, dtype)`` call yields here instead of an array.

    NumPy rebuilds a pickled array in two steps: ``_reconstruct`` allocates an array, then
    the pickle's BUILD step calls its ``__setstate__((version, shape, dtype, fortran,
    data))``.  ``ndarray.__setstate__`` trusts ``shape``: a crafted file whose shape
    disagrees with its data crashes the interpreter (seen: a segmentation fault) or
    allocates what the header promises.  This stand-in receives the same state, checks
    that ``shape`` is small and matches ``data`` exactly, and only then builds the array
    with ordinary public NumPy calls.  :func:`_materialise` swaps builders for arrays.
    """

    __slots__ = ("array",)

    def __init__(self):
        self.array = None

    def __setstate__(self, state):
        if not (isinstance(state, tuple) and len(state) == 5):
            raise ValueError("malformed pickled array state")
        _version, shape, dtype, fortran, data = state
        if not (isinstance(shape, tuple) and all(isinstance(n, int) and n >= 0 for n in shape)):
            raise ValueError(f"malformed pickled array shape {shape!r}")
        if not isinstance(dtype, np.dtype):
            raise ValueError("malformed pickled array dtype")
        count = int(np.prod(shape, dtype=np.float64))
        if count > MAX_OBJECT_ITEMS:
            raise ValueError(f"a pickled array of shape {shape} is larger than a weight file may hold")
        order = "F" if fortran else "C"
        if dtype.hasobject:
            if not isinstance(data, list) or len(data) != count:
                raise ValueError(f"a pickled object array of shape {shape} does not hold {count} values")
            flat = np.empty(count, dtype=object)
            flat[:] = [_materialise(item) for item in data]
            self.array = flat.reshape(shape, order=order)
        else:
            if not isinstance(data, (bytes, bytearray)) or len(data) != count * dtype.itemsize:
                raise ValueError(f"a pickled array of shape {shape} does not hold {count * dtype.itemsize} bytes")
            self.array = np.frombuffer(bytes(data), dtype=dtype, count=count).reshape(shape, order=order).copy()


def _reconstruct(cls, shape, dtype):
    if cls is not np.ndarray:
        raise ValueError("only plain NumPy arrays may be pickled in a weight file")
    return _ArrayBuilder()


def _scalar(dtype, *data):
    """NumPy's pickled scalar ``scalar(dtype, bytes)`` (or ``(dtype, object)``), checked before building."""
    if not isinstance(dtype, np.dtype) or len(data) != 1:
        raise ValueError("malformed pickled NumPy scalar")
    value = data[0]
    if dtype.hasobject:
        return _materialise(value)
    if not isinstance(value, (bytes, bytearray)) or len(value) != dtype.itemsize:
        raise ValueError("malformed pickled NumPy scalar")
    return np.frombuffer(bytes(value), dtype=dtype, count=1)[0]


def _materialise(value):
    """Replace :class:`_ArrayBuilder` stand-ins by the arrays they built (recursively in lists/tuples/dicts)."""
    if isinstance(value, _ArrayBuilder):
        if value.array is None:
            raise ValueError("a pickled array was never filled in")
        return value.array
    if isinstance(value, list):
        return [_materialise(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_materialise(v) for v in value)
    if isinstance(value, dict):
        return {k: _materialise(v) for k, v in value.items()}
    return value


_NUMPY_GLOBALS = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}
for _module in ("numpy.core.multiarray", "numpy._core.multiarray"):
    _NUMPY_GLOBALS[(_module, "_reconstruct")] = _reconstruct
    _NUMPY_GLOBALS[(_module, "scalar")] = _scalar

_TRANSFER_MODULE_ROOTS = ("tensorflow", "keras", "tf_keras", "numpy")


def transfer_function_reference(module, name):
    """Canonical name if ``module.name`` is a known transfer function, else ``None``.

    Decided from the two strings only (nothing is imported): the module must live under
    ``tensorflow``, ``keras``, ``tf_keras`` or ``numpy`` and the name must be a lower-case
    function name such as ``relu``, ``tanh``, ``sigmoid``, ``softplus``, ``elu``,
    ``identity``/``linear`` (a ``_v2`` suffix or leading underscores are tolerated).
    """
    root = module.split(".", 1)[0]
    if root not in _TRANSFER_MODULE_ROOTS or "." in name:
        return None
    if root == "numpy":  # numpy.identity builds a matrix: only exact names count here
        return name if name in TRANSFER_FUNCTION_NAMES else None
    key = name.lstrip("_")
    if key != key.lower():  # classes (ReLU, Activation...) are refused
        return None
    if key.endswith("_v2"):
        key = key[:-3]
    try:
        return canonical_name(key)
    except ParameterError:
        return None


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that rebuilds NumPy arrays/scalars and plain values only (see module doc)."""

    def find_class(self, module, name):
        found = _NUMPY_GLOBALS.get((module, name))
        if found is not None:
            return found
        transfer = transfer_function_reference(module, name)
        if transfer is not None:
            return TransferFunctionRef(transfer)
        raise RefusedGlobal(module, name)


def _read_header(fp, version):
    if version == (1, 0):
        return npy_format.read_array_header_1_0(fp)
    if version == (2, 0):
        return npy_format.read_array_header_2_0(fp)
    reader = getattr(npy_format, "_read_array_header", None)
    if reader is None:  # numpy 2.x keeps it in the implementation module
        from numpy.lib import _format_impl

        reader = _format_impl._read_array_header
    return reader(fp, version)


def _read_member(data):
    """One ``.npy`` member (bytes) -> ndarray, unpickling object arrays restrictedly."""
    fp = io.BytesIO(data)
    version = npy_format.read_magic(fp)
    shape, _fortran_order, dtype = _read_header(fp, version)
    count = int(np.prod(shape, dtype=np.float64))
    if not dtype.hasobject:
        needed, held = count * dtype.itemsize, len(data) - fp.tell()
        if needed > held:  # refuse before NumPy allocates what the header promises
            raise ValueError(f"its header promises {needed} bytes of data but the member holds {held}")
        fp.seek(0)
        return npy_format.read_array(fp, allow_pickle=False)
    if count > MAX_OBJECT_ITEMS or len(data) > MAX_PICKLE_BYTES:
        raise ValueError(f"a pickled object array of shape {tuple(shape)} ({len(data)} bytes) is larger than a weight "
                         f"file may hold ({MAX_OBJECT_ITEMS} values, {MAX_PICKLE_BYTES} bytes)")
    array = _materialise(RestrictedUnpickler(fp).load())
    if not isinstance(array, np.ndarray) or array.shape != tuple(shape):
        raise ValueError(f"pickled payload is not an array of shape {tuple(shape)}")
    return array


def read_npz_safely(path):
    """Read every array of the ``.npz`` file ``path`` without running pickled code.

    Returns ``{key: ndarray}`` with keys exactly as stored (``'W_rec/Adam'`` included).
    Object arrays hold only plain Python values, NumPy values and
    :class:`TransferFunctionRef` strings.

    Raises ``FileNotFoundError`` (naming the path) when the file does not exist, and
    :class:`~psychrnn_widgets.errors.WeightFileError` (naming the path and the problem)
    when it is not a readable ``.npz`` archive, a member is corrupt, or a member holds a
    pickled reference to anything outside the allow-list.
    """
    path = Path(path)
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, "weight file not found", str(path)) from None
    arrays = {}
    with fh:
        try:
            archive = zipfile.ZipFile(fh)
        except Exception as exc:  # BadZipFile, EOFError, OSError on a truncated file...
            raise WeightFileError(f"{path}: not a readable .npz (zip) archive: {exc}") from None
        with archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                name = info.filename
                key = name[:-4] if name.endswith(".npy") else name
                try:
                    arrays[key] = _read_member(archive.read(info))
                except RefusedGlobal as exc:
                    raise WeightFileError(
                        f"{path}: refused to load entry {key!r}: its pickled data references "
                        f"{exc.module}.{exc.name}, which a weight file may not contain (allowed: "
                        f"plain values, NumPy arrays and the transfer functions "
                        f"{', '.join(TRANSFER_FUNCTION_NAMES)}); nothing from the file was run"
                    ) from None
                except Exception as exc:  # anything else means a damaged member
                    raise WeightFileError(
                        f"{path}: entry {key!r} is corrupt or not a NumPy array "
                        f"({type(exc).__name__}: {exc})"
                    ) from None
    if not arrays:
        raise WeightFileError(f"{path}: the archive holds no arrays")
    return arrays
