"""Write ``task_reference.npz``: batches of the three PsychRNN tasks for fixed seeds.

Run once with the code *before* a change to the tasks layer, keep the file, and let
``tests/test_task_reference.py`` hold the changed code to it bit for bit:

    python tests/data/make_task_reference.py

It records, per case (task, constructor arguments, seed, dt, N_batch), the same sequence
of calls on one task object: two batches from ``get_trial_batch()``, a noise-free batch,
``trials_from_params`` of the first batch's parameters with and without noise, one
trial through ``generate_trial`` (the per-step path, noise on) and
``generate_trial_params``.  Trial parameters are stored as JSON (floats round-trip
exactly).  The cases are listed in :data:`CASES`; the test reads the same list.
"""
import json
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent / "task_reference.npz"

# (case name, task class name, kwargs without seed, seed)
CASES = [
    ("pd_dt10", "PerceptualDiscrimination", dict(dt=10, tau=100, T=1000, N_batch=8), 0),
    ("pd_dt5", "PerceptualDiscrimination", dict(dt=5, tau=100, T=1000, N_batch=3), 1),
    ("pd_dt20_fixed", "PerceptualDiscrimination",
     dict(dt=20, tau=100, T=2000, N_batch=5, coherence=0.3, direction=1), 2020),
    ("pd_dt10_cohset", "PerceptualDiscrimination",
     dict(dt=10, tau=50, T=1500, N_batch=6, coherence=(0.0, 0.2, 0.9)), 7),
    ("dd_dt10", "DelayedDiscrimination", dict(dt=10, tau=100, T=1000, N_batch=8), 0),
    ("dd_dt5", "DelayedDiscrimination", dict(dt=5, tau=100, T=1000, N_batch=3), 1),
    ("dd_dt20_fixed", "DelayedDiscrimination",
     dict(dt=20, tau=100, T=2000, N_batch=5, onset_time=100, stim_duration_1=200, delay_duration=300,
          stim_duration_2=200, decision_duration=400), 2020),
    ("mtc_dt10", "MatchToCategory", dict(dt=10, tau=100, T=2000, N_batch=4), 0),
    ("mtc_dt5", "MatchToCategory", dict(dt=5, tau=100, T=2000, N_batch=2, N_in=8, N_out=4), 1),
    ("mtc_dt20", "MatchToCategory", dict(dt=20, tau=100, T=2200, N_batch=5, N_in=6, N_out=3), 2020),
]


def _params_json(params):
    return json.dumps([dict(p) for p in params])


def record(task):
    """The recorded call sequence on ``task``: name -> array (params as JSON strings)."""
    out = {}
    x1, y1, m1, p1 = task.get_trial_batch()
    x2, y2, m2, p2 = task.get_trial_batch()
    out.update(x1=x1, y1=y1, m1=m1, p1=_params_json(p1), x2=x2, y2=y2, m2=m2, p2=_params_json(p2))
    x3, y3, m3, p3 = task.generate_batch(noise=False)
    out.update(x3=x3, y3=y3, m3=m3, p3=_params_json(p3))
    x4, y4, m4 = task.trials_from_params(p1, noise=False)
    out.update(x4=x4, y4=y4, m4=m4)
    x5, _, _ = task.trials_from_params(p1)
    out.update(x5=x5)
    x6, y6, m6 = task.generate_trial(dict(p1[0]))
    out.update(x6=x6, y6=y6, m6=m6)
    out.update(p7=json.dumps(task.generate_trial_params(1, 0)))
    x8, _, _, p8 = task.generate_batch(N_batch=2, batch=5)
    out.update(x8=x8, p8=_params_json(p8))
    return out


def main():
    sys.path.insert(0, str(ROOT))
    import psychrnn_widgets.tasks as tasks

    arrays = {}
    for name, cls_name, kwargs, seed in CASES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            task = getattr(tasks, cls_name)(**kwargs, seed=seed)
        for key, value in record(task).items():
            arrays[f"{name}/{key}"] = np.asarray(value)
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.0f} KiB, {len(arrays)} arrays)")


if __name__ == "__main__":
    main()
