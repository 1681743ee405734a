"""Issue 22's rough edges, each held by a test (headless; the browser side is in tests/ui/).

The layout (one row of tabs), the budget changed while training runs and while paused,
one trial count in the status and progress lines and a clock that stops, the Analysis
tab never showing another network's results, distinct labels for loaded runs, the
kernel-restart note, a valid default fixed-point input, the Classroom's labels, the
task preview's legend, the notebooks' text and stored outputs, and the ``[lab]`` extra.
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("bqplot")
pytest.importorskip("anywidget")

from helpers import network_params, wait_until  # noqa: E402
from psychrnn_widgets import PerceptualDiscrimination  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def small_task(**kwargs):
    return PerceptualDiscrimination(dt=10, tau=100, T=500, N_batch=32, seed=0, **kwargs)


def progress_counts(panel):
    """(trials, target) of the progress line, and the status line's trial count."""
    value = panel.status.value
    done, target = re.search(r"([\d,]+)/([\d,]+) trials", value).groups()
    status_trials = re.search(r"step [\d,]+ · ([\d,]+) trials", value).group(1)
    as_int = lambda text: int(text.replace(",", ""))  # noqa: E731
    return as_int(done), as_int(target), as_int(status_trials)


# ------------------------------------------------------------------ layout
def test_lab_is_one_row_of_tabs_under_the_training_panel():
    import ipywidgets as widgets

    from psychrnn_widgets.widgets import Lab
    from psychrnn_widgets.widgets.styles import ROOT_CLASS

    task = small_task()
    lab = Lab(task, network_params(task, N_rec=12))
    assert ROOT_CLASS in lab._dom_classes and "psychrnn-lab" in lab._dom_classes
    # no side-by-side columns: the training panel, then one Tab holding every other panel
    assert not any(isinstance(child, widgets.HBox) and lab.training in child.children for child in lab.children)
    assert lab.training in lab.children and lab.tabs in lab.children
    assert list(lab.tabs.titles) == ["Task", "Network", "Connectivity", "Runs", "Trajectories (PCA)", "3-D",
                                     "Analysis"]
    assert lab.tabs.children[lab.tabs.selected_index] is lab.trajectories  # what Start changes is in view
    assert lab.setup_tabs is lab.tabs and lab.view_tabs is lab.tabs
    assert lab.show_tab(lab.analysis) and lab.tabs.children[lab.tabs.selected_index] is lab.analysis
    # the style sheet (hidden tabs keep their size: no negative clip rectangles) and the restart note
    sheet = [c for c in lab.children if "psychrnn-style" in c._dom_classes]
    assert len(sheet) == 1 and sheet[0].layout.display == "none" and "lm-mod-hidden" in sheet[0].value


def test_kernel_restart_note_is_shown_by_the_style_sheet_when_the_views_are_disconnected():
    from psychrnn_widgets.widgets import Classroom, Lab
    from psychrnn_widgets.widgets.styles import DISCONNECTED_TEXT, STYLE

    task = small_task()
    for dashboard in (Lab(task, network_params(task, N_rec=12)), Classroom(task)):
        note = dashboard.disconnected_note
        assert note in dashboard.children and "psychrnn-disconnected-note" in note._dom_classes
        assert "Run the cell again" in note.value and DISCONNECTED_TEXT in note.value
    # ipywidgets marks every view of a closed comm "jupyter-widgets-disconnected" (kernel restarted or dead):
    # the note is hidden unless the dashboard's root carries that class
    assert ".psychrnn-root .psychrnn-disconnected-note { display: none !important; }" in STYLE
    assert ".psychrnn-root.jupyter-widgets-disconnected .psychrnn-disconnected-note" in STYLE


# ------------------------------------------------------------------ training panel
def test_budget_can_be_raised_while_paused_and_the_run_goes_on_to_it():
    from psychrnn_widgets.widgets import Lab

    task = small_task()
    lab = Lab(task, network_params(task, N_rec=12), training_iters=32 * 2000)
    panel = lab.training
    panel.start()
    assert wait_until(lambda: panel.trials >= 32 * 3, 60)
    panel.pause()
    assert wait_until(lambda: panel.control.waiting.is_set(), 30)
    assert not panel.budget_control.disabled and not panel.learning_rate_control.disabled  # while paused
    panel.budget.value = 32 * 20  # lower than the run's 2000 steps, more than trained so far
    panel.learning_rate.value = 0.01
    panel.resume()
    assert not panel.budget_control.disabled  # while running
    assert panel.wait(60) and panel.state == "done", panel.status.value
    assert panel.trials == 32 * 20 and panel.trainer.learning_rate == pytest.approx(0.01)
    done, target, status_trials = progress_counts(panel)
    assert done == target == status_trials == 32 * 20  # one trial count everywhere

    # a second Start counts on from the network's trials; the budget raised during the run is honoured
    panel.budget.value = 32 * 5
    panel.start()
    panel.budget.value = 32 * 30
    assert panel.wait(60) and panel.state == "done", panel.status.value
    assert panel.trials == 32 * 50
    done, target, status_trials = progress_counts(panel)
    assert done == target == status_trials == 32 * 50


