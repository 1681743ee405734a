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

Everything read is bounded in memory and time: a file of a few kilobytes makes the reader
allocate at most about twice :data:`MAX_UNPACKED_BYTES` (16 MiB) and take milliseconds:

* the archive holds at most :data:`MAX_MEMBERS` members whose declared unpacked sizes add up
  to at most :data:`MAX_UNPACKED_BYTES` plus :data:`MAX_UNPACK_RATIO` times the file's size
  (a deflated "zip bomb" is refused from its directory, before anything is unpacked);
* a ``.npy`` header may not promise more data than its member holds;
* a pickled member is at most :data:`MAX_PICKLE_BYTES` long, and the values the pickled
  members build are walked once, with one budget for the whole file: repeated references
  to one list (pickle's memo) count every time they occur, so a "billion laughs" pickle --
  a few hundred bytes whose lists refer ten times to the list below, eight levels deep --
  is refused after :data:`MAX_OBJECT_ITEMS` values instead of expanding to 10^8 of them;
  nesting deeper than :data:`MAX_NESTING` and text longer than :data:`MAX_TEXT_LENGTH` are
  refused;
* every array is of a real numeric dtype (bool, integer, float) or text: complex,
  datetime64, timedelta64, bytes, void and structured dtypes are refused, naming the entry.
"""
import errno
import io
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

from ..errors import ParameterError, WeightFileError
from ..transfer import TRANSFER_FUNCTION_NAMES, canonical_name

__all__ = ["TransferFunctionRef", "RefusedGlobal", "RefusedContent", "RestrictedUnpickler", "read_npz_safely",
           "check_dtype", "MAX_OBJECT_ITEMS", "MAX_NESTING", "MAX_TEXT_LENGTH", "MAX_PICKLE_BYTES", "MAX_MEMBERS",
           "MAX_UNPACKED_BYTES", "MAX_UNPACK_RATIO"]


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


class RefusedContent(ValueError):
    """A member is well formed but holds what a weight file may not (a dtype, too many values...)."""


#: most values the pickled members of one file may expand to, counting every reference to a
#: shared list again (PsychRNN's hold one value each: a 0-d array of None, a float or a function)
MAX_OBJECT_ITEMS = 10_000
#: deepest nesting of lists, tuples and arrays inside a pickled member
MAX_NESTING = 32
#: longest text inside a pickled member (transfer-function and model names)
MAX_TEXT_LENGTH = 256
#: most bytes of one pickled member
MAX_PICKLE_BYTES = 64 << 10
#: most members of an archive
MAX_MEMBERS = 4096
#: the unpacked members may add up to this many bytes plus MAX_UNPACK_RATIO times the file's size
MAX_UNPACKED_BYTES = 16 << 20
MAX_UNPACK_RATIO = 64
#: dtype kinds an array in a weight file may have: bool, signed and unsigned integers, floats, text
_ALLOWED_KINDS = "biufU"
_KIND_NAMES = {"c": "complex numbers", "M": "dates (datetime64)", "m": "time spans (timedelta64)",
               "S": "raw bytes", "V": "raw or structured records", "O": "Python objects"}


def check_dtype(dtype):
    """Raise :class:`RefusedContent` unless ``dtype`` is bool, an integer, a real float or text.

    Weight arrays must be real numbers: complex, ``datetime64``, ``timedelta64``, bytes
    (``S``), void and structured dtypes are refused.  (Object arrays are unpickled and
    their values checked one by one instead.)
    """
    dtype = np.dtype(dtype)
    if dtype.names is not None or dtype.subdtype is not None:
        raise RefusedContent(f"its dtype {dtype} is structured; weight arrays hold real numbers (bool, integer or "
                             "float) or text")
    if dtype.kind not in _ALLOWED_KINDS:
        what = _KIND_NAMES.get(dtype.kind, "values that are not real numbers")
        raise RefusedContent(f"its dtype {dtype} holds {what}; weight arrays hold real numbers (bool, integer or "
                             "float) or text")


class _Budget:
    """Values left to build while materialising the pickled members of one file (see :func:`_materialise`)."""

    __slots__ = ("left",)

    def __init__(self, items=MAX_OBJECT_ITEMS):
        self.left = items

    def spend(self, n=1):
        self.left -= n
        if self.left < 0:
            raise RefusedContent(
                f"its pickled values expand to more than {MAX_OBJECT_ITEMS} values (lists that repeat references "
                "to other lists, or large nested data); a weight file stores a few plain numbers there")


class _ArrayBuilder:
    """What NumPy's pickled ``_reconstruct(ndarray, shape, dtype)`` call yields here instead of an array.

    NumPy rebuilds a pickled array in two steps: ``_reconstruct`` allocates an array, then
    the pickle's BUILD step calls its ``__setstate__((version, shape, dtype, fortran,
    data))``.  ``ndarray.__setstate__`` trusts ``shape``: a crafted file whose shape
    disagrees with its data crashes the interpreter (seen: a segmentation fault) or
    allocates what the header promises.  This stand-in receives the same state and checks
    that ``shape`` is small and matches ``data`` exactly; a numeric array is then built
    from its bytes (no larger than the pickle), an object array later, by
    :func:`_materialise`, whose budget counts its values.
    """

    __slots__ = ("array", "items", "shape", "order")

    def __init__(self):
        self.array = self.items = self.shape = self.order = None

    def __setstate__(self, state):
        if not (isinstance(state, tuple) and len(state) == 5):
            raise ValueError("malformed pickled array state")
        _version, shape, dtype, fortran, data = state
        if not (isinstance(shape, tuple) and all(isinstance(n, int) and n >= 0 for n in shape)):
            raise ValueError(f"malformed pickled array shape {shape!r}")
        if not isinstance(dtype, np.dtype):
            raise ValueError("malformed pickled array dtype")
        if len(shape) > MAX_NESTING:
            raise RefusedContent(f"a pickled array has {len(shape)} dimensions (at most {MAX_NESTING})")
        count = int(np.prod(shape, dtype=np.float64))
        if count > MAX_OBJECT_ITEMS:
            raise ValueError(f"a pickled array of shape {shape} is larger than a weight file may hold")
        self.shape, self.order = shape, ("F" if fortran else "C")
        if dtype == np.dtype(object):
            if not isinstance(data, list) or len(data) != count:
                raise ValueError(f"a pickled object array of shape {shape} does not hold {count} values")
            self.items = data
        else:
            check_dtype(dtype)
            if not isinstance(data, (bytes, bytearray)) or len(data) != count * dtype.itemsize:
                raise ValueError(f"a pickled array of shape {shape} does not hold {count * dtype.itemsize} bytes")
            self.array = np.frombuffer(bytes(data), dtype=dtype, count=count).reshape(shape, order=self.order).copy()

    def build(self, budget, depth):
        """The array; an object array's values are materialised within ``budget``."""
        if self.array is not None:
            budget.spend(self.array.size)
            return self.array
        if self.items is None:
            raise ValueError("a pickled array was never filled in")
        flat = np.empty(len(self.items), dtype=object)
        for index, item in enumerate(self.items):
            flat[index] = _materialise(item, budget, depth + 1)
        return flat.reshape(self.shape, order=self.order)


