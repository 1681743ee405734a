"""NumPy simulation: equality with the TF models, constructor rules, PsychRNN files, perturbations."""
import os

import numpy as np
import pytest

from helpers import DATA, network_params, reference_run, run_python
from psychrnn_widgets import (GRU, LSTM, Basic, BasicSimulator, GRUSimulator, LSTMSimulator, MatchToCategory,
                              ParameterError, PerceptualDiscrimination, Task)
from psychrnn_widgets.simulation import Clamp, InputPerturbation, Kick, Silence

TOL = 1e-6  # NumPy float32 vs TensorFlow float32, same operations in the same order
META = ("alpha", "dt", "tau", "rec_noise", "transfer_function")
PSYCHRNN1 = os.path.join(DATA, "psychrnn1_pd_basic_weights.npz")


def pd_task(N_batch=50, seed=0, T=2000):
    return PerceptualDiscrimination(dt=10, tau=100, T=T, N_batch=N_batch, seed=seed)


def max_diff(a, b):
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


def assert_same_run(simulator, model, x):
    outputs, states = simulator.run_trials(x, noise=False)
    ref_outputs, ref_states = model.test(x, noise=False)
    assert outputs.shape == ref_outputs.shape and states.shape == ref_states.shape
    assert outputs.dtype == np.float32 and states.dtype == np.float32
    assert max_diff(outputs, ref_outputs) <= TOL, max_diff(outputs, ref_outputs)
    assert max_diff(states, ref_states) <= TOL, max_diff(states, ref_states)
    return outputs, states


class OneInputSign(Task):
    """A tiny 1-input task: report the sign of a noisy constant input (2 outputs)."""

    def __init__(self, N_batch=8, seed=0):
        super().__init__(1, 2, 10, 100, 500, N_batch, seed=seed)

    def generate_trial_params(self, batch, trial):
        return {"level": float(self.rng.choice([-1.0, 1.0]) * self.rng.uniform(0.2, 1.0))}

    def trial_function(self, time, params):
        x = np.array([params["level"] + 0.1 * self.rng.standard_normal()])
        y = np.array([1.0, 0.0]) if params["level"] > 0 else np.array([0.0, 1.0])
        return x, y, np.full(2, float(time > 200))


# ------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module", autouse=True)
def exact_float32_matmul():
    """On GPUs TensorFlow multiplies float32 matrices in TF32 (10-bit mantissa) by default,
    which alone moves ``model.test`` by ~1e-3; the 1e-6 comparisons need true float32."""
    import tensorflow as tf

    previous = tf.config.experimental.tensor_float_32_execution_enabled()
    tf.config.experimental.enable_tensor_float_32_execution(False)
    yield
    tf.config.experimental.enable_tensor_float_32_execution(previous)


@pytest.fixture(scope="module")
def dale_model():
    """A briefly trained Dale + masked Basic network with biases and no autapses."""
    rng = np.random.default_rng(7)
    task = pd_task()
    mask = (rng.random((30, 30)) < 0.6).astype(np.float32)
    model = Basic(network_params(task, name="dale_masked", N_rec=30, dale_ratio=0.8, autapses=False,
                                 rec_connectivity=mask, input_connectivity=(rng.random((30, 2)) < 0.8) * 1.0,
                                 b_rec=rng.normal(0, 0.1, 30), b_out=rng.normal(0, 0.1, 2)))
    model.train(task, dict(training_iters=300, verbosity=False, learning_rate=0.01))
    return model


@pytest.fixture(scope="module")
def pd_batch():
    x, y, mask, _ = pd_task(N_batch=40, seed=11).get_trial_batch()
    return x, y, mask


@pytest.fixture(scope="module")
def trained_dale():
    """Basic with dale_ratio=0.8 trained on PerceptualDiscrimination until it performs.

    Measured here: with PsychRNN's defaults (lr 0.001, spec_rad 1.1) a Dale network is
    still at 0.48-0.62 accuracy after 4,000 trials; with lr 0.01 and spec_rad 0.5 it
    reaches 0.95-1.0 in 3,400-8,500 trials (seeds 0-5).  Training stops once three
    consecutive training batches score >= 0.95 (at most 12,000 trials).
    """
    task = pd_task(seed=0)
    model = Basic(network_params(task, name="dale_trained", dale_ratio=0.8, spec_rad=0.5, seed=0))
    recent = []

    def measure(x, y, mask, outputs, epoch, losses, verbose):
        recent.append(task.accuracy_function(y, outputs, mask))
        return min(recent[-3:]) if len(recent) >= 3 else 0.0

    model.train(task, dict(training_iters=12000, learning_rate=0.01, verbosity=False,
                           performance_cutoff=0.95, performance_measure=measure))
    test = pd_task(N_batch=500, seed=2024)
    x, y, mask, _ = test.get_trial_batch()
    return model, test, x, y, mask


