"""Issue 25: every speed-up of the training path keeps the maths and the events.

Each speed-up has a switch; with it off the package runs the plain path.  Trained from
the same seed on the same batches, across the switch to the XLA program and over a
second ``train`` call, the two paths give the same losses, outputs and weights (to 1e-6)
and a step event for every step.  Speed goals live in ``benchmarks/``, not here.
"""
import numpy as np
import pytest

from helpers import network_params
from psychrnn_widgets import Basic, Ensemble, PerceptualDiscrimination
from psychrnn_widgets.training import step as step_module
from psychrnn_widgets.training.trainer import Trainer

STEPS_PER_CALL = 8


def hello_task(seed=0):
    return PerceptualDiscrimination(dt=10, tau=100, T=600, N_batch=16, seed=seed)


def train_twice(model, task):
    """Two ``train`` calls of STEPS_PER_CALL steps each; returns (losses, step events per call, outputs)."""
    losses, events = [], []
    for _ in range(2):
        steps = []
        recorded, _, _ = model.train(task, dict(training_iters=16 * STEPS_PER_CALL, loss_epoch=1, verbosity=False,
                                                callbacks=lambda e: steps.append(e) if e.kind == "step" else None))
        losses.append(np.asarray(recorded, np.float64))
        events.append(steps)
    x, _, _, _ = hello_task(seed=99).get_trial_batch()
    outputs, states = model.test(x)
    return losses, events, np.asarray(outputs), np.asarray(states)


def assert_same_run(plain, fast):
    for a, b in zip(plain[0], fast[0]):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-6)
    for a, b in zip(plain[2:], fast[2:]):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-6)


def assert_same_weights(plain, fast):
    if all(isinstance(v, dict) for v in plain.values()):  # an ensemble's: {k: weights of network k}
        for k in plain:
            assert_same_weights(plain[k], fast[k])
        return
    assert plain.keys() == fast.keys()
    for key, value in plain.items():
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            np.testing.assert_allclose(fast[key], value, rtol=1e-6, atol=1e-6, err_msg=key)
        else:
            assert np.array_equal(fast[key], value) if isinstance(value, np.ndarray) else fast[key] == value, key


@pytest.mark.parametrize("seed", [3])
def test_direct_dispatch_keeps_the_maths_and_the_events(monkeypatch, seed):
    """The step calls its traced graph directly (DIRECT_DISPATCH): same run as through ``tf.function``."""
    monkeypatch.setattr(step_module, "XLA_AFTER_STEPS", 3)  # the switch to XLA happens inside the first call
    runs = {}
    for direct in (False, True):
        monkeypatch.setattr(step_module, "DIRECT_DISPATCH", direct)
        model = Basic(network_params(rec_noise=0.05, seed=seed))
        runs[direct] = train_twice(model, hello_task(seed))
        step = Trainer.of(model).training_step()
        assert step.xla_shapes and all(w.ok for w in step.xla_shapes.values())  # XLA ran
        # the fast path was taken for both programs (plain graph, then XLA) -- or not at all
        assert (len(step._concrete) == 2) == direct
        runs[direct] = runs[direct] + (model.get_weights(),)
    assert_same_run(runs[False][:4], runs[True][:4])
    assert_same_weights(runs[False][4], runs[True][4])
    for events in runs[True][1]:  # a step event for every step of each call, in order
        assert [e.epoch for e in events] == list(range(1, STEPS_PER_CALL + 1))
        assert all(np.isfinite(e.loss) for e in events)


def test_direct_dispatch_keeps_an_ensembles_maths_and_events(monkeypatch):
    runs = {}
    for direct in (False, True):
        monkeypatch.setattr(step_module, "DIRECT_DISPATCH", direct)
        ensemble = Ensemble([network_params(rec_noise=0.05, seed=5), network_params(rec_noise=0.05, seed=6)])
        runs[direct] = train_twice(ensemble, hello_task(5)) + ({k: ensemble.get_weights(k) for k in range(2)},)
        steps = Trainer.of(ensemble)._steps.values()  # the steps this trainer built (one here)
        assert steps and all(bool(step._concrete) == direct for step in steps)
    assert_same_run(runs[False][:4], runs[True][:4])
    assert_same_weights(runs[False][4], runs[True][4])
    for events in runs[True][1]:
        assert [e.epoch for e in events] == list(range(1, STEPS_PER_CALL + 1))
