"""Fixed and slow points: analytic networks, a trained network, and the finder's plumbing."""
import numpy as np
import pytest
from scipy.optimize import brentq

from helpers import trained_pd_network
from psychrnn_widgets import Basic, ParameterError
from psychrnn_widgets.analysis import (as_tf_model, condition_batch, find_fixed_points, jacobians, pca,
                                       sample_states, simulate, speed, state_jacobian)

ALPHA = 0.1  # dt 10 / tau 100


def small_network(W_rec, b_rec, transfer_function, W_in=None, name="small"):
    N = W_rec.shape[0]
    W_in = np.zeros((N, 1)) if W_in is None else W_in
    return Basic(dict(name=name, N_in=W_in.shape[1], N_rec=N, N_out=1, N_steps=10, dt=10, tau=100, N_batch=1,
                      W_rec=W_rec, W_in=W_in, W_out=np.ones((1, N)), b_rec=b_rec, b_out=np.zeros(1),
                      init_state=np.zeros((1, N)), transfer_function=transfer_function))


def test_linear_network_fixed_point_and_spectrum():
    rng = np.random.default_rng(0)
    N = 6
    W = rng.normal(0, 0.6 / np.sqrt(N), (N, N))
    b, W_in, u = rng.normal(0, 1, N), rng.normal(0, 1, (N, 2)), np.array([0.5, -1.0])
    model = small_network(W, b, "linear", W_in=W_in)
    found = find_fixed_points(model, rng.normal(0, 2, (16, N)), u, max_iterations=1500)
    # x* = (1 - alpha) x* + alpha (W x* + W_in u + b)  <=>  (I - W) x* = W_in u + b
    expected = np.linalg.solve(np.eye(N) - W, W_in @ u + b)
    assert len(found) == 1
    assert np.max(np.abs(found.points[0] - expected)) < 1e-4
    J = (1 - ALPHA) * np.eye(N) + ALPHA * W
    np.testing.assert_allclose(found.jacobians[0], J, atol=1e-6)
    np.testing.assert_allclose(np.sort(np.abs(found.eigenvalues[0])), np.sort(np.abs(np.linalg.eigvals(J))),
                               atol=1e-6)
    assert found.stable.tolist() == [bool(np.all(np.abs(np.linalg.eigvals(J)) < 1))] == [True]


def test_unstable_linear_network_is_labelled_unstable():
    W = np.diag([1.5, 0.5])  # the first mode grows: eigenvalue 1 - alpha + 1.5 alpha = 1.05
    model = small_network(W, np.array([0.3, 0.2]), "linear")
    found = find_fixed_points(model, np.random.default_rng(1).normal(0, 1, (8, 2)), max_iterations=1500)
    np.testing.assert_allclose(found.points[0], [0.3 / (1 - 1.5), 0.2 / 0.5], atol=1e-4)
    assert found.stable.tolist() == [False] and found.n_unstable_modes().tolist() == [1]
    index, direction = found.unstable_directions()
    assert index.tolist() == [0] and abs(abs(direction[0, 0]) - 1) < 1e-6


def test_one_unit_tanh_network_has_three_fixed_points():
    # x = w tanh(x): 0 (unstable for w > 1) and +-x* with x* = w tanh(x*) (stable)
    w = 2.0
    model = small_network(np.array([[w]]), np.zeros(1), "tanh")
    found = find_fixed_points(model, np.linspace(-3, 3, 25)[:, None])
    x_star = brentq(lambda x: w * np.tanh(x) - x, 0.5, 5)
    order = np.argsort(found.points[:, 0])
    np.testing.assert_allclose(found.points[order, 0], [-x_star, 0.0, x_star], atol=1e-4)
    assert found.stable[order].tolist() == [True, False, True]
    slope = 1 - ALPHA + ALPHA * w * (1 - np.tanh(found.points[order, 0]) ** 2)
    np.testing.assert_allclose(found.eigenvalues[order, 0].real, slope, atol=1e-5)


def test_two_unit_tanh_network_finds_all_nine_points_with_their_saddles():
    gains = (2.0, 3.0)  # two uncoupled bistable units: 3 x 3 fixed points
    model = small_network(np.diag(gains), np.zeros(2), "tanh")
    grid = np.stack(np.meshgrid(np.linspace(-4, 4, 7), np.linspace(-4, 4, 7)), -1).reshape(-1, 2)
    found = find_fixed_points(model, grid)
    roots = [np.array([-r, 0.0, r]) for r in (brentq(lambda x, g=g: g * np.tanh(x) - x, 0.5, 5) for g in gains)]
    expected = np.array([(a, b) for a in roots[0] for b in roots[1]])
    assert len(found) == 9
    for point, unstable in zip(expected, (np.abs(expected) < 1e-9).sum(axis=1)):
        distance = np.linalg.norm(found.points - point, axis=1)
        k = int(np.argmin(distance))
        assert distance[k] < 1e-4
        assert found.n_unstable_modes()[k] == unstable  # a unit at 0 is an unstable mode
        assert found.stable[k] == (unstable == 0)


