"""Training: accuracy, PsychRNN's train_params semantics, constraints, resuming, events, failures."""
import threading
import time

import numpy as np
import pytest
import tensorflow as tf

from helpers import network_params
from psychrnn_widgets import (Basic, ParameterError, PerceptualDiscrimination, TrainingControl,
                              TrainingDivergedError, WeightFileError)
from psychrnn_widgets.training.trainer import Trainer


def hello_task(seed=0, N_batch=50):
    return PerceptualDiscrimination(dt=10, tau=100, T=2000, N_batch=N_batch, seed=seed)


def accuracy_on_fresh_batch(model, seed=123, n=500):
    task = hello_task(seed=seed, N_batch=n)
    x, y, mask, _ = task.get_trial_batch()
    outputs, _ = model.test(x)
    return task.accuracy_function(y, outputs, mask)


def test_hello_world_reaches_90_percent():
    """PsychRNN's minimal example with default settings (Adam, lr 0.001, clipping).

    Budget: 4,000 trials (80 steps of 50). Measured over seeds 0-7: accuracy 0.964-1.0 at
    4,000 trials, 0.72-1.0 at 3,000 (not reliable), 0.99-1.0 at 6,000.
    """
    task = hello_task(seed=0)
    model = Basic(network_params(task, name="hello", N_rec=50, seed=0))
    losses, training_time, init_time = model.train(task, dict(training_iters=4000, verbosity=False))
    assert len(losses) == 8 and losses[-1] < losses[0] / 3
    assert training_time > 0 and init_time > 0
    assert accuracy_on_fresh_batch(model) >= 0.9


def test_epochs_and_psychrnn_print_lines(capsys):
    model = Basic(network_params())
    losses, _, _ = model.train(hello_task(), dict(training_iters=230, loss_epoch=1))
    lines = capsys.readouterr().out.strip().splitlines()
    iters = [line for line in lines if line.startswith("Iter ")]
    assert len(losses) == 5  # ceil(230 / 50)
    assert [line.split(",")[0] for line in iters] == [f"Iter {50 * k}" for k in range(1, 6)]
    for line, loss in zip(iters, losses):
        assert line == f"Iter {line.split()[1][:-1]}, Minibatch Loss= {loss:.6f}"
    assert lines[-1] == "Optimization finished!"

    model.train(hello_task(), dict(training_iters=100, verbosity=False))
    assert capsys.readouterr().out == ""


def test_snapshots_and_final_weights_are_written(tmp_path):
    model = Basic(network_params())
    params = dict(training_iters=250, verbosity=False, save_training_weights_epoch=2,
                  training_weights_path=str(tmp_path / "snaps" / "epoch_"),
                  save_weights_path=str(tmp_path / "final" / "weights"))
    model.train(hello_task(), params)
    assert sorted(p.name for p in (tmp_path / "snaps").iterdir()) == ["epoch_2.npz", "epoch_4.npz"]
    reloaded = Basic(network_params(load_weights_path=str(tmp_path / "final" / "weights.npz")))
    x = hello_task(seed=5).get_trial_batch()[0]
    np.testing.assert_array_equal(reloaded.test(x, noise=False)[0], model.test(x, noise=False)[0])


def test_performance_cutoff_needs_a_measure_and_stops_training_early(capsys):
    model = Basic(network_params())
    with pytest.raises(ParameterError, match="performance_measure"):
        model.train(hello_task(), dict(performance_measure=lambda *a: 1.0, verbosity=False))
    with pytest.raises(UserWarning):  # PsychRNN users catch UserWarning
        model.train(hello_task(), dict(performance_cutoff=0.5, verbosity=False))
    calls = []

    def measure(trial_batch, trial_y, output_mask, output, epoch, losses, verbosity):
        calls.append(epoch)
        assert output.shape == trial_y.shape
        return epoch

    losses, _, _ = model.train(hello_task(), dict(training_iters=5000, loss_epoch=1, performance_measure=measure,
                                                  performance_cutoff=3))
    assert calls == [1, 2, 3] and len(losses) == 3
    assert "performance: 3" in capsys.readouterr().out


