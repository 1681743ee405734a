"""The Trainer owns training state; divergence, failing callbacks and stops lose nothing; layering rules."""
import ast
import threading
from pathlib import Path

import numpy as np
import pytest

from helpers import network_params
from psychrnn_widgets import Basic, ParameterError, PerceptualDiscrimination, TrainingControl, TrainingDivergedError
from psychrnn_widgets.errors import CallbackError
from psychrnn_widgets.training.trainer import Trainer

PACKAGE = Path(__file__).resolve().parents[1] / "psychrnn_widgets"


def hello_task(seed=0, N_batch=50):
    return PerceptualDiscrimination(dt=10, tau=100, T=2000, N_batch=N_batch, seed=seed)


@pytest.fixture(scope="module")
def trained():
    model = Basic(network_params(name="trained", seed=11))
    model.train(hello_task(seed=11), dict(training_iters=1500, learning_rate=0.005, verbosity=False))
    return model


def test_a_step_that_makes_the_loss_non_finite_is_undone_and_training_continues(trained):
    """Issue 9's divergence check: one step with a huge learning rate, then test() as before."""
    x = hello_task(seed=3).get_trial_batch()[0]
    before_outputs, before_states = trained.test(x, noise=False)
    trainer = Trainer.of(trained)
    epoch = trainer.epoch
    with pytest.raises(TrainingDivergedError, match=f"after epoch {epoch}") as caught:
        trained.train(hello_task(seed=4), dict(training_iters=50, learning_rate=1e30, clip_grads=False,
                                               verbosity=False))
    assert caught.value.epoch == epoch and trainer.epoch == epoch
    after_outputs, after_states = trained.test(x, noise=False)
    assert np.isfinite(after_outputs).all()
    np.testing.assert_array_equal(after_outputs, before_outputs)
    np.testing.assert_array_equal(after_states, before_states)
    # the optimiser state came back too: training goes on from there, finite
    losses, _, _ = trained.train(hello_task(seed=5), dict(training_iters=500, loss_epoch=1, verbosity=False))
    assert len(losses) == 10 and np.isfinite(losses).all() and trainer.epoch == epoch + 10


def test_divergence_in_the_middle_rolls_back_to_the_last_finite_weights():
    model = Basic(network_params(name="mid", seed=2))
    trainer = Trainer.of(model)
    weights_by_epoch = {}

    def remember(event):
        if event.kind == "step":
            weights_by_epoch[event.global_epoch] = model.get_weights()["W_rec"]

    model.train(hello_task(), dict(training_iters=150, verbosity=False, callbacks=remember))  # 3 good steps
    weights_by_epoch[3] = model.get_weights()["W_rec"]
    with pytest.raises(TrainingDivergedError) as caught:
        # the first update of this run blows the weights up; the next step's loss is inf/nan
        model.train(hello_task(seed=1), dict(training_iters=500, learning_rate=1e30, clip_grads=False,
                                             verbosity=False, callbacks=remember))
    assert caught.value.epoch == trainer.epoch == 3
    np.testing.assert_array_equal(model.get_weights()["W_rec"], weights_by_epoch[3])
    losses, elapsed, setup = caught.value.result  # the run's result travels with the error
    assert isinstance(losses, list)


def test_a_failing_callback_stops_training_keeps_the_weights_and_everyone_gets_failed():
    model = Basic(network_params(name="cb", seed=3))
    seen, other = [], []

    def broken(event):
        seen.append(event.kind)
        if event.kind == "step" and event.epoch == 2:
            raise KeyError("oops")

    with pytest.raises(CallbackError, match="broken.*KeyError.*after epoch 2") as caught:
        model.train(hello_task(), dict(training_iters=5000, verbosity=False, callbacks=[broken, other.append]))
    assert isinstance(caught.value.__cause__, KeyError) and caught.value.callback is broken
    assert seen[-1] == "failed" and [e.kind for e in other][-1] == "failed"
    assert [e.kind for e in other].count("step") == 2  # the other callback saw every step too
    assert Trainer.of(model).epoch == 2 and len(caught.value.result) == 3
    assert np.isfinite(model.test(hello_task().get_trial_batch()[0])[0]).all()


