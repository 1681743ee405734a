"""Basic model: exact maths, noise, constraints, initialisers and PsychRNN's parameter semantics."""
import numpy as np
import pytest

from helpers import network_params, reference_run
from psychrnn_widgets import AlphaIdentity, Basic, GaussianSpectralRadius, ParameterError, WeightInitializer
from psychrnn_widgets.models import constraints


def relu(v):
    return np.maximum(v, 0)


def numpy_effective(model):
    """Effective weights recomputed independently from the raw variables."""
    W_in, W_rec, W_out = model.W_in.numpy(), model.W_rec.numpy(), model.W_out.numpy()
    C_in, C_rec, C_out = (m.numpy() for m in (model.input_connectivity, model.rec_connectivity,
                                              model.output_connectivity))
    if model.dale_ratio is None:
        return W_in * C_in, W_rec * C_rec, W_out * C_out
    n_e = int(model.dale_ratio * model.N_rec)
    sign = np.where(np.arange(model.N_rec) < n_e, 1.0, -1.0)
    gate = np.where(np.arange(model.N_rec) < n_e, 1.0, 0.0)
    return np.abs(W_in * C_in), np.abs(W_rec * C_rec) @ np.diag(sign), np.abs(W_out * C_out) @ np.diag(gate)


@pytest.mark.parametrize("dale_ratio", [None, 0.8])
def test_basic_steps_equal_the_design_formula(rng, dale_ratio, time_loop):
    mask = (rng.random((50, 50)) < 0.7).astype(float)
    model = Basic(network_params(dale_ratio=dale_ratio, rec_connectivity=mask,
                                 b_rec=rng.normal(0, 0.1, 50), b_out=rng.normal(0, 0.1, 2)))
    x = rng.normal(0.5, 1.0, (4, 12, 2)).astype(np.float32)
    outputs, states = model.test(x)

    W_in, W_rec, W_out = numpy_effective(model)
    expected_outputs, expected_states = reference_run(W_in, W_rec, W_out, model.b_rec.numpy(), model.b_out.numpy(),
                                                      model.init_state.numpy(), x, 10.0 / 100.0)
    np.testing.assert_allclose(states, expected_states, atol=1e-6, rtol=0)
    np.testing.assert_allclose(outputs, expected_outputs, atol=1e-6, rtol=0)
    weights = model.get_weights()
    np.testing.assert_allclose(weights["W_rec"], W_rec, atol=1e-7)
    np.testing.assert_allclose(weights["W_out"], W_out, atol=1e-7)


def test_recurrent_noise_has_the_documented_std(time_loop):
    rec_noise = 0.5
    model = Basic(network_params(rec_noise=rec_noise))
    x = np.zeros((2000, 1, 2), np.float32)
    _, noisy = model.test(x)
    _, clean = model.test(x, noise=False)
    noise = (noisy - clean)[:, 0]
    expected = np.sqrt(2 * model.alpha) * rec_noise
    assert abs(noise.std() / expected - 1) < 0.03
    assert abs(noise.mean()) < 0.01
    # noise=False is deterministic; the default test() adds noise like PsychRNN
    np.testing.assert_array_equal(model.test(x[:5], noise=False)[1], clean[:5])
    assert not np.allclose(model.test(x[:5])[1], clean[:5])


def test_generic_scan_path_equals_the_hoisted_basic_forward_pass(rng):
    from psychrnn_widgets.models.rnn import RNN

    model = Basic(network_params(dale_ratio=0.8))
    x = rng.normal(size=(3, 25, 2)).astype(np.float32)
    fast_out, fast_states = model.forward_pass(x, noise=False)
    slow_out, slow_states = RNN.forward_pass(model, x, noise=False)
    np.testing.assert_allclose(fast_states.numpy(), slow_states.numpy(), atol=1e-5)
    np.testing.assert_allclose(fast_out.numpy(), slow_out.numpy(), atol=1e-5)