def test_custom_loss_and_custom_regularizer():
    def doubled_mse(predictions, y, output_mask):
        return 2.0 * tf.reduce_mean(tf.square(output_mask * (predictions - y)))

    seen = []

    def offset(model, params):
        seen.append(params["marker"])
        return 5.0 + 0.0 * tf.reduce_sum(model.get_effective_W_rec())

    task = hello_task()
    x, y, mask, _ = hello_task(seed=9).get_trial_batch()
    plain = Basic(network_params(seed=3))
    custom = Basic(network_params(seed=3, loss_function="doubled", doubled=doubled_mse,
                                  custom_regularization=offset, marker="here"))
    total_plain = float(plain.compute_loss(x, y, mask, noise=False)[0])
    total_custom = float(custom.compute_loss(x, y, mask, noise=False)[0])
    assert total_custom == pytest.approx(2 * total_plain + 5.0, rel=1e-5)
    losses, _, _ = custom.train(task, dict(training_iters=200, loss_epoch=1, verbosity=False))
    assert seen and seen[0] == "here" and min(losses) > 5.0


def test_custom_loss_with_python_control_flow_on_tensors_still_trains():
    """The step is traced without AutoGraph; code that needs AutoGraph falls back to it."""
    def hinge_when_large(predictions, y, output_mask):
        error = tf.reduce_mean(tf.square(output_mask * (predictions - y)))
        if error > 10.0:  # a Python `if` on a tensor: needs AutoGraph inside tf.function
            return tf.sqrt(error)
        return error

    model = Basic(network_params(seed=4, loss_function="hinge", hinge=hinge_when_large))
    losses, _, _ = model.train(hello_task(), dict(training_iters=150, loss_epoch=1, verbosity=False))
    assert len(losses) == 3 and np.all(np.isfinite(losses))
    from psychrnn_widgets.training.trainer import Trainer

    assert Trainer.of(model).training_step().plain.autograph


