"""What a run registry's files may hold: the schema of a run record and of ``sweep.json`` (NumPy-free).

A registry is something people zip, share and edit by hand, so every file is checked when
it is read, before anything trusts it:

* :func:`read_json` reads at most :data:`MAX_JSON_BYTES`, refuses ``NaN``/``Infinity``
  tokens and nesting deeper than Python's parser allows;
* :func:`check_record` checks a run record's required keys, types and ranges (a status
  from :data:`STATUSES`, ``attempts`` an integer >= 0, ``final_accuracy`` in [0, 1], the
  weight file the run's own ``runs/<run_id>.npz``...);
* :func:`check_definition` does the same for ``sweep.json`` and :func:`definition_identity`
  gives the digest that says which sweep a registry belongs to.

A failed check raises :class:`FileProblem` whose ``reason`` says what is wrong in words;
the registry moves such a record aside (see :mod:`.registry`) and the run is done again.
"""
import hashlib
import json
import math
import os
import re

__all__ = ["RECORD_FORMAT", "SWEEP_FORMAT", "STATUSES", "DONE_STATUSES", "DEFINITION_KEYS", "MAX_JSON_BYTES",
           "FileProblem", "read_json", "check_record", "check_definition", "check_run_id", "definition_identity",
           "digest", "own_weights_file"]

RECORD_FORMAT = "psychrnn_widgets-run-1"
SWEEP_FORMAT = "psychrnn_widgets-sweep-1"
#: every status a record can have
STATUSES = ("queued", "running", "finished", "failed", "diverged")
#: statuses of runs that ended (a re-run does only runs that are not ``finished``)
DONE_STATUSES = ("finished", "failed", "diverged")
#: what a sweep's definition (``sweep.json``) holds and its identity digests
DEFINITION_KEYS = ("task", "network_params", "train_params", "combinations", "grid", "seed", "name")
#: the largest record or ``sweep.json`` read (a record of 50,000 training steps is about 5 MB)
MAX_JSON_BYTES = 64 * 2 ** 20

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")


class FileProblem(Exception):
    """A registry file that cannot be trusted; ``reason`` says why, in words."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def digest(data):
    """SHA-256 hex digest of ``data`` as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def definition_identity(definition):
    """The identity of a sweep: the digest of its definition's :data:`DEFINITION_KEYS`."""
    return digest({key: definition.get(key) for key in DEFINITION_KEYS})


def check_run_id(run_id):
    """Raise :class:`FileProblem` unless ``run_id`` is a plain file name (no '/', '..', leading '.')."""
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id) or ".." in run_id:
        raise FileProblem(f"the run id {run_id!r} is not a plain name (letters, digits, '_', '-', '.', at most 128 "
                          "characters, no '/' or '..'): it would name a file outside the registry's runs folder")
    return run_id


def own_weights_file(run_id):
    """The weight file a run's record names, relative to the registry: ``runs/<run_id>.npz``."""
    return f"runs/{run_id}.npz"


# ------------------------------------------------------------------------- reading
def _no_constants(name):
    raise ValueError(f"{name} is not a number JSON allows")