class _CalledGlobal:
    """A global a weight file's pickle may name as an argument (``numpy.ndarray``), never call."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __call__(self, *args, **kwargs):
        raise RefusedContent(f"its pickle calls {self.name} directly, which NumPy's own pickles never do")


_NDARRAY = _CalledGlobal("numpy.ndarray")


def _reconstruct(cls, shape, dtype):
    if cls is not _NDARRAY:
        raise ValueError("only plain NumPy arrays may be pickled in a weight file")
    return _ArrayBuilder()


def _scalar(dtype, *data):
    """NumPy's pickled scalar ``scalar(dtype, bytes)`` (or ``(dtype, object)``), checked before building."""
    if not isinstance(dtype, np.dtype) or len(data) != 1:
        raise ValueError("malformed pickled NumPy scalar")
    value = data[0]
    if dtype == np.dtype(object):
        return value  # checked by _materialise with everything else
    check_dtype(dtype)
    if not isinstance(value, (bytes, bytearray)) or len(value) != dtype.itemsize:
        raise ValueError("malformed pickled NumPy scalar")
    return np.frombuffer(bytes(value), dtype=dtype, count=1)[0]


def _materialise(value, budget, depth=0):
    """``value`` with :class:`_ArrayBuilder` stand-ins replaced by arrays, checked within ``budget``.

    Lists, tuples and dicts are copied; every visit spends from ``budget`` (one per value,
    an array's size for an array), so a list referenced many times -- what a pickle's memo
    makes cheap to write -- costs every time, as it will when the value becomes an array.
    Leaves must be None, bool, an integer of at most 64 bits, a float, text of at most
    :data:`MAX_TEXT_LENGTH` characters or a real numeric NumPy value; anything else (and
    nesting deeper than :data:`MAX_NESTING`) raises :class:`RefusedContent`.
    """
    if depth > MAX_NESTING:
        raise RefusedContent(f"its pickled values are nested more than {MAX_NESTING} levels deep")
    budget.spend()
    if isinstance(value, _ArrayBuilder):
        return value.build(budget, depth)
    if type(value) is list:
        return [_materialise(item, budget, depth + 1) for item in value]
    if type(value) is tuple:
        return tuple(_materialise(item, budget, depth + 1) for item in value)
    if type(value) is dict:
        return {_leaf(key): _materialise(item, budget, depth + 1) for key, item in value.items()}
    return _leaf(value)


