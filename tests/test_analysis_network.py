"""Unit activity, connectivity and spectra, lesions, PCA, and the analysis layer's import rules."""
import os

import numpy as np
import pytest

from helpers import DATA, REPO, network_params, pd_task, run_python, trained_pd_network
from psychrnn_widgets import Basic, GaussianSpectralRadius, ParameterError
from psychrnn_widgets.analysis import (as_simulator, choice_selectivity, condition_average, connectivity,
                                       connectivity_report, eigenspectrum, excitatory_mask, jacobian_spectrum,
                                       lesion, pca, pca_project, perturbations_for, select_units, simulate,
                                       state_jacobian, unit_activity, unit_order)
from psychrnn_widgets.simulation import Clamp, Kick, Silence

PSYCHRNN1 = os.path.join(DATA, "psychrnn1_pd_basic_weights.npz")


@pytest.fixture(scope="module")
def dale():
    return trained_pd_network(dale_ratio=0.8)


# -------------------------------------------------------------------- sources
def test_sources_model_weights_file_and_simulator_agree(dale):
    model, task = dale
    x = task.generate_batch(N_batch=4)[0]
    reference = simulate(model, x)
    for source in (model.get_weights(), as_simulator(model)):
        for a, b in zip(simulate(source, x), reference):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(reference[0], model.test(x, noise=False)[0], atol=1e-5)
    assert as_simulator(PSYCHRNN1, params={"dt": 10, "tau": 100}).N_rec == 20
    with pytest.raises(ParameterError, match="an analysis needs a network"):
        as_simulator(42)
    assert excitatory_mask(model).sum() == 40 and not excitatory_mask(10).any()


# ---------------------------------------------------------------- unit activity
def test_unit_order_and_selectivity():
    excitatory = np.array([False, True, True, False])
    selectivity = np.array([0.5, -1.0, 2.0, 3.0])
    assert unit_order(4, ("ei", "selectivity"), selectivity, excitatory).tolist() == [2, 1, 3, 0]
    assert unit_order(4, ("selectivity",), selectivity).tolist() == [3, 2, 0, 1]
    assert unit_order(4, "index").tolist() == [0, 1, 2, 3]
    with pytest.raises(ParameterError, match="unknown sort key"):
        unit_order(4, ("colour",))
    rates = np.zeros((4, 3, 2))
    rates[2:, :, 0] = [[1.0], [1.2]]  # unit 0 fires on choice-1 trials only
    # d' = (1.1 - 0) / sqrt((var(1.0, 1.2) + 0) / 2)
    np.testing.assert_allclose(choice_selectivity(rates, np.array([0, 0, 1, 1])), [1.1 / np.sqrt(0.005), 0.0])
    mean, sem, count = condition_average(np.arange(6.0)[:, None], np.array([0, 0, 1, 1, 1, 2]), 4)
    np.testing.assert_allclose(mean[:3, 0], [0.5, 3.0, 5.0])
    assert count.tolist() == [2, 3, 1, 0] and np.isnan(mean[3, 0]) and sem[2, 0] == 0


def test_unit_activity_of_a_trained_dale_network(dale, tmp_path):
    model, task = dale
    activity = unit_activity(model, task, n_per_level=5)
    L, T = len(activity.levels), task.N_steps
    assert activity.mean_rates.shape == (L, T, 50) and np.all(activity.mean_rates >= 0)  # relu rates
    assert activity.dale and activity.excitatory.sum() == 40
    order = activity.order(("ei", "selectivity"))
    assert np.all(activity.excitatory[order[:40]]) and not np.any(activity.excitatory[order[40:]])
    assert np.all(np.diff(activity.selectivity[order[:40]]) <= 0)
    heat, _ = activity.heatmap(L - 1)
    assert heat.shape == (50, T)
    assert activity.save(tmp_path / "units.png").stat().st_size > 1000


# ------------------------------------------------------------------ connectivity
def test_connectivity_sorted_by_ei_and_selectivity(dale):
    model, _ = dale
    W = model.get_weights()["W_rec"]
    by_ei = connectivity(model)
    np.testing.assert_array_equal(by_ei.W_rec, W)  # E first already: identity order
    assert by_ei.n_exc == 40 and np.all(by_ei.W_rec[:, :40] >= 0) and np.all(by_ei.W_rec[:, 40:] <= 0)
    selectivity = np.linspace(-1, 1, 50)
    sorted_ = connectivity(model, ("ei", "selectivity"), selectivity)
    o = sorted_.order
    np.testing.assert_array_equal(sorted_.W_rec, W[np.ix_(o, o)])
    assert o[0] == 39 and o[40] == 49  # most selective E unit, then most selective I unit
    np.testing.assert_array_equal(sorted_.W_out, model.get_weights()["W_out"][:, o])
    with pytest.raises(ParameterError, match="permutation"):
        connectivity(model, order=np.zeros(50, int))


@pytest.mark.parametrize("dale_ratio", [None, 0.8])
def test_spectral_radius_of_a_fresh_gaussian_spectral_radius_network(dale_ratio):
    task = pd_task()
    params = network_params(task, name="fresh", N_rec=60, spec_rad=1.3, dale_ratio=dale_ratio, seed=4)
    model = Basic(params)
    assert isinstance(model.initializer, GaussianSpectralRadius)
    spectrum = eigenspectrum(model)
    assert spectrum.spectral_radius == pytest.approx(1.3, abs=1e-3)
    assert np.abs(spectrum.eigenvalues[0]) == pytest.approx(spectrum.spectral_radius)
    assert set(spectrum.to_arrays()) >= {"eigenvalues_real", "eigenvalues_imag", "spectral_radius"}


