"""Behaviour analyses: the psychometric fit, psychometric and chronometric curves, output traces, conditions."""
import numpy as np
import pytest

from helpers import pd_task, trained_pd_network
from psychrnn_widgets import ParameterError, Task
from psychrnn_widgets.analysis import (PerceptualDiscriminationConditions, TaskConditions, behaviour,
                                       chronometric_curve, condition_batch, fit_psychometric, logistic_with_lapses,
                                       output_traces, psychometric_curve, psychometric_data, reaction_times,
                                       register_task_conditions, task_conditions, trial_conditions)
from psychrnn_widgets.analysis.conditions import _REGISTRY

LEVELS = np.array([-0.4, -0.2, -0.1, -0.05, 0.0, 0.05, 0.1, 0.2, 0.4])


# ------------------------------------------------------------------ the fit itself
def test_fit_recovers_known_parameters_from_large_samples():
    truth = dict(bias=0.03, slope=15.0, guess=0.05, lapse=0.08)
    n = np.full(LEVELS.size, 20000)
    k = np.round(n * logistic_with_lapses(LEVELS, **truth)).astype(int)  # expected counts: the MLE is the truth
    fit = fit_psychometric(LEVELS, n, k)
    assert fit.converged
    np.testing.assert_allclose(fit.params, [truth["bias"], truth["slope"], truth["guess"], truth["lapse"]],
                               rtol=2e-3, atol=2e-4)
    assert np.all(np.isfinite(fit.ci)) and np.all(fit.ci[:, 0] < fit.params) and np.all(fit.params < fit.ci[:, 1])
    assert fit.ci_method == "hessian" and "bias" in fit.summary()


def test_hessian_intervals_cover_the_truth_about_95_percent_of_the_time():
    truth = np.array([0.02, 12.0, 0.04, 0.06])
    rng = np.random.default_rng(3)
    n = np.full(LEVELS.size, 400)
    covered = np.zeros(4)
    repeats = 40
    for _ in range(repeats):
        k = rng.binomial(n, logistic_with_lapses(LEVELS, *truth))
        fit = fit_psychometric(LEVELS, n, k)
        covered += (fit.ci[:, 0] <= truth) & (truth <= fit.ci[:, 1])
    assert np.all(covered / repeats >= 0.8), covered / repeats


def test_bootstrap_intervals_and_fixed_lapses():
    truth = (0.0, 10.0, 0.0, 0.0)
    rng = np.random.default_rng(0)
    n = np.full(LEVELS.size, 200)
    k = rng.binomial(n, logistic_with_lapses(LEVELS, *truth))
    two = fit_psychometric(LEVELS, n, k, lapses=False)
    assert two.guess == 0.0 and two.lapse == 0.0 and two.fixed == ("guess", "lapse")
    assert np.all(np.isnan(two.ci[2:])) and abs(two.slope - 10.0) < 2.5
    boot = fit_psychometric(LEVELS, n, k, lapses=False, ci="bootstrap", n_bootstrap=60, seed=1)
    assert boot.ci_method == "bootstrap" and boot.params[0] == two.params[0]
    for i in (0, 1):  # both intervals hold the estimate and have about the same width
        assert boot.ci[i, 0] <= boot.params[i] <= boot.ci[i, 1]
        ratio = np.ptp(boot.ci[i]) / np.ptp(two.ci[i])
        assert 0.5 < ratio < 2.0, ratio
    assert np.all(np.isnan(boot.ci[2:]))
    with_lapses = fit_psychometric(LEVELS, n, k, ci="bootstrap", n_bootstrap=20, seed=1)
    assert np.all(np.isfinite(with_lapses.ci))  # defined at the lapse bound (0) too


def test_perfectly_separated_data_give_a_finite_steep_fit_inside_the_range():
    n = np.full(LEVELS.size, 50)
    k = np.where(LEVELS > 0, 50, 0)
    fit = fit_psychometric(LEVELS, n, k)
    assert np.isfinite(fit.slope) and fit.slope > 0
    assert 0.0 <= fit.bias <= 0.05
    assert fit.predict(-0.4) < 0.01 and fit.predict(0.4) > 0.99