def test_budget_lowered_below_the_trials_trained_ends_the_run_as_done():
    from psychrnn_widgets.widgets import Lab

    task = small_task()
    lab = Lab(task, network_params(task, N_rec=12), training_iters=32 * 100000)
    panel = lab.training
    panel.start()
    assert wait_until(lambda: panel.trials >= 32 * 5, 60)
    panel.budget.value = 32
    assert panel.state in ("stopping", "done")
    assert panel.wait(60) and panel.state == "done", panel.status.value


def test_progress_clock_stops_and_no_time_left_after_stop(monkeypatch):
    from psychrnn_widgets.widgets import Lab, training_panel

    task = small_task()
    lab = Lab(task, network_params(task, N_rec=12), training_iters=32 * 100000)
    panel = lab.training
    panel.start()
    assert wait_until(lambda: panel.trials >= 32 * 3 and "&lt;" in panel.status.value, 60), panel.status.value
    panel.stop()
    assert panel.wait(60) and panel.state == "stopped"
    text = panel.status.value
    assert "&lt;" not in text  # the estimate of the time left is gone
    clock = re.search(r"\[([\d:]+)", text).group(1)
    real = training_panel.time.monotonic
    monkeypatch.setattr(training_panel.time, "monotonic", lambda: real() + 3600.0)  # an hour later
    assert re.search(r"\[([\d:]+)", panel._status_html()).group(1) == clock  # the clock stopped at the end
    done, target, status_trials = progress_counts(panel)
    assert done == status_trials and target == 32 * 100000


def test_progress_line_counts_the_trials_the_status_line_counts_when_a_batch_overshoots_the_budget():
    from psychrnn_widgets.widgets import Lab

    task = small_task()
    lab = Lab(task, network_params(task, N_rec=12), training_iters=100)  # 4 steps of 32: 128 trials
    panel = lab.training
    panel.start()
    assert panel.wait(60) and panel.state == "done"
    done, target, status_trials = progress_counts(panel)
    assert (done, target, status_trials) == (128, 100, 128)


def test_runs_table_follows_the_running_network_not_only_its_end():
    from psychrnn_widgets.widgets import Lab

    task = small_task()
    lab = Lab(task, network_params(task, N_rec=12), training_iters=32 * 100000)
    panel, runs = lab.training, lab.history_panel
    column = runs.table.columns.index("trials")

    def shown(name):
        text = re.sub(r"<[^>]+>", "", runs._cells[0][runs.table.columns.index(name)].value)
        return float(text.replace(",", "")) if text.strip() else None

    panel.start()
    # while the run goes on, the row's trial count moves with the network's (one cell a second, trials every 2 s)
    assert wait_until(lambda: panel.trials >= 32 * 20 and (shown("trials") or 0) > 0, 60), runs._cells[0][column].value
    first = shown("trials")
    assert panel.state == "running" and 0 < first <= panel.trials
    assert wait_until(lambda: (shown("trials") or 0) > first, 30), (first, panel.trials)
    assert wait_until(lambda: (shown("wall time (s)") or 0) > 0 and shown("final loss") is not None, 30)
    panel.stop()
    assert panel.wait(60) and panel.state == "stopped"
    # when the run ends the row holds the network's own count, as the status line does
    assert shown("trials") == panel.trials


# ------------------------------------------------------------------ analysis follows the shown network
def test_analysis_never_shows_another_networks_results_after_bring_back():
    from psychrnn_widgets.widgets import Lab

    task = small_task()
    lab = Lab(task, network_params(task, N_rec=12), training_iters=32 * 20)
    first = lab.current_record
    lab.training.start()
    assert lab.training.wait(60)
    assert lab.analysis.wait(120)
    behaviour = lab.analysis.behaviour
    assert "accuracy" in behaviour.fit_label.value and behaviour.computing_for is None
    first_label = behaviour.fit_label.value

    lab.rebuild()  # a new, untrained network: the first one's results vanish at once
    second = lab.current_record
    assert second is not first
    assert behaviour.fit_label.value == "" and "psychrnn-analysis-computing" in behaviour._dom_classes
    assert "not trained yet" in lab.analysis.status.value and second.label in lab.analysis.status.value
    lab.training.start()
    assert lab.training.wait(60) and lab.analysis.wait(120)
    assert "accuracy" in behaviour.fit_label.value and "psychrnn-analysis-computing" not in behaviour._dom_classes

    lab.bring_back(first)  # at once, before any computation: blank, faded, "computing…" for the first network
    assert behaviour.fit_label.value == "" and "psychrnn-analysis-computing" in behaviour._dom_classes
    assert behaviour.computing_for == first.label and "computing" in behaviour.status.value
    assert lab.analysis.wait(120)
    assert behaviour.fit_label.value == first_label  # the same trials, the same network: the same numbers
    assert "psychrnn-analysis-computing" not in behaviour._dom_classes
    for panel in (lab.analysis.lesions, lab.analysis.fixed_points):
        assert panel.result_texts and all(getattr(panel, name).value == "" or panel.computing_for is None
                                          for name in panel.result_texts)


