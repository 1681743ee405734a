"""Checkpoints kept while training (training.checkpoints, Trainer.checkpoints): count, spacing, memory, files."""
import ast
import os
from pathlib import Path

import numpy as np
import pytest

from helpers import network_params
from psychrnn_widgets import Basic, ParameterError, PerceptualDiscrimination
from psychrnn_widgets.training.checkpoints import CheckpointStore, checkpoint_file
from psychrnn_widgets.training.trainer import Trainer

PACKAGE = Path(__file__).resolve().parents[1] / "psychrnn_widgets"
BATCH = 4


def _model(name, seed=0):
    task = PerceptualDiscrimination(dt=10, tau=100, T=200, N_batch=BATCH, seed=seed)
    return Basic(network_params(task, name=name, N_rec=8)), task


def _plain(weights):
    """Every value a NumPy array or a plain scalar / text / None (no TensorFlow object)."""
    return all(isinstance(v, (np.ndarray, np.generic, float, int, str, type(None))) for v in weights.values())


def test_count_spacing_and_memory_in_one_run():
    model, task = _model("ckpt_memory")
    initial = model.get_weights()
    trainer = Trainer.of(model)
    sizes, marked = [], []

    def watch(event):
        if event.kind == "step":
            sizes.append(len(trainer.checkpoints))
            if "checkpoint" in event.extra:
                marked.append(event.extra["checkpoint"])

    model.train(task, {"training_iters": 100 * BATCH, "verbosity": False, "checkpoint_every": 5,
                       "keep_checkpoints": 6, "callbacks": [watch]})
    store = trainer.checkpoints
    # evenly spaced over the whole run, the first and the final network included (module docstring's example)
    assert store.epochs.tolist() == [0, 20, 40, 60, 80, 100]
    assert store.trials.tolist() == [BATCH * e for e in store.epochs]
    assert max(sizes) <= 6 and len(sizes) == 100  # bounded at every step
    assert marked == list(range(5, 101, 5))  # the events name each checkpoint taken
    first, last = store[0], store[-1]
    assert first.path is None and _plain(first.weights)
    for key in ("W_in", "W_rec", "W_out", "b_rec", "b_out"):
        np.testing.assert_array_equal(first.weights[key], initial[key])
        np.testing.assert_array_equal(last.weights[key], model.get_weights()[key])
    assert not np.allclose(first.weights["W_rec"], last.weights["W_rec"])
    # a second call continues the store: its steps continue the count, the spacing never shrinks
    model.train(task, {"training_iters": 20 * BATCH, "verbosity": False, "checkpoint_every": 5,
                       "keep_checkpoints": 6})
    assert store.epochs.tolist() == [0, 40, 80, 120]
    # fewer kept: thinned at once by the next call's settings
    model.train(task, {"training_iters": 5 * BATCH, "verbosity": False, "checkpoint_every": 5,
                       "keep_checkpoints": 3})
    assert store.epochs.tolist() == [0, 80, 125] and len(store) <= 3
    # without checkpoint_every nothing more is taken; reset forgets them
    model.train(task, {"training_iters": 5 * BATCH, "verbosity": False})
    assert store.epochs.tolist() == [0, 80, 125]
    trainer.reset()
    assert len(store) == 0


