"""Fixed points across inputs (analysis.fixed_point_family): re-runs, merging, outliers, line attractors."""
import numpy as np
import pytest

from psychrnn_widgets import analysis
from psychrnn_widgets.errors import ParameterError

NETWORK = analysis.EXAMPLE_NETWORK


def _linear_network(n=6, leak=0.5):
    """A linear network x' = (1-a)x + a(W x + u): one fixed point per input, known in closed form."""
    rng = np.random.default_rng(0)
    W = leak * np.linalg.qr(rng.standard_normal((n, n)))[0]
    return dict(W_in=np.eye(n)[:, :2], W_rec=W, W_out=np.ones((1, n)), b_rec=np.zeros(n), b_out=np.zeros(1),
                init_state=np.zeros((1, n)), dt=10.0, tau=100.0, transfer_function="linear"), W


def test_one_point_per_input_of_a_linear_network():
    weights, W = _linear_network()
    inputs = np.array([[1.0, 0.0], [0.0, -2.0]])
    starts = np.random.default_rng(1).standard_normal((16, 6))
    family = analysis.fixed_points_across_inputs(weights, inputs, starts, labels={"which": [0, 1]},
                                                 max_iterations=200)
    assert [len(family.for_input(k)) for k in range(2)] == [1, 1]   # 16 candidates each, merged to one
    for k in range(2):
        expected = np.linalg.solve(np.eye(6) - W, np.concatenate([inputs[k], np.zeros(4)]))
        np.testing.assert_allclose(family.points[family.for_input(k)][0], expected, atol=1e-4)
    assert family.stable.all()
    tau = family.time_constants
    assert np.all(tau[:, 0] >= tau[:, 1])
    np.testing.assert_allclose(np.linalg.norm(family.top_mode, axis=1), 1.0)


def test_restarts_and_outliers():
    weights, _ = _linear_network()
    starts = np.random.default_rng(2).standard_normal((8, 6))
    # too few steps to converge from the far starts: re-runs happen
    family = analysis.fixed_points_across_inputs(weights, np.zeros((1, 2)), 50.0 * starts, max_iterations=5,
                                                 newton_steps=0, n_restarts=2, q_tolerance=1e-10)
    assert family.restarts[0] > 0
    # the fixed point (0) is far from starts centred at 100: an outlier at scale 0.5
    far = 100.0 + starts
    kept = analysis.fixed_points_across_inputs(weights, np.zeros((1, 2)), far, outlier_scale=0.5)
    assert len(kept) == 0 and kept.outliers[0] == 1
    assert len(analysis.fixed_points_across_inputs(weights, np.zeros((1, 2)), far, outlier_scale=1e6)) == 1


def test_line_attractor_summary_known_answer():
    """A linear network with one slow mode: its summary's time constants, separation, line and alignment in
    closed form.

    x' = (1-a) x + a (W x + W_in u), a = dt/tau = 0.1, W = Q B Q^T: the Jacobian 0.9 I + 0.1 W has the eigenvalues
    0.9 + 0.1 b of B's -- 0.998 (slow, along Q0), 0.97 +- 0.02i (a rotation: one mode), 0.9, 0.85, 0.8 -- at every
    point, i.e. |tau| = dt / |ln|lambda|| = 4995, 330.6, 94.9, 61.5, 44.8 ms.  Group 0 moves the fixed point
    x* = (I - W)^-1 W_in u along Q0 (the slow mode: alignment 1), group 1 along Q3 (alignment 0).
    """
    n, a, dt = 6, 0.1, 10.0
    Q = np.linalg.qr(np.random.default_rng(3).standard_normal((n, n)))[0]
    B = np.diag([0.98, 0.7, 0.7, 0.0, -0.5, -1.0])
    B[1, 2], B[2, 1] = 0.2, -0.2
    weights = dict(W_in=Q[:, [0, 3]], W_rec=Q @ B @ Q.T, W_out=np.ones((1, n)), b_rec=np.zeros(n), b_out=np.zeros(1),
                   init_state=np.zeros((1, n)), dt=dt, tau=dt / a, transfer_function="linear")
    levels = np.linspace(-0.2, 0.2, 5)
    inputs = np.concatenate([np.stack([levels, 0 * levels], 1), np.stack([0 * levels, levels], 1)])
    starts = np.random.default_rng(4).standard_normal((8, n))
    family = analysis.fixed_points_across_inputs(weights, inputs, starts, labels={"group": np.repeat([0, 1], 5)},
                                                 outlier_scale=1e6, max_iterations=200)
    assert [len(family.for_input(k)) for k in range(10)] == [1] * 10
    np.testing.assert_allclose(family.points[family.for_input(0)][0], Q[:, 0] * -0.2 / 0.02, atol=1e-3)  # float32
    summary = analysis.line_attractor_summary(family, "group")
    moduli = np.array([0.998, np.hypot(0.97, 0.02), 0.9, 0.85, 0.8])
    taus = dt / np.abs(np.log(moduli))                      # 4995.0, 330.6, 94.9, 61.5, 44.8 ms
    for g in range(2):
        np.testing.assert_allclose(summary.spectrum[g, :5], taus, rtol=1e-3)
        assert np.isnan(summary.spectrum[g, 5])             # the conjugate pair is one mode: 5 modes of 6
    np.testing.assert_allclose(summary.slow_tau, taus[0], rtol=1e-3)
    np.testing.assert_allclose(summary.second_tau, taus[1], rtol=1e-3)
    np.testing.assert_allclose(summary.tau_ratio, np.log(moduli[1]) / np.log(moduli[0]), rtol=1e-3)  # 15.11
    np.testing.assert_allclose(summary.pc1_fraction, 1.0, atol=1e-6)
    np.testing.assert_allclose(summary.largest_gap, 0.25, atol=1e-4)    # 5 evenly spaced points on each line
    np.testing.assert_allclose(summary.alignment, [1.0, 0.0], atol=1e-4)
    np.testing.assert_allclose(summary.unstable_fraction, 0.0)
    assert summary.to_figure() is not None


