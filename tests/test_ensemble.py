"""Ensembles: K networks in one compiled step equal the same networks trained alone (issue #14), from the one
stack that trains one network too (issue #20)."""
import numpy as np
import pytest

from psychrnn_widgets import (Basic, BasicSimulator, Ensemble, EnsembleTrainer, ParameterError,
                              PerceptualDiscrimination, TrainingControl)
from psychrnn_widgets.models.losses import BUILTIN_LOSSES

N_REC, N_BATCH, STEPS = 16, 16, 20
RAW_KEYS = ("W_in", "W_rec", "W_out", "b_rec", "b_out", "init_state")


def small_task(seed=0, **kwargs):
    return PerceptualDiscrimination(dt=10, tau=100, T=500, N_batch=N_BATCH, seed=seed, **kwargs)


def fixed_batches(seed, steps=STEPS):
    """The same batches, as a list, for the ensemble and for the network trained alone."""
    task = small_task(seed=seed)
    return [task.generate_batch()[:3] for _ in range(steps)]


def base_params(**overrides):
    params = dict(small_task().get_task_params(), name="member", N_rec=N_REC)
    params.update(overrides)
    return params


def eight_networks():
    """8 networks: different seeds and learning rates, one with Dale's law and a mask, one with L2_rec."""
    rng = np.random.default_rng(3)
    mask = (rng.random((N_REC, N_REC)) < 0.6).astype(float)
    params = [base_params(seed=1000 + k) for k in range(8)]
    params[3].update(dale_ratio=0.8, rec_connectivity=mask)
    params[6].update(L2_rec=0.01)
    learning_rates = [0.001 * (1 + k) for k in range(8)]
    return params, learning_rates


def train_alone(params, batches, learning_rate, **train_params):
    model = Basic(params)
    losses, _, _ = model.train(iter(batches), dict(training_iters=N_BATCH * len(batches), learning_rate=learning_rate,
                                                   verbosity=False, loss_epoch=1, **train_params))
    return model, np.array(losses)


def max_difference(a, b, keys=RAW_KEYS):
    return max(float(np.max(np.abs(np.asarray(a[k]) - np.asarray(b[k])))) for k in keys)


def test_every_network_of_an_ensemble_equals_itself_trained_alone(time_loop):
    """Must-show 1: 8 networks (different seeds, one with Dale's law and a mask), 20 steps, 1e-5."""
    params, learning_rates = eight_networks()
    batches = [fixed_batches(seed=k) for k in range(8)]
    ensemble = Ensemble(params)
    losses, _, _ = ensemble.train([iter(b) for b in batches], dict(training_iters=N_BATCH * STEPS, verbosity=False,
                                                                    learning_rate=learning_rates, loss_epoch=1))
    assert losses.shape == (STEPS, 8)
    x = small_task(seed=99).generate_batch()[0]
    worst = 0.0
    for k in range(8):
        alone, alone_losses = train_alone(params[k], batches[k], learning_rates[k])
        member = ensemble.model(k)
        worst = max(worst, max_difference(alone.get_variable_values(), member.get_variable_values()),
                    max_difference(alone.get_weights(), ensemble.get_weights(k)))
        np.testing.assert_allclose(losses[:, k], alone_losses, rtol=0, atol=1e-5)
        np.testing.assert_allclose(member.test(x, noise=False)[0], alone.test(x, noise=False)[0], rtol=0, atol=1e-5)
    assert worst <= 1e-5, worst
    print(f"8 networks, 20 steps: largest difference ensemble vs alone {worst:.1e}")
    weights = ensemble.get_weights(3)  # Dale's law and the mask hold in the ensemble's network 3
    assert (weights["W_rec"][:, :12] >= 0).all() and (weights["W_rec"][:, 12:] <= 0).all()
    assert (weights["W_rec"][params[3]["rec_connectivity"] == 0] == 0).all()


def test_noisy_networks_draw_their_own_reproducible_noise(time_loop):
    params = [base_params(seed=7 + k, rec_noise=0.1) for k in range(3)]
    params[1]["rec_noise"] = 0.0
    batches = [fixed_batches(seed=k, steps=8) for k in range(3)]
    ensemble = Ensemble(params)
    ensemble.train([iter(b) for b in batches], dict(training_iters=N_BATCH * 8, verbosity=False))
    for k in range(3):
        alone, _ = train_alone(params[k], batches[k], 0.001)
        assert max_difference(alone.get_variable_values(), ensemble.model(k).get_variable_values()) <= 1e-5
        assert ensemble.model(k).noise_counter == alone.noise_counter == 8