def test_on_disk_bounded_atomic_and_inside_the_folder(tmp_path, monkeypatch):
    model, task = _model("ckpt_disk")
    folder = tmp_path / "checkpoints"
    (tmp_path / "unrelated.npz").write_bytes(b"left alone")
    trainer = Trainer.of(model)
    seen = []

    def watch(event):
        if event.kind == "step":
            names = sorted(os.listdir(folder))
            seen.append(len(names))
            for name in names:  # no partial file is ever visible
                assert not name.endswith(".tmp"), name
                with np.load(folder / name, allow_pickle=False) as data:
                    assert "W_rec" in data.files

    model.train(task, {"training_iters": 60 * BATCH, "verbosity": False, "checkpoint_every": 3,
                       "keep_checkpoints": 4, "checkpoint_path": str(folder), "callbacks": [watch]})
    store = trainer.checkpoints
    assert max(seen) <= 4
    assert store.epochs.tolist() == [0, 24, 48, 60]
    assert sorted(os.listdir(folder)) == [checkpoint_file(folder, e).name for e in store.epochs]
    for checkpoint in store:
        assert checkpoint.path.parent == folder and checkpoint._weights is None  # nothing held in memory
    np.testing.assert_array_equal(store[-1].weights["W_rec"], model.get_weights()["W_rec"])
    assert (tmp_path / "unrelated.npz").read_bytes() == b"left alone"
    # a write that fails leaves no file behind and the kept ones intact
    import psychrnn_widgets.io.atomic as atomic

    def broken(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        model.train(task, {"training_iters": 3 * BATCH, "verbosity": False, "checkpoint_every": 3,
                           "keep_checkpoints": 4, "checkpoint_path": folder})
    monkeypatch.undo()
    names = sorted(os.listdir(folder))
    assert not any(name.endswith(".tmp") for name in names)
    assert checkpoint_file(folder, 63).name not in names
    assert all(name in names for name in (c.path.name for c in store))
    trainer.reset()  # forgets them and removes their files
    assert os.listdir(folder) == []


def test_the_store_alone():
    store = CheckpointStore()
    weights = {"W_rec": np.zeros((2, 2))}
    store.configure(every=1, keep=5, folder=None)
    history = []
    for step in range(0, 18):
        store.take(step, 10 * step, weights)
        history.append(store.epochs.tolist())
        assert len(store) <= 5
    assert history[4] == [0, 1, 2, 3, 4] and history[5] == [0, 2, 4, 5]  # full: the spacing doubles
    assert history[16] == [0, 4, 8, 12, 16] and history[17] == [0, 8, 16, 17]
    store.take(18, 180, weights)
    assert store.epochs.tolist() == [0, 8, 16, 18]  # 17 was off the grid
    store.discard_after(8)  # a rollback
    assert store.epochs.tolist() == [0, 8] and store.trials.tolist() == [0, 80]
    store.take(8, 80, {"W_rec": np.ones((2, 2))})  # the same step again: replaced
    assert store.epochs.tolist() == [0, 8] and store[-1].weights["W_rec"][0, 0] == 1
    assert checkpoint_file("/some/folder", 12).name == "checkpoint_000000012.npz"
    assert checkpoint_file("/some/folder", 12).parent == Path("/some/folder")


@pytest.mark.parametrize("params, name", [
    ({"checkpoint_every": 0}, "checkpoint_every"),
    ({"checkpoint_every": 2.5}, "checkpoint_every"),
    ({"checkpoint_every": 5, "keep_checkpoints": 1}, "keep_checkpoints"),
    ({"checkpoint_path": "somewhere"}, "checkpoint_every"),  # a folder without checkpoints
    ({"checkpoint_every": 5, "checkpoint_path": ""}, "checkpoint_path"),
])
def test_settings_are_validated(params, name):
    model, task = _model("ckpt_bad")
    with pytest.raises(ParameterError) as caught:
        model.train(task, {"training_iters": BATCH, "verbosity": False, **params})
    assert caught.value.parameter == name, str(caught.value)
    assert len(Trainer.of(model).checkpoints) == 0


def test_a_file_is_not_a_folder(tmp_path):
    model, task = _model("ckpt_file")
    path = tmp_path / "a_file"
    path.write_text("x")
    with pytest.raises(ParameterError) as caught:
        model.train(task, {"training_iters": BATCH, "verbosity": False, "checkpoint_every": 1,
                           "checkpoint_path": path})
    assert caught.value.parameter == "checkpoint_path"


def test_ensembles_refuse_checkpoints_with_advice():
    from psychrnn_widgets.models.ensemble import Ensemble

    task = PerceptualDiscrimination(dt=10, tau=100, T=200, N_batch=BATCH, seed=0)
    ensemble = Ensemble(network_params(task, name="ckpt_ensemble", N_rec=8, seed=None), n=2)
    with pytest.raises(ParameterError, match="alone") as caught:
        ensemble.train(task, {"training_iters": BATCH, "verbosity": False, "checkpoint_every": 1})
    assert caught.value.parameter == "checkpoint_every"


def _imported_modules(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            yield "." * node.level + (node.module or "")
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def test_training_reads_no_analysis_and_analysis_no_widgets():
    """DESIGN §2: the trainer keeps checkpoints, the analyses read them; nothing points upwards."""
    upward = [(path.name, module) for path in sorted((PACKAGE / "training").glob("*.py"))
              for module in _imported_modules(path) if any(word in module for word in ("analysis", "widgets",
                                                                                        "sweeps"))]
    assert upward == []
    widgets = [(path.name, module) for path in sorted((PACKAGE / "analysis").glob("*.py"))
               for module in _imported_modules(path) if "widgets" in module or "ipywidgets" in module]
    assert widgets == []