def test_loaded_run_gets_a_label_of_its_own(tmp_path):
    from psychrnn_widgets.widgets import Lab
    from psychrnn_widgets.widgets.history import load_record, save_record

    task = small_task()
    lab = Lab(task, network_params(task, N_rec=12))
    record = lab.current_record
    save_record(record, tmp_path / "run")
    for _ in range(2):
        assert lab.bring_back(load_record(tmp_path / "run"))
    labels = [r.label for r in lab.history.records]
    assert len(labels) == 3 and len(set(labels)) == 3, labels
    assert labels[1] == f"{record.label} (loaded)" and labels[2] == f"{record.label} (loaded 2)"


def test_fixed_point_input_starts_on_a_valid_choice():
    from psychrnn_widgets.widgets.analysis_fixed_points import NO_INPUT, FixedPointPanel
    from psychrnn_widgets.widgets.throttle import ThrottledUpdater

    panel = FixedPointPanel(ThrottledUpdater())
    choice = panel.input_choice
    # a Dropdown whose value is None shows a blank box (None means "nothing selected")
    assert choice.value == NO_INPUT and choice.index == 0 and choice.label == "no input (zeros)"
    from psychrnn_widgets.analysis._source import as_simulator
    from psychrnn_widgets import Basic

    task = small_task()
    panel.set_source(as_simulator(Basic(network_params(task, N_rec=8))), task)
    assert choice.index == 0 and choice.value == NO_INPUT and len(choice.options) > 1


# ------------------------------------------------------------------ Classroom and previews
def test_classroom_labels_each_control_once_and_keeps_three_plots_on_its_main_screen():
    from psychrnn_widgets.widgets import Classroom

    room = Classroom(small_task())

    def texts(widget):
        out = []
        for attribute in ("description", "value"):
            value = getattr(widget, attribute, None)
            if isinstance(value, str):
                out.append(value)
        for child in getattr(widget, "children", ()):
            if child is not room.more:
                out.extend(texts(child))
        return out

    shown = [re.sub(r"<[^>]+>", "", t) for t in texts(room) if "<style>" not in t]  # tooltips are not labels
    assert [t for t in shown if "Dale's law" in t] == ["Dale's law"], shown
    # one label per control: the connection-density slider is named once, in plain language
    assert [t for t in shown if "density" in t.lower()] == ["Connection density"], shown
    figures = room.children[room.children.index(room.more) - 1]
    assert len(figures.children) == 3


def test_task_preview_legend_is_beside_the_plot_not_over_it():
    from psychrnn_widgets.widgets.task_panel import TaskPanel

    from psychrnn_widgets.tasks import ProAntiSaccade

    panel = TaskPanel(ProAntiSaccade(N_batch=4))
    assert not any(line.display_legend for line in panel.preview.marks)
    assert "in 0" in panel.preview_legend.value and "target 0" in panel.preview_legend.value


def test_loss_axis_ticks_are_powers_of_ten():
    from psychrnn_widgets.widgets import Lab

    task = small_task()
    lab = Lab(task, network_params(task, N_rec=12), training_iters=32 * 20)
    lab.training.start()
    assert lab.training.wait(60)
    axis = lab.training.loss_figure.axes[1]
    ticks = np.asarray(axis.tick_values, float)
    assert len(ticks) >= 1 and np.allclose(np.log10(ticks), np.round(np.log10(ticks)))


# ------------------------------------------------------------------ notebooks and packaging
def test_quickstart_text_is_true_to_the_layout():
    cells = json.loads((ROOT / "notebooks" / "quickstart.ipynb").read_text())["cells"]
    text = " ".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    assert "on the right" not in text and "tabs below" in text


TF_LOG = re.compile(r"oneDNN|tensorflow/core|absl::|cuda|TensorRT|This TensorFlow binary|I0000|W0000")


