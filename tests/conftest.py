"""Shared fixtures: small network parameters and a quiet TensorFlow."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

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


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def data_dir():
    return DATA
