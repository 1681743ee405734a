"""The built-in losses by name, the cross-entropy over actions (NeuroGym's), and which loss a task's
parameters name: NeuroGymTask its preferred cross-entropy, every other task none (PsychRNN's MSE)."""
import numpy as np
import pytest

from helpers import network_params
from psychrnn_widgets import Basic, Ensemble, NeuroGymTask, ParameterError
from psychrnn_widgets.models.losses import BUILTIN_LOSSES, LossFunction, categorical_cross_entropy
from psychrnn_widgets.params import LOSS_FUNCTION_NAMES
from psychrnn_widgets.tasks import BUILTIN_TASKS
from test_task_library import StandInTrialEnv


def reference_cross_entropy(predictions, y, mask):
    """NumPy: -log softmax(predictions)[argmax y] per step, weighted by the step's largest mask entry."""
    z = predictions - predictions.max(axis=-1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    nll = -np.take_along_axis(log_p, np.argmax(y, axis=-1)[..., None], axis=-1)[..., 0]
    weight = mask.max(axis=-1)
    return float((weight * nll).sum() / weight.sum()) if weight.sum() else 0.0


def test_the_loss_names_are_declared_once():
    assert tuple(BUILTIN_LOSSES) == LOSS_FUNCTION_NAMES
    assert LOSS_FUNCTION_NAMES[:2] == ("mean_squared_error", "binary_cross_entropy")  # PsychRNN's, unchanged
    assert LossFunction({"loss_function": "categorical_cross_entropy"}).type == "categorical_cross_entropy"


def test_categorical_cross_entropy_is_the_masked_mean_over_counted_steps():
    rng = np.random.default_rng(0)
    predictions = rng.normal(size=(4, 7, 3)).astype(np.float32) * 3
    labels = rng.integers(0, 3, size=(4, 7))
    y = np.where(labels[..., None] == np.arange(3), 1.0, 0.2).astype(np.float32)  # hi/lo targets: argmax is the class
    mask = np.ones((4, 7, 3), np.float32)
    mask[:, 5:] = 0          # padded steps do not count
    mask[0, :2] = 0.05       # a weighted step counts with its weight
    got = float(categorical_cross_entropy(predictions, y, mask))
    assert got == pytest.approx(reference_cross_entropy(predictions, y, mask), rel=1e-5)
    # with a 0/1 mask: the mean over the kept steps, PyTorch's CrossEntropyLoss over them
    kept = mask.max(axis=-1) == 1
    z = predictions[kept]
    plain = np.mean(np.log(np.exp(z).sum(-1)) - z[np.arange(len(z)), labels[kept]])
    assert float(categorical_cross_entropy(predictions, y, (mask == 1).astype(np.float32))) == pytest.approx(
        plain, rel=1e-5)
    assert float(categorical_cross_entropy(predictions, y, np.zeros_like(mask))) == 0.0  # nothing counts


def test_a_loss_by_name_and_the_error_for_an_unknown_one():
    model = Basic(network_params(loss_function="categorical_cross_entropy"))
    assert model.loss_name == "categorical_cross_entropy"
    with pytest.raises(ParameterError, match="categorical_cross_entropy") as info:
        Basic(network_params(loss_function="cross_entropy"))
    assert info.value.parameter == "loss_function" and "'mean_squared_error'" in str(info.value)


@pytest.mark.parametrize("name", sorted(BUILTIN_TASKS))
def test_every_other_task_keeps_psychrnns_mean_squared_error(name):
    task = BUILTIN_TASKS[name].with_defaults(seed=0)
    assert task.preferred_loss is None and "loss_function" not in task.get_task_params()
    model = Basic(network_params(task, N_rec=8))
    assert model.loss_name == "mean_squared_error"


def test_neurogym_tasks_name_their_loss_and_network_params_may_name_another():
    task = NeuroGymTask(StandInTrialEnv(), N_batch=8, seed=0)
    params = task.get_task_params()
    assert params["loss_function"] == "categorical_cross_entropy" == task.preferred_loss
    assert Basic(dict(params, name="ce", N_rec=8)).loss_name == "categorical_cross_entropy"
    mse = Basic(dict(params, name="mse", N_rec=8, loss_function="mean_squared_error"))
    assert mse.loss_name == "mean_squared_error"
    params["loss_function"] = "binary_cross_entropy"  # a copy: the task keeps its preference
    assert task.get_task_params()["loss_function"] == "categorical_cross_entropy"


def test_an_ensemble_trains_with_the_cross_entropy_as_its_networks_alone():
    task = NeuroGymTask(StandInTrialEnv(), N_batch=8, seed=0)
    batches = [task.generate_batch()[:3] for _ in range(5)]
    params = [dict(task.get_task_params(), name="member", N_rec=12, seed=s) for s in (1, 2)]
    ensemble = Ensemble(params)
    assert ensemble.loss_name == "categorical_cross_entropy"
    train = dict(training_iters=8 * 5, loss_epoch=1, learning_rate=0.01, verbosity=False)
    losses, _, _ = ensemble.train([iter(batches), iter(batches)], train)
    for k in range(2):
        alone = Basic(params[k])
        alone_losses, _, _ = alone.train(iter(batches), train)
        np.testing.assert_allclose(losses[:, k], alone_losses, rtol=0, atol=1e-5)
    with pytest.raises(ParameterError, match="loss_function"):  # one program: one loss for all networks
        Ensemble([params[0], dict(params[1], loss_function="mean_squared_error")])
