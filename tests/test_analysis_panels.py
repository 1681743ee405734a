"""The Analysis tab and its panels, headless: they show what the analysis functions compute."""
import time

import numpy as np
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("bqplot")

from helpers import network_params, pd_task, trained_pd_network, wait_until  # noqa: E402
from psychrnn_widgets import Basic  # noqa: E402
from psychrnn_widgets.analysis import psychometric_curve, select_units  # noqa: E402
from psychrnn_widgets.widgets import AnalysisTab, ThrottledUpdater  # noqa: E402


@pytest.fixture(scope="module")
def dale_tab():
    model, task = trained_pd_network(dale_ratio=0.8)
    tab = AnalysisTab(model, task, n_per_level=60, auto_refresh=False)
    assert tab.refresh(wait=True)
    return tab


def test_refresh_runs_in_the_background_and_every_panel_shows_a_result():
    model, task = trained_pd_network()
    tab = AnalysisTab(model, task, n_per_level=60, auto_refresh=False)
    assert tab.behaviour.result is None
    started = time.monotonic()
    assert tab.refresh()
    assert time.monotonic() - started < 1.0 and tab.behaviour.job.running  # the kernel is not blocked
    assert tab.wait(120)
    for panel in tab.panels[:4]:
        assert panel.result is not None and panel.job.error is None, panel.name
        assert panel.progress.value == 1.0
    assert tab.updater.errors == []
    # behaviour: the figure holds exactly the psychometric data of the analysis function
    curve = tab.behaviour.result.psychometric
    expected = psychometric_curve(model, task, n_per_level=60, seed=0)
    np.testing.assert_array_equal(curve.n_choice1, expected.n_choice1)
    np.testing.assert_allclose(tab.behaviour.psychometric_points.y, curve.p_choice1.astype(np.float32))
    np.testing.assert_allclose(tab.behaviour.psychometric_points.x, curve.levels.astype(np.float32))
    fit_y = np.asarray(tab.behaviour.psychometric_fit_line.y)
    assert fit_y.size > 10 and np.all(np.diff(fit_y) >= -1e-6)  # positive slope
    assert "slope" in tab.behaviour.fit_label.value and "accuracy" in tab.behaviour.fit_label.value
    assert "psychrnn-psychometric-figure" in tab.behaviour.psychometric_figure._dom_classes
    assert "psychrnn-weights-figure" in tab.connectivity.weights_figure._dom_classes
    assert len(tab.behaviour.chronometric_line.x) == len(curve.levels)
    assert 0 < np.asarray(tab.behaviour.trace_lines.y).shape[0] <= 10  # <= 20 lines with the targets
    # units: heatmap of all units, PSTHs of the chosen ones
    units = tab.units
    assert np.asarray(units.heatmap.color).shape == (50, task.N_steps)
    assert len(units.units.value) == 2 and 0 < np.asarray(units.psth_lines.y).shape[0] <= 20
    units.units.value = (3, 4, 5)
    assert np.asarray(units.psth_lines.y).shape[0] == 3 * 5
    units.sort_by.value = "index"
    assert [v for _, v in units.units.options] == list(range(50))
    units.condition.value = 0
    np.testing.assert_allclose(units.heatmap.color, units.result.mean_rates[0].T.astype(np.float32))


def test_a_new_training_run_ending_refreshes_the_tab_once():
    model, task = trained_pd_network()
    updater = ThrottledUpdater()
    tab = AnalysisTab(model, task, updater=updater, n_per_level=10, auto_refresh=False)
    updater.update({"training/outcome": None, "training/trials": 500})
    updater.flush()
    assert tab.n_refreshes == 0
    updater.update({"training/outcome": "done", "training/trials": 1000})
    updater.flush()
    assert tab.n_refreshes == 1
    updater.flush()
    assert tab.n_refreshes == 1
    updater.update({"training/outcome": "failed", "training/trials": 1200})
    updater.flush()
    assert tab.n_refreshes == 1  # a failed run: nothing new to analyse
    assert tab.wait(120)


