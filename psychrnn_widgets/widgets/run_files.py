"""A run of the Lab as one file, and the trained examples shipped with the package.

    save_run(lab.current_record, "runs/hello.npz")   # or the Runs tab's "Save as one file"
    lab.open_run("runs/hello.npz")                    # in any Lab or Classroom
    lab.open_example("PerceptualDiscrimination")      # a trained network shipped with the package

The file (:mod:`~psychrnn_widgets.io.run_archives`) is a weight file that also holds the
run's document (:func:`~psychrnn_widgets.widgets.history.run_document`: label, model
class, settings, task class and parameters, step and trial counts, loss/accuracy curves,
the training log that "Copy as code" rebuilds from, the package versions) and the
array-valued settings (masks).  Opening checks everything before anything is built
(:func:`~psychrnn_widgets.widgets.history.check_run_document`; bounded, no pickles): a bad
file is a ``ParameterError`` naming the file and the field.

Examples (:func:`examples`): ``psychrnn_widgets/data/examples/<name>.npz``, each a run file
whose document has an ``example`` entry (``title``, ``accuracy`` -- measured on
:data:`EXAMPLE_TEST_TRIALS` trials drawn with ``seed`` :data:`EXAMPLE_TEST_SEED`, noise-free
network -- and a one-line ``summary``); ``tools/make_examples.py`` writes them and a test
holds each card's accuracy.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io.run_archives import read_run_archive, save_run_archive
from .history import check_run_document, record_from_document, run_document

__all__ = ["save_run", "open_run", "examples", "example_path", "EXAMPLES_DIR", "example_accuracy",
           "EXAMPLE_TEST_SEED", "EXAMPLE_TEST_TRIALS"]

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "data" / "examples"
EXAMPLE_TEST_SEED = 2024
EXAMPLE_TEST_TRIALS = 512


def save_run(record, path, extra=None):
    """Write ``record`` as one run file (``.npz`` appended when missing); returns the path written.

    ``extra``: more JSON entries for the document (e.g. an example's card).
    """
    document = run_document(record)
    document.update(extra or {})
    arrays = {key: np.asarray(value) for key, value in record.network_params.items() if isinstance(value, np.ndarray)}
    return save_run_archive(path, record.model.get_weights(), document, arrays)


def open_run(path, name="opened"):
    """The :class:`~psychrnn_widgets.widgets.history.NetworkRecord` stored in the run file ``path``."""
    from ..errors import ParameterError

    weights, document, arrays = read_run_archive(path)
    checked = check_run_document(document, path)
    try:
        record = record_from_document(checked, weights, name=name, settings_arrays=arrays, origin=f"file {path}")
    except ParameterError as error:  # a stored setting or weight the network refuses: say which file
        if str(path) in str(error):
            raise
        raise type(error)(f"{path}: {error}", parameter=error.parameter, value=error.value,
                          allowed=error.allowed) from None
    record.card = document.get("example") if isinstance(document.get("example"), dict) else None
    return record


def example_path(name):
    """The shipped example file of ``name`` (e.g. ``'PerceptualDiscrimination'``)."""
    path = EXAMPLES_DIR / f"{name}.npz"
    if not path.exists():
        from ..errors import ParameterError

        raise ParameterError(f"no shipped example {name!r}; the examples are {', '.join(examples()) or 'none'}",
                             parameter="example", value=name, allowed=", ".join(examples()))
    return path


def examples():
    """``{name: card}`` of the shipped examples (a card: ``title``, ``accuracy``, ``summary``), by name."""
    import json

    from ..io.run_archives import DOCUMENT_KEY

    out = {}
    for path in sorted(EXAMPLES_DIR.glob("*.npz")):
        try:
            with np.load(path, allow_pickle=False) as archive:
                document = json.loads(archive[DOCUMENT_KEY].tobytes().decode("utf-8"))
        except Exception:  # noqa: BLE001 - a damaged example is left out of the list (the test catches it)
            continue
        card = document.get("example")
        if isinstance(card, dict):
            out[path.stem] = card
    return out


def example_accuracy(model, task):
    """The accuracy a card states: the task's accuracy on :data:`EXAMPLE_TEST_TRIALS` seeded trials, no noise."""
    import copy

    probe = copy.deepcopy(task)
    probe.set_seed(EXAMPLE_TEST_SEED)
    x, y, mask, _ = probe.generate_batch(N_batch=EXAMPLE_TEST_TRIALS)
    outputs, _ = model.test(x, noise=False) if _accepts_noise(model) else model.test(x)
    return float(task.accuracy_function(y, np.asarray(outputs), mask))


def _accepts_noise(model):
    import inspect

    try:
        return "noise" in inspect.signature(model.test).parameters
    except (TypeError, ValueError):
        return False
