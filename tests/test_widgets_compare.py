"""The Compare panel of the Analysis tab (issue 23): two networks, a network and its checkpoints, a network and
recorded activity; registered like the other panels, following the Lab's state, displaying plain analysis results."""
import numpy as np
import pytest

from psychrnn_widgets import PerceptualDiscrimination, analysis
from psychrnn_widgets.errors import ParameterError
from psychrnn_widgets.widgets import AnalysisTab
from psychrnn_widgets.widgets.analysis_catalog import analysis_panels
from psychrnn_widgets.widgets.analysis_compare import CHECKPOINTS, CURRENT, FILE, MAX_TRAJECTORIES, ComparePanel, file_kind

N_IN, N_REC, N_OUT = 2, 12, 2
N_TRIALS = 12


def weights(seed, scale=1.2):
    rng = np.random.default_rng(seed)
    return dict(W_in=np.abs(rng.normal(size=(N_REC, N_IN))), W_rec=rng.normal(size=(N_REC, N_REC)) * scale / np.sqrt(N_REC),
                W_out=rng.normal(size=(N_OUT, N_REC)), b_rec=rng.normal(size=N_REC) * 0.1, b_out=np.zeros(N_OUT),
                init_state=rng.normal(size=N_REC) * 0.1, dt=10.0, tau=100.0)


@pytest.fixture(scope="module")
def task():
    return PerceptualDiscrimination(dt=10, tau=100, T=500, N_batch=8, seed=1)


def make_tab(task, **kwargs):
    tab = AnalysisTab(weights(1), task, auto_refresh=False, **kwargs)
    tab.compare.n_trials = N_TRIALS
    tab.compare.dsa_options = {"n_starts": 2, "n_iterations": 100, "rank": 6, "n_delays": 4}
    return tab


def test_registered_as_an_analysis_panel(task):
    assert ("compare", "Compare", ComparePanel) in analysis_panels()
    tab = make_tab(task)
    assert isinstance(tab.compare, ComparePanel) and tab.compare in tab.panels
    assert "psychrnn-analysis-compare" in tab.compare._dom_classes
    assert "psychrnn-measures-figure" in tab.compare.measures_figure._dom_classes
    assert "psychrnn-detail-figure" in tab.compare.detail_figure._dom_classes
    assert tab.compare.refresh() is False and tab.compare.result is None  # the tab's refresh computes nothing


def test_two_networks_give_the_measures_of_analysis_compare(task, tmp_path):
    tab = make_tab(task)
    panel = tab.compare
    panel.add_network("first", weights(1), task)
    panel.add_network("second", weights(2), task)
    assert list(panel.a_choice.options) == [CURRENT, "first", "second"]
    assert list(panel.b_choice.options) == ["first", "second", CHECKPOINTS, FILE]
    panel.a_choice.value, panel.b_choice.value = "first", "second"
    assert panel.compare(wait=True), panel.status.value
    assert panel.job.error is None, panel.job.error
    assert panel.mode == "networks" and panel.labels == ("first", "second")
    expected = analysis.compare(weights(1), weights(2), task, metrics=("cka", "procrustes", "dsa"), n_trials=N_TRIALS,
                                dsa_options=panel.dsa_options).values()
    np.testing.assert_allclose([panel.result.values()[k] for k in expected], list(expected.values()), rtol=1e-6)
    assert list(panel.measure_bars.x) == ["CKA", "Procrustes", "DSA"]
    np.testing.assert_allclose(panel.measure_bars.y, list(expected.values()), rtol=1e-5)
    assert len(panel.detail_lines.x) == 2 * min(MAX_TRAJECTORIES, N_TRIALS)  # A's trials and B's, aligned
    assert "first" in panel.summary.value and "CKA" in panel.summary.value
    assert not panel.compare_button.disabled
    figure_path, data_path = panel.export.save(str(tmp_path / "compare.png"))
    assert figure_path.stat().st_size > 1000 and "cka__value" in np.load(data_path).files
    svg, _ = panel.export.save(str(tmp_path / "compare.svg"))
    assert svg.read_text().lstrip().startswith("<?xml")