# -------------------------------------------------------- equality with TensorFlow
def test_every_weights_source_reproduces_the_tf_model(dale_model, pd_batch, tmp_path):
    x = pd_batch[0]
    weights = dale_model.get_weights()
    path = dale_model.save(tmp_path / "dale")
    bare = {k: v for k, v in weights.items() if k not in META}  # as a PsychRNN get_weights() dict
    simulators = {
        "rnn_model": BasicSimulator(rnn_model=dale_model),
        "weights_path": BasicSimulator(weights_path=path),
        "weights_path without suffix": BasicSimulator(weights_path=str(tmp_path / "dale")),
        "weights dict": BasicSimulator(weights=weights),
        "weights + alpha": BasicSimulator(weights=bare, params={"alpha": 0.1}),
        "weights + dt/tau": BasicSimulator(weights=bare, params={"dt": 10, "tau": 100, "rec_noise": 0}),
        "weights + task params": BasicSimulator(weights=bare, params=pd_task().get_task_params()),
        "npz object": BasicSimulator(weights=np.load(path), params={"dt": 10, "tau": 100}),
    }
    reference = dale_model.test(x, noise=False)
    for name, sim in simulators.items():
        assert sim.alpha == pytest.approx(0.1), name
        assert sim.dale_ratio == pytest.approx(0.8), name
        outputs, states = assert_same_run(sim, dale_model, x)
        np.testing.assert_array_equal(outputs, simulators["rnn_model"].run_trials(x, noise=False)[0], err_msg=name)
    assert simulators["weights_path"].source == "weights_path"
    assert simulators["rnn_model"].source == "rnn_model"
    # masks and Dale's law are in the effective weights: inhibitory units do not read out
    assert np.all(simulators["weights dict"].W_out[:, 24:] == 0)
    assert max_diff(reference[1], simulators["weights dict"].run_trials(x, noise=False)[1]) <= TOL


@pytest.mark.parametrize("batch", [1, 3, 50])
def test_any_batch_size_and_trial_length(dale_model, pd_batch, batch):
    sim = BasicSimulator(dale_model)
    x = np.tile(pd_batch[0], (2, 1, 1))[:batch, :137]
    assert_same_run(sim, dale_model, x)


def test_match_to_category_with_16_inputs():
    task = MatchToCategory(dt=10, tau=100, T=2000, N_batch=20, seed=3)
    assert task.N_in == 16
    model = Basic(network_params(task, name="m2c", N_rec=40))
    model.train(task, dict(training_iters=100, verbosity=False))
    x = task.get_trial_batch()[0]
    assert_same_run(BasicSimulator(model), model, x)


def test_one_input_task_including_a_single_trial():
    task = OneInputSign(N_batch=6)
    model = Basic(network_params(task, name="one_in", N_rec=20, dale_ratio=0.5))
    model.train(task, dict(training_iters=60, verbosity=False))
    x = task.get_trial_batch()[0]
    assert x.shape == (6, 50, 1)
    sim = BasicSimulator(model)
    assert (sim.N_in, sim.N_rec, sim.N_out) == (1, 20, 2)
    assert_same_run(sim, model, x)
    assert_same_run(sim, model, x[:1])  # PsychRNN's np.squeeze broke batch 1 and N_in 1
    assert_same_run(sim, model, x[:1, :1])


