"""The sweep panel, headless: the table and the curves follow a sweep, Open loads a run into the Lab's Analysis tab."""
import numpy as np
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("bqplot")

from psychrnn_widgets import PerceptualDiscrimination, Sweep  # noqa: E402
from psychrnn_widgets.widgets.sweep_panel import SweepPanel  # noqa: E402
from psychrnn_widgets.widgets.throttle import ThrottledUpdater  # noqa: E402


def tiny_sweep(path):
    return Sweep(PerceptualDiscrimination, task_params=dict(dt=10, tau=100, T=300, N_batch=8),
                 network_params=dict(N_rec=8), train_params=dict(training_iters=8 * 30, loss_epoch=2),
                 axes={"learning_rate": [0.001, 0.01]}, repeats=2, seed=0, registry=path)


def test_panel_follows_a_sweep_and_opens_a_run_in_the_lab(tmp_path):
    from psychrnn_widgets.widgets.lab import Lab

    sweep = tiny_sweep(tmp_path / "reg")
    updater = ThrottledUpdater(max_rate_hz=10)
    lab = Lab(PerceptualDiscrimination(dt=10, tau=100, T=300, N_batch=8), dict(N_rec=8))
    panel = SweepPanel(sweep, lab=lab, updater=updater, max_curves=3, run_options=dict(in_process=True))
    assert "4 runs" in panel.status.value and panel.table.value.count("missing") == 4
    assert panel.run_picker.options == ()

    panel.start_button.click()  # in_process: the pass runs on the panel's background thread
    assert panel.wait(timeout=180)
    assert panel.execution.error is None and panel.execution.summary()["statuses"] == {"finished": 4}
    assert "4 finished" in panel.status.value and panel.table.value.count("finished") == 4
    drawn = [line for line in panel.loss_lines if len(line.x)]
    assert drawn and all(line.x.dtype == np.float32 and len(line.x) == len(line.y) for line in drawn)
    assert len(drawn[0].x) == 15  # one point every loss_epoch = 2 steps of 30
    assert updater.rate() <= 12 and not updater.errors
    assert len(panel.run_picker.options) == 4 and not panel.start_button.disabled
    # issue 22: parallel coordinates over the registry's runs (swept value, final loss, accuracy)
    columns = panel.parallel.columns
    assert columns[0] == "learning_rate" and columns[-2:] == ["final loss", "accuracy"]
    assert panel.parallel.lines.y.shape == (4, len(columns))

    panel.run_picker.value = sweep.runs[2].run_id
    panel.open_button.click()
    assert panel.opened is not None and lab.model is panel.opened
    assert lab.view_tabs.children[lab.view_tabs.selected_index] is lab.analysis
    assert "sweep run #2" in lab.current_record.label
    x, _, _, _ = sweep.runs[2].build_task().get_trial_batch()
    weights = sweep.registry.load_weights(sweep.runs[2].run_id)
    np.testing.assert_allclose(lab.model.get_weights()["W_rec"], weights["W_rec"], atol=1e-6)


def test_panel_shows_existing_records_and_calls_on_open(tmp_path):
    sweep = tiny_sweep(tmp_path / "reg")
    sweep.run(in_process=True)
    opened = []
    panel = SweepPanel(sweep, on_open=lambda model, task, row: opened.append((model, task, row)))
    assert panel.table.value.count("finished") == 4 and len(panel.run_picker.options) == 4
    columns, rows, colours, labels = panel.parallel_rows()  # a sweep run before: its registry's results
    assert columns[0] == "learning_rate" and columns[-2:] == ["final loss", "accuracy"]
    assert labels == ["#0", "#1", "#2", "#3"]
    assert sorted(row["learning_rate"] for row in rows) == [0.001, 0.001, 0.01, 0.01]
    assert all(0.0 <= row["accuracy"] <= 1.0 for row in rows)
    assert panel.parallel.lines.y.shape == (4, len(columns)) and len(set(colours)) == 4
    model = panel.open(sweep.runs[1].run_id)
    assert opened and opened[0][0] is model and opened[0][2]["status"] == "finished"
    assert model.test(opened[0][1].get_trial_batch()[0], noise=False)[0].shape == (8, 30, 2)
    panel.start()  # everything is finished: nothing trains, the pass ends at once
    assert panel.wait(timeout=60) and panel.execution.skipped == 4