@pytest.mark.parametrize("notebook", sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb")))
def test_no_tensorflow_log_lines_in_stored_outputs(notebook):
    cells = json.loads((ROOT / "notebooks" / notebook).read_text())["cells"]
    for cell in cells:
        for output in cell.get("outputs", []):
            text = "".join(output.get("text", "")) + "".join(output.get("data", {}).get("text/plain", ""))
            assert not TF_LOG.search(text), f"{notebook}: {text[:300]}"


def test_new_model_notebook_first_cell_prints_nothing_to_stderr():
    """The first code cell of notebooks/new_model.ipynb, run in a fresh interpreter with TensorFlow's default
    log level: nothing on stderr (the red box a reader saw)."""
    cells = json.loads((ROOT / "notebooks" / "new_model.ipynb").read_text())["cells"]
    source = "".join(next(c for c in cells if c["cell_type"] == "code")["source"])
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "PSYCHRNN_WIDGETS_TF_VERBOSE")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-c", source], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr.strip() == "", done.stderr[-2000:]


def test_lab_extra_brings_what_the_notebooks_import():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]

    def resolve(name, seen=()):
        out = []
        for requirement in extras[name]:
            match = re.match(r"psychrnn_widgets\[(\w+)\]", requirement)
            out += resolve(match.group(1), seen + (name,)) if match else [requirement]
        return out

    lab = " ".join(resolve("lab"))
    for needed in ("distributed", "filelock", "jupyterlab", "notebook", "voila", "scipy", "matplotlib", "bqplot"):
        assert needed in lab, needed
    sweeps = json.loads((ROOT / "notebooks" / "sweeps.ipynb").read_text())["cells"]
    text = " ".join("".join(c["source"]) for c in sweeps)
    assert 'pip install "psychrnn_widgets[sweeps]"' not in text and 'pip install -e ".[cpu,lab]"' in text


def test_behaviour_curves_send_only_finite_points_to_the_browser():
    """A level with no reaction time (NaN) must not reach bqplot: it draws a path "null" and a marker at
    "translate(x, undefined)", and the browser console logs an error for each (issue 22's console errors)."""
    from psychrnn_widgets.widgets.analysis_behaviour import BehaviourPanel
    from psychrnn_widgets.widgets.throttle import ThrottledUpdater

    panel = BehaviourPanel(ThrottledUpdater(), n_per_level=4)
    levels = np.array([-0.5, 0.0, 0.5])
    panel.learning_curves = {
        0: {"trials": 100, "levels": levels, "p_choice1": np.array([0.1, 0.5, 0.9]), "accuracy": 0.8,
            "rt_levels": levels, "mean_rt": np.array([300.0, np.nan, 250.0])},
        1: {"trials": 200, "levels": levels, "p_choice1": np.array([0.0, 0.5, 1.0]), "accuracy": 0.9,
            "rt_levels": levels, "mean_rt": np.full(3, np.nan)},
    }
    panel._draw_learning()
    for line in (panel.learning_lines, panel.chronometric_learning_lines):
        assert np.isfinite(line.x).all() and np.isfinite(line.y).all()
    assert panel.learning_lines.x.shape == (2, 3)
    # the stage with no reaction time at all draws no line; the other one its two finite points
    np.testing.assert_array_equal(np.atleast_2d(panel.chronometric_learning_lines.y), [[300.0, 250.0]])


def test_parallel_coordinates_never_names_a_column_outside_its_scale():
    """The browser applies the widget messages one at a time; a mark naming a column its ordinal scale does not
    know is drawn at NaN ("translate(NaN, ...)" console errors).  Checked at every change, in the order sent."""
    from psychrnn_widgets.widgets.parallel_coordinates import ParallelCoordinates

    view = ParallelCoordinates()
    bad = []

    def check(_):
        domain = set(view.x_scale.domain or [])
        for mark in (view.lines, view.axis_lines, view.bottom_labels, view.top_labels):
            named = {str(v) for v in np.asarray(mark.x).ravel()}
            if not named <= domain:
                bad.append((sorted(named - domain), sorted(domain)))

    for widget, name in ((view.x_scale, "domain"), (view.lines, "x"), (view.axis_lines, "x"),
                         (view.bottom_labels, "x"), (view.top_labels, "x")):
        widget.observe(check, names=name)
    view.set_data(["N_rec", "loss"], [{"N_rec": 50, "loss": 0.1}, {"N_rec": 80, "loss": 0.2}])
    view.set_data(["learning rate", "accuracy"], [{"learning rate": 0.01, "accuracy": 0.9},
                                                  {"learning rate": 0.001, "accuracy": 0.7}])
    assert not bad, bad
    assert list(view.x_scale.domain) == ["learning rate", "accuracy"]