@pytest.mark.parametrize("model_class, simulator_class", [(LSTM, LSTMSimulator), (GRU, GRUSimulator)])
def test_gated_simulators_equal_their_tf_models(model_class, simulator_class, pd_batch, tmp_path):
    task = pd_task()
    model = model_class(network_params(task, name=model_class.__name__.lower(), N_rec=25))
    model.train(task, dict(training_iters=150, verbosity=False, learning_rate=0.01))
    x = pd_batch[0][:9]
    path = model.save(tmp_path / "gated")
    for sim in (simulator_class(model), simulator_class(weights_path=path),
                simulator_class(weights=model.get_weights())):
        assert sim.alpha == pytest.approx(0.1)
        assert_same_run(sim, model, x)
        assert_same_run(sim, model, x[:1, :30])
    # alpha is not needed: a bare dict without time constants works
    bare = {k: v for k, v in model.get_weights().items() if k not in META}
    sim = simulator_class(weights=bare)
    assert sim.alpha is None
    outputs, states = assert_same_run(sim, model, x)
    # the single step (PsychRNN's rnn_step) is the same update
    if simulator_class is LSTMSimulator:
        hidden, cell = sim.initial_state(len(x))
        for t in range(5):
            out, hidden, cell = sim.rnn_step(hidden, cell, x[:, t])
            np.testing.assert_allclose(out, outputs[:, t], atol=1e-6)
            np.testing.assert_allclose(hidden, states[:, t], atol=1e-6)
    else:
        hidden = sim.initial_state(len(x))
        for t in range(5):
            out, hidden = sim.rnn_step(hidden, x[:, t])
            np.testing.assert_allclose(out, outputs[:, t], atol=1e-6)
            np.testing.assert_allclose(hidden, states[:, t], atol=1e-6)
    with pytest.raises(ParameterError, match="lack 'W_[fz]'"):
        simulator_class(weights_path=PSYCHRNN1)  # a Basic network's file


def test_float64_option_is_close_to_tf_and_to_float32(dale_model, pd_batch):
    x = pd_batch[0][:10]
    outputs64, states64 = BasicSimulator(dale_model, dtype=np.float64).run_trials(x, noise=False)
    assert outputs64.dtype == np.float64
    ref_outputs, ref_states = dale_model.test(x, noise=False)
    assert max_diff(outputs64, ref_outputs) < 1e-5 and max_diff(states64, ref_states) < 1e-5


# ----------------------------------------------------- single step and t_connectivity
def test_rnn_step_is_the_run_trials_update(dale_model, pd_batch):
    sim = BasicSimulator(dale_model)
    x = pd_batch[0][:5, :40]
    outputs, states = sim.run_trials(x, noise=False)
    state = sim.initial_state(5)
    ones = np.ones((sim.N_rec, sim.N_rec), np.float32)
    for t in range(40):
        out, state = sim.rnn_step(state, x[:, t], ones if t % 2 else None, noise=False)
        np.testing.assert_allclose(state, states[:, t], atol=1e-6, rtol=0)
        np.testing.assert_allclose(out, outputs[:, t], atol=1e-6, rtol=0)


def test_t_connectivity_ones_equals_plain_and_zeros_remove_recurrence(dale_model, pd_batch):
    sim = BasicSimulator(dale_model)
    x = pd_batch[0][:6, :80]
    T, N = x.shape[1], sim.N_rec
    plain = sim.run_trials(x, noise=False)
    ones = sim.run_trials(x, t_connectivity=np.ones((T, N, N)), noise=False)
    for a, b in zip(plain, ones):
        np.testing.assert_allclose(a, b, atol=1e-6, rtol=0)

    outputs, states = sim.run_trials(x, t_connectivity=np.zeros((T, N, N)), noise=False)
    no_recurrence = np.zeros_like(sim.W_rec)  # the shared oracle with W_rec cut
    expected_outputs, expected_states = reference_run(sim.W_in, no_recurrence, sim.W_out, sim.b_rec, sim.b_out,
                                                      sim.init_state, x, 0.1)
    np.testing.assert_allclose(states, expected_states, atol=1e-5, rtol=0)
    np.testing.assert_allclose(outputs, expected_outputs, atol=1e-5, rtol=0)
    assert max_diff(states, plain[1]) > 1e-2

    # a time-varying multiplier acts only at its steps; a single (N, N) matrix applies to every step
    scale = np.ones((T, N, N), np.float32)
    scale[40:] = 0.0
    varied = sim.run_trials(x, t_connectivity=scale, noise=False)
    np.testing.assert_array_equal(varied[1][:, :40], ones[1][:, :40])
    assert max_diff(varied[1][:, 41:], plain[1][:, 41:]) > 1e-3
    static = sim.run_trials(x, t_connectivity=np.zeros((N, N)), noise=False)
    np.testing.assert_array_equal(static[1], states)
    with pytest.raises(ParameterError, match="t_connectivity"):
        sim.run_trials(x, t_connectivity=np.ones((T - 1, N, N)))