def test_a_network_against_itself_gives_the_known_answers(task):
    tab = make_tab(task)
    panel = tab.compare
    panel.add_network("same", weights(3), task)
    panel.add_network("copy", weights(3), task)
    panel.measure_boxes["cca"].value = True
    panel.measure_boxes["dsa"].value = False
    panel.a_choice.value, panel.b_choice.value = "same", "copy"
    panel.compare(wait=True)
    values = panel.result.values()
    assert values["cka"] == pytest.approx(1.0, abs=1e-9) and values["cca"] == pytest.approx(1.0, abs=1e-6)
    assert values["procrustes"] == pytest.approx(0.0, abs=1e-6)
    assert list(panel.measure_bars.x) == ["CKA", "Procrustes", "SVCCA"]


def test_a_network_and_its_checkpoints(task):
    from psychrnn_widgets import Basic, Trainer

    params = {**task.get_task_params(), "name": "compare_checkpoints", "N_rec": N_REC, "seed": 4}
    model = Basic(params)
    try:
        tab = make_tab(task)
        panel = tab.compare
        panel.add_network("trained", model, task)
        panel.a_choice.value, panel.b_choice.value = "trained", CHECKPOINTS
        assert not panel.compare()  # no checkpoints yet: said, nothing started
        assert "checkpoint_every" in panel.status.value and panel.result is None
        store = Trainer.of(model).checkpoints
        store.configure(1, 10, None)
        final = model.get_weights()
        rng = np.random.default_rng(0)
        for step, noise in enumerate((1.0, 0.3, 0.0)):
            w = {k: (v + noise * rng.normal(size=v.shape) * (k == "W_rec")) if isinstance(v, np.ndarray) else v
                 for k, v in final.items()}
            store.take(step, step * 8, w)
        panel.measure_boxes["dsa"].value = False
        assert panel.compare(wait=True) and panel.job.error is None, panel.status.value
        assert panel.mode == "checkpoints" and len(panel.result) == 3
        np.testing.assert_array_equal(panel.result.trials, [0, 8, 16])
        assert panel.result.procrustes[-1] == pytest.approx(0.0, abs=1e-6)
        assert panel.result.procrustes[0] > panel.result.procrustes[1] > 0
        assert len(panel.detail_lines.x) == 2 and panel.measure_bars.y[0] > 0  # one line per measure
        assert "3 checkpoints" in panel.summary.value
    finally:
        model.destruct()


def test_a_network_and_recorded_activity(task):
    from psychrnn_widgets import ContextDependentIntegration

    tab = make_tab(task)
    panel = tab.compare
    panel.add_network("CDI example", analysis.EXAMPLE_NETWORK, ContextDependentIntegration())
    panel.a_choice.value, panel.b_choice.value = "CDI example", FILE
    panel.path.value = str(analysis.EXAMPLE_RECORDINGS)
    assert panel.compare(wait=True, timeout=600) and panel.job.error is None, panel.status.value
    assert panel.mode == "recordings"
    assert isinstance(panel.result, analysis.RecordingFit)
    assert panel.result.mean_r2 > 0.8 and panel.result.cka > 0.9  # data/README.md: 0.92 and 0.93
    assert list(panel.measure_bars.x) == ["mean R²", "median R²", "CKA"]
    assert "30 neurons" in panel.summary.value


def test_a_weight_file_as_b(task, tmp_path):
    from psychrnn_widgets.io.weight_files import save_weights

    path = save_weights(tmp_path / "other.npz", weights(5))
    assert file_kind(path) == "weights" and file_kind(analysis.EXAMPLE_RECORDINGS) == "recordings"
    tab = make_tab(task)
    panel = tab.compare
    panel.add_network("mine", weights(5), task)
    panel.measure_boxes["dsa"].value = False
    panel.a_choice.value, panel.b_choice.value, panel.path.value = "mine", FILE, str(path)
    panel.compare(wait=True)
    assert panel.mode == "networks" and panel.result.values()["cka"] == pytest.approx(1.0)


