"""The three PsychRNN tasks give bit-identical batches to those written before the port to the
task-description API (``tests/data/task_reference.npz``, see ``make_task_reference.py``)."""
import json
import sys
import warnings

import numpy as np
import pytest

from helpers import DATA
import psychrnn_widgets.tasks as tasks

sys.path.insert(0, str(DATA))
from make_task_reference import CASES, record  # noqa: E402

REFERENCE = np.load(DATA / "task_reference.npz", allow_pickle=False)


def _same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("name, cls_name, kwargs, seed", CASES, ids=[c[0] for c in CASES])
def test_batches_are_bit_identical_to_the_reference(name, cls_name, kwargs, seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        task = getattr(tasks, cls_name)(**kwargs, seed=seed)
    now = record(task)
    keys = {k.split("/", 1)[1] for k in REFERENCE.files if k.startswith(name + "/")}
    assert keys == set(now)
    for key in sorted(keys):
        ref = REFERENCE[f"{name}/{key}"]
        if key.startswith("p"):
            old, new = json.loads(str(ref)), json.loads(str(now[key]))
            old, new = (old, new) if isinstance(old, list) else ([old], [new])
            assert len(old) == len(new), key
            # the port adds metadata keys ('choice', 'evidence', 'epochs'); the PsychRNN keys are unchanged
            assert [{k: p[k] for k in o} for o, p in zip(old, new)] == old, key
        else:
            assert _same_bits(now[key], ref), f"{name}/{key} differs from the reference"
