"""Helpers shared by the test modules (imported as ``helpers``; conftest.py holds fixtures)."""
import os

#: reference files written by the real PsychRNN (see tests/data/)
DATA = os.path.join(os.path.dirname(__file__), "data")


def network_params(task=None, **overrides):
    """``network_params`` for a hello-world-sized Basic network (override anything)."""
    params = dict(name="net", N_in=2, N_rec=50, N_out=2, N_steps=200, dt=10.0, tau=100.0, N_batch=50, seed=0)
    if task is not None:
        params.update(task.get_task_params())
        params.setdefault("name", "net")
        params["seed"] = 0
    params.update(overrides)
    return params