def _leaf(value):
    """A plain value, checked (see :func:`_materialise`)."""
    if value is None or type(value) in (bool, float):
        return value
    if type(value) is int:
        if value.bit_length() > 64:
            raise RefusedContent("its pickled data holds an integer of more than 64 bits")
        return value
    if isinstance(value, str):  # str or TransferFunctionRef
        if len(value) > MAX_TEXT_LENGTH:
            raise RefusedContent(f"its pickled data holds text of {len(value)} characters (at most "
                                 f"{MAX_TEXT_LENGTH}: names of functions and models)")
        return value
    if isinstance(value, np.generic):
        check_dtype(value.dtype)
        return value
    if isinstance(value, complex):
        raise RefusedContent("its pickled data holds a complex number; weight values are real numbers")
    raise RefusedContent(f"its pickled data holds a {type(value).__name__}, which a weight file may not contain "
                         "(allowed: None, bool, real numbers, short text and NumPy arrays of them)")


# NumPy's own pickles of arrays and scalars name numpy.core.multiarray (NumPy 1) or
# numpy._core.multiarray (NumPy 2); neither module is imported: the names map to the
# checked builders above.
_NUMPY_GLOBALS = {("numpy", "ndarray"): _NDARRAY, ("numpy", "dtype"): np.dtype}
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
        if (module, name) in (("builtins", "complex"), ("__builtin__", "complex")):  # how Python pickles 1+2j
            raise RefusedContent("its pickled data holds complex numbers; weight values are real numbers")
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