def test_line_attractors_of_the_trained_context_network(tmp_path):
    """Must-show 3, on the shipped network (psychrnn_widgets/data/cdi_network.npz, tools/make_cdi_example.py): per
    context the slow points lie along a line, with ONE slow mode, running along it.

    The previous shipped network (default initial spectral radius 1.1, no L2 on W_rec) had lines too (PC1 0.96,
    0.99) but a second mode nearly as slow as the first (|tau1/tau2| 1.72, 1.60): this test fails on it.
    """
    family = analysis.context_line_attractors(NETWORK)
    summary = analysis.line_attractor_summary(family, "context")
    assert list(summary.groups) == [0, 1]
    # measured on this network (context 0, context 1); the assertions leave a margin
    assert np.all(summary.n_points >= 30), summary.n_points               # 75-77, 61-67 slow points per context
    assert np.all(summary.pc1_fraction >= 0.95), summary.pc1_fraction     # 0.980, 0.990: along a line
    assert np.all(summary.largest_gap <= 0.45), summary.largest_gap       # 0.22-0.24, 0.30-0.33: not 2 clusters
    assert np.all(summary.alignment >= 0.9), summary.alignment            # 0.98, 0.98: slow mode along the line
    # one slow mode: the slowest time constant at least 3 times the next (median over each context's points)
    assert np.all(summary.tau_ratio >= 3.0), summary.tau_ratio            # 7.55, 12.14 (old network: 1.72, 1.60)
    assert np.all(summary.slow_tau >= 1000.0), summary.slow_tau           # 1994, 2180 ms
    assert np.all(summary.second_tau <= 400.0), summary.second_tau        # 264, 134 ms
    np.testing.assert_allclose(summary.spectrum[:, :2], np.stack([summary.slow_tau, summary.second_tau], 1))
    assert np.all(summary.spectrum[:, 0] >= 3.0 * np.nanmax(summary.spectrum[:, 1:], axis=1))  # the rest: faster
    angle = np.degrees(np.arccos(abs(summary.directions[0] @ summary.directions[1])))
    assert angle > 20.0, angle                                            # 45 degrees: each context its own line
    family.save(tmp_path / "family.png")
    summary.save(tmp_path / "summary.svg")
    assert "labels/context" in family.to_arrays() and summary.to_arrays()["spectrum"].shape == (2, 50)


def test_edges():
    weights, _ = _linear_network()
    starts = np.zeros((4, 6))

    def fails(name, call):
        with pytest.raises(ParameterError) as caught:
            call()
        assert caught.value.parameter == name, str(caught.value)

    fails("inputs", lambda: analysis.fixed_points_across_inputs(weights, np.zeros((2, 3)), starts))
    fails("inputs", lambda: analysis.fixed_points_across_inputs(weights, np.full((1, 2), np.nan), starts))
    fails("initial_states", lambda: analysis.fixed_points_across_inputs(weights, np.zeros((2, 2)), np.zeros((3, 4))))
    fails("initial_states", lambda: analysis.fixed_points_across_inputs(weights, np.zeros((2, 2)),
                                                                        np.zeros((3, 4, 6))))
    fails("n_restarts", lambda: analysis.fixed_points_across_inputs(weights, np.zeros((1, 2)), starts, n_restarts=-1))
    fails("outlier_scale", lambda: analysis.fixed_points_across_inputs(weights, np.zeros((1, 2)), starts,
                                                                       outlier_scale=0))
    fails("labels['c']", lambda: analysis.fixed_points_across_inputs(weights, np.zeros((1, 2)), starts,
                                                                     labels={"c": [0, 1]}))
    fails("contexts", lambda: analysis.context_integration_inputs(contexts=(2,)))
    from psychrnn_widgets.params import ANALYSIS_PARAMS

    for name in ("n_restarts", "restart_scale", "outlier_scale"):
        for value in ANALYSIS_PARAMS[name].invalid_examples():
            fails(name, lambda name=name, value=value: analysis.fixed_points_across_inputs(
                weights, np.zeros((1, 2)), starts, **{name: value}))
    fails("family", lambda: analysis.line_attractor_summary("points"))
    fails("source", lambda: analysis.context_line_attractors(weights))
