"""Issue 22, the research-notebook half: compare runs in the Runs table, reproduce a run as code, share it as one file.

Must-show 1: two runs with different settings -> the table shows the differing settings;
selecting one changes what the overlays draw; the CSV export parses back to the same rows.
Must-show 2: "Copy as code" for a trained run, executed in a fresh subprocess, reproduces its
weights within 1e-6.  Must-show 3: a run saved as one file opens in a fresh Lab and in the
Classroom with identical weights, settings and curves; every shipped example opens and scores
what its card says.
"""
import csv
import io
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("bqplot")

from helpers import REPO, network_params  # noqa: E402
from psychrnn_widgets import MatchToCategory, PerceptualDiscrimination  # noqa: E402
from psychrnn_widgets.errors import ParameterError  # noqa: E402

WEIGHT_KEYS = ("W_in", "W_rec", "W_out", "b_rec", "b_out", "init_state")


def small_task(**kwargs):
    return PerceptualDiscrimination(dt=10, tau=100, T=500, N_batch=32, seed=0, **kwargs)


def train(lab, trials, learning_rate=None):
    if learning_rate is not None:
        lab.training.learning_rate.value = learning_rate
    lab.training.budget.value = trials
    assert lab.start()
    assert lab.training.wait(300), "the run did not end"
    assert lab.training.outcome == "done", lab.training.status.value


def visible_overlays(lines):
    return [(line.labels[0], line.colors[0]) for line in lines if line.visible]


# ------------------------------------------------------------------------ must-show 1
def test_two_runs_table_shows_differing_settings_selection_drives_overlays_and_csv_round_trips(tmp_path):
    from psychrnn_widgets.widgets import Lab

    task = small_task()
    lab = Lab(task, network_params(task, N_rec=20), training_iters=32 * 10)
    train(lab, 32 * 10)
    lab.network_panel.parameter_controls["N_rec"].value = 28
    train(lab, 32 * 15, learning_rate=0.004)  # Start builds the 28-unit network (the first is kept)
    first, second = lab.history.records
    panel = lab.history_panel

    table = panel.table
    assert [r.label for r in table.records] == [first.label, second.label]
    assert {"N_rec", "learning_rate"} <= set(table.varying)
    assert "dale_ratio" not in table.varying and "spec_rad" not in table.varying  # equal: not shown
    assert table.columns[:3] == ["label", "task", "model"]
    assert table.columns[-4:] == ["trials", "wall time (s)", "final loss", "accuracy"]
    by_label = {row["label"]: row for row in table.rows}
    assert by_label[first.label]["N_rec"] == 20 and by_label[second.label]["N_rec"] == 28
    assert by_label[first.label]["learning_rate"] == 0.001 and by_label[second.label]["learning_rate"] == 0.004
    assert by_label[first.label]["trials"] == 320 and by_label[second.label]["trials"] == 480
    assert by_label[second.label]["final loss"] == pytest.approx(second.final("loss"), rel=1e-5)
    assert all(row["wall time (s)"] > 0 for row in table.rows)
    # the grid shows a header per column and the values
    headers = [b.description.split(" ")[0] for b in panel.header_buttons.values()]
    assert "N_rec" in headers and "learning_rate" in headers
    cells = " ".join(w.value for w in panel.grid.children if hasattr(w, "value") and isinstance(w.value, str))
    assert "28" in cells and "0.004" in cells
    # sorting by a header
    panel.header_buttons["N_rec"].click()
    assert [r["N_rec"] for r in panel.displayed_rows()] == [20, 28]
    panel.header_buttons["N_rec"].click()
    assert [r["N_rec"] for r in panel.displayed_rows()] == [28, 20]

    # both runs are compared by default: the first is drawn behind the current (second) one, in its colour
    assert lab.state.compared == (0, 1)
    colours = (lab.history.colour_of(first), lab.history.colour_of(second))
    assert colours[0] != colours[1]
    assert visible_overlays(lab.training.overlay_lines) == [(first.label, colours[0])]
    assert visible_overlays(lab.training.accuracy_overlay_lines) == [(first.label, colours[0])]
    assert lab.training.loss_line.colors == [colours[1]]
    assert {label for label, _ in visible_overlays(panel.loss_lines)} == {first.label, second.label}
    assert dict(visible_overlays(panel.loss_lines)) == {first.label: colours[0], second.label: colours[1]}
    # unticking the first run's row removes it from every overlay
    panel.compare_boxes[0].value = False
    assert lab.state.compared == (1,)
    assert visible_overlays(lab.training.overlay_lines) == []
    assert visible_overlays(panel.loss_lines) == [(second.label, colours[1])]
    panel.set_compared([first])
    assert panel.compare_boxes[0].value and not panel.compare_boxes[1].value
    assert visible_overlays(lab.training.overlay_lines) == [(first.label, colours[0])]
    # bringing the first run back keeps every run's colour
    panel.set_compared([0, 1])
    lab.bring_back(first)
    assert lab.training.loss_line.colors == [colours[0]]
    assert visible_overlays(lab.training.overlay_lines) == [(second.label, colours[1])]
    # the parallel coordinates draw one line per run in its colour, over the table's columns (label aside)
    assert panel.parallel.lines.y.shape == (2, len(table.columns) - 1)
    assert list(panel.parallel.lines.colors) == list(colours)

    # a run of another task is never drawn with these: the overlays keep to the current task
    other = lab.open_example("MatchToCategory")
    assert lab.current_record is other and lab.state.compared == (0, 1, 2)
    assert visible_overlays(lab.training.overlay_lines) == []
    assert panel.compare_task.value == "MatchToCategory"
    assert visible_overlays(panel.loss_lines) == [(other.label, lab.history.colour_of(other))]
    panel.compare_task.value = "PerceptualDiscrimination"
    assert {label for label, _ in visible_overlays(panel.loss_lines)} == {first.label, second.label}

    # CSV: the table, parsed back, gives the same rows
    text = panel.export_csv(tmp_path / "runs")
    assert (tmp_path / "runs.csv").read_text() == text
    parsed = list(csv.DictReader(io.StringIO(text)))
    expected = panel.displayed_rows()
    assert len(parsed) == len(expected) == 3
    for got, row in zip(parsed, expected):
        assert list(got) == panel.table.columns
        for column in panel.table.columns:
            assert got[column] == str(row[column]), column


