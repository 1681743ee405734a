"""PsychRNN's documented workflows, step by step, with this package's names (issue 15).

Each test takes the steps of one of PsychRNN's tutorial notebooks (``docs/notebooks`` in
its repository: minimal example, perceptual discrimination, biological constraints,
other features, curriculum learning, saving and loading weights, new task, new model)
with PsychRNN's parameter names and values -- only the imports change, and the training
budgets shrink so that the suite stays fast -- and checks the results the tutorial shows.
The tests are written here; nothing is copied from the notebooks.
"""
import warnings

import numpy as np
import pytest
import tensorflow as tf

from helpers import DATA
from psychrnn_widgets import (AlphaIdentity, Basic, BasicSimulator, Curriculum, PerceptualDiscrimination,
                              default_metric)
from psychrnn_widgets.tasks import Task


def accuracy(model, task, n_batches=2):
    scores = []
    for _ in range(n_batches):
        x, y, mask, _ = task.get_trial_batch()
        scores.append(task.accuracy_function(y, model.test(x)[0], mask))
    return float(np.mean(scores))


# --------------------------------------------------------------------- Minimal_Example
def test_minimal_example():
    pd = PerceptualDiscrimination(dt=10, tau=100, T=2000, N_batch=128)
    network_params = pd.get_task_params()
    network_params["name"] = "model"
    network_params["N_rec"] = 50
    model = Basic(network_params)
    model.train(pd, {"training_iters": 12800, "learning_rate": 0.005, "verbosity": False})
    x, target_output, mask, trial_params = pd.get_trial_batch()
    model_output, model_state = model.test(x)
    assert model_output.shape == (128, 200, 2) and model_state.shape == (128, 200, 50)
    assert pd.accuracy_function(target_output, model_output, mask) > 0.85
    model.destruct()


