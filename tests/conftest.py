"""Shared fixtures and a quiet TensorFlow (helper functions live in helpers.py)."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(params=["hoisted", "fused"])
def time_loop(request, monkeypatch):
    """Run a test with each of Basic's two time-loop layouts (chosen by N_rec in normal use)."""
    from psychrnn_widgets.models import leaky

    monkeypatch.setattr(leaky, "FUSED_LOOP_MIN_N_REC", 0 if request.param == "fused" else 10 ** 9)
    return request.param
