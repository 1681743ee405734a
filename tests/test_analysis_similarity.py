"""Representational and dynamical similarity (analysis.similarity, analysis.dynamics): known answers and edges."""
import numpy as np
import pytest

from psychrnn_widgets import analysis
from psychrnn_widgets.errors import ParameterError
from synthetic_systems import latent, observe


def _activity(seed=0, trials=20, T=30, n_latent=6, units=12):
    rng = np.random.default_rng(seed)
    z = np.cumsum(rng.standard_normal((trials, T, n_latent)), axis=1)
    return z @ rng.standard_normal((n_latent, units)) + rng.standard_normal(units)


def _orthogonal(n, seed=1):
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    return q * np.sign(np.diag(r))


# ------------------------------------------------------------------ must-show 1: known answers
def test_cka_known_answers():
    X = _activity()
    Q = _orthogonal(12)
    assert analysis.cka(X, X).value == pytest.approx(1.0, abs=1e-12)
    assert analysis.cka(X, X @ Q).value == pytest.approx(1.0, abs=1e-12)      # orthogonal transform
    assert analysis.cka(X, 7.5 * X).value == pytest.approx(1.0, abs=1e-12)    # isotropic scaling
    Y = _activity(seed=5)
    value = analysis.cka(X, Y).value
    assert analysis.cka(X @ Q, 3.0 * Y).value == pytest.approx(value, abs=1e-12)
    assert 0.0 <= value < 0.9
    # not invariant to a general invertible map (linear CKA is not)
    distorted = X @ np.diag(np.linspace(0.1, 5.0, 12))
    assert analysis.cka(X, distorted).value < 0.99
    assert float(analysis.cka(X, Y)) == value


def test_procrustes_known_answers():
    X = _activity()
    Q = _orthogonal(12)
    for distance in ("angular", "euclidean"):
        assert analysis.procrustes_distance(X, X @ Q, distance=distance).value == pytest.approx(0.0, abs=1e-6)
    assert analysis.procrustes_distance(X, 4.0 * X @ Q).value == pytest.approx(0.0, abs=1e-6)  # angular: scale-free
    assert analysis.procrustes_distance(X, 4.0 * X, distance="euclidean").value > 1.0
    distorted = X @ np.diag(np.linspace(0.2, 3.0, 12))  # not orthogonal
    angle = analysis.procrustes_distance(X, distorted).value
    assert 0.05 < angle <= np.pi / 2
    # a metric: symmetric, and the triangle inequality
    Y, Z = _activity(seed=3), _activity(seed=4)
    d = lambda a, b: analysis.procrustes_distance(a, b).value  # noqa: E731
    assert d(X, Y) == pytest.approx(d(Y, X), abs=1e-12)
    assert d(X, Z) <= d(X, Y) + d(Y, Z) + 1e-12


def test_unit_counts_may_differ():
    X = _activity(units=12)
    padded = np.concatenate([X, np.zeros(X.shape[:2] + (5,))], axis=2)
    assert analysis.procrustes_distance(X, padded).value == pytest.approx(0.0, abs=1e-6)  # zero padding
    embedded = X @ _orthogonal(20)[:12]  # 12 -> 20 units, orthonormal rows
    assert analysis.procrustes_distance(X, embedded).value == pytest.approx(0.0, abs=1e-6)
    assert analysis.cka(X, embedded).value == pytest.approx(1.0, abs=1e-10)
    assert analysis.cca_similarity(X, embedded).value == pytest.approx(1.0, abs=1e-8)
    fewer = X[:, :, :5]
    result = analysis.procrustes_distance(X, fewer, n_pcs=3)
    assert result.n_units_a == 12 and result.n_units_b == 5 and result.n_pcs == 3


def test_svcca():
    X = _activity()
    result = analysis.cca_similarity(X, X @ _orthogonal(12) * 2.0)
    assert result.value == pytest.approx(1.0, abs=1e-8)
    assert result.dims_a == result.dims_b <= 6  # the latent dimension: 99% of the variance
    unrelated = analysis.cca_similarity(X, _activity(seed=9))
    assert unrelated.value < 0.9 and np.all(np.diff(unrelated.correlations) <= 1e-12)
    plain = analysis.cca_similarity(X, X, variance_kept=1.0)
    assert plain.dims_a == 6


