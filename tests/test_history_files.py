"""The Lab's saved runs are checked when loaded: integer counts in range, curves of matching lengths, finite numbers.

A bad run file is refused with an error that names the file and the field, shown in the
Runs panel; nothing is built and the history and current network stay as they were.
"""
import json

import numpy as np
import pytest

from psychrnn_widgets.errors import ParameterError, WeightFileError
from psychrnn_widgets.widgets import history
from psychrnn_widgets.widgets.history import FORMAT, RUN_FILE_PARAMS, check_run_document

GOOD = {"format": FORMAT, "label": "#1", "epoch": 5, "trials": 160, "network_params": {"N_rec": 20},
        "task": {"class": "PerceptualDiscrimination", "params": {"T": 500}},
        "curves": {"loss": [[32.0, 64.0], [0.5, 0.25]], "accuracy": [[64.0], [0.6]], "stages": [[], []]}}

BAD = [
    ("epoch 1e300", {"epoch": 1e300}, "epoch"),
    ("epoch -1", {"epoch": -1}, "epoch"),
    ("epoch 1.5", {"epoch": 1.5}, "epoch"),
    ("epoch true", {"epoch": True}, "epoch"),
    ("epoch text", {"epoch": "5"}, "epoch"),
    ("epoch NaN", {"epoch": float("nan")}, "epoch"),
    ("trials 2**60", {"trials": 2 ** 60}, "trials"),
    ("trials below epoch", {"epoch": 50, "trials": 10}, "trials"),
    ("ragged loss", {"curves": {"loss": [[1.0, 2.0, 3.0], [0.5, 0.4]]}}, "curves['loss']"),
    ("nested loss", {"curves": {"loss": [[1.0, [2.0]], [0.5, 0.4]]}}, "curves['loss'] x"),
    ("NaN in accuracy", {"curves": {"accuracy": [[1.0, 2.0], [0.5, float("nan")]]}}, "curves['accuracy'] y"),
    ("inf in loss x", {"curves": {"loss": [[1.0, float("inf")], [0.5, 0.4]]}}, "curves['loss'] x"),
    ("text in loss", {"curves": {"loss": [["a", "b"], [0.5, 0.4]]}}, "curves['loss'] x"),
    ("true/false in loss", {"curves": {"loss": [[True, False], [0.5, 0.4]]}}, "curves['loss'] x"),
    ("beyond float32", {"curves": {"loss": [[1.0], [1e300]]}}, "curves['loss'] y"),
    ("2-D curve", {"curves": {"loss": [[[1.0, 2.0]], [[0.5, 0.4]]]}}, "curves['loss'] x"),
    ("curve not a pair", {"curves": {"loss": [[1.0, 2.0]]}}, "curves['loss']"),
    ("curve a string", {"curves": {"loss": "falling"}}, "curves['loss']"),
    ("curves a list", {"curves": [[1.0], [2.0]]}, "curves"),
    ("label a number", {"label": 7}, "label"),
    ("network_params a list", {"network_params": [1, 2]}, "network_params"),
    ("task a string", {"task": "PD"}, "task"),
    ("task params a list", {"task": {"class": "PerceptualDiscrimination", "params": [1]}}, "params"),
]


def test_a_good_run_document_is_converted():
    checked = check_run_document(json.loads(json.dumps(GOOD)), "run.json")
    assert checked["epoch"] == 5 and checked["trials"] == 160
    x, y = checked["curves"]["loss"]
    assert x.dtype == y.dtype == np.float32 and x.tolist() == [32.0, 64.0]
    assert checked["curves"]["stages"][0].size == 0
    empty = check_run_document({"format": FORMAT}, "run.json")  # an old file without counts or curves
    assert empty["epoch"] == empty["trials"] == 0 and all(c[0].size == 0 for c in empty["curves"].values())


@pytest.mark.parametrize("label,change,name", BAD, ids=[case[0] for case in BAD])
def test_a_bad_run_document_is_refused_naming_the_field(label, change, name):
    document = {**json.loads(json.dumps(GOOD)), **change}
    with pytest.raises(ParameterError) as info:
        check_run_document(document, "runs/first.json")
    message = str(info.value)
    assert message.startswith("runs/first.json: ") and name in message, message


def test_the_counts_are_declared():
    for key in ("epoch", "trials"):
        parameter = RUN_FILE_PARAMS[key]
        assert parameter.kind == "int" and parameter.low == 0 and parameter.high == 2 ** 53 - 1


def test_unreadable_and_oversized_run_files_are_refused(tmp_path, monkeypatch):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(WeightFileError, match="deep.json: not a readable run file"):
        history.load_record(tmp_path / "deep")
    not_ours = tmp_path / "other.json"
    not_ours.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(WeightFileError, match="other.json: not a psychrnn_widgets-run-1 file"):
        history.load_record(tmp_path / "other")
    monkeypatch.setattr(history, "MAX_RUN_FILE_BYTES", 100)
    big = tmp_path / "big.json"
    big.write_text(json.dumps(GOOD))
    with pytest.raises(WeightFileError, match="big.json: .* larger than a run file may be"):
        history.load_record(tmp_path / "big")


def test_the_labs_load_shows_the_error_and_loses_nothing(tmp_path):
    pytest.importorskip("ipywidgets")
    pytest.importorskip("bqplot")
    from helpers import network_params
    from psychrnn_widgets import PerceptualDiscrimination
    from psychrnn_widgets.widgets import Lab

    task = PerceptualDiscrimination(dt=10, tau=100, T=300, N_batch=16, seed=0)
    lab = Lab(task, network_params(task, N_rec=12), training_iters=16 * 3)
    lab.training.start()
    assert lab.training.wait(120) and lab.training.state == "done"
    panel = lab.history_panel
    panel.path.value = str(tmp_path / "run")
    panel.save_button.click()
    assert "saved" in panel.message.value
    saved = json.loads((tmp_path / "run.json").read_text())
    model, records, curves = lab.model, list(lab.history.records), lab.training.curves()
    for label, change, name in (("epoch 1e300", {"epoch": 1e300}, "epoch"),
                                ("ragged", {"curves": {"loss": [[1.0, 2.0], [0.1]]}}, "curves[&#x27;loss&#x27;]")):
        (tmp_path / "bad.json").write_text(json.dumps({**saved, **change}))
        (tmp_path / "bad.npz").write_bytes((tmp_path / "run.npz").read_bytes())
        panel.path.value = str(tmp_path / "bad")
        panel.load_button.click()
        assert "not loaded" in panel.message.value and name in panel.message.value, (label, panel.message.value)
        assert lab.model is model and lab.history.records == records  # nothing lost, nothing added
        for key in ("loss", "accuracy"):
            np.testing.assert_array_equal(lab.training.curves()[key][0], curves[key][0])
    panel.path.value = str(tmp_path / "run")
    panel.load_button.click()  # the good file still loads
    assert "loaded" in panel.message.value and "not" not in panel.message.value
    assert len(lab.history.records) == len(records) + 1