def test_fit_rejects_bad_counts():
    with pytest.raises(ParameterError, match="between 0 and n_trials"):
        fit_psychometric([0, 1], [10, 10], [11, 0])
    with pytest.raises(ParameterError, match="two or more"):
        fit_psychometric([0, 1], [10, 0], [5, 0])
    with pytest.raises(ParameterError, match="ci must be"):
        fit_psychometric([0, 1], [10, 10], [2, 8], ci="jackknife")


# ------------------------------------------------------------- explicit arrays
def test_psychometric_curve_from_explicit_arrays():
    evidence = np.repeat([-1.0, 0.0, 1.0], 4)
    choices = np.array([0, 0, 0, 1, 0, 1, 1, 0, 1, 1, 1, 1])
    levels, n, k = psychometric_data(evidence, choices)
    assert levels.tolist() == [-1.0, 0.0, 1.0] and n.tolist() == [4, 4, 4] and k.tolist() == [1, 2, 4]
    curve = psychometric_curve(evidence=evidence, choices=choices, correct=(evidence > 0).astype(int))
    np.testing.assert_allclose(curve.p_choice1, [0.25, 0.5, 1.0])
    assert curve.fit is not None and curve.fit.slope > 0
    assert curve.accuracy == pytest.approx(np.mean(choices == (evidence > 0)))
    with pytest.raises(ParameterError, match="both evidence and choices"):
        psychometric_curve(evidence=evidence)
    # a result shows its figure in a notebook, with a one-line text summary
    bundle = curve._repr_mimebundle_()
    assert bundle["image/png"].startswith(b"\x89PNG") and bundle["text/plain"].startswith("PsychometricCurve(")
    assert "levels: float64[3]" in repr(curve) and "\n" not in repr(curve)


# ----------------------------------------------------------- conditions of tasks
def test_perceptual_discrimination_conditions_and_levels():
    task = pd_task()
    adapter = task_conditions(task)
    assert isinstance(adapter, PerceptualDiscriminationConditions)
    levels = adapter.levels(task)
    np.testing.assert_allclose(levels, [-0.7, -0.5, -0.3, -0.1, -0.05, -0.025, 0, 0.025, 0.05, 0.1, 0.3, 0.5, 0.7])
    _, y, mask, params = task.generate_batch(N_batch=20)
    evidence, choice = trial_conditions(task, params, y, mask)
    np.testing.assert_array_equal(choice, [p["direction"] for p in params])
    np.testing.assert_allclose(np.abs(evidence), [p["coherence"] for p in params])
    assert np.all((evidence > 0) == (choice == 1))


def test_condition_batch_is_seeded_and_leaves_the_task_alone():
    task = pd_task(seed=5)
    state = task.rng.bit_generator.state
    a = condition_batch(task, n_per_level=3, seed=1)
    b = condition_batch(task, n_per_level=3, seed=1)
    assert task.rng.bit_generator.state == state
    np.testing.assert_array_equal(a.x, b.x)
    assert len(a) == 13 * 3 and a.onset.shape == (39,)
    np.testing.assert_array_equal(a.levels[a.level_index], a.evidence)
    fixed = condition_batch(task, n_per_level=2, seed=1, fixed_timing=True, noise=False)
    assert np.all(fixed.onset == task.T / 4) and np.all(fixed.x[:, : int(task.T / 4 / task.dt)] == 0)


class ChoiceTask(Task):
    """A task whose trial params carry 'evidence' and 'choice' (the plug-in convention)."""

    def __init__(self, seed=0):
        super().__init__(1, 2, 10, 100, 300, 16, seed=seed)

    def generate_trial_params(self, batch, trial):
        evidence = float(self.rng.choice([-1.0, -0.5, 0.5, 1.0]))
        return {"evidence": evidence, "choice": int(evidence > 0)}

    def trial_function(self, time, params):
        x = np.array([params["evidence"] if time >= 100 else 0.0])
        y = np.array([0.2, 1.0]) if params["choice"] else np.array([1.0, 0.2])
        return x, y, np.full(2, float(time >= 100))