def test_a_loaded_run_gets_a_distinct_label(tmp_path):
    from psychrnn_widgets.widgets import Lab

    task = small_task()
    lab = Lab(task, network_params(task, N_rec=12), training_iters=64)
    train(lab, 64)
    path = lab.history_panel.save_file(tmp_path / "a")
    again = lab.open_run(path)
    labels = [r.label for r in lab.history]
    assert len(set(labels)) == len(labels) == 2 and again.label.endswith("(loaded)")


# ------------------------------------------------------------------------ must-show 2
def test_copy_as_code_run_in_a_fresh_subprocess_reproduces_the_weights(tmp_path):
    from psychrnn_widgets.widgets import Lab

    task = small_task(coherence=None)
    mask = (np.random.default_rng(3).random((24, 24)) < 0.6).astype(np.float32)
    lab = Lab(task, network_params(task, N_rec=24, dale_ratio=0.8, rec_connectivity=mask, rec_noise=0.05, seed=7),
              training_iters=32 * 10)
    train(lab, 32 * 110)  # past step 100: from there on the Lab trains on the XLA-compiled step once it is ready
    train(lab, 32 * 30, learning_rate=0.003)
    record = lab.current_record
    steps = {}
    for segment in record.training:
        for rate, n, xla in segment["pieces"]:
            steps[rate] = steps.get(rate, 0) + n
            assert isinstance(xla, bool)
    assert steps == {0.001: 110, 0.003: 30}
    assert not record.training[0]["pieces"][0][2]  # the first 100 steps run the plain graph
    panel = lab.history_panel
    panel.choice.value = 0
    code = panel.copy_as_code()
    assert code == panel.code.value and "model.train(task" in code and "_array(" in code  # the mask, inline
    assert "training not rebuilt" not in code and "jit_compile" in code  # each piece on the program it ran on
    out = tmp_path / "weights.npz"
    script = code + ("\nnp.savez(%r, **{k: np.asarray(v) for k, v in weights.items() if k in %r})\n"
                     % (str(out), WEIGHT_KEYS))
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    rebuilt = np.load(out)
    weights = lab.model.get_weights()
    difference = max(float(np.max(np.abs(rebuilt[k] - weights[k]))) for k in WEIGHT_KEYS)
    print(f"copy as code: largest weight difference {difference:.3g}")
    assert difference <= 1e-6


def test_copy_as_code_says_what_it_cannot_rebuild():
    from psychrnn_widgets.widgets.history import NetworkRecord
    from psychrnn_widgets.widgets.run_code import reproducible, run_as_code
    from psychrnn_widgets import Basic

    task = small_task()
    record = NetworkRecord(model=Basic(network_params(task, N_rec=8)), network_params={"N_rec": 8, "seed": 0},
                           task=task, label="untrained")
    ok, reason = reproducible(record)
    assert not ok and "not recorded" in reason
    code = run_as_code(record)
    assert "training not rebuilt" in code
    namespace = {}
    exec(compile(code, "<copy as code>", "exec"), namespace)  # the task and the network still build
    assert namespace["model"].N_rec == 8