def test_a_network_does_not_depend_on_its_ensemble():
    """Network 0 trained with two different companions ends at the same weights."""
    params = [base_params(seed=s) for s in (11, 12, 13)]
    batches = [fixed_batches(seed=k, steps=6) for k in range(3)]
    results = []
    for companions in ([1], [1, 2]):
        ensemble = Ensemble([params[0]] + [params[c] for c in companions])
        ensemble.train([iter(batches[0])] + [iter(batches[c]) for c in companions],
                       dict(training_iters=N_BATCH * 6, verbosity=False))
        results.append(ensemble.get_variable_values(0))
    assert max_difference(*results) <= 1e-6


def test_a_diverging_network_is_rolled_back_and_reported_and_the_others_go_on():
    params = [base_params(seed=s) for s in (21, 22, 23)]
    batches = [fixed_batches(seed=k, steps=6) for k in range(3)]
    ensemble = Ensemble(params)
    poisoned = ensemble.get_variable_values()
    poisoned["W_rec"][1] = 1e30  # network 1's state overflows on the first step
    ensemble.W_rec.assign(poisoned["W_rec"])
    events = []
    losses, _, _ = ensemble.train([iter(b) for b in batches], dict(training_iters=N_BATCH * 6, verbosity=False,
                                                                    loss_epoch=1, callbacks=events.append))
    trainer = EnsembleTrainer.of(ensemble)
    assert list(trainer.diverged) == [1] and "network 1" in trainer.diverged[1]
    assert trainer.active.tolist() == [True, False, True]
    assert np.isnan(losses[:, 1]).all() and np.isfinite(losses[:, [0, 2]]).all()
    assert np.array_equal(ensemble.get_variable_values(1)["W_rec"], poisoned["W_rec"][1])  # never updated
    assert events[-1].kind == "done" and events[-1].extra["diverged"].keys() == {1}
    for k in (0, 2):
        alone, _ = train_alone(params[k], batches[k], 0.001)
        assert max_difference(alone.get_variable_values(), ensemble.get_variable_values(k)) <= 1e-5


def test_frozen_weights_and_train_flags_per_network():
    params = [base_params(seed=31), base_params(seed=32, W_in_train=False)]
    frozen = np.zeros((N_REC, N_REC))
    frozen[:4] = 1
    batches = [fixed_batches(seed=k, steps=5) for k in range(2)]
    ensemble = Ensemble(params)
    before = ensemble.get_variable_values()
    ensemble.train([iter(b) for b in batches], dict(training_iters=N_BATCH * 5, verbosity=False,
                                                    fixed_weights=[{"W_rec": frozen}, None]))
    after = ensemble.get_variable_values()
    assert np.array_equal(after["W_rec"][0][:4], before["W_rec"][0][:4])
    assert not np.array_equal(after["W_rec"][0][4:], before["W_rec"][0][4:])
    assert np.array_equal(after["W_in"][1], before["W_in"][1])
    assert not np.array_equal(after["W_in"][0], before["W_in"][0])
    alone, _ = train_alone(params[0], batches[0], 0.001, fixed_weights={"W_rec": frozen})
    assert max_difference(alone.get_variable_values(), ensemble.get_variable_values(0)) <= 1e-5


def test_a_member_is_an_ordinary_model_the_simulator_reproduces():
    ensemble = Ensemble(base_params(dale_ratio=0.8), n=3, seed=5)
    assert len(set(ensemble.seeds)) == 3
    x = small_task(seed=4).generate_batch()[0]
    outputs, states = ensemble.test(x)
    assert outputs.shape == (3, N_BATCH, 50, 2) and states.shape == (3, N_BATCH, 50, N_REC)
    for k in range(3):
        model = ensemble.model(k)
        sim_outputs, _ = BasicSimulator(rnn_model=model).run_trials(x)
        np.testing.assert_allclose(sim_outputs, outputs[k], rtol=0, atol=1e-5)
        assert isinstance(model, Basic) and model.seed == ensemble.seeds[k]