def test_silencing_units_through_the_panel_and_clearing_restores_exactly(dale_tab):
    panel = dale_tab.lesions
    original = {k: np.array(v, copy=True) for k, v in panel.shown.items()}
    original_marks = np.array(panel.after_points.y, copy=True)
    assert original["accuracy_before"] == original["accuracy_after"] > 0.8  # no lesion yet
    np.testing.assert_array_equal(original_marks, panel.before_points.y)

    panel.selection = [int(u) for u in select_units(dale_tab.source, "selectivity",
                                                    selectivity=panel.selectivity, n=10, sign="abs")]
    assert panel.wait(60)
    assert panel.shown["accuracy_after"] != original["accuracy_before"]
    assert not np.array_equal(panel.shown["p_choice1_after"], original["p_choice1_before"])

    panel.selection = list(range(40))  # every excitatory unit: the readout sees nothing
    assert panel.wait(60)
    assert abs(panel.shown["accuracy_after"] - 0.5) < 0.06
    assert not np.array_equal(np.asarray(panel.after_points.y), original_marks)
    assert "silence 40 units" in panel.accuracy_label.value

    panel.clear_button.click()
    assert panel.wait(60) and panel.selection == []
    assert panel.shown["accuracy_after"] == original["accuracy_before"]
    np.testing.assert_array_equal(panel.shown["p_choice1_after"], original["p_choice1_before"])
    np.testing.assert_array_equal(panel.after_points.y, original_marks)
    np.testing.assert_array_equal(panel.after_trajectory_lines.y, panel.before_trajectory_lines.y)


def test_lesion_chooser_by_type_text_and_clicks(dale_tab):
    panel = dale_tab.lesions
    panel.choose_by.value = "inhibitory"
    panel.choose()
    assert panel.selection == list(range(40, 50))
    panel.choose_by.value = "index"
    panel.unit_text.value = "0-2, 7"
    panel.choose()
    assert panel.selection == [0, 1, 2, 7]
    panel.unit_text.value = "three"
    panel.choose()
    assert "cannot read" in panel.status.value and "three" in panel.status.value and panel.selection == [0, 1, 2, 7]
    # a click on a heatmap column picks its presynaptic unit
    clicked = dale_tab.connectivity.click_unit(12)
    assert clicked == int(dale_tab.connectivity.result.connectivity.order[12]) and clicked in panel.selection
    dale_tab.connectivity._on_click(None, {"data": {"row": 3, "column": 12}})  # again: toggles it off
    assert clicked not in panel.selection
    panel.kind.value = "clamp"
    panel.value.value = 2.0
    assert panel.wait(60) and panel.result.kind == "clamp"
    panel.kind.value = "silence"
    panel.clear()
    assert panel.wait(60)


def test_spectrum_of_a_fresh_gaussian_spectral_radius_network_shown_by_the_panel():
    task = pd_task()
    model = Basic(network_params(task, name="fresh_gsr", N_rec=50, spec_rad=1.1, dale_ratio=0.8, seed=11))
    tab = AnalysisTab(model, task, n_per_level=10, auto_refresh=False)
    assert tab.refresh(wait=True)
    panel = tab.connectivity
    assert panel.shown_spectral_radius == pytest.approx(1.1, abs=1e-3)
    shown = np.hypot(np.asarray(panel.eigenvalue_points.x, np.float64), np.asarray(panel.eigenvalue_points.y))
    assert shown.max() == pytest.approx(1.1, abs=1e-3)
    assert np.asarray(panel.unit_circle.x).size > 100
    np.testing.assert_allclose(panel.weights_heatmap.color, model.get_weights()["W_rec"], atol=1e-6)
    # E/I, then selectivity: excitatory columns first
    panel.sort_by.value = "E/I, then selectivity"
    color = np.asarray(panel.weights_heatmap.color)
    assert np.all(color[:, :40] >= 0) and np.all(color[:, 40:] <= 0)
    # the Jacobian at a state
    label = [v for _, v in panel.spectrum_of.options if v != "W_rec"][0]
    panel.spectrum_of.value = label
    assert len(panel.jacobian_points.x) == 50 and "Jacobian" in panel.spectrum_figure.title


def test_fixed_point_panel_finds_points_and_offers_their_jacobians(dale_tab, tmp_path):
    panel = dale_tab.fixed_points
    panel.max_iterations.value = 1000
    panel.n_initial.value = 48
    assert panel.find()
    assert panel.find_button.disabled and not panel.stop_button.disabled
    assert panel.wait(120), panel.status.value
    found = panel.result
    assert found is not None and len(found) >= 1 and np.all(found.q < panel.q_tolerance.value)
    assert len(panel.stable_points.x) + len(panel.unstable_points.x) == len(found)
    assert np.asarray(panel.trajectory_lines.y).shape[0] <= 12
    assert not panel.find_button.disabled and "points" in panel.summary.value
    options = [v for _, v in dale_tab.connectivity.spectrum_of.options]
    assert any(v.startswith("fixed point") for v in options)
    # export: figure and data, without a browser
    figure_path, data_path = panel.export.save(tmp_path / "fp.png")
    assert figure_path.stat().st_size > 1000 and data_path.suffix == ".npz"
    assert "points" in np.load(data_path)