@pytest.fixture(scope="module")
def trained():
    return trained_pd_network()


def test_trained_network_points_are_slow_and_their_jacobians_match_finite_differences(trained):
    model, task = trained
    batch = condition_batch(task, n_per_level=1, fixed_timing=True, noise=False)
    _, states, _ = simulate(model, batch.x)
    calls = []
    found = find_fixed_points(model, sample_states(states, 64, noise_scale=0.3, seed=0), q_tolerance=1e-8,
                              max_iterations=1500, progress=lambda f, m: calls.append((f, m)))
    assert len(found) >= 1 and found.stable.any()
    assert np.all(found.q < 1e-8)
    np.testing.assert_allclose(speed(model, found.points), found.q, atol=1e-9)
    for k in range(len(found)):
        numeric = state_jacobian(model.get_weights(), found.points[k], found.inputs)  # NumPy, central differences
        assert np.max(np.abs(numeric - found.jacobians[k])) < 1e-4
        numeric_values = np.linalg.eigvals(numeric)
        for value in found.eigenvalues[k]:
            assert np.min(np.abs(numeric_values - value)) < 1e-3
    fractions = [f for f, _ in calls]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)
    # drawing helpers and export
    fitted = pca(states, 2)
    assert found.project(fitted).shape == (len(found), 2)
    assert found.direction_segments(fitted).shape == ((~found.stable).sum(), 2, 2)
    arrays = found.to_arrays()
    assert arrays["eigenvalues_real"].shape == (len(found), 50) and "points" in arrays


def test_frozen_copy_from_weights_and_cancelling(trained):
    model, _ = trained
    copy = as_tf_model(model.get_weights())
    assert copy is not model and isinstance(copy, Basic)
    states = np.random.default_rng(0).normal(0, 1, (4, 50)).astype(np.float32)
    np.testing.assert_allclose(jacobians(copy, states), jacobians(model, states), atol=1e-6)
    found = find_fixed_points(copy, states, max_iterations=10000, chunk=50, should_stop=lambda: True,
                              newton_steps=0)
    assert found.iterations == 0 and found.stopped and len(found) == 0  # stopped before it began
    asked = iter([False, True])
    found = find_fixed_points(copy, states, max_iterations=10000, chunk=50, should_stop=lambda: next(asked, True))
    assert found.iterations == 50 and found.stopped  # stopped after the first chunk
    with pytest.raises(ParameterError, match="initial_states"):
        find_fixed_points(model, np.zeros((3, 7)))
    with pytest.raises(ParameterError, match="inputs"):
        find_fixed_points(model, states, inputs=np.zeros(3))


def test_a_three_bit_flip_flop_network_stores_its_8_memories_as_stable_fixed_points():
    """Sussillo & Barak (2013): a trained 3-bit flip-flop has a stable fixed point at each corner of the cube."""
    from psychrnn_widgets import Basic, FlipFlop
    from psychrnn_widgets.analysis import find_fixed_points, sample_states

    task = FlipFlop(dt=10, tau=100, T=2000, N_batch=50, n_bits=3, seed=0)
    model = Basic({**task.get_task_params(), "name": "flipflop", "N_rec": 64, "seed": 0, "transfer_function": "tanh"})
    model.train(task, {"training_iters": 80000, "learning_rate": 0.005, "verbosity": False})
    x, y, mask, _ = FlipFlop(dt=10, tau=100, T=2000, N_batch=300, n_bits=3, seed=1).get_trial_batch()
    # the task's strict rule (every output within 0.5 of its bit at every step): 0.75 measured here
    assert task.accuracy_function(y, model.test(x, noise=False)[0], mask) > 0.5
    _, visited = model.test(x[:100], noise=False)
    points = find_fixed_points(model, sample_states(visited, 400, noise_scale=0.05, seed=0), q_tolerance=1e-6,
                               unique_tolerance=0.1)
    weights = model.get_weights()
    stable = points.points[points.stable]
    outputs = np.tanh(stable) @ weights["W_out"].T + weights["b_out"]
    corners = {tuple(np.sign(o).astype(int)) for o in outputs if np.all(np.abs(o) > 0.3)}
    assert len(corners) == 8, (len(points.points), int(points.stable.sum()), sorted(corners))
    assert np.all(points.q <= 1e-6)
    assert (~points.stable).sum() > 0  # and unstable (saddle) points between them