def test_a_stopped_control_is_refused_until_reset():
    model = Basic(network_params(name="ctl"))
    control = TrainingControl()
    control.request_stop()
    with pytest.raises(ParameterError, match="control.reset"):
        model.train(hello_task(), dict(training_iters=100, verbosity=False, control=control))
    control.reset()
    model.train(hello_task(), dict(training_iters=100, verbosity=False, control=control))
    assert Trainer.of(model).epoch == 2


def test_a_second_train_continues_the_epoch_count_so_snapshots_are_not_overwritten(tmp_path):
    model = Basic(network_params(name="snap"))
    params = dict(training_iters=250, verbosity=False, save_training_weights_epoch=2,
                  training_weights_path=str(tmp_path / "w"))
    model.train(hello_task(), params)
    first = sorted(p.name for p in tmp_path.iterdir())
    model.train(hello_task(), params)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert first == ["w2.npz", "w4.npz"]
    assert names == ["w10.npz", "w2.npz", "w4.npz", "w6.npz", "w8.npz"]


def test_the_learning_rate_set_on_the_trainer_applies_between_steps():
    model = Basic(network_params(name="lr"))
    trainer = Trainer.of(model)
    control = TrainingControl()
    seen = []

    def on_step(event):
        if event.kind == "step":
            seen.append(float(trainer.optimizer_state.adam.learning_rate.numpy()))
            if event.epoch == 2:
                trainer.learning_rate = 0.02  # as a widget does, from any thread
            if event.epoch == 4:
                control.request_stop()

    model.train(hello_task(), dict(training_iters=10**5, verbosity=False, callbacks=on_step, control=control))
    assert seen[:2] == [pytest.approx(0.001)] * 2 and seen[2:] == [pytest.approx(0.02)] * 2
    with pytest.raises(ParameterError, match="learning_rate"):
        trainer.learning_rate = float("inf")


def test_trainer_is_one_per_model_and_training_twice_at_once_is_refused():
    model = Basic(network_params(name="once"))
    assert Trainer.of(model) is Trainer.of(model)
    control = TrainingControl()
    started = threading.Event()
    thread = threading.Thread(target=model.train, args=(hello_task(), dict(
        training_iters=10**6, verbosity=False, control=control,
        callbacks=lambda e: started.set() if e.kind == "step" else None)))
    thread.start()
    try:
        assert started.wait(60)
        with pytest.raises(RuntimeError, match="already training"):
            model.train(hello_task(), dict(training_iters=50, verbosity=False))
    finally:
        control.request_stop()
        thread.join(60)


def test_custom_losses_and_regularisers_of_the_wrong_shape_say_what_is_expected():
    import tensorflow as tf

    x, y, mask, _ = hello_task(N_batch=4).get_trial_batch()

    def per_trial(predictions, y, output_mask):
        return tf.reduce_mean(tf.square(predictions - y), axis=[1, 2])  # (B,): not a scalar

    model = Basic(network_params(name="loss", loss_function="per_trial", per_trial=per_trial))
    with pytest.raises(ParameterError, match=r"loss function 'per_trial' must return a scalar.*shape \(4,\)"):
        model.compute_loss(x, y, mask)
    model = Basic(network_params(name="none", loss_function=lambda p, y, m: None))
    with pytest.raises(ParameterError, match="must return a number"):
        model.compute_loss(x, y, mask)
    model = Basic(network_params(name="reg", custom_regularization=lambda model, params: tf.ones(3)))
    with pytest.raises(ParameterError, match=r"custom_regularization must return a scalar"):
        model.compute_loss(x, y, mask)