def test_recurrent_noise_is_psychrnn_default_seeded_and_switchable(dale_model):
    weights = dale_model.get_weights()
    sim = BasicSimulator(weights=weights, params={"dt": 10, "tau": 100, "rec_noise": 0.5}, seed=0)
    assert sim.rec_noise == 0.5
    x = np.zeros((4000, 1, 2), np.float32)
    clean = sim.run_trials(x, noise=False)[1][:, 0]
    noisy = sim.run_trials(x)[1][:, 0]  # noise on by default, as PsychRNN
    expected = np.sqrt(2 * 0.1) * 0.5
    assert abs((noisy - clean).std() / expected - 1) < 0.03
    np.testing.assert_array_equal(sim.run_trials(x[:3], rng=5)[1], sim.run_trials(x[:3], rng=5)[1])
    assert not np.array_equal(sim.run_trials(x[:3])[1], sim.run_trials(x[:3])[1])
    _, step_state = sim.rnn_step(sim.initial_state(4000), x[:, 0], rng=1)
    assert abs((step_state - clean).std() / expected - 1) < 0.03
    # a model's own rec_noise is used; noise=False equals the noiseless TF model
    noisy_model = Basic(network_params(name="noisy", rec_noise=0.3))
    assert BasicSimulator(noisy_model).rec_noise == pytest.approx(0.3)
    assert_same_run(BasicSimulator(noisy_model), noisy_model, np.ones((2, 20, 2), np.float32))


# ------------------------------------------------------------- transfer functions
def test_transfer_function_precedence():
    model = Basic(network_params(name="tanh_net", transfer_function="tanh", N_rec=20))
    x = np.random.default_rng(0).normal(size=(3, 30, 2)).astype(np.float32)
    weights = model.get_weights()
    assert weights["transfer_function"] == "tanh"
    assert BasicSimulator(model).transfer_function_name == "tanh"
    assert_same_run(BasicSimulator(model), model, x)
    assert_same_run(BasicSimulator(weights=weights), model, x)

    bare = {k: v for k, v in weights.items() if k != "transfer_function"}
    relu_sim = BasicSimulator(weights=bare)  # nothing stored: PsychRNN's default relu
    assert relu_sim.transfer_function_name == "relu"
    assert max_diff(relu_sim.run_trials(x, noise=False)[0], model.test(x, noise=False)[0]) > 1e-3
    assert_same_run(BasicSimulator(weights=bare, transfer_function="tanh"), model, x)
    assert_same_run(BasicSimulator(weights=bare, transfer_function=np.tanh), model, x)
    assert_same_run(BasicSimulator(weights=bare, params={"transfer_function": "tanh"}), model, x)

    # with a model, a transfer function that is not the model's is refused (as PsychRNN does) ...
    with pytest.raises(ParameterError, match="'relu' does not match the model's transfer function"):
        BasicSimulator(model, transfer_function="relu")
    def my_activation(v):
        return np.tanh(v)

    with pytest.raises(ParameterError, match="'my_activation' does not match"):
        BasicSimulator(model, transfer_function=my_activation)
    # ... and a NumPy version of the same function is used
    assert BasicSimulator(model, transfer_function=np.tanh).transfer_function is np.tanh
    # with stored weights an explicit choice overrides the stored name, with a warning
    with pytest.warns(UserWarning, match="overrides the transfer function 'tanh'"):
        sim = BasicSimulator(weights=weights, transfer_function="relu")
    assert sim.transfer_function_name == "relu"
    calls = []

    def custom(v):
        calls.append(v.shape)
        return np.tanh(v)

    assert_same_run(BasicSimulator(weights=weights, transfer_function=custom), model, x)
    assert calls
    with pytest.raises(ParameterError, match="unknown transfer function"):
        BasicSimulator(weights=bare, transfer_function="swish")