# --------------------------------------------------------- PerceptualDiscrimination (every key spelt out)
def test_perceptual_discrimination_tutorial_with_every_parameter_spelt_out(tmp_path):
    np.random.seed(2020)
    tf.random.set_seed(2020)
    pd = PerceptualDiscrimination(dt=10, tau=100, T=2000, N_batch=50)
    network_params = pd.get_task_params()
    assert {"N_in", "N_out", "dt", "tau", "T", "N_batch", "N_steps", "alpha"} <= set(network_params)
    network_params.update(
        name="basicModel", N_rec=50, rec_noise=0.0, W_in_train=True, W_rec_train=True, W_out_train=True,
        b_rec_train=True, b_out_train=True, init_state_train=True, transfer_function=tf.nn.relu,
        loss_function="mean_squared_error", load_weights_path=None, which_rand_init="glorot_gauss",
        which_rand_W_rec_init="glorot_gauss", init_minval=-0.1, init_maxval=0.1, L1_in=0, L1_rec=0, L1_out=0,
        L2_in=0, L2_rec=0, L2_out=0, L2_firing_rate=0, custom_regularization=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no key of the tutorial is "unknown"
        basic_model = Basic(network_params)
    train_params = {
        "save_weights_path": None, "training_iters": 10000, "learning_rate": 0.001, "loss_epoch": 10,
        "verbosity": False, "save_training_weights_epoch": 100, "training_weights_path": None,
        "optimizer": tf.compat.v1.train.AdamOptimizer(learning_rate=0.001), "clip_grads": True,
        "fixed_weights": None, "performance_cutoff": None, "performance_measure": None,
    }
    losses, initial_time, train_time = basic_model.train(pd, train_params)
    assert len(losses) == 20 and losses[-1] < losses[0] and initial_time >= 0 and train_time >= 0
    x, y, m, _ = pd.get_trial_batch()
    output, state_var = basic_model.test(x)
    assert output.shape == (50, 200, 2) and state_var.shape == (50, 200, 50)
    weights = basic_model.get_weights()
    assert {"W_in", "W_rec", "W_out", "b_rec", "b_out", "init_state", "dale_ratio", "rec_connectivity"} <= set(weights)
    saved = basic_model.save(str(tmp_path / "weights" / "saved_weights"))
    assert saved.exists()
    basic_model.destruct()


# --------------------------------------------------------------------- BiologicalConstraints
def test_biological_constraints_tutorial():
    pd = PerceptualDiscrimination(dt=10, tau=100, T=2000, N_batch=128, seed=5)
    network_params = pd.get_task_params()
    network_params["name"] = "model"
    network_params["N_rec"] = 50
    N_in, N_rec, N_out = network_params["N_in"], network_params["N_rec"], network_params["N_out"]

    dale = Basic({**network_params, "name": "dales_model", "dale_ratio": 0.8})
    W = dale.get_weights()["W_rec"]
    assert (W[:, :40] >= 0).all() and (W[:, 40:] <= 0).all()

    autapses = Basic({**network_params, "name": "autapses_model", "autapses": False})
    assert (np.diag(autapses.get_weights()["W_rec"]) == 0).all()

    rec_connectivity = np.ones((N_rec, N_rec))
    rec_connectivity[2 * (N_rec // 5):4 * (N_rec // 5), :2 * (N_rec // 5)] = 0
    rec_connectivity[:2 * (N_rec // 5), 2 * (N_rec // 5):4 * (N_rec // 5)] = 0
    modular = Basic({**network_params, "name": "modular_model", "input_connectivity": np.ones((N_rec, N_in)),
                     "rec_connectivity": rec_connectivity, "output_connectivity": np.ones((N_out, N_rec))})
    assert (modular.get_weights()["W_rec"][rec_connectivity == 0] == 0).all()

    fixed_model = Basic({**network_params, "name": "fixed_model"})
    before = fixed_model.get_weights()["W_rec"]
    W_rec_fixed = np.zeros((N_rec, N_rec))
    W_rec_fixed[N_rec // 5 * 4:, :4 * N_rec // 5] = 1
    W_rec_fixed[:4 * N_rec // 5, N_rec // 5 * 4:] = 1
    train_params = {"fixed_weights": {"W_in": np.zeros((N_rec, N_in)), "W_rec": W_rec_fixed,
                                      "W_out": np.zeros((N_out, N_rec))},
                    "training_iters": 3200, "verbosity": False}
    fixed_model.train(pd, train_params)
    weights = fixed_model.get_weights()
    frozen = W_rec_fixed == 1
    np.testing.assert_array_equal(weights["W_rec"][frozen], before[frozen])
    assert not np.array_equal(weights["W_rec"][~frozen], before[~frozen])
    fixed_model.destruct()

    # "clearer": every entry of get_weights() becomes a network_params key, then train again
    weights["W_rec"][N_rec // 5 * 4:, :4 * N_rec // 5] = np.mean(weights["W_rec"][N_rec // 5 * 4:, :4 * N_rec // 5])
    weights["W_rec"][:4 * N_rec // 5, N_rec // 5 * 4:] = np.mean(weights["W_rec"][:4 * N_rec // 5, N_rec // 5 * 4:])
    clearer_params = dict(network_params, name="fixed_model_clearer")
    for key, value in weights.items():
        clearer_params[key] = value
    clearer = Basic(clearer_params)
    np.testing.assert_allclose(clearer.get_weights()["W_rec"], weights["W_rec"], atol=1e-7)
    clearer.train(pd, train_params)
    after = clearer.get_weights()["W_rec"]
    np.testing.assert_array_equal(after[frozen], weights["W_rec"][frozen].astype(np.float32))
    clearer.destruct()


# --------------------------------------------------------------------- OtherFeatures (simulation)
def test_other_features_tutorial_simulates_a_saved_network_three_ways():
    path = str(DATA / "psychrnn1_pd_basic_weights.npz")  # written by PsychRNN 1.0 (N_rec 20)
    network_params = {"N_batch": 50, "N_in": 2, "N_out": 2, "dt": 10, "tau": 100, "T": 2000, "N_steps": 200,
                      "N_rec": 20, "name": "Basic", "load_weights_path": path}
    tf_model = Basic(network_params)
    pd = PerceptualDiscrimination(dt=10, tau=100, T=2000, N_batch=128, seed=9)
    x, y, mask, _ = pd.get_trial_batch()
    expected = tf_model.test(x, noise=False)
    simulators = [BasicSimulator(rnn_model=tf_model),
                  BasicSimulator(weights_path=path, params={"dt": 10, "tau": 100}),
                  BasicSimulator(weights=dict(np.load(path, allow_pickle=True)), params={"dt": 10, "tau": 100})]
    tf_model.destruct()
    for simulator in simulators:
        outputs, states = simulator.run_trials(x)
        np.testing.assert_allclose(outputs, expected[0], atol=1e-5)
        np.testing.assert_allclose(states, expected[1], atol=1e-5)


# --------------------------------------------------------------------- curriculum_learning
def test_curriculum_learning_tutorial():
    pds = [PerceptualDiscrimination(dt=10, tau=100, T=2000, N_batch=50, coherence=0.7 - i / 5, seed=i)
           for i in range(4)]
    metric = default_metric
    accuracies = [pds[i].accuracy_function for i in range(len(pds))]
    thresholds = [0.9 for _ in range(len(pds))]
    curriculum = Curriculum(pds, output_file=None, metric_epoch=1, thresholds=thresholds, accuracies=accuracies,
                            metric=metric)
    network_params = pds[0].get_task_params()
    network_params["name"] = "curriculumModel"
    network_params["N_rec"] = 50
    network_params["seed"] = 1
    curriculum_model = Basic(network_params)
    network_params["name"] = "basicModel"
    basic_model = Basic(network_params)

    train_params = {"curriculum": curriculum, "training_iters": 20000, "learning_rate": 0.005, "verbosity": False}
    curric_losses, initial_time, train_time = curriculum_model.train_curric(train_params)
    assert curriculum.stage >= 1 and len(curriculum.metric_values) > 0 and len(curric_losses) > 0

    def performance_measure(trial_batch, trial_y, output_mask, output, epoch, losses, verbosity):
        return pds[len(pds) - 1].accuracy_function(trial_y, output, output_mask)

    train_params["curriculum"] = None
    train_params["performance_measure"] = performance_measure
    train_params["performance_cutoff"] = 0.9
    basic_losses, _, _ = basic_model.train(pds[len(pds) - 1], train_params)
    assert 0 < len(basic_losses) <= 40
    with pytest.raises(UserWarning, match="curriculum"):  # PsychRNN raises UserWarning here too
        basic_model.train_curric({"training_iters": 100})
    curriculum_model.destruct()
    basic_model.destruct()


# --------------------------------------------------------------------- SavingLoadingWeights
@pytest.mark.parametrize("source", ["psychrnn", "ours"])
def test_saving_and_loading_weights_tutorial(tmp_path, source):
    if source == "psychrnn":
        path = DATA / "psychrnn1_pd_basic_weights.npz"
        n_rec = 20
    else:
        pd = PerceptualDiscrimination(dt=10, tau=100, T=2000, N_batch=50, seed=0)
        model = Basic({**pd.get_task_params(), "name": "saved", "N_rec": 50, "dale_ratio": 0.8, "seed": 0})
        path = model.save(tmp_path / "weights" / "saved_weights")
        n_rec = 50
    weights = dict(np.load(path, allow_pickle=True))
    weights["W_rec"][:10, :10] = 0
    np.savez(tmp_path / "modified_saved_weights.npz", **weights)
    network_params = {"N_batch": 50, "N_in": 2, "N_out": 2, "dt": 10, "tau": 100, "T": 2000, "N_steps": 200,
                      "N_rec": n_rec}
    file_model = Basic({**network_params, "name": "file",
                        "load_weights_path": str(tmp_path / "modified_saved_weights.npz")})
    assert (file_model.get_weights()["W_rec"][:10, :10] == 0).all()
    file_model.destruct()

    dict_network_params = dict(network_params, name="dict")
    dict_network_params.update(weights)  # 0-d arrays: PsychRNN's dale_ratio object array, our transfer name
    dict_model = Basic(dict_network_params)
    assert (dict_model.get_weights()["W_rec"][:10, :10] == 0).all()
    np.testing.assert_allclose(dict_model.get_weights()["W_rec"], weights["W_rec"], atol=1e-6)
    dict_model.destruct()


# --------------------------------------------------------------------- NewTask
class SimplePD(Task):
    """The tutorial's task: coherence from an exponential, stimulus from T/4 to 3T/4 (np.random, as written)."""

    def __init__(self, dt, tau, T, N_batch):
        super(SimplePD, self).__init__(2, 2, dt, tau, T, N_batch)

    def generate_trial_params(self, batch, trial):
        params = dict()
        params["coherence"] = np.random.exponential(scale=1 / 5)
        params["direction"] = np.random.choice([0, 1])
        return params

    def trial_function(self, time, params):
        stim_noise = 0.1
        onset = self.T / 4.0
        stim_dur = self.T / 2.0
        x_t = np.sqrt(2 * self.alpha * stim_noise * stim_noise) * np.random.randn(self.N_in)
        y_t = np.zeros(self.N_out)
        mask_t = np.ones(self.N_out)
        coh, direction = params["coherence"], params["direction"]
        if onset < time < onset + stim_dur:
            x_t[direction] += 1 + coh
            x_t[(direction + 1) % 2] += 1
        if time > onset + stim_dur + 20:
            y_t[direction] = 1.0
        if time < onset + stim_dur:
            mask_t = np.zeros(self.N_out)
        return x_t, y_t, mask_t

    def accuracy_function(self, correct_output, test_output, output_mask):
        chosen = np.argmax(np.mean(test_output * output_mask, axis=1), axis=1)
        truth = np.argmax(np.mean(correct_output * output_mask, axis=1), axis=1)
        return float(np.mean(chosen == truth))


def test_new_task_tutorial():
    np.random.seed(3)
    pd = SimplePD(dt=10, tau=100, T=2000, N_batch=128)
    network_params = pd.get_task_params()
    network_params["name"] = "model"
    network_params["N_rec"] = 50
    model = Basic(network_params)
    model.train(pd, {"training_iters": 5120, "learning_rate": 0.01, "verbosity": False})  # the slow path
    x, target_output, mask, trial_params = pd.get_trial_batch()
    model_output, _ = model.test(x)
    assert model_output.shape == (128, 200, 2)
    assert pd.accuracy_function(target_output, model_output, mask) > 0.75
    model.destruct()


# --------------------------------------------------------------------- NewModel (ported to TF2)
def docs_python_blocks(name):
    """The ```python blocks of docs/<name> (so the docs' code is the code tested)."""
    import re

    text = (DATA.parents[1] / "docs" / name).read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_new_model_tutorial_ported_to_tensorflow_2():
    namespace = {}
    exec(docs_python_blocks("new_model.md")[0], namespace)  # the port, exactly as the docs show it
    BasicWithFeedforward = namespace["BasicWithFeedforward"]

    pd = PerceptualDiscrimination(dt=10, tau=100, T=2000, N_batch=128, seed=2)
    network_params = pd.get_task_params()
    network_params["name"] = "model"
    network_params["N_rec"] = 50
    network_params["seed"] = 2
    model = BasicWithFeedforward(network_params)
    assert model.W_in_first.shape == (32, 2) and model.W_in.shape == (50, 32)
    model.train(pd, {"training_iters": 12800, "learning_rate": 0.005, "verbosity": False})
    x, target_output, mask, _ = pd.get_trial_batch()
    outputs, states = model.test(x)
    assert outputs.shape == (128, 200, 2) and states.shape == (128, 200, 50)
    assert pd.accuracy_function(target_output, outputs, mask) > 0.8
    assert "W_in_first" in model.get_weights()  # extra variables are found, trained and saved
    model.destruct()


def test_global_seeds_make_unseeded_runs_repeatable():
    """PsychRNN users seed NumPy and TensorFlow globally and expect the same batches and weights."""
    runs = []
    for _ in range(2):
        np.random.seed(2020)
        tf.random.set_seed(2020)
        pd = PerceptualDiscrimination(dt=10, tau=100, T=2000, N_batch=8)
        model = Basic({**pd.get_task_params(), "name": "g", "N_rec": 10, "rec_noise": 0.1})
        x = pd.get_trial_batch()[0]
        runs.append((x, model.get_weights()["W_rec"], model.test(x)[1]))
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)
    np.random.seed(2021)
    other = PerceptualDiscrimination(dt=10, tau=100, T=2000, N_batch=8).get_trial_batch()[0]
    assert not np.array_equal(other, runs[0][0])


def test_alpha_identity_and_old_api_names_exist():
    from psychrnn_widgets.models.basic import BasicScan
    from psychrnn_widgets.models.losses import LossFunction
    from psychrnn_widgets.models.regularizers import Regularizer

    pd = PerceptualDiscrimination(dt=10, tau=100, T=2000, N_batch=8, seed=0)
    params = {**pd.get_task_params(), "name": "api", "N_rec": 10, "L2_rec": 0.5, "L1_in": 0.1, "L2_firing_rate": 1.0}
    model = BasicScan(params)
    assert model.build() is None and isinstance(model, Basic)
    x, y, mask, _ = pd.get_trial_batch()
    total, outputs, states = model.compute_loss(x, y, mask, noise=False)
    model.predictions, model.y, model.output_mask, model.states = outputs, y, mask, states
    loss = LossFunction(params).set_model_loss(model)
    regularizer = Regularizer(params)
    parts = (regularizer.L1_weight_reg(model), regularizer.L2_weight_reg(model), regularizer.L2_firing_rate_reg(model))
    assert float(total) == pytest.approx(float(loss) + sum(float(p) for p in parts), rel=1e-5)
    assert float(regularizer.set_model_regularization(model)) == pytest.approx(sum(float(p) for p in parts),
                                                                               rel=1e-5)
    init = AlphaIdentity(identity_alpha=0.5, transfer_function="tanh", **{k: v for k, v in params.items()
                                                                             if k in ("N_in", "N_rec", "N_out")})
    assert init.get_transfer_function() == "tanh"
    simulator = BasicSimulator(rnn_model=model)
    output, state = simulator.rnn_step(model.init_state.numpy(), x[:1, 0])
    assert output.shape == (1, 2) and state.shape == (1, 10)