@pytest.mark.parametrize("transfer", ["relu", "tanh", "softplus"])
def test_hand_written_backward_pass_equals_automatic_differentiation(rng, transfer, time_loop):
    """Basic's custom BPTT gives the gradients TensorFlow derives through the generic tf.scan."""
    import tensorflow as tf

    from psychrnn_widgets.models.rnn import RNN

    mask = (rng.random((50, 50)) < 0.7).astype(float)
    model = Basic(network_params(dale_ratio=0.8, rec_connectivity=mask, transfer_function=transfer,
                                 L2_firing_rate=0.1, L2_in=0.01, b_rec=rng.normal(0, 0.1, 50)))
    x = rng.normal(0.5, 1.0, (6, 30, 2)).astype(np.float32)
    y = rng.normal(size=(6, 30, 2)).astype(np.float32)
    output_mask = (rng.random((6, 30, 2)) < 0.8).astype(np.float32)

    def gradients():
        with tf.GradientTape() as tape:
            total, _, _ = model.compute_loss(x, y, output_mask, noise=False)
        return [g.numpy() for g in tape.gradient(total, model.trainable_variables)]

    hand_written = gradients()
    model.forward_pass = lambda inputs, noise=True: RNN.forward_pass(model, inputs, noise=noise)
    automatic = gradients()
    assert len(hand_written) == len(automatic) == len(model.trainable_variables)
    for variable, fast, slow in zip(model.trainable_variables, hand_written, automatic):
        scale = np.abs(slow).max()
        assert scale > 0, variable.name
        np.testing.assert_allclose(fast, slow, atol=1e-5 * scale + 1e-7, err_msg=variable.name)


def test_gaussian_spectral_radius_is_exact_on_the_effective_matrix(rng):
    mask = (rng.random((50, 50)) < 0.5).astype(float)
    for spec_rad in (1.1, 0.8):
        model = Basic(network_params(dale_ratio=0.8, rec_connectivity=mask, spec_rad=spec_rad, autapses=False))
        radius = constraints.spectral_radius(model.get_weights()["W_rec"])
        assert radius == pytest.approx(spec_rad, abs=1e-3)


def test_dale_ratio_one_trains_and_out_of_range_is_a_clear_error():
    model = Basic(network_params(dale_ratio=1.0))
    W = model.get_weights()["W_rec"]
    assert (W >= 0).all() and constraints.spectral_radius(W) == pytest.approx(1.1, abs=1e-3)

    def batches():
        rng = np.random.default_rng(0)
        while True:
            x = rng.random((50, 200, 2)).astype(np.float32)
            yield x, np.ones((50, 200, 2), np.float32), np.ones((50, 200, 2), np.float32)

    losses, _, _ = model.train(batches(), dict(training_iters=500, loss_epoch=1, verbosity=False, learning_rate=0.01))
    assert len(losses) == 10 and np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    for bad in (1.5, -0.1, "half"):
        with pytest.raises(ParameterError, match="dale_ratio"):
            Basic(network_params(dale_ratio=bad))


def test_initializers_are_seeded_and_follow_psychrnn_names(rng):
    params = network_params()
    a, b = GaussianSpectralRadius(**params), GaussianSpectralRadius(**params)
    np.testing.assert_array_equal(a.get("W_rec"), b.get("W_rec"))
    c = GaussianSpectralRadius(**network_params(seed=1))
    assert not np.array_equal(a.get("W_rec"), c.get("W_rec"))
    for which in ("const_unif", "const_gauss", "glorot_unif", "glorot_gauss"):
        init = GaussianSpectralRadius(**network_params(which_rand_init=which, init_minval=0.0, init_maxval=0.5))
        assert init.get("W_in").shape == (50, 2)
        if which == "const_unif":
            assert init.get("W_in").min() >= 0 and init.get("W_in").max() < 0.5
    with pytest.raises(ParameterError, match="which_rand|initialisation"):
        GaussianSpectralRadius(**network_params(which_rand_init="uniformish"))
    with pytest.warns(UserWarning, match="eigenvalues"):
        WeightInitializer(**params)


def test_alpha_identity_ignores_the_task_alpha():
    params = network_params(alpha=0.1)  # what get_task_params() contributes
    with pytest.warns(UserWarning, match="dt/tau"):
        init = AlphaIdentity(**params)
    np.testing.assert_array_equal(init.get("W_rec"), np.eye(50))
    np.testing.assert_array_equal(AlphaIdentity(identity_alpha=0.5, **params).get("W_rec"), 0.5 * np.eye(50))
    model = Basic(network_params(initializer=AlphaIdentity(identity_alpha=0.9, **network_params())))
    np.testing.assert_allclose(model.get_weights()["W_rec"], 0.9 * np.eye(50), atol=1e-7)