# ------------------------------------------------------------ constructor rules
@pytest.mark.parametrize("combo, expected", [
    (("rnn_model", "weights_path"), "weights_path takes precedence.*rnn_model would be ignored"),
    (("rnn_model", "weights"), "weights takes precedence.*rnn_model would be ignored"),
    (("weights", "weights_path"), "weights takes precedence.*weights_path would be ignored"),
    (("rnn_model", "weights", "weights_path"), "weights takes precedence.*weights_path and rnn_model"),
    (("rnn_model", "params"), "params would be ignored.*weights=rnn_model.get_weights"),
    ((), "no weights given; pass exactly one of rnn_model=.*weights_path=.*weights="),
])
def test_conflicting_sources_are_parameter_errors_that_say_which_source(dale_model, tmp_path, combo, expected):
    path = dale_model.save(tmp_path / "w")
    values = {"rnn_model": dale_model, "weights_path": path, "weights": dale_model.get_weights(),
              "params": {"dt": 10, "tau": 100}}
    kwargs = {key: values[key] for key in combo}
    with pytest.raises(ParameterError, match=expected):
        BasicSimulator(**kwargs)
    with pytest.raises(UserWarning):  # what PsychRNN users catch
        BasicSimulator(**kwargs)
    with pytest.raises(ValueError):
        LSTMSimulator(**kwargs)


@pytest.mark.parametrize("params, expected", [
    (None, "alpha is unknown.*PsychRNN weight files do not.*params=\\{'dt'"),
    ({"rec_noise": 0.1}, "alpha is unknown"),
    ({"alpha": 0.2, "dt": 10, "tau": 100}, "alpha=0.2 disagrees with dt/tau = 10/100 = 0.1"),
    ({"dt": 10}, "gives dt but not tau"),
    ({"tau": 100}, "gives tau but not dt"),
    ({"dt": -10, "tau": 100}, r"params\['dt'\] must be a finite number > 0"),
    ({"dt": 200, "tau": 100}, r"alpha.* must be a finite number in \(0, 1\]"),
    ({"alpha": 0.1, "rec_noise": -1}, r"params\['rec_noise'\] must be a finite number >= 0"),
    ({"alpha": "fast"}, r"params\['alpha'\] must be a finite number in \(0, 1\]"),
])
def test_missing_or_inconsistent_constants_are_named(params, expected):
    with pytest.raises(ParameterError, match=expected):
        BasicSimulator(weights_path=PSYCHRNN1, params=params)


def test_constants_from_params_fill_and_override_the_stored_ones(dale_model):
    weights = dale_model.get_weights()
    sim = BasicSimulator(weights=weights, params={"alpha": 0.1, "dt": 10, "tau": 100})  # consistent: fine
    assert (sim.alpha, sim.dt, sim.tau) == (0.1, 10.0, 100.0)
    with pytest.warns(UserWarning, match="overrides the alpha=0.1 stored"):
        sim = BasicSimulator(weights=weights, params={"dt": 20, "tau": 100})
    assert sim.alpha == pytest.approx(0.2)
    sim = BasicSimulator(weights=weights, params={"rec_noise": 0.25})  # alpha from the stored values
    assert sim.alpha == pytest.approx(0.1) and sim.rec_noise == 0.25
    assert sim.step_of(1000) == 100 and sim.step_of(1009.9) == 100 and sim.step_of(0) == 0
    with pytest.raises(ParameterError, match="dt is unknown"):
        BasicSimulator(weights_path=PSYCHRNN1, params={"alpha": 0.1}).step_of(500)


def test_bad_weights_and_inputs_are_named(dale_model, tmp_path):
    lstm = LSTM(network_params(name="lstm_w"))
    with pytest.raises(ParameterError, match="missing .*'W_rec'.*'LSTM' model"):
        BasicSimulator(lstm)
    broken = dict(dale_model.get_weights(), b_rec=np.zeros(3))
    with pytest.raises(ParameterError, match="b_rec.*shape"):
        BasicSimulator(weights=broken)
    with pytest.raises(ParameterError, match="weights must be a dict"):
        BasicSimulator(weights=[1, 2, 3], params={"alpha": 0.1})
    with pytest.raises(FileNotFoundError):
        BasicSimulator(weights_path=tmp_path / "missing.npz", params={"alpha": 0.1})
    sim = BasicSimulator(dale_model)
    for bad in (np.zeros((5, 2)), np.zeros((5, 10, 3)), np.zeros((0, 10, 2))):
        with pytest.raises(ParameterError, match="trial_input must have shape"):
            sim.run_trials(bad)
    with pytest.raises(ParameterError, match="rnn_in"):
        sim.rnn_step(sim.initial_state(2), np.zeros((3, 2)))