def test_an_example_rebuilt_as_code_gives_its_weights():
    from psychrnn_widgets.widgets.run_code import run_as_code
    from psychrnn_widgets.widgets.run_files import example_path, open_run

    record = open_run(example_path("PerceptualDiscrimination"))
    namespace = {}
    exec(compile(run_as_code(record), "<copy as code>", "exec"), namespace)
    weights = record.model.get_weights()
    assert max(float(np.max(np.abs(namespace["weights"][k] - weights[k]))) for k in WEIGHT_KEYS) <= 1e-6


# ------------------------------------------------------------------------ must-show 3
def test_a_run_saved_as_one_file_opens_in_a_fresh_lab_and_in_the_classroom(tmp_path):
    from psychrnn_widgets.widgets import Classroom, Lab

    task = small_task()
    lab = Lab(task, network_params(task, N_rec=16, dale_ratio=0.8, rec_noise=0.01), training_iters=32 * 8)
    train(lab, 32 * 8)
    record = lab.current_record
    panel = lab.history_panel
    panel.path.value = str(tmp_path / "shared" / "hello")
    path = panel.save_file()
    assert path is not None and path.name == "hello.npz", panel.message.value
    assert not list(path.parent.glob("*.tmp"))  # written atomically
    with np.load(path, allow_pickle=False) as archive:  # no pickled objects anywhere
        document = json.loads(archive["run/document"].tobytes().decode("utf-8"))
    assert document["versions"]["psychrnn_widgets"] and document["versions"]["numpy"] == np.__version__
    assert document["task"]["class"] == "PerceptualDiscrimination" and document["task"]["params"]["T"] == 500.0

    for fresh in (Lab(MatchToCategory(dt=10, tau=100, T=500, N_batch=8)), Classroom()):
        opened = fresh.open_run(path)
        assert fresh.current_record is opened and fresh.model is opened.model
        for key in WEIGHT_KEYS:
            np.testing.assert_array_equal(opened.model.get_weights()[key], record.model.get_weights()[key])
        for key, value in record.network_params.items():
            assert opened.network_params[key] == value, key
        for name in ("loss", "accuracy", "stages"):
            for got, expected in zip(opened.curves[name], record.curves[name]):
                np.testing.assert_array_equal(got, expected)
            for got, expected in zip(fresh.training.curves()[name], record.curves[name]):
                np.testing.assert_array_equal(got, expected)  # shown as the current network's curves
        assert opened.training == record.training
        assert type(fresh.task).__name__ == "PerceptualDiscrimination" and fresh.task.T == 500.0
        assert fresh.training.trials == lab.training.trials


def test_every_shipped_example_opens_and_scores_what_its_card_says():
    from psychrnn_widgets.widgets import Lab
    from psychrnn_widgets.widgets.run_files import EXAMPLES_DIR, example_accuracy, examples

    cards = examples()
    assert {"PerceptualDiscrimination", "DelayedDiscrimination", "MatchToCategory"} <= set(cards)
    assert sum(p.stat().st_size for p in EXAMPLES_DIR.glob("*.npz")) <= 2 * 1024 * 1024
    lab = Lab(small_task(), network_params(small_task(), N_rec=8))
    assert set(lab.history_panel.example_choice.options) >= {(c["title"], n) for n, c in cards.items()}
    for name, card in cards.items():
        record = lab.open_example(name)
        assert lab.current_record is record and record.card == card
        assert type(lab.task).__name__ == name
        accuracy = example_accuracy(record.model, record.task)
        assert round(accuracy, 4) == card["accuracy"], name
        assert f"{card['accuracy']:.3f}" in card["summary"]


BAD_FILES = ["truncated", "not a zip", "no document", "document not JSON", "document a list", "bad curve",
             "pickled member", "bad training log", "mask of another size", "mask not 0/1"]