def read_json(path, limit=MAX_JSON_BYTES):
    """The JSON value in ``path``; :class:`FileProblem` when it is too large, not UTF-8 JSON or too deep.

    ``FileNotFoundError`` propagates (a missing file is not a damaged one).
    """
    with open(path, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise FileProblem(f"is larger than {limit // 2 ** 20} MB")
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise FileProblem(f"is not readable JSON ({type(error).__name__}: {str(error)[:120]})") from None


# ------------------------------------------------------------------------- value rules
def _is_int(value, low=0):
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _is_number(value, low=None, high=None):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return False
    return (low is None or value >= low) and (high is None or value <= high)


def _optional(rule):
    return lambda value: value is None or rule(value)


def _is_str(value):
    return isinstance(value, str)


def _is_dict_of(rule):
    return lambda value: isinstance(value, dict) and all(isinstance(k, str) and rule(v) for k, v in value.items())


def _is_metrics(value):
    return _is_dict_of(lambda series: isinstance(series, list)
                       and all(x is None or _is_number(x) for x in series))(value)


def _is_ensemble(value):
    return isinstance(value, dict) and _is_str(value.get("group")) and _is_int(value.get("size"), 1)


def _is_claim(value):
    return (isinstance(value, dict) and isinstance(value.get("driver"), str) and bool(_HEX32.match(value["driver"]))
            and _optional(_is_str)(value.get("host")) and _optional(_is_int)(value.get("pid")))


def _is_task(value):
    return isinstance(value, dict) and _is_str(value.get("class")) and isinstance(value.get("params"), dict)


def _is_config(value):
    return (isinstance(value, dict) and _is_task(value.get("task"))
            and all(isinstance(value.get(key), dict) for key in ("network_params", "train_params", "values"))
            and _is_int(value.get("seed")))


#: optional record keys: (rule, what is allowed)
_RECORD_FIELDS = {
    "index": (_is_int, "an integer >= 0"),
    "seed": (_is_int, "an integer >= 0"),
    "attempts": (_is_int, "an integer >= 0"),
    "name": (_is_str, "a string"),
    "config": (_is_config, "an object with task {class, params}, network_params, train_params, values and an "
                           "integer seed"),
    "metrics": (_optional(_is_metrics), "an object of lists of finite numbers, or null"),
    "final_loss": (_optional(lambda v: _is_number(v, 0)), "a finite number >= 0 or null"),
    "final_accuracy": (_optional(lambda v: _is_number(v, 0, 1)), "a number in [0, 1] or null"),
    "training_time": (_optional(lambda v: _is_number(v, 0)), "a finite number >= 0 or null"),
    "weights_file": (_optional(_is_str), "a string or null"),
    "weights_sha256": (_optional(lambda v: isinstance(v, str) and bool(_HEX64.match(v))),
                       "64 lowercase hexadecimal digits or null"),
    "versions": (_optional(_is_dict_of(_is_str)), "an object of strings or null"),
    "ensemble": (_optional(_is_ensemble), "an object {group, size >= 1} or null"),
    "claim": (_optional(_is_claim), "an object {driver: 32 hexadecimal digits, host, pid} or null"),
    **{key: (_optional(_is_str), "a string or null")
       for key in ("error", "worker", "created", "started", "finished", "updated")},
}


def _short(value, limit=60):
    text = json.dumps(value) if isinstance(value, (dict, list, str, int, float, bool, type(None))) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_record(record, run_id):
    """Raise :class:`FileProblem` unless ``record`` is a well-formed record of ``run_id``; returns it."""
    if not isinstance(record, dict):
        raise FileProblem(f"holds a JSON {type(record).__name__}, not a run record (an object)")
    if record.get("format") != RECORD_FORMAT:
        raise FileProblem(f"format is {_short(record.get('format'))}, not {RECORD_FORMAT!r}")
    if record.get("run_id") != run_id:
        raise FileProblem(f"run_id is {_short(record.get('run_id'))}, but it is the record of {run_id!r}")
    if record.get("status") not in STATUSES:
        raise FileProblem(f"status must be one of {', '.join(STATUSES)}, got {_short(record.get('status'))}")
    for key, (rule, allowed) in _RECORD_FIELDS.items():
        if key in record and not rule(record[key]):
            raise FileProblem(f"{key} must be {allowed}, got {_short(record[key])}")
    weights_file = record.get("weights_file")
    if weights_file is not None and weights_file != own_weights_file(run_id):
        raise FileProblem(_weights_file_problem(weights_file, run_id))
    if record["status"] == "finished" and weights_file is None:
        raise FileProblem("says finished but names no weights_file")
    return record


def _weights_file_problem(weights_file, run_id):
    own = own_weights_file(run_id)
    parts = weights_file.replace("\\", "/").split("/")
    if os.path.isabs(weights_file) or weights_file.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", weights_file):
        what = "is an absolute path, outside the registry"
    elif ".." in parts:
        what = "climbs out with '..', outside the registry"
    else:
        what = "is not this run's own weight file"
    return f"weights_file {weights_file!r} {what}; a record names only {own!r}"


def check_definition(definition):
    """Raise :class:`FileProblem` unless ``definition`` is a well-formed ``sweep.json``; returns it."""
    if not isinstance(definition, dict):
        raise FileProblem(f"holds a JSON {type(definition).__name__}, not a sweep definition (an object)")
    if definition.get("format") != SWEEP_FORMAT:
        raise FileProblem(f"format is {_short(definition.get('format'))}, not {SWEEP_FORMAT!r}")
    rules = {"task": (_is_task, "an object {class, params}"),
             "network_params": (lambda v: isinstance(v, dict), "an object"),
             "train_params": (lambda v: isinstance(v, dict), "an object"),
             "combinations": (lambda v: isinstance(v, list) and all(isinstance(c, dict) for c in v),
                              "a list of objects"),
             "grid": (lambda v: isinstance(v, bool), "true or false"),
             "seed": (_is_int, "an integer >= 0"),
             "name": (_is_str, "a string")}
    for key, (rule, allowed) in rules.items():
        if key not in definition:
            raise FileProblem(f"has no {key!r}")
        if not rule(definition[key]):
            raise FileProblem(f"{key} must be {allowed}, got {_short(definition[key])}")
    identity = definition.get("identity")
    if identity is not None and not (isinstance(identity, str) and _HEX64.match(identity)):
        raise FileProblem(f"identity must be 64 hexadecimal digits, got {_short(identity)}")
    return definition