# -------------------------------------------------------------- PsychRNN fixtures
@pytest.mark.parametrize("which", ["psychrnn1", "psychrnn_master"])
def test_reproduces_psychrnn_outputs_and_states(which):
    batch = np.load(os.path.join(DATA, f"{which}_pd_basic_batch.npz"), allow_pickle=False)
    sim = BasicSimulator(weights_path=os.path.join(DATA, f"{which}_pd_basic_weights.npz"),
                         params={"dt": 10, "tau": 100, "rec_noise": 0})
    assert (sim.N_in, sim.N_rec, sim.N_out) == (2, 20, 2)
    outputs, states = sim.run_trials(batch["x"])  # rec_noise 0: noise-free even with noise on
    assert max_diff(outputs, batch["outputs"]) <= 1e-5
    assert max_diff(states, batch["states"]) <= 1e-5


# ---------------------------------------------------------------- perturbations
def test_silencing_excitatory_units_of_a_trained_dale_network_drops_accuracy_to_chance(trained_dale):
    model, task, x, y, mask = trained_dale
    sim = BasicSimulator(model)
    outputs, states = sim.run_trials(x, noise=False)
    accuracy = task.accuracy_function(y, outputs, mask)
    assert accuracy > 0.9
    assert max_diff(outputs, model.test(x, noise=False)[0]) <= TOL

    n_exc = int(0.8 * sim.N_rec)
    lesioned, lesioned_states = sim.run_trials(x, noise=False, perturbations=[Silence(range(n_exc))])
    lesioned_accuracy = task.accuracy_function(y, lesioned, mask)
    assert abs(lesioned_accuracy - 0.5) <= 0.1, lesioned_accuracy
    assert np.all(lesioned_states[:, :, :n_exc] == 0)
    np.testing.assert_allclose(lesioned, np.broadcast_to(sim.b_out, lesioned.shape), atol=1e-6)  # E-only readout
    # a boolean mask is the same lesion; silencing the inhibitory units instead is not a readout lesion
    mask_units = np.arange(sim.N_rec) < n_exc
    np.testing.assert_array_equal(sim.run_trials(x[:20], noise=False, perturbations=Silence(mask_units))[0],
                                  lesioned[:20])
    inhibitory = sim.run_trials(x[:20], noise=False, perturbations=Silence(range(n_exc, sim.N_rec)))[1]
    assert np.all(inhibitory[:, :, n_exc:] == 0) and np.any(inhibitory[:, :, :n_exc] != 0)


def test_kick_changes_only_what_follows(trained_dale):
    model, task, x, _, _ = trained_dale
    sim = BasicSimulator(model)
    x = x[:30]
    outputs, states = sim.run_trials(x, noise=False)
    k = x.shape[1] // 2
    delta = np.random.default_rng(0).normal(0, 1.0, sim.N_rec)
    kicked, kicked_states = sim.run_trials(x, noise=False, perturbations=[Kick(k, delta)])
    np.testing.assert_array_equal(kicked[:, :k], outputs[:, :k])
    np.testing.assert_array_equal(kicked_states[:, :k], states[:, :k])
    np.testing.assert_allclose(kicked_states[:, k] - states[:, k], np.broadcast_to(delta, (30, sim.N_rec)), atol=1e-5)
    assert max_diff(kicked[:, k:k + 20], outputs[:, k:k + 20]) > 1e-2
    # per-trial deltas and unit subsets
    per_trial = np.zeros((30, 2))
    per_trial[0] = 3.0
    kicked, kicked_states = sim.run_trials(x, noise=False, perturbations=Kick(k, per_trial, units=[0, 5]))
    np.testing.assert_array_equal(kicked_states[1:], states[1:])
    assert kicked_states[0, k, 0] == pytest.approx(states[0, k, 0] + 3.0, abs=1e-5)
    # with noise: same seed, same draws, so the pre-kick part is still bit-identical
    noisy_sim = BasicSimulator(weights=model.get_weights(), params={"rec_noise": 0.1})
    plain = noisy_sim.run_trials(x, rng=3)[0]
    kicked = noisy_sim.run_trials(x, rng=3, perturbations=Kick(k, delta))[0]
    np.testing.assert_array_equal(kicked[:, :k], plain[:, :k])
    assert max_diff(kicked[:, k:], plain[:, k:]) > 1e-2