def _read_member(data, budget):
    """One ``.npy`` member (bytes) -> ndarray, unpickling object arrays restrictedly (see the module doc).

    ``budget``: the :class:`_Budget` of the whole archive (its pickled members share it).
    """
    fp = io.BytesIO(data)
    version = npy_format.read_magic(fp)
    shape, _fortran_order, dtype = _read_header(fp, version)
    count = int(np.prod(shape, dtype=np.float64))
    if dtype != np.dtype(object):
        check_dtype(dtype)
        needed, held = count * dtype.itemsize, len(data) - fp.tell()
        if needed > held:  # refuse before NumPy allocates what the header promises
            raise ValueError(f"its header promises {needed} bytes of data but the member holds {held}")
        fp.seek(0)
        return npy_format.read_array(fp, allow_pickle=False)
    if count > MAX_OBJECT_ITEMS or len(data) > MAX_PICKLE_BYTES:
        raise ValueError(f"a pickled object array of shape {tuple(shape)} ({len(data)} bytes) is larger than a weight "
                         f"file may hold ({MAX_OBJECT_ITEMS} values, {MAX_PICKLE_BYTES} bytes)")
    array = _materialise(RestrictedUnpickler(fp).load(), budget)
    if not isinstance(array, np.ndarray) or array.shape != tuple(shape):
        raise ValueError(f"pickled payload is not an array of shape {tuple(shape)}")
    return array


def _members(path, archive, file_size):
    """The archive's file members, after checking their number and declared unpacked sizes."""
    members = [info for info in archive.infolist() if not info.is_dir()]
    if len(members) > MAX_MEMBERS:
        raise WeightFileError(f"{path}: the archive holds {len(members)} members; a weight file holds at most "
                              f"{MAX_MEMBERS}")
    allowed = MAX_UNPACKED_BYTES + MAX_UNPACK_RATIO * file_size
    unpacked = sum(info.file_size for info in members)
    if unpacked > allowed:
        raise WeightFileError(f"{path}: its members unpack to {unpacked} bytes from a {file_size}-byte file (at most "
                              f"{allowed} are read: {MAX_UNPACKED_BYTES >> 20} MiB plus {MAX_UNPACK_RATIO} times the "
                              "file's size); it is not a weight file, or a damaged one")
    return members


def read_npz_safely(path):
    """Read every array of the ``.npz`` file ``path`` without running pickled code, within bounds.

    Returns ``{key: ndarray}`` with keys exactly as stored (``'W_rec/Adam'`` included).
    Plain arrays are bool, integer, real float or text; object arrays hold only plain
    Python values, real NumPy values and :class:`TransferFunctionRef` strings (see the
    module docstring for every bound).

    Raises ``FileNotFoundError`` (naming the path) when the file does not exist, and
    :class:`~psychrnn_widgets.errors.WeightFileError` (naming the path, the entry and the
    problem) when it is not a readable ``.npz`` archive, a member is corrupt, holds a
    pickled reference to anything outside the allow-list, has a dtype that is not a real
    number or text (complex, datetime64, bytes, structured...) or would unpack beyond the
    bounds.
    """
    path = Path(path)
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, "weight file not found", str(path)) from None
    arrays = {}
    budget = _Budget()
    with fh:
        try:
            file_size = os.fstat(fh.fileno()).st_size
            archive = zipfile.ZipFile(fh)
        except Exception as exc:  # BadZipFile, EOFError, OSError on a truncated file...
            raise WeightFileError(f"{path}: not a readable .npz (zip) archive: {exc}") from None
        with archive:
            for info in _members(path, archive, file_size):
                name = info.filename
                key = name[:-4] if name.endswith(".npy") else name
                try:
                    arrays[key] = _read_member(archive.read(info), budget)
                except RefusedGlobal as exc:
                    raise WeightFileError(
                        f"{path}: refused to load entry {key!r}: its pickled data references "
                        f"{exc.module}.{exc.name}, which a weight file may not contain (allowed: "
                        f"plain values, NumPy arrays and the transfer functions "
                        f"{', '.join(TRANSFER_FUNCTION_NAMES)}); nothing from the file was run"
                    ) from None
                except RefusedContent as exc:
                    raise WeightFileError(f"{path}: refused to load entry {key!r}: {exc}") from None
                except Exception as exc:  # anything else means a damaged member
                    raise WeightFileError(
                        f"{path}: entry {key!r} is corrupt or not a NumPy array "
                        f"({type(exc).__name__}: {exc})"
                    ) from None
    if not arrays:
        raise WeightFileError(f"{path}: the archive holds no arrays")
    return arrays