def test_shape_mismatch_and_unsupported_settings_are_clear_errors():
    with pytest.raises(ParameterError, match="N_rec"):
        Ensemble([base_params(seed=1), base_params(seed=2, N_rec=N_REC + 1)])
    with pytest.raises(ParameterError, match="transfer_function"):
        Ensemble([base_params(seed=1), base_params(seed=2, transfer_function="tanh")])
    with pytest.raises(ParameterError, match="custom_regularization"):
        Ensemble([base_params(seed=1, custom_regularization=lambda model, params: 0.0)])
    with pytest.raises(ParameterError, match="network 1 of the ensemble"):
        Ensemble([base_params(seed=1), base_params(seed=2, dale_ratio=2.0)])
    ensemble = Ensemble(base_params(), n=2, seed=0)
    with pytest.raises(ParameterError, match="curriculum"):
        ensemble.train(small_task(), dict(curriculum=object()))
    with pytest.raises(ParameterError, match="learning_rate.*K=2"):
        ensemble.train(small_task(), dict(learning_rate=[0.1, 0.2, 0.3]))
    with pytest.raises(ParameterError, match="learning_rate"):
        ensemble.train(small_task(), dict(learning_rate=[0.1, -1.0]))


def test_one_task_for_all_networks_stop_control_and_continuing():
    ensemble = Ensemble(base_params(), n=2, seed=0)
    control = TrainingControl()
    kinds = []

    def on_event(event):
        kinds.append(event.kind)
        if event.kind == "step" and event.epoch == 3:
            control.request_stop()

    ensemble.train(small_task(), dict(training_iters=N_BATCH * 10, verbosity=False, control=control,
                                      callbacks=on_event))
    assert kinds[0] == "start" and kinds[-1] == "stopped" and kinds.count("step") == 3
    ensemble.train(small_task(seed=1), dict(training_iters=N_BATCH * 2, verbosity=False))
    assert EnsembleTrainer.of(ensemble).epoch == 5


# ------------------------------------------------------------------ one stack for 1...K networks (issue 20)
def test_one_network_and_an_ensemble_train_through_the_same_trainer_and_step():
    """DESIGN §8: the Ensemble is the K > 1 face of the models/training stack, not a second stack."""
    import psychrnn_widgets
    import psychrnn_widgets.sweeps
    from psychrnn_widgets.models.ensemble import Ensemble as ModelsEnsemble
    from psychrnn_widgets.training.step import TrainingStep
    from psychrnn_widgets.training.trainer import Trainer

    assert psychrnn_widgets.Ensemble is psychrnn_widgets.sweeps.Ensemble is ModelsEnsemble
    assert psychrnn_widgets.EnsembleTrainer is psychrnn_widgets.sweeps.EnsembleTrainer is Trainer
    ensemble, model = Ensemble(base_params(), n=2, seed=0), Basic(base_params(seed=3))
    assert ensemble.n_networks == 2 and model.n_networks is None
    assert EnsembleTrainer.of(ensemble) is Trainer.of(ensemble) and type(Trainer.of(model)) is Trainer
    assert type(Trainer.of(ensemble).training_step()) is type(Trainer.of(model).training_step()) is TrainingStep


def test_the_time_loop_layout_is_chosen_in_one_place():
    """leaky.leaky_pass chooses between the hoisted and the fused layout for every model; nobody else does."""
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parents[1] / "psychrnn_widgets"
    choosers = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
            if name in ("FUSED_LOOP_MIN_N_REC", "hoisted_recurrence", "fused_recurrence"):
                choosers.add(str(path.relative_to(package)))
    assert choosers == {"models/leaky.py"}, choosers


def scaled_mse(predictions, y, output_mask):
    import tensorflow as tf

    return 2.0 * tf.reduce_mean(tf.square(output_mask * (predictions - y)))


@pytest.mark.parametrize("loss", ["custom"] + sorted(BUILTIN_LOSSES))
def test_a_loss_named_in_network_params_trains_the_same_in_an_ensemble(loss):
    """Every built-in loss by name (a loss added to models/losses.py included) and a custom one by name."""
    extra = dict(loss_function="scaled", scaled=scaled_mse) if loss == "custom" else dict(loss_function=loss)
    params = [base_params(seed=41 + k, **extra) for k in range(2)]
    batches = [fixed_batches(seed=k, steps=4) for k in range(2)]
    ensemble = Ensemble(params)
    losses, _, _ = ensemble.train([iter(b) for b in batches], dict(training_iters=N_BATCH * 4, verbosity=False,
                                                                    loss_epoch=1))
    for k in range(2):
        alone, alone_losses = train_alone(params[k], batches[k], 0.001)
        np.testing.assert_allclose(losses[:, k], alone_losses, rtol=0, atol=1e-5)
        assert max_difference(alone.get_variable_values(), ensemble.get_variable_values(k)) <= 1e-5