@pytest.mark.parametrize("bad, match", [
    (np.zeros((3, 10)), r"shape \(batch, time, N_in=2\)"),
    (np.zeros((3, 10, 3)), r"N_in=2"),
    (np.zeros((0, 10, 2)), r"batch and time >= 1"),
    (np.full((2, 5, 2), np.nan), "NaN or infinite"),
    ("abc", "numeric array"),
])
def test_bad_inputs_to_test_are_named(bad, match):
    model = Basic(network_params(name="test_inputs"))
    with pytest.raises(ParameterError, match=match):
        model.test(bad)


# --------------------------------------------------------------------------- layering
def _imports(path):
    """(module imported, enclosing function or None) for every import in ``path``."""
    tree = ast.parse(path.read_text())
    found = []

    def visit(node, function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, child.name)
            elif isinstance(child, ast.ImportFrom):
                found.append(("." * child.level + (child.module or ""), function))
            elif isinstance(child, ast.Import):
                found.extend((alias.name, function) for alias in child.names)
            else:
                visit(child, function)

    visit(tree, None)
    return found


def test_models_import_the_training_layer_only_in_rnn_train():
    upward = []
    for path in sorted((PACKAGE / "models").glob("*.py")):
        for module, function in _imports(path):
            if "training" in module:
                upward.append((path.name, module, function))
    assert upward == [("rnn.py", "..training.trainer", "train_with_trainer")]


def test_no_widget_reads_private_attributes_of_models_trainers_or_tasks():
    offenders = []
    for path in sorted((PACKAGE / "widgets").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                base = node.value
                if isinstance(base, ast.Name) and base.id in ("self", "cls", "super"):
                    continue
                if isinstance(base, ast.Call) and getattr(base.func, "id", None) == "super":
                    continue
                text = ast.unparse(base)
                if any(word in text.lower() for word in ("model", "trainer", "task", "curriculum", "simulator")):
                    offenders.append(f"{path.name}:{node.lineno} {ast.unparse(node)}")
    assert not offenders, offenders


# --------------------------------------------------------------------------- TensorFlow internals
#: what the package relies on beyond TensorFlow's documented behaviour (each one is checked below)
TENSORFLOW_INTERNALS = {"tensorflow.__path__", "tf.raw_ops.BatchMatMulV3", "ZerosLike"}


def _tensorflow_internals_used(path):
    """``(line, what)`` for each reach into TensorFlow's internals in ``path`` (code only, docstrings aside)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tensorflow."):
            found.append((node.lineno, f"from {node.module} import"))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, f"import {a.name}") for a in node.names if a.name.startswith("tensorflow."))
        elif isinstance(node, ast.Attribute):
            base = ast.unparse(node.value)
            if node.attr in ("raw_ops", "__path__") and base in ("tf", "tensorflow"):
                found.append((node.lineno, f"{base}.{node.attr}"))
            elif node.attr.startswith("_") and not node.attr.startswith("__") and base in ("tf", "tensorflow"):
                found.append((node.lineno, f"{base}.{node.attr}"))
            elif node.attr == "python" and base in ("tf", "tensorflow"):
                found.append((node.lineno, f"{base}.python"))
        elif isinstance(node, ast.Constant) and node.value == "ZerosLike":
            found.append((node.lineno, "the op type 'ZerosLike'"))
    return found


def test_tensorflow_internals_are_all_in_one_module_and_each_is_named():
    """Issue 20: every reach into TensorFlow's internals lives in models/_tf.py, which lists them."""
    from psychrnn_widgets.models import _tf

    assert set(_tf.TENSORFLOW_INTERNALS) == TENSORFLOW_INTERNALS
    elsewhere = {f"{path.relative_to(PACKAGE)}:{line} {what}" for path in sorted(PACKAGE.rglob("*.py"))
                 if path.name != "_tf.py" for line, what in _tensorflow_internals_used(path)}
    assert not elsewhere, f"TensorFlow internals outside models/_tf.py: {sorted(elsewhere)}"
    used = " ".join(what for _, what in _tensorflow_internals_used(PACKAGE / "models" / "_tf.py"))
    assert "tensorflow.__path__" in used and "tf.raw_ops" in used and "'ZerosLike'" in used, used
    assert "tensorflow.python" not in used, used  # no private TensorFlow module is imported


def test_tensorflow_internals_we_rely_on_still_work():
    """If a TensorFlow release changes these, this fails loudly; the package keeps working through its fallbacks."""
    import tensorflow as tf

    from psychrnn_widgets.models import _tf, leaky

    # tf.raw_ops.BatchMatMulV3: the batched product on Eigen
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4, 2)).astype(np.float32), rng.standard_normal((3, 2, 5)).astype(np.float32)
    np.testing.assert_allclose(_tf.batch_matmul_on_eigen(tf.constant(a), tf.constant(b)).numpy(), a @ b, rtol=1e-5)
    c = rng.standard_normal((3, 4, 5)).astype(np.float32)
    np.testing.assert_allclose(_tf.batch_matmul_on_eigen(tf.constant(a), tf.constant(c), transpose_a=True).numpy(),
                               np.swapaxes(a, 1, 2) @ c, rtol=1e-5)

    # ZerosLike: the fused backward loop recognises the zeros TensorFlow passes for its unused states output
    seen = []
    original = leaky.is_unused_output_gradient

    def spy(gradient):
        seen.append(original(gradient))
        return seen[-1]

    model = Basic(network_params(name="zeros_like"))
    x = np.ones((2, 5, 2), np.float32)

    @tf.function(autograph=False)
    def gradients():
        with tf.GradientTape() as tape:
            total, _, _ = model.compute_loss(x, x, x, noise=False)
        return tape.gradient(total, model.trainable_variables)

    try:
        leaky.is_unused_output_gradient = spy
        threshold, leaky.FUSED_LOOP_MIN_N_REC = leaky.FUSED_LOOP_MIN_N_REC, 0
        gradients()
    finally:
        leaky.is_unused_output_gradient = original
        leaky.FUSED_LOOP_MIN_N_REC = threshold
    assert seen == [True], "TensorFlow no longer builds unused-output gradients with a ZerosLike op"


