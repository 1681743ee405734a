"""One file per run: a weight file that also carries the run's JSON document (NumPy only).

A run archive is a weight file (:mod:`~psychrnn_widgets.io.weight_files`, format 2: every
member a plain ``.npy``, nothing pickled) with extra members whose keys hold a ``'/'``,
which :func:`~psychrnn_widgets.io.weight_files.load_weights` never returns:

=========================  =================  ====================================
``run/document``           uint8 (n,)         the run's document, UTF-8 JSON
``run/settings/<key>``     numeric array      array-valued settings (e.g. a painted
                                              ``rec_connectivity`` mask)
=========================  =================  ====================================

So ``load_weights(path)`` (and PsychRNN's ``np.load``) read the weights of a run archive
as of any weight file.  Reading goes through :func:`read_npz_safely` (bounded members,
``allow_pickle`` never needed); the document is at most :data:`MAX_DOCUMENT_BYTES` and must
be a JSON object.  A damaged or foreign file raises
:class:`~psychrnn_widgets.errors.WeightFileError` (a ``ParameterError``) naming the path
and the problem.  Writes are atomic (temporary file, fsync, rename).  What the document
holds is the caller's (the Lab's run format).
"""
import json
import os
from pathlib import Path

import numpy as np

from ..errors import ParameterError, WeightFileError
from .safe_unpickle import read_npz_safely
from .weight_files import FORMAT, MASK_KEYS, _check_mask, _npz_path, _plain_array, _write_npz_atomic, load_weights
from .weight_files import plain_names
from ..params import WEIGHT_FILE_META

__all__ = ["save_run_archive", "read_run_archive", "DOCUMENT_KEY", "SETTINGS_PREFIX", "MAX_DOCUMENT_BYTES"]

DOCUMENT_KEY = "run/document"
SETTINGS_PREFIX = "run/settings/"
#: largest run document read (curves of a long run are a few MB)
MAX_DOCUMENT_BYTES = 64 << 20


def save_run_archive(path, weights, document, settings_arrays=None):
    """Write ``weights`` (a weights dict), ``document`` (JSON data) and ``settings_arrays`` as one ``.npz``.

    Returns the ``pathlib.Path`` written (``.npz`` appended when missing).
    """
    members = {"format": np.array(FORMAT)}
    for key, value in plain_names(weights).items():
        if not isinstance(key, str):
            raise ParameterError(f"weight names must be strings, got {key!r}")
        if "/" in key or key == "format":
            continue
        if key in MASK_KEYS and value is not None:
            _check_mask(value, key, "save_run_archive", error=ParameterError)
        array = _plain_array(key, value)
        if array is not None:
            members[f"meta_{key}" if key in WEIGHT_FILE_META else key] = array
    text = json.dumps(document, allow_nan=False).encode("utf-8")
    members[DOCUMENT_KEY] = np.frombuffer(text, dtype=np.uint8)
    for key, value in (settings_arrays or {}).items():
        array = np.asarray(value)
        if array.dtype.hasobject or "/" in str(key):
            raise ParameterError(f"setting {key!r} cannot be stored in a run file (a numeric array is needed)",
                                 parameter=str(key), value=value)
        members[SETTINGS_PREFIX + str(key)] = array
    return _write_npz_atomic(_npz_path(path), members)


def read_run_archive(path):
    """``(weights, document, settings_arrays)`` from a run archive; see the module docstring for the checks."""
    path = Path(os.fsdecode(os.fspath(path))).expanduser()
    if not path.exists() and _npz_path(path).exists():
        path = _npz_path(path)
    raw = read_npz_safely(path)  # bounded; FileNotFoundError / WeightFileError
    stored = raw.get(DOCUMENT_KEY)
    if stored is None:
        raise WeightFileError(f"{path}: a weight file without a run document (not a run file); open it with "
                              "load_weights or the Runs tab's Load")
    if stored.dtype != np.uint8 or stored.ndim != 1:
        raise WeightFileError(f"{path}: the run document must be UTF-8 bytes (uint8, 1-D), got {stored.dtype} "
                              f"{stored.shape}")
    if stored.size > MAX_DOCUMENT_BYTES:
        raise WeightFileError(f"{path}: the run document is {stored.size} bytes; at most {MAX_DOCUMENT_BYTES}")
    try:
        document = json.loads(stored.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise WeightFileError(f"{path}: the run document is not JSON ({type(error).__name__}: {error})") from None
    if not isinstance(document, dict):
        raise WeightFileError(f"{path}: the run document must be a JSON object, got {type(document).__name__}")
    settings = {}
    for key, array in raw.items():
        if key.startswith(SETTINGS_PREFIX):
            if array.dtype.kind not in "biuf":
                raise WeightFileError(f"{path}: setting {key[len(SETTINGS_PREFIX):]!r} is not a numeric array")
            settings[key[len(SETTINGS_PREFIX):]] = array
    return load_weights(path), document, settings