def test_a_task_plugs_in_through_trial_params_or_an_adapter():
    task = ChoiceTask()
    batch = condition_batch(task, n_per_level=5, seed=0)
    assert set(batch.levels.tolist()) <= {-1.0, -0.5, 0.5, 1.0} and len(batch) == 50
    np.testing.assert_array_equal(batch.choice, (batch.evidence > 0).astype(int))
    assert batch.onset is None  # no 'onset_time': no reaction times

    class Halved(TaskConditions):
        def evidence(self, task, trial_params):
            return np.array([p["evidence"] / 2 for p in trial_params])

    register_task_conditions(ChoiceTask, Halved())
    try:
        batch = condition_batch(task, n_per_level=5, seed=0)
        assert set(batch.levels.tolist()) <= {-0.5, -0.25, 0.25, 0.5}
        np.testing.assert_array_equal(batch.choice, np.argmax((batch.y * batch.mask).mean(1), -1))
    finally:
        del _REGISTRY[0]


# ----------------------------------------------------------------- reaction times
def test_reaction_times_commitment_and_first_crossing():
    dt = 10.0
    outputs = np.zeros((3, 10, 2))
    outputs[0, 4:, 1] = 1.0  # decides for 1 at step 4 and stays
    outputs[1, 2:4, 1] = 1.0  # crosses at step 2, comes back, then decides for 0 at step 6
    outputs[1, 6:, 0] = 1.0
    # trial 2 never decides
    rt, choice = reaction_times(outputs, onset=np.array([20.0, 0.0, 0.0]), dt=dt, threshold=0.5)
    np.testing.assert_allclose(rt[:2], [20.0, 60.0])
    assert np.isnan(rt[2]) and choice.tolist() == [1, 0, -1]
    first, first_choice = reaction_times(outputs, onset=0.0, dt=dt, threshold=0.5, rule="first")
    np.testing.assert_allclose(first[:2], [40.0, 20.0])
    assert first_choice.tolist() == [1, 1, -1]


# -------------------------------------------------- a trained network (must show 1)
@pytest.fixture(scope="module")
def trained():
    return trained_pd_network()


def test_trained_network_psychometric_curve(trained):
    model, task = trained
    curve = psychometric_curve(model, task, n_per_level=100, seed=0)
    fit = curve.fit
    levels = curve.levels
    assert fit.slope > 0
    assert curve.p_choice1[np.argmin(levels)] < 0.1  # strongest evidence for choice 0
    assert curve.p_choice1[np.argmax(levels)] > 0.9  # strongest evidence for choice 1
    assert levels.min() <= fit.bias <= levels.max()
    assert curve.accuracy > 0.8
    # same answer from the weights alone (no TensorFlow model involved)
    again = psychometric_curve(model.get_weights(), task, n_per_level=100, seed=0)
    np.testing.assert_array_equal(again.n_choice1, curve.n_choice1)


def test_trained_network_chronometric_curve_and_traces(trained, tmp_path):
    model, task = trained
    result = behaviour(model, task, n_per_level=40)
    chrono = result.chronometric
    assert chrono is not None and chrono.mean_rt.shape == result.psychometric.levels.shape
    strong = np.abs(chrono.levels) >= 0.3
    assert np.all(np.isfinite(chrono.mean_rt[strong])) and np.all(chrono.mean_rt[strong] >= 0)
    traces = result.traces
    L, T = len(traces.levels), task.N_steps
    assert traces.outputs.shape == traces.targets.shape == (L, T, 2)
    # the strongest choice-1 condition ends high on output 1, the strongest choice-0 one on output 0
    assert traces.outputs[-1, -1, 1] > traces.outputs[-1, -1, 0]
    assert traces.outputs[0, -1, 0] > traces.outputs[0, -1, 1]
    assert chronometric_curve(batch=condition_batch(ChoiceTask(), n_per_level=2), outputs=np.zeros((8, 30, 2))) \
        is None
    arrays = result.to_arrays()
    assert arrays["psychometric/p_choice1"].shape == (L,) and arrays["traces/outputs"].shape == (L, T, 2)
    for suffix in (".svg", ".png"):
        path = result.save(tmp_path / f"behaviour{suffix}")
        assert path.stat().st_size > 1000
    assert (tmp_path / "behaviour.svg").read_text().lstrip().startswith("<?xml")
    assert output_traces(model, task, n_per_level=2).outputs.shape == (L, T, 2)