def test_importing_the_models_skips_keras_but_tf_keras_still_works():
    """TensorFlow's eager Keras import is skipped at start-up; tf.keras loads on first use."""
    import subprocess
    import sys

    code = (
        "import os, sys\n"
        "import psychrnn_widgets.models.basic\n"
        "import tensorflow as tf\n"
        "assert 'keras' not in sys.modules, 'keras imported at start-up'\n"
        "assert 'TF_USE_LEGACY_KERAS' not in os.environ\n"
        "assert None not in tf.__path__ and tf.__path__\n"
        "layer = tf.keras.layers.Dense(3)\n"
        "assert layer(tf.ones((2, 4))).shape == (2, 3)\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-2000:]


def test_l1_l2_and_firing_rate_regularisers_are_means():
    model = Basic(network_params(L1_rec=0.3, L2_in=0.2, L2_out=0.1, L2_firing_rate=0.05))
    x = hello_task().get_trial_batch()[0]
    _, states = model.test(x, noise=False)
    w = model.get_weights()
    expected = (0.3 * np.abs(w["W_rec"]).mean() + 0.2 * (w["W_in"] ** 2).mean() + 0.1 * (w["W_out"] ** 2).mean()
                + 0.05 * (np.maximum(states, 0) ** 2).mean())
    assert float(model.regularizer.set_model_regularization(model, states)) == pytest.approx(expected, rel=1e-5)


def test_constraints_hold_after_training(rng):
    mask = (rng.random((50, 50)) < 0.4).astype(np.float32)
    fixed = np.zeros((50, 50), np.float32)
    fixed[:10, :10] = 1.0
    model = Basic(network_params(dale_ratio=0.8, rec_connectivity=mask, autapses=False))
    before = model.get_weights()
    raw_before = model.W_rec.numpy().copy()
    model.train(hello_task(), dict(training_iters=1000, verbosity=False, learning_rate=0.01,
                                   fixed_weights={"W_rec": fixed}))
    after = model.get_weights()
    W_rec, W_in, W_out = after["W_rec"], after["W_in"], after["W_out"]
    assert not np.allclose(W_rec, before["W_rec"])  # it did train
    assert (W_rec[:, :40] >= 0).all() and (W_rec[:, 40:] <= 0).all()
    assert (W_in >= 0).all()
    assert (W_out[:, 40:] == 0).all() and (W_out[:, :40] >= 0).all()
    effective_mask = mask.copy()
    np.fill_diagonal(effective_mask, 0)
    assert (W_rec[effective_mask == 0] == 0).all()
    assert (np.diag(W_rec) == 0).all()
    np.testing.assert_array_equal(W_rec[:10, :10], before["W_rec"][:10, :10])
    np.testing.assert_array_equal(model.W_rec.numpy()[:10, :10], raw_before[:10, :10])
    with pytest.raises(ParameterError, match="W_recc"):
        model.train(hello_task(), dict(training_iters=50, verbosity=False, fixed_weights={"W_recc": fixed}))


def test_second_train_call_continues_where_the_first_stopped():
    task = hello_task(seed=4)
    model = Basic(network_params(seed=4))
    first, _, _ = model.train(task, dict(training_iters=1500, loss_epoch=1, verbosity=False))
    second, _, _ = model.train(task, dict(training_iters=250, loss_epoch=1, verbosity=False))
    drop = first[0] - np.mean(first[-5:])
    assert drop > 0
    assert abs(second[0] - np.mean(first[-5:])) < 0.25 * drop
    trainer = Trainer.of(model)
    assert trainer.optimizer_state.adam.iterations.numpy() == 35  # optimiser state carried over
    assert trainer.epoch == 35 and trainer.trials == 1750  # and the counts


def test_nan_input_is_refused_and_the_weights_are_kept():
    model = Basic(network_params())
    task = hello_task()
    snapshot = {}

    def batches():
        for k in range(100):
            x, y, mask, _ = task.get_trial_batch()
            if k == 3:
                x = x.copy()
                x[0, 5, 0] = np.nan
            yield x, y, mask

    def remember(event):
        if event.kind == "step":
            snapshot["weights"] = model.get_weights()
        snapshot.setdefault("kinds", []).append(event.kind)

    with pytest.raises(ParameterError, match="x from the batch generator holds NaN"):
        model.train(batches(), dict(training_iters=5000, verbosity=False, callbacks=[remember]))
    assert snapshot["kinds"][-1] == "failed" and snapshot["kinds"].count("step") == 3
    for key in ("W_rec", "W_in", "W_out", "b_rec", "init_state"):
        np.testing.assert_array_equal(model.get_weights()[key], snapshot["weights"][key])


def test_a_batch_that_overflows_stops_training_and_keeps_the_last_finite_weights():
    """Finite inputs so large that the loss overflows: the weights are not to blame and are kept."""
    model = Basic(network_params())
    task = hello_task()
    snapshot = {}

    def batches():
        for k in range(100):
            x, y, mask, _ = task.get_trial_batch()
            if k == 3:
                x = x * np.float32(1e30)
            yield x, y, mask

    def remember(event):
        if event.kind == "step":
            snapshot["weights"] = model.get_weights()
            snapshot["epoch"] = event.epoch
        snapshot.setdefault("kinds", []).append(event.kind)

    with pytest.raises(TrainingDivergedError, match="step 4 .* after epoch 3") as caught:
        model.train(batches(), dict(training_iters=5000, verbosity=False, callbacks=[remember]))
    assert caught.value.epoch == 3 and Trainer.of(model).epoch == 3
    assert snapshot["epoch"] == 3 and snapshot["kinds"][-1] == "failed"
    for key in ("W_rec", "W_in", "W_out", "b_rec", "init_state"):
        np.testing.assert_array_equal(model.get_weights()[key], snapshot["weights"][key])
    assert np.isfinite(model.test(task.get_trial_batch()[0])[0]).all()


def test_events_and_stop_request():
    model = Basic(network_params())
    control = TrainingControl()
    events = []

    def on_event(event):
        events.append(event)
        if event.kind == "step" and event.epoch == 4:
            control.request_stop()

    losses, _, _ = model.train(hello_task(), dict(training_iters=5000, loss_epoch=2, verbosity=False,
                                                  callbacks=on_event, control=control))
    kinds = [e.kind for e in events]
    assert kinds[0] == "start" and kinds[-1] == "stopped" and kinds.count("step") == 4
    steps = [e for e in events if e.kind == "step"]
    assert [e.trials for e in steps] == [50, 100, 150, 200]
    assert all(np.isfinite(e.loss) for e in steps)
    assert steps[1].accuracy is not None and 0 <= steps[1].accuracy <= 1 and steps[0].accuracy is None
    assert len(losses) == 2


def test_pause_and_resume_from_another_thread():
    model = Basic(network_params())
    control = TrainingControl()
    epochs = []
    thread = threading.Thread(target=model.train, args=(hello_task(), dict(
        training_iters=10 ** 6, verbosity=False, control=control,
        callbacks=lambda e: epochs.append(e.epoch) if e.kind == "step" else None)))
    thread.start()
    try:
        deadline = time.time() + 60
        while len(epochs) < 3 and time.time() < deadline:
            time.sleep(0.05)
        control.pause()
        time.sleep(0.5)
        paused_at = len(epochs)
        time.sleep(0.7)
        assert len(epochs) == paused_at and control.paused
        control.resume()
        deadline = time.time() + 60
        while len(epochs) < paused_at + 3 and time.time() < deadline:
            time.sleep(0.05)
        assert len(epochs) >= paused_at + 3
    finally:
        control.request_stop()
        thread.join(60)
    assert not thread.is_alive()
    assert np.isfinite(model.test(hello_task().get_trial_batch()[0])[0]).all()


def test_save_reload_identical_and_truncated_file_is_named(tmp_path):
    model = Basic(network_params(dale_ratio=0.8, rec_noise=0.1))
    model.train(hello_task(), dict(training_iters=200, verbosity=False))
    path = model.save(tmp_path / "trained")
    assert path.name == "trained.npz"
    with np.load(path, allow_pickle=False) as data:  # no pickled objects in our files
        assert not any(key.endswith("Adam") or "/" in key for key in data.files)
    reloaded = Basic(network_params(name="copy", load_weights_path=str(path)))
    x = hello_task(seed=2).get_trial_batch()[0]
    np.testing.assert_array_equal(reloaded.test(x, noise=False)[0], model.test(x, noise=False)[0])
    assert reloaded.dale_ratio == 0.8

    data = path.read_bytes()
    broken = tmp_path / "broken.npz"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightFileError, match="broken.npz"):
        Basic(network_params(load_weights_path=str(broken)))
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        Basic(network_params(load_weights_path=str(tmp_path / "missing.npz")))


