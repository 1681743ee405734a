"""PsychRNN's batch attributes: ``model.x, y, output_mask, predictions, states``.

PsychRNN's ``Regularizer.L2_firing_rate_reg(model)`` and users' custom losses and
regularisers read them.  Here they hold the last batch (``test`` or ``train``), are the
symbolic tensors of the batch being trained inside the compiled step, never leak those
out of it, and say when they exist before any batch.
"""
import numpy as np
import pytest
import tensorflow as tf

from helpers import network_params, pd_task
from psychrnn_widgets.models.basic import Basic
from psychrnn_widgets.models.losses import LossFunction
from psychrnn_widgets.models.regularizers import Regularizer

N_REC, T = 12, 300  # 30 steps


def every_regularizer(custom):
    """Every regulariser key set (L1/L2 on in, rec, out; the firing rate; a custom one)."""
    keys = ("L1_in", "L1_rec", "L1_out", "L2_in", "L2_rec", "L2_out", "L2_firing_rate")
    return {**{key: 0.1 * (k + 1) for k, key in enumerate(keys)}, "custom_regularization": custom}


def custom_reads_the_batch(model, params):
    """A PsychRNN-style custom regulariser: reads states, predictions and the input from the model."""
    return (0.01 * tf.reduce_mean(tf.square(model.states)) + 0.01 * tf.reduce_mean(tf.abs(model.predictions))
            + 0.0 * tf.reduce_mean(model.x))


def small_model(task, **extra):
    return Basic(network_params(task, name="batch", N_rec=N_REC, **extra))


def test_before_any_batch_the_attributes_say_when_they_exist():
    model = small_model(pd_task(N_batch=4, T=T))
    for name in ("x", "y", "output_mask", "predictions", "states"):
        with pytest.raises(AttributeError, match=rf"model\.{name} is not set yet.*test\(x\).*train"):
            getattr(model, name)
        assert not hasattr(model, name)
    regularizer = Regularizer({"L2_firing_rate": 1.0})
    with pytest.raises(AttributeError, match="model.states is not set yet"):
        regularizer.set_model_regularization(model)


def test_after_test_they_hold_that_batch_and_every_regularizer_method_works():
    task = pd_task(N_batch=4, T=T)
    params = network_params(task, name="reg", N_rec=N_REC, **every_regularizer(custom_reads_the_batch))
    model = Basic(params)
    model.build()
    x = task.get_trial_batch()[0][:3]  # any batch size
    outputs, states = model.test(x, noise=False)
    np.testing.assert_array_equal(model.x.numpy(), x.astype(np.float32))
    np.testing.assert_array_equal(model.predictions.numpy(), outputs)
    np.testing.assert_array_equal(model.states.numpy(), states)
    for name in ("y", "output_mask"):  # test() has no targets
        with pytest.raises(AttributeError, match=rf"model\.{name} has no value.*test\(x\).*last training batch"):
            getattr(model, name)

    regularizer = Regularizer(params)
    total = float(regularizer.set_model_regularization(model))
    parts = [float(regularizer.L1_weight_reg(model)), float(regularizer.L2_weight_reg(model)),
             float(regularizer.L2_firing_rate_reg(model)), float(regularizer.custom_term(model))]
    assert np.isfinite(total) and all(np.isfinite(parts)) and all(p > 0 for p in parts)
    assert total == pytest.approx(sum(parts), rel=1e-5)
    # the firing-rate term is the one of this batch's states
    relu = np.maximum(states, 0)
    assert parts[2] == pytest.approx(0.7 * float(np.mean(relu ** 2)), rel=1e-5)


def test_after_train_they_hold_the_last_training_batch():
    task = pd_task(N_batch=4, T=T, seed=3)
    params = network_params(task, name="trained", N_rec=N_REC, **every_regularizer(custom_reads_the_batch))
    model = Basic(params)
    batches = [task.get_trial_batch()[:3] for _ in range(3)]
    model.train(iter(batches), {"training_iters": 3 * 4, "verbosity": False})
    x, y, mask = batches[-1]
    for name, want in (("x", x), ("y", y), ("output_mask", mask)):
        value = getattr(model, name)
        assert not tf.is_symbolic_tensor(value)  # nothing leaks out of the compiled step
        np.testing.assert_array_equal(value.numpy(), np.asarray(want, np.float32))
    # predictions and states: computed on first access, with the current weights and noise off
    predictions, states = model.predictions.numpy(), model.states.numpy()
    total = float(Regularizer(params).set_model_regularization(model))
    assert np.isfinite(total) and total > 0
    loss = float(LossFunction(params).set_model_loss(model))  # PsychRNN's LossFunction reads them too
    assert np.isfinite(loss) and loss > 0
    outputs, want_states = model.test(x, noise=False)
    np.testing.assert_array_equal(predictions, outputs)
    np.testing.assert_array_equal(states, want_states)


def test_inside_the_training_step_they_are_the_symbolic_tensors_of_the_batch_being_trained():
    task = pd_task(N_batch=4, T=T, seed=4)
    seen = []

    def custom(model, params):
        seen.append({name: tf.is_symbolic_tensor(getattr(model, name))
                     for name in ("x", "y", "output_mask", "predictions", "states")})
        return 0.01 * tf.reduce_mean(model.states)

    def my_loss(predictions, y, output_mask):  # a custom loss by name reads the model too
        seen.append({"loss sees states": tf.is_symbolic_tensor(model.states)})
        return tf.reduce_mean(tf.square(output_mask * (predictions - y)))

    params = network_params(task, name="inside", N_rec=N_REC, custom_regularization=custom,
                            loss_function="my_loss", my_loss=my_loss)
    model = Basic(params)
    model.train(task, {"training_iters": 2 * 4, "verbosity": False})
    assert seen and all(all(entry.values()) for entry in seen)  # symbolic while traced
    assert not tf.is_symbolic_tensor(model.states) and model.states.shape == (4, 30, N_REC)


def test_assigning_them_works_as_in_psychrnn_code():
    task = pd_task(N_batch=4, T=T)
    model = small_model(task)
    x, y, mask, _ = task.get_trial_batch()
    outputs, states = model.test(x, noise=False)
    model.y, model.output_mask = y, mask  # some PsychRNN code sets them by hand
    assert model.y is y and model.output_mask is mask
    np.testing.assert_array_equal(model.states.numpy(), states)
    model.test(x[:1], noise=False)  # the next batch replaces them
    with pytest.raises(AttributeError):
        model.y
    model.destruct()
    assert not hasattr(model, "states")