@pytest.mark.parametrize("damage", BAD_FILES)
def test_a_damaged_run_file_is_a_clear_parameter_error_and_changes_nothing(tmp_path, damage):
    from psychrnn_widgets.widgets import Lab
    from psychrnn_widgets.widgets.run_files import example_path

    good = example_path("PerceptualDiscrimination").read_bytes()
    target = tmp_path / "bad.npz"
    members = {}
    with zipfile.ZipFile(io.BytesIO(good)) as archive:
        for name in archive.namelist():
            members[name] = archive.read(name)
    document = json.loads(np.load(io.BytesIO(members["run/document.npy"])).tobytes().decode("utf-8"))

    def npy(array):
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=damage == "pickled member")
        return buffer.getvalue()

    if damage == "truncated":
        target.write_bytes(good[: len(good) // 2])
    elif damage == "not a zip":
        target.write_bytes(b"hello, I am not a run")
    else:
        if damage == "no document":
            del members["run/document.npy"]
        elif damage == "document not JSON":
            members["run/document.npy"] = npy(np.frombuffer(b"{not json", np.uint8))
        elif damage == "document a list":
            members["run/document.npy"] = npy(np.frombuffer(b"[1, 2]", np.uint8))
        elif damage == "bad curve":
            document["curves"]["loss"] = [[1.0, 2.0], [0.5]]
            members["run/document.npy"] = npy(np.frombuffer(json.dumps(document).encode(), np.uint8))
        elif damage == "bad training log":
            document["training"] = [{"pieces": [["fast", 3]]}]
            members["run/document.npy"] = npy(np.frombuffer(json.dumps(document).encode(), np.uint8))
        elif damage == "pickled member":
            members["run/settings/rec_connectivity.npy"] = npy(np.array([print], dtype=object))
        elif damage == "mask of another size":
            members["run/settings/rec_connectivity.npy"] = npy(np.ones((3, 3), np.float32))
        elif damage == "mask not 0/1":
            members["run/settings/rec_connectivity.npy"] = npy(np.full((50, 50), 2.0, np.float32))
        with zipfile.ZipFile(target, "w") as archive:
            for name, data in members.items():
                archive.writestr(name, data)
    lab = Lab(small_task(), network_params(small_task(), N_rec=8))
    before = (lab.current_record, len(lab.history))
    with pytest.raises(ParameterError) as info:
        lab.open_run(target)
    assert str(target) in str(info.value)
    assert (lab.current_record, len(lab.history)) == before
    assert lab.history_panel.open_file(target) is None and "not opened" in lab.history_panel.message.value


# ------------------------------------------------------------------ behaviour during learning
def test_psychometric_and_chronometric_curves_are_recomputed_during_training_and_kept_per_stage():
    import itertools

    from psychrnn_widgets import Curriculum
    from psychrnn_widgets.widgets import Lab
    from psychrnn_widgets.widgets.throttle import ThrottledUpdater

    easy = PerceptualDiscrimination(dt=10, tau=100, T=500, N_batch=32, coherence=0.7, seed=1)
    hard = PerceptualDiscrimination(dt=10, tau=100, T=500, N_batch=32, seed=2)
    curriculum = Curriculum([easy, hard], thresholds=[0.0, 2.0], metric_epoch=5)  # stage 2 after 5 steps
    ticks = itertools.count()
    updater = ThrottledUpdater(max_rate_hz=10, clock=lambda: float(next(ticks)))  # a flush at every step: no clock
    lab = Lab(network_params=network_params(easy, N_rec=16), curriculum=curriculum, updater=updater,
              training_iters=32 * 40)
    panel = lab.analysis.behaviour
    panel.learning_every, panel.learning_n_per_level = 32 * 10, 8
    assert lab.start() and lab.training.wait(300)
    assert curriculum.stage == 1
    assert panel.learning_wait(120)
    updater.flush()
    curves = panel.learning_curves
    assert set(curves) == {0, 1}  # the first stage's curve is kept beside the second's
    assert curves[0]["trials"] <= curves[1]["trials"] == lab.training.trials
    for snapshot in curves.values():
        assert len(snapshot["levels"]) == len(snapshot["p_choice1"]) >= 4
        assert snapshot["rt_levels"] is not None  # the task has a stimulus onset: a chronometric curve too
    assert panel.learning_lines.y.shape[0] == 2 and list(panel.learning_lines.labels) == ["stage 1", "stage 2"]
    with_rt = sum(bool(np.isfinite(c["mean_rt"]).any()) for c in curves.values())  # a stage with reaction times
    drawn = np.asarray(panel.chronometric_learning_lines.y)
    assert (drawn.shape[0] if drawn.size else 0) == with_rt  # (a barely trained network may cross no threshold)
    assert "stage 1 at" in panel.learning_label.value and "stage 2 at" in panel.learning_label.value
    # another network: its own curves
    lab.rebuild()
    assert panel.learning_curves == {} and panel.learning_label.value == ""