def test_state_jacobian_of_the_leaky_map(dale):
    model, _ = dale
    weights = model.get_weights()
    state = np.random.default_rng(2).normal(0.5, 1.0, 50)
    J = state_jacobian(model, state)
    # for relu away from 0: J = (1 - alpha) I + alpha W_rec diag(f'(x))
    expected = 0.9 * np.eye(50) + 0.1 * weights["W_rec"] * (state > 0)[None, :]
    np.testing.assert_allclose(J, expected, atol=1e-8)
    spectrum = jacobian_spectrum(model, state)
    assert spectrum.label == "Jacobian" and spectrum.eigenvalues.shape == (50,)
    report = connectivity_report(model, state=state, rnn_in=np.zeros(2))
    assert report.jacobian is not None and report.spectrum.spectral_radius > 0


# ------------------------------------------------------------------------ lesions
def test_select_units_and_perturbations(dale):
    model, _ = dale
    assert select_units(model, "excitatory").tolist() == list(range(40))
    assert select_units(model, "inhibitory").tolist() == list(range(40, 50))
    assert select_units(model, "index", [3, 1, 3]).tolist() == [1, 3]
    selectivity = np.arange(50.0)
    assert select_units(model, "selectivity", selectivity=selectivity, n=3).tolist() == [47, 48, 49]
    assert select_units(model, "selectivity", selectivity=selectivity, n=2, sign=-1).tolist() == [0, 1]
    with pytest.raises(ParameterError, match="0..49"):
        select_units(model, "index", [50])
    assert perturbations_for([]) == []
    assert isinstance(perturbations_for([1], "silence")[0], Silence)
    assert isinstance(perturbations_for([1], "clamp", value=0.5)[0], Clamp)
    assert isinstance(perturbations_for([1], "kick", delta=2.0, step=5)[0], Kick)
    with pytest.raises(ParameterError, match="kind"):
        perturbations_for([1], "freeze")


def test_silencing_excitatory_units_drops_accuracy_to_chance(dale, tmp_path):
    model, task = dale
    result = lesion(model, task, select_units(model, "excitatory"), n_per_level=40)
    assert result.accuracy_before > 0.8
    assert abs(result.accuracy_after - 0.5) < 0.06  # the readout sees only E units: a constant choice
    assert not np.array_equal(result.after.psychometric.p_choice1, result.before.psychometric.p_choice1)
    assert result.trajectories_before.shape == result.trajectories_after.shape
    nothing = lesion(model, task, [], n_per_level=40)
    assert nothing.after is nothing.before and nothing.accuracy_after == result.accuracy_before
    np.testing.assert_array_equal(nothing.before.psychometric.p_choice1, result.before.psychometric.p_choice1)
    again = lesion(model, task, [0, 1], kind="clamp", value=0.0, n_per_level=40, baseline=result)
    assert again.before is result.before and again.accuracy_after != result.accuracy_after
    assert result.save(tmp_path / "lesion.svg").stat().st_size > 1000
    assert result.to_arrays()["after/psychometric/p_choice1"].shape == result.before.psychometric.levels.shape


# ---------------------------------------------------------------------------- PCA
def test_pca_signs_projection_and_padding():
    rng = np.random.default_rng(0)
    states = rng.normal(size=(5, 20, 4)) * np.array([5.0, 2.0, 1.0, 0.1])
    fitted = pca(states, 3)
    flat = states.reshape(-1, 4) - states.reshape(-1, 4).mean(0)
    top = np.linalg.svd(flat, full_matrices=False)[2][0]
    assert abs(abs(fitted.components[0] @ top) - 1) < 1e-9
    assert np.all(fitted.components[np.arange(3), np.argmax(np.abs(fitted.components), 1)] > 0)
    np.testing.assert_allclose(fitted.transform(states), flat.reshape(5, 20, 4) @ fitted.components.T)
    proj, comps, explained = pca_project(states[..., :2], 3)
    assert proj.shape == (5, 20, 3) and np.all(proj[..., 2] == 0) and explained[2] == 0


# ------------------------------------------------------------------------ layering
def test_analysis_layer_imports_nothing_above_it_and_no_tensorflow(tmp_path):
    """DESIGN §2: analysis/ never imports widgets, ipywidgets or bqplot; TensorFlow only for fixed points."""
    result = run_python(f"""
        import sys
        import psychrnn_widgets.analysis as analysis
        from psychrnn_widgets.tasks import PerceptualDiscrimination
        task = PerceptualDiscrimination(dt=10, tau=100, T=500, N_batch=8, seed=0)
        network = analysis.as_simulator({PSYCHRNN1!r}, params={{"dt": 10, "tau": 100}})  # a PsychRNN 1.0 file
        curve = analysis.psychometric_curve(network, task, n_per_level=3)
        assert curve.p_choice1.shape == curve.levels.shape
        analysis.lesion(network, task, [1, 2], n_per_level=2)
        analysis.unit_activity(network, task, n_per_level=2)
        analysis.connectivity_report(network)
        for name in ("tensorflow", "ipywidgets", "bqplot", "matplotlib", "psychrnn_widgets.widgets"):
            assert name not in sys.modules, name + " was imported"
        print("ok")
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    # and statically: no module of the layer names the layers above it; TensorFlow only inside functions
    for path in (REPO / "psychrnn_widgets" / "analysis").glob("*.py"):
        source = path.read_text()
        for forbidden in ("import ipywidgets", "import bqplot", "from ..widgets", "psychrnn_widgets.widgets",
                          "import anywidget"):
            assert forbidden not in source, f"{path.name} imports {forbidden}"
        top_level = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
        tensorflow_modules = ("tensorflow", "models._tf", "models.basic", "models.rnn", "..training")
        assert not any(name in line for line in top_level for name in tensorflow_modules), path