def test_default_dale_out_silences_inhibitory_readout():
    model = Basic(network_params(dale_ratio=0.8))
    weights = model.get_weights()
    assert np.all(weights["W_out"][:, 40:] == 0) and np.all(weights["W_out"][:, :40] >= 0)
    assert np.all(weights["W_in"] >= 0)
    np.testing.assert_array_equal(np.diag(weights["Dale_out"]), [1.0] * 40 + [0.0] * 10)
    np.testing.assert_array_equal(np.diag(weights["Dale_rec"]), [1.0] * 40 + [-1.0] * 10)


@pytest.mark.parametrize("key", ["name", "N_in", "N_rec", "N_out", "N_steps", "dt", "tau", "N_batch"])
def test_missing_required_key_is_a_key_error_naming_it(key):
    params = network_params()
    del params[key]
    with pytest.raises(KeyError, match=key):
        Basic(params)


def test_unknown_loss_name_and_bad_values_are_named():
    with pytest.raises(ParameterError, match="my_loss"):
        Basic(network_params(loss_function="my_loss"))
    with pytest.raises(ParameterError, match="N_rec"):
        Basic(network_params(N_rec=0))
    with pytest.raises(ParameterError, match="rec_connectivity"):
        Basic(network_params(rec_connectivity=np.ones((3, 3))))
    with pytest.raises(ParameterError, match="transfer_function"):
        Basic(network_params(transfer_function="swish-ish"))
    with pytest.warns(UserWarning, match="did you mean 'dale_ratio'"):
        Basic(network_params(dale_raito=0.8))


def test_two_models_with_the_same_name_coexist(rng):
    first = Basic(network_params(name="twin", seed=1))
    second = Basic(network_params(name="twin", seed=2))
    x = rng.random((3, 20, 2)).astype(np.float32)
    out1, out2 = first.test(x, noise=False)[0], second.test(x, noise=False)[0]
    assert not np.allclose(out1, out2)
    second.W_out.assign(second.W_out * 0)
    np.testing.assert_array_equal(first.test(x, noise=False)[0], out1)
    first.destruct()  # harmless, PsychRNN compatibility
    np.testing.assert_array_equal(first.test(x, noise=False)[0], out1)


@pytest.mark.parametrize("batch", [1, 7, 128])
def test_test_accepts_any_batch_size_and_trial_length(batch, rng):
    model = Basic(network_params())
    outputs, states = model.test(rng.random((batch, 33, 2)))
    assert outputs.shape == (batch, 33, 2) and states.shape == (batch, 33, 50)
    assert outputs.dtype == np.float32 and np.isfinite(outputs).all()
    with pytest.raises(ParameterError, match="N_in=2"):
        model.test(rng.random((batch, 33, 3)))


def test_transfer_functions_by_name(rng):
    x = rng.random((2, 5, 2)).astype(np.float32)
    for name in ("tanh", "sigmoid", "softplus", "linear"):
        model = Basic(network_params(transfer_function=name))
        assert model.get_weights()["transfer_function"] == name
        assert np.isfinite(model.test(x)[0]).all()


def test_both_time_loop_layouts_give_the_same_noisy_gradients(rng, monkeypatch):
    """With recurrent noise on, the fused and the hoisted loops agree (same noise draw)."""
    import tensorflow as tf

    from psychrnn_widgets.models import leaky

    model = Basic(network_params(rec_noise=0.2, dale_ratio=0.8))
    x = rng.normal(0.5, 1.0, (5, 40, 2)).astype(np.float32)
    y = rng.normal(size=(5, 40, 2)).astype(np.float32)
    output_mask = np.ones_like(y)

    def gradients():
        with tf.GradientTape() as tape:
            total, _, _ = model.compute_loss(x, y, output_mask, noise=True)
        return [total] + tape.gradient(total, model.trainable_variables)

    results = []
    for threshold in (10 ** 9, 0):
        monkeypatch.setattr(leaky, "FUSED_LOOP_MIN_N_REC", threshold)
        results.append([np.asarray(v) for v in gradients()])
        # in a graph, an unused states output gets a ZerosLike gradient, which the fused loop skips
        results.append([np.asarray(v) for v in tf.function(gradients, autograph=False)()])
    reference = results[0]
    for other in results[1:]:
        assert float(other[0]) == pytest.approx(float(reference[0]), rel=1e-5)
        for a, b in zip(reference[1:], other[1:]):
            np.testing.assert_allclose(b, a, atol=1e-5 * np.abs(a).max() + 1e-7)