def test_clamp_holds_the_state(trained_dale):
    model, task, x, _, _ = trained_dale
    sim = BasicSimulator(model)
    x = x[:20]
    _, states = sim.run_trials(x, noise=False)
    units = [1, 7, 45]
    _, clamped = sim.run_trials(x, noise=False, perturbations=Clamp(units, value=0.5, start=50))
    assert np.all(clamped[:, 50:, units] == np.float32(0.5))
    np.testing.assert_array_equal(clamped[:, :50], states[:, :50])
    others = np.setdiff1d(np.arange(sim.N_rec), units)
    assert max_diff(clamped[:, 60:, others], states[:, 60:, others]) > 1e-3  # the rest of the network feels it
    # value=None holds each trial's own state from just before the window; it is released at stop
    _, held = sim.run_trials(x, noise=False, perturbations=[Clamp(units, start=80, stop=120)])
    np.testing.assert_array_equal(held[:, 80:120, units], np.repeat(states[:, 79:80, units], 40, axis=1))
    assert np.any(held[:, 125:, units] != held[:, 119:120, units])
    per_trial = np.arange(20 * 3, dtype=np.float32).reshape(20, 3) / 10
    _, held = sim.run_trials(x, noise=False, perturbations=[Clamp(units, per_trial, start=0, stop=10)])
    np.testing.assert_array_equal(held[:, :10, units], np.repeat(per_trial[:, None], 10, axis=1))


def test_silence_in_a_window_acts_from_its_start_only(trained_dale):
    model, task, x, y, mask = trained_dale
    sim = BasicSimulator(model)
    x = x[:40]
    outputs, states = sim.run_trials(x, noise=False)
    start, stop = 60, 120
    units = range(0, 40, 2)
    perturbed, perturbed_states = sim.run_trials(x, noise=False, perturbations=Silence(units, start=start, stop=stop))
    np.testing.assert_array_equal(perturbed[:, :start], outputs[:, :start])
    assert np.all(perturbed_states[:, start:stop, list(units)] == 0)
    assert max_diff(perturbed[:, start:stop], outputs[:, start:stop]) > 1e-3
    assert np.any(perturbed_states[:, stop + 5:, list(units)] != 0)  # they recover after the window
    # silence wins over a clamp of the same unit; a window from ms via step_of
    step = sim.step_of(600.0)
    _, both = sim.run_trials(x, noise=False, perturbations=[Clamp([0], 2.0, start=step), Silence([0], start=step)])
    assert np.all(both[:, step:, 0] == 0)


@pytest.mark.parametrize("transfer_function", ["softplus", "sigmoid", "relu"])
def test_silenced_units_send_nothing_whatever_the_transfer_function(transfer_function, pd_batch):
    """Silencing = removing the units' outgoing weights (their rate counts as 0, even where f(0) != 0)."""
    model = Basic(network_params(name="f_" + transfer_function, N_rec=20, transfer_function=transfer_function))
    weights = model.get_weights()
    x = pd_batch[0][:5, :60]
    units = [0, 3, 11]
    others = np.setdiff1d(np.arange(20), units)
    cut = dict(weights, W_rec=weights["W_rec"].copy(), W_out=weights["W_out"].copy())
    cut["W_rec"][:, units] = 0
    cut["W_out"][:, units] = 0
    expected_outputs, expected_states = BasicSimulator(weights=cut).run_trials(x, noise=False)
    outputs, states = BasicSimulator(weights=weights).run_trials(x, noise=False, perturbations=Silence(units))
    np.testing.assert_allclose(outputs, expected_outputs, atol=1e-6, rtol=0)
    np.testing.assert_allclose(states[:, :, others], expected_states[:, :, others], atol=1e-6, rtol=0)
    assert np.all(states[:, :, units] == 0)