def test_every_panel_exports_svg_and_arrays(dale_tab, tmp_path):
    for panel in dale_tab.panels[:4]:
        figure_path, data_path = panel.export.save(tmp_path / f"{panel.name}.svg")
        assert figure_path.read_text().lstrip().startswith("<?xml"), panel.name
        with np.load(data_path) as data:
            assert len(data.files) > 2
    empty = AnalysisTab(auto_refresh=False)
    assert empty.behaviour.export.save(tmp_path / "nothing.svg") is None
    assert not empty.refresh() and "no network" in empty.status.value


def test_lab_has_an_analysis_tab_that_follows_training():
    from psychrnn_widgets.widgets import Lab

    task = pd_task(N_batch=32, T=500)
    lab = Lab(task, network_params(task, N_rec=20), training_iters=320)
    assert lab.analysis in lab.view_tabs.children
    assert "Analysis" in lab.view_tabs.titles
    assert lab.analysis.n_refreshes == 0  # nothing computed while nobody trained
    lab.training.start_button.click()
    assert lab.training.wait(60) and lab.training.state == "done"
    assert wait_until(lambda: lab.analysis.n_refreshes == 1, 10)
    assert lab.analysis.wait(120)
    assert lab.analysis.behaviour.result is not None
    assert lab.analysis.source.N_rec == 20


def test_starting_training_drops_the_analysis_in_progress_and_it_runs_again_after_the_run():
    """A new run makes a running analysis stale and would take the CPU from training: it is dropped."""
    from psychrnn_widgets.widgets import Lab

    task = pd_task(N_batch=32, T=500)
    lab = Lab(task, network_params(task, N_rec=20), training_iters=320)
    lab.analysis.behaviour.n_per_level.value = 400  # a long analysis
    lab.training.start_button.click()
    assert lab.training.wait(60) and lab.training.state == "done"
    assert wait_until(lambda: lab.analysis.behaviour.job.running, 10)
    lab.training.budget.value = 32 * 200
    lab.training.start_button.click()  # while the first run's analysis computes
    assert wait_until(lambda: not any(panel.job.running for panel in lab.analysis.panels), 5)
    assert lab.training.running
    assert "not finished: training started" in lab.analysis.behaviour.status.value
    assert lab.analysis.behaviour.result is None  # nothing half-done is shown
    assert lab.training.wait(120) and lab.training.state == "done"
    assert wait_until(lambda: lab.analysis.n_refreshes == 2, 10) and lab.analysis.wait(120)
    assert lab.analysis.behaviour.result is not None
    assert "not finished" not in lab.analysis.behaviour.status.value


def test_a_background_job_cancelled_finishes_early_but_an_abandoned_one_shows_nothing():
    from psychrnn_widgets.widgets.analysis_common import BackgroundJob

    updater = ThrottledUpdater(max_rate_hz=1000)
    shown, progress = [], []
    job = BackgroundJob(updater, shown.append, lambda fraction, message: progress.append(message))

    def search(report, should_stop):  # like the fixed-point search: stops early, returns what it found
        found = 0
        while not should_stop() and found < 10_000:
            found += 1
            time.sleep(0.001)
        return found

    job.start(search)
    time.sleep(0.05)
    job.cancel()
    assert job.wait(5) and len(shown) == 1 and 0 < shown[0] < 10_000

    def simulation(report, should_stop):  # like an analysis: reports progress, checked at each report
        from psychrnn_widgets.analysis import checkpoints  # noqa: F401 - the job installs the check
        from psychrnn_widgets.analysis._source import checkpoint

        for k in range(10_000):
            checkpoint()
            time.sleep(0.001)
        return "complete"

    job.start(simulation)
    time.sleep(0.05)
    assert job.abandon("dropped: a test")
    assert job.wait(5) and len(shown) == 1  # no second result
    assert progress[-1] == "dropped: a test"
    assert not job.abandon("nothing runs")