def test_bad_choices_are_said_in_the_panel_naming_the_parameter(task, tmp_path):
    tab = make_tab(task)
    panel = tab.compare
    panel.add_network("x", weights(1), task)
    panel.a_choice.value, panel.b_choice.value = "x", FILE
    panel.path.value = str(tmp_path / "missing.npz")
    assert not panel.compare() and "no file" in panel.status.value
    (tmp_path / "text.npz").write_text("not an npz")
    panel.path.value = str(tmp_path / "text.npz")
    assert not panel.compare() and "not an .npz" in panel.status.value
    panel.b_choice.value = "x"
    for box in panel.measure_boxes.values():
        box.value = False
    assert not panel.compare() and "measure" in panel.status.value
    with pytest.raises(ParameterError) as caught:
        file_kind(tmp_path / "missing.npz")
    assert caught.value.parameter == "path"
    for label in ("", CHECKPOINTS, 3):
        with pytest.raises(ParameterError) as caught:
            panel.add_network(label, weights(1))
        assert caught.value.parameter == "label"
    panel.a_choice.value = CURRENT  # the tab has analysed nothing yet
    panel.measure_boxes["cka"].value = True
    assert not panel.compare() and "no network" in panel.status.value


def test_the_lab_history_is_offered_and_followed(task):
    from psychrnn_widgets.widgets.lab_state import LabState

    state = LabState(task)
    state.network_params = {"N_rec": 8}
    first = state.run
    assert first is not None
    tab = AnalysisTab(updater=None, auto_refresh=False, lab_state=state)
    panel = tab.compare
    assert tab.shared.lab_state is state
    assert list(panel.a_choice.options) == [CURRENT, first.label]
    state.network_params = {"N_rec": 9}
    if state.run is first:  # the first network counts as touched: build the second by hand
        state.build()
    second = state.run
    assert second is not first
    assert list(panel.a_choice.options) == [CURRENT, first.label, second.label]  # followed, never called
    assert panel.b_choice.options[:2] == (first.label, second.label)
    panel.a_choice.value, panel.b_choice.value = CURRENT, first.label
    tab.refresh()
    panel.measure_boxes["dsa"].value = False
    panel.n_trials = 6
    # the Lab's current network is A: 9 units against 8 (unit counts may differ)
    assert panel.compare(wait=True) and panel.job.error is None, panel.status.value
    assert panel.result.cka.n_units_a == 9 and panel.result.cka.n_units_b == 8
    tab.wait(300)
    # another network becomes the current one: a comparison of "the current network" is blanked and faded...
    panel.mark_computing("#3")
    assert panel.summary.value == "" and "psychrnn-analysis-computing" in panel._dom_classes
    # ... one between named runs still holds and stays
    panel.a_choice.value = second.label
    assert panel.compare(wait=True) and panel.job.error is None, panel.status.value
    assert "psychrnn-analysis-computing" not in panel._dom_classes
    shown = panel.summary.value
    panel.mark_computing("#3")
    assert panel.summary.value == shown and "psychrnn-analysis-computing" not in panel._dom_classes


def test_a_run_started_from_the_training_panel_keeps_checkpoints_to_compare(task):
    """In the Lab a run is started from the training panel: it keeps at most keep_checkpoints (20), evenly spaced,
    so B = "checkpoints of A" works for it."""
    from psychrnn_widgets import Basic, Trainer
    from psychrnn_widgets.widgets.training_panel import TrainingPanel

    model = Basic({**task.get_task_params(), "name": "panel_checkpoints", "N_rec": N_REC, "seed": 6})
    try:
        training = TrainingPanel(model, task, training_iters=task.N_batch * 50)  # 50 steps
        assert training.start()
        assert training.wait(300) and training.state == "done", training.status.value
        kept = Trainer.of(model).checkpoints
        epochs = kept.epochs.tolist()
        assert 2 <= len(kept) <= training.keep_checkpoints and epochs[0] == 0 and epochs[-1] == 50, epochs
        assert len(set(np.diff(epochs[:-1]).tolist())) <= 1  # evenly spaced (the last one: the end of the run)
        tab = make_tab(task)
        panel = tab.compare
        panel.add_network("panel run", model, task)
        panel.a_choice.value, panel.b_choice.value = "panel run", CHECKPOINTS
        panel.measure_boxes["dsa"].value = False
        assert panel.compare(wait=True) and panel.job.error is None, panel.status.value
        assert panel.mode == "checkpoints" and len(panel.result) == len(epochs)
        np.testing.assert_array_equal(panel.result.trials, np.array(epochs) * task.N_batch)
    finally:
        model.destruct()