def test_dsa_known_answers():
    options = dict(n_delays=5, rank=4)
    line = observe(latent("line", 0), 10)
    rotated = line @ _orthogonal(10, seed=2)
    assert analysis.dsa_distance(line, rotated, **options).value == pytest.approx(0.0, abs=1e-6)
    same = [analysis.dsa_distance(line, observe(latent("line", 1), 10), **options).value,
            analysis.dsa_distance(line, observe(latent("line", 3), 11), **options).value,
            analysis.dsa_distance(observe(latent("bistable", 2), 10),
                                  observe(latent("bistable", 4), 11), **options).value]
    different = [analysis.dsa_distance(line, observe(latent("bistable", 2), 10), **options).value,
                 analysis.dsa_distance(observe(latent("line", 3), 11),
                                       observe(latent("bistable", 2), 10), **options).value]
    # measured: same structure 0.011, 0.017, 0.029; line against point attractors 0.071, 0.075
    assert max(same) < 0.5 * min(different), (same, different)
    result = analysis.dsa_distance(line, rotated, **options, distance="euclidean")
    assert result.value == pytest.approx(0.0, abs=1e-6)
    C = result.transform
    np.testing.assert_allclose(C @ C.T, np.eye(4), atol=1e-10)


def test_similarity_transform_distance_recovers_a_conjugation():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((6, 6))
    C = _orthogonal(6, seed=4)
    C[:, 0] *= -1  # a reflection: the other component of O(n)
    B = C.T @ A @ C  # A = C B C^T
    value, found = analysis.similarity_transform_distance(A, 2.0 * B, n_starts=10)
    assert value == pytest.approx(0.0, abs=1e-5)
    np.testing.assert_allclose(found @ B @ found.T, A, atol=1e-4)
    value, _ = analysis.similarity_transform_distance(A, rng.standard_normal((4, 4)))  # sizes differ: padded
    assert 0.1 < value <= np.pi


def test_networks_on_the_same_trials(tmp_path):
    from psychrnn_widgets import PerceptualDiscrimination

    task = PerceptualDiscrimination(dt=10, tau=100, T=500, N_batch=10, seed=0)

    def weights(n, seed):
        r = np.random.default_rng(seed)
        return dict(W_in=r.uniform(0, 1, (n, 2)), W_rec=0.9 * r.standard_normal((n, n)) / np.sqrt(n),
                    W_out=r.standard_normal((2, n)), b_rec=np.zeros(n), b_out=np.zeros(2),
                    init_state=0.1 * r.standard_normal((1, n)), dt=10.0, tau=100.0)

    a, b = weights(20, 1), weights(30, 2)
    itself = analysis.compare(a, a, task, n_trials=12, dsa_options=dict(n_delays=3, rank=5))
    assert itself.values()["cka"] == pytest.approx(1.0, abs=1e-10)
    assert itself.values()["procrustes"] == pytest.approx(0.0, abs=1e-6)
    assert itself.values()["dsa"] == pytest.approx(0.0, abs=1e-6)
    other = analysis.compare(a, b, task, n_trials=12, dsa_options=dict(n_delays=3, rank=5))
    assert other.values()["cka"] < 1.0 and other.values()["procrustes"] > 0.0
    # the same trials: a network's rates as an array compare equal to the network itself
    x, _, _, _ = task.generate_batch(N_batch=8, noise=False)
    _, _, rates = analysis.simulate(a, x)
    assert analysis.cka(rates, a, x=x).value == pytest.approx(1.0, abs=1e-10)
    states = analysis.cka(a, b, x=x, signal="states")
    assert states.n_units_a == 20 and states.n_units_b == 30
    figure_path = other.save(tmp_path / "compare.svg")
    assert figure_path.stat().st_size > 1000
    arrays = other.to_arrays()
    assert "dsa/dmd_a/operator" in arrays and "cka/value" in arrays


# ------------------------------------------------------------------ edges
@pytest.mark.parametrize("call, name", [
    (lambda X: analysis.cka(X, X[:5]), "b"),                                # trial counts differ
    (lambda X: analysis.cka(X, X[:, :7]), "b"),                             # time steps differ
    (lambda X: analysis.cka(X[0], X), "a"),                                 # not 3-D
    (lambda X: analysis.cka(np.where(X > 0, np.nan, X), X), "a"),           # NaN
    (lambda X: analysis.cka(X, np.full_like(X, np.inf)), "b"),              # inf
    (lambda X: analysis.cka(np.zeros((0, 3, 2)), X), "a"),                  # empty
    (lambda X: analysis.cka(np.ones_like(X), X), "a"),                      # does not vary
    (lambda X: analysis.cka(X, X, signal="spikes"), "signal"),
    (lambda X: analysis.procrustes_distance(X, X, distance="cosine"), "distance"),
    (lambda X: analysis.procrustes_distance(X, X, n_pcs=0), "n_pcs"),
    (lambda X: analysis.cca_similarity(X, X, variance_kept=0.0), "variance_kept"),
    (lambda X: analysis.cca_similarity(X, X, variance_kept=1.5), "variance_kept"),
    (lambda X: analysis.cca_similarity(X[:1, :3], X[:1, :3], variance_kept=1.0), "a"),  # too few samples
    (lambda X: analysis.dsa_distance(X, X, n_delays=0), "n_delays"),
    (lambda X: analysis.dsa_distance(X, X, n_delays=40), "n_delays"),       # longer than the trials
    (lambda X: analysis.dsa_distance(X, X, rank=500), "rank"),              # more than units x delays
    (lambda X: analysis.dsa_distance(X, X, ridge=-1.0), "ridge"),
    (lambda X: analysis.dsa_distance(X, X, n_starts=0), "n_starts"),
    (lambda X: analysis.dsa_distance(X, X, distance="wasserstein"), "distance"),
    (lambda X: analysis.dsa_distance(X, np.zeros_like(X)), "b"),
    (lambda X: analysis.similarity_transform_distance(np.zeros((3, 3)), np.eye(3)), "A"),
    (lambda X: analysis.similarity_transform_distance(np.eye(3), np.ones((3, 2))), "B"),
    (lambda X: analysis.cka({"W_rec": np.eye(2)}, X), "task"),              # a network without trials
    (lambda X: analysis.cka(object(), X, x=np.zeros((2, 3, 1))), "a"),
    (lambda X: analysis.compare(X, X, metrics=("cka", "rsa")), "metrics"),
    (lambda X: analysis.compare(X, X, dsa_options=3), "dsa_options"),
])
def test_bad_inputs_name_the_argument(call, name):
    X = _activity()
    with pytest.raises(ParameterError) as caught:
        call(X)
    assert caught.value.parameter == name, str(caught.value)