def test_unknown_train_param_warns_with_suggestion():
    model = Basic(network_params())
    with pytest.warns(UserWarning, match="did you mean 'training_iters'"):
        model.train(hello_task(), dict(training_iter=50, training_iters=50, verbosity=False))
    with pytest.raises(ParameterError, match="training_iters"):
        model.train(hello_task(), dict(training_iters=0, verbosity=False))


def test_seeded_runs_are_reproducible_across_the_switch_to_xla(monkeypatch):
    from psychrnn_widgets.training import step as step_module

    monkeypatch.setattr(step_module, "XLA_AFTER_STEPS", 3)
    runs = []
    for _ in range(2):
        model = Basic(network_params(rec_noise=0.1, seed=7))
        losses, _, _ = model.train(hello_task(seed=7), dict(training_iters=500, loss_epoch=1, verbosity=False))
        step = Trainer.of(model).training_step()
        assert step.jit_compile and all(w.ok for w in step.xla_shapes.values())  # XLA ran after step 3
        runs.append((losses, model.get_weights()["W_rec"]))
    assert runs[0][0] == runs[1][0]
    np.testing.assert_array_equal(runs[0][1], runs[1][1])


def test_the_step_is_traced_once_and_the_xla_twin_compiles_that_trace(monkeypatch):
    """Start-up work is paid once: the XLA program is built from the plain graph's trace."""
    from psychrnn_widgets.training import step as step_module

    monkeypatch.setattr(step_module, "XLA_AFTER_STEPS", 3)
    traces = []

    def counted_mse(predictions, y, output_mask):
        traces.append(1)  # runs only while TensorFlow traces the step
        return tf.reduce_mean(tf.square(output_mask * (predictions - y)))

    model = Basic(network_params(seed=2, loss_function="counted", counted=counted_mse))
    model.train(hello_task(), dict(training_iters=400, verbosity=False))
    step = Trainer.of(model).training_step()
    assert step.xla_shapes and all(w.ok for w in step.xla_shapes.values())  # XLA ran after step 3
    assert len(traces) == 1 and not step.plain.autograph