def test_keras_start_up_skip_is_active_in_a_fresh_process():
    import subprocess
    import sys

    # tensorflow.__path__: the None TensorFlow leaves there for the missing tf_keras is gone, so tools that walk
    # TensorFlow's packages (pkgutil) work as without the skip
    code = ("import psychrnn_widgets.models._tf as t, sys, pkgutil\n"
            "modules = {m.name for m in pkgutil.iter_modules(t.tf.__path__)}\n"
            "print(t.KERAS_IMPORT_SKIPPED, 'keras.src.optimizers' in sys.modules, None in t.tf.__path__,\n"
            "      {'python', 'math', 'keras'} <= modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["True", "False", "False", "True"], done.stderr[-2000:]


def test_tensorflow_start_up_chatter_does_not_reach_stderr():
    """Issue 10: no stderr box above the dashboard -- TensorFlow's C++ start-up lines are filtered out."""
    import os
    import subprocess
    import sys

    code = ("import numpy as np\n"
            "from psychrnn_widgets import Basic, PerceptualDiscrimination\n"
            "task = PerceptualDiscrimination(10, 100, 200, 4, seed=0)\n"
            "model = Basic({**task.get_task_params(), 'name': 'quiet', 'N_rec': 5})\n"
            "model.train(task, {'training_iters': 8, 'verbosity': False})\n"
            "import sys; sys.stderr.write('a real warning still shows\\n')\n")
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "PSYCHRNN_WIDGETS_TF_VERBOSE")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr.strip() == "a real warning still shows", done.stderr[-2000:]
