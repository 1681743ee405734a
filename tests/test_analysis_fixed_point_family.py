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


def test_line_attractors_of_the_trained_context_network(tmp_path):
    """Must-show 3, on the shipped network (psychrnn_widgets/data/cdi_network.npz, tools/make_cdi_example.py)."""
    family = analysis.context_line_attractors(NETWORK)
    summary = analysis.line_attractor_summary(family, "context")
    assert list(summary.groups) == [0, 1]
    # measured on this network (context 0, context 1); the assertions leave a margin
    assert np.all(summary.n_points >= 30), summary.n_points               # 90-94 slow points per context
    assert np.all(summary.pc1_fraction >= 0.93), summary.pc1_fraction     # 0.96, 0.985: along a line
    assert np.all(summary.largest_gap <= 0.5), summary.largest_gap        # 0.40-0.42, 0.36-0.37: not 2 clusters
    assert np.all(summary.alignment >= 0.75), summary.alignment           # 0.82, 0.98: slow mode along the line
    assert np.all(summary.tau_ratio >= 1.4), summary.tau_ratio            # 1.72, 1.60: |tau1| / |tau2|
    assert np.all(summary.slow_tau >= 350.0), summary.slow_tau            # 461, 413 ms (tau2: 250-257, 258 ms)
    angle = np.degrees(np.arccos(abs(summary.directions[0] @ summary.directions[1])))
    assert angle > 20.0, angle                                            # 54 degrees: each context its own line
    family.save(tmp_path / "family.png")
    summary.save(tmp_path / "summary.svg")
    assert "labels/context" in family.to_arrays()


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