def test_results_draw_and_save(tmp_path):
    X, Y = _activity(), _activity(seed=2)
    for result in (analysis.cka(X, Y), analysis.procrustes_distance(X, Y), analysis.cca_similarity(X, Y),
                   analysis.dsa_distance(X, Y, n_delays=3, rank=4),
                   analysis.havok_dmd(X, n_delays=3, rank=4)):
        path = result.save(tmp_path / f"{type(result).__name__}.png")
        assert path.stat().st_size > 1000
        assert all(isinstance(v, np.ndarray) for v in result.to_arrays().values())
    embedded = analysis.delay_embedding(X, n_delays=3, delay_interval=2)
    assert embedded.shape == (20, 30 - 4, 36)
    np.testing.assert_array_equal(embedded[:, 0, :12], X[:, 4])     # most recent first
    np.testing.assert_array_equal(embedded[:, 0, 24:], X[:, 0])


def test_every_declared_argument_refuses_its_invalid_examples():
    from psychrnn_widgets.params import ANALYSIS_PARAMS

    X = _activity()
    data = analysis.Recordings(activity=np.abs(X[:, :, :3]), conditions={"c": np.arange(20) % 4}, dt=10.0)
    calls = {
        "signal": lambda v: analysis.cka(X, X, signal=v),
        "distance": lambda v: analysis.procrustes_distance(X, X, distance=v),
        "n_pcs": lambda v: analysis.procrustes_distance(X, X, n_pcs=v),
        "variance_kept": lambda v: analysis.cca_similarity(X, X, variance_kept=v),
        "n_delays": lambda v: analysis.dsa_distance(X, X, n_delays=v),
        "delay_interval": lambda v: analysis.dsa_distance(X, X, delay_interval=v),
        "rank": lambda v: analysis.dsa_distance(X, X, rank=v),
        "ridge": lambda v: analysis.dsa_distance(X, X, ridge=v),
        "n_starts": lambda v: analysis.dsa_distance(X, X, n_starts=v),
        "n_iterations": lambda v: analysis.dsa_distance(X, X, n_iterations=v),
        "n_folds": lambda v: analysis.fit_recordings(X, data, n_folds=v),
        "penalties": lambda v: analysis.fit_recordings(X, data, penalties=v),
    }
    for name, call in calls.items():
        examples = ANALYSIS_PARAMS[name].invalid_examples()
        if name == "penalties":
            examples = [[-1.0], [0.0], [np.nan], "big", True, [], np.ones((2, 2))]
        for value in examples:
            with pytest.raises(ParameterError) as caught:
                call(value)
            assert caught.value.parameter == name, (name, value, str(caught.value))


def test_comparisons_and_recordings_need_no_tensorflow():
    """DESIGN §2: the comparisons run on NumPy/SciPy (TensorFlow only for fixed points)."""
    from helpers import run_python

    result = run_python("""
        import sys
        from psychrnn_widgets import analysis
        from psychrnn_widgets.tasks import ContextDependentIntegration
        task = ContextDependentIntegration(seed=0)
        values = analysis.compare(analysis.EXAMPLE_NETWORK, analysis.EXAMPLE_NETWORK, task, n_trials=6,
                                  dsa_options=dict(n_delays=2, rank=3)).values()
        assert abs(values["cka"] - 1) < 1e-9, values
        fit = analysis.fit_recordings(analysis.EXAMPLE_NETWORK, analysis.EXAMPLE_RECORDINGS, n_folds=2)
        assert fit.mean_r2 > 0.5
        for name in ("tensorflow", "ipywidgets", "matplotlib", "psychrnn_widgets.widgets"):
            assert name not in sys.modules, name + " was imported"
        print("ok")
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