def test_input_perturbations(dale_model, pd_batch):
    sim = BasicSimulator(dale_model)
    x = pd_batch[0][:8, :100]
    zeroed = x.copy()
    zeroed[:, 30:60] = 0
    np.testing.assert_array_equal(
        sim.run_trials(x, noise=False, perturbations=InputPerturbation(0.0, mode="replace", start=30, stop=60))[1],
        sim.run_trials(zeroed, noise=False)[1])
    shifted = x.copy()
    shifted[:, :, 1] += 0.5
    np.testing.assert_array_equal(
        sim.run_trials(x, noise=False, perturbations=InputPerturbation(0.5, channels=[1]))[1],
        sim.run_trials(shifted, noise=False)[1])
    doubled = x.copy()
    doubled[:, 10:] *= 2
    np.testing.assert_array_equal(
        sim.run_trials(x, noise=False, perturbations=InputPerturbation(lambda s: 2 * s, "replace", start=10))[1],
        sim.run_trials(doubled, noise=False)[1])
    np.testing.assert_array_equal(x, pd_batch[0][:8, :100])  # the caller's inputs are not modified


@pytest.mark.parametrize("perturbation, expected", [
    (Silence([3, 30]), r"unit \[30\] out of range; valid units are 0..29"),
    (Silence([1], start=90, stop=120), "does not fit a trial of 100 steps"),
    (Silence(np.ones(5, bool)), "boolean unit mask must have shape \\(30,\\)"),
    (Silence([1.5]), "must be integers"),
    (Kick(100, np.zeros(30)), "step 100 is outside a trial of 100 steps"),
    (Kick(10, np.zeros(29)), "delta has shape \\(29,\\), which does not broadcast to \\(4, 30\\)"),
    (Clamp([1, 2], value=np.zeros(3)), "value has shape \\(3,\\)"),
    (InputPerturbation(np.zeros(5), channels=[0]), "value has shape \\(5,\\)"),
    (InputPerturbation(1.0, channels=[2]), r"channel \[2\] out of range"),
    ("silence", "must be Silence, Clamp, Kick or InputPerturbation objects"),
])
def test_bad_perturbations_are_named(dale_model, perturbation, expected):
    sim = BasicSimulator(dale_model)
    with pytest.raises(ParameterError, match=expected):
        sim.run_trials(np.zeros((4, 100, 2), np.float32), perturbations=[perturbation])


def test_bad_perturbation_arguments_fail_at_construction():
    with pytest.raises(ParameterError, match="start must be >= 0"):
        Silence([1], start=-1)
    with pytest.raises(ParameterError, match="stop=5 must be > start=5"):
        Clamp([1], 0.0, start=5, stop=5)
    with pytest.raises(ParameterError, match="integer step.*step_of"):
        Kick(12.5, np.zeros(3))
    with pytest.raises(ParameterError, match="mode must be 'add' or 'replace'"):
        InputPerturbation(1.0, mode="multiply")


# ------------------------------------------------------------------ no TensorFlow
def test_simulation_never_imports_tensorflow(tmp_path):
    result = run_python(f"""
        import sys
        import numpy as np
        from psychrnn_widgets import BasicSimulator, LSTMSimulator, GRUSimulator
        from psychrnn_widgets.simulation import Silence, Kick, Clamp, InputPerturbation
        sim = BasicSimulator(weights_path={PSYCHRNN1!r}, params={{"dt": 10, "tau": 100}})
        out, states = sim.run_trials(np.ones((2, 30, 2)), perturbations=[Silence([1]), Kick(5, np.ones(20))])
        assert out.shape == (2, 30, 2)
        assert "tensorflow" not in sys.modules, "tensorflow was imported"
        print("ok")
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_a_checkpoint_is_called_every_few_steps_and_can_abandon_a_run(dale_model, pd_batch):
    sim = BasicSimulator(rnn_model=dale_model)
    x = pd_batch[0]
    calls = []
    plain = sim.run_trials(x, noise=False)
    checked = sim.run_trials(x, noise=False, checkpoint=lambda: calls.append(1))
    assert len(calls) == -(-x.shape[1] // sim.CHECKPOINT_EVERY)
    np.testing.assert_array_equal(plain[0], checked[0])

    class Enough(Exception):
        pass

    def stop_at_the_second():
        calls.append(2)
        if calls.count(2) == 2:
            raise Enough

    with pytest.raises(Enough):
        sim.run_trials(x, noise=False, checkpoint=stop_at_the_second)
