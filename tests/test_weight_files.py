"""Weight files: exact round trips, atomic writes, PsychRNN files, safety, export.

No TensorFlow here: PsychRNN-format pickles are crafted by hand.
"""
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from numpy.lib import format as npy_format

from helpers import DATA, global_reference_pickle, object_npy, reference_run_weights, with_member
from psychrnn_widgets.errors import ParameterError, WeightFileError
from psychrnn_widgets.io import weight_files
from psychrnn_widgets.io.weight_files import export_psychrnn, load_weights, read_npz_safely, save_weights

PSYCHRNN_FILES = {
    "psychrnn1": DATA / "psychrnn1_pd_basic_weights.npz",
    "psychrnn_master": DATA / "psychrnn_master_pd_basic_weights.npz",
}
CORE_KEYS = {"init_state", "W_in", "W_rec", "W_out", "b_rec", "b_out", "Dale_rec", "Dale_out",
             "input_connectivity", "rec_connectivity", "output_connectivity",
             "dale_ratio", "transfer_function"}


def make_weights(seed=0, N_in=3, N_rec=10, N_out=2, dale_ratio=0.8, autapses=False,
                 transfer_function="tanh"):
    """An effective weights dict as our models' get_weights() produce it."""
    rng = np.random.default_rng(seed)
    f32 = np.float32
    C_in = (rng.random((N_rec, N_in)) < 0.8).astype(f32)
    C_rec = (rng.random((N_rec, N_rec)) < 0.7).astype(f32)
    if not autapses:
        np.fill_diagonal(C_rec, 0)
    C_out = np.ones((N_out, N_rec), f32)
    W_in = rng.normal(size=(N_rec, N_in)).astype(f32) * C_in
    W_rec = rng.normal(size=(N_rec, N_rec)).astype(f32) * C_rec
    W_out = rng.normal(size=(N_out, N_rec)).astype(f32) * C_out
    sign = np.ones(N_rec, f32)
    if dale_ratio is not None:
        sign[int(dale_ratio * N_rec):] = -1
        W_in, W_rec = np.abs(W_in), np.abs(W_rec) * sign
        W_out = np.abs(W_out) * (sign > 0)
    return {
        "W_in": W_in, "W_rec": W_rec, "W_out": W_out,
        "b_rec": rng.normal(size=N_rec).astype(f32), "b_out": rng.normal(size=N_out).astype(f32),
        "init_state": rng.normal(size=(1, N_rec)).astype(f32),
        "input_connectivity": C_in, "rec_connectivity": C_rec, "output_connectivity": C_out,
        "Dale_rec": np.diag(sign), "Dale_out": np.diag((sign > 0).astype(f32)),
        "dale_ratio": dale_ratio, "transfer_function": transfer_function,
        "alpha": 0.1, "dt": 10.0, "tau": 100.0, "rec_noise": 0.05, "model": "Basic",
    }


def assert_same(loaded, original):
    assert set(loaded) == set(original)
    for key, value in original.items():
        if isinstance(value, np.ndarray):
            assert loaded[key].dtype == value.dtype, key
            assert loaded[key].tobytes() == value.tobytes(), key  # bit-identical
        else:
            assert loaded[key] == value and type(loaded[key]) is type(value), key


# ------------------------------------------------------------------- npz helpers
def write_npz(path, members):
    """members: {key: ndarray (written with pickling allowed, as np.savez does) or .npy bytes}."""
    with zipfile.ZipFile(path, "w") as archive:
        for key, value in members.items():
            if isinstance(value, bytes):
                archive.writestr(key + ".npy", value)
            else:
                with archive.open(key + ".npy", "w") as member:
                    npy_format.write_array(member, np.asanyarray(value), allow_pickle=True)
    return path


# --------------------------------------------------------------------- our files
def test_round_trip_is_exact(tmp_path):
    weights = make_weights()
    path = save_weights(tmp_path / "net.npz", weights)
    assert path == tmp_path / "net.npz"
    assert_same(load_weights(path), weights)


def test_round_trip_without_dale_and_unknown_transfer_function(tmp_path):
    weights = make_weights(dale_ratio=None)
    weights["transfer_function"] = None
    weights["W_f"] = np.arange(6, dtype=np.float32).reshape(2, 3)  # extra model arrays survive
    weights["W_rec/Adam"] = np.zeros((10, 10), np.float32)          # optimizer slots do not
    loaded = load_weights(save_weights(tmp_path / "net", weights))
    del weights["W_rec/Adam"]
    assert_same(loaded, weights)
    assert loaded["dale_ratio"] is None and loaded["transfer_function"] is None


def test_saved_file_is_pickle_free_and_typed(tmp_path):
    path = save_weights(tmp_path / "net", make_weights(dale_ratio=None))
    with np.load(path, allow_pickle=False) as data:
        stored = {key: data[key] for key in data.files}  # would raise on any object array
    assert str(stored["format"]) == weight_files.FORMAT == "psychrnn_widgets-weights-2"
    assert stored["dale_ratio"].dtype == np.float64 and stored["dale_ratio"].shape == () and stored["dale_ratio"] == 0
    # PsychRNN would read the plain names dt, tau, rec_noise, transfer_function as its parameters
    assert stored["meta_transfer_function"].dtype.kind == "U" and str(stored["meta_transfer_function"]) == "tanh"
    assert {"meta_dt", "meta_tau", "meta_rec_noise"} <= set(stored) and "alpha" in stored
    assert not {"dt", "tau", "rec_noise", "transfer_function"} & set(stored)
    assert not any("/" in key for key in stored)


def test_npz_suffix_is_appended_and_parents_created(tmp_path):
    path = save_weights(str(tmp_path / "deep" / "dir" / "net"), make_weights())
    assert path == tmp_path / "deep" / "dir" / "net.npz" and path.is_file()
    assert save_weights(tmp_path / "net.v1", make_weights()).name == "net.v1.npz"
    assert load_weights(tmp_path / "deep" / "dir" / "net")["dale_ratio"] == 0.8  # suffix optional


@pytest.mark.parametrize("zero", [0, 0.0, np.array(0.0), np.float32(0), False])
def test_dale_ratio_zero_means_no_dale_as_in_psychrnn(tmp_path, zero):
    weights = make_weights(dale_ratio=None)
    loaded = load_weights(save_weights(tmp_path / "net", dict(weights, dale_ratio=zero)))
    assert loaded["dale_ratio"] is None
    assert_same(loaded, weights)  # the same file as for None


def test_float64_input_loads_as_float32(tmp_path):
    weights = make_weights()
    weights["W_rec"] = weights["W_rec"].astype(np.float64)
    loaded = load_weights(save_weights(tmp_path / "net", weights))
    assert loaded["W_rec"].dtype == np.float32


def test_object_values_are_rejected_naming_the_key(tmp_path):
    weights = make_weights()
    weights["bad_entry"] = np.array([{"a": 1}], dtype=object)
    with pytest.raises(ParameterError, match="bad_entry"):
        save_weights(tmp_path / "net", weights)
    assert list(tmp_path.iterdir()) == []  # nothing written, no temp file left


@pytest.mark.parametrize("ratio", [1.5, -0.1, "half"])
def test_bad_dale_ratio_is_rejected(tmp_path, ratio):
    with pytest.raises(ParameterError, match="dale_ratio"):
        save_weights(tmp_path / "net", dict(make_weights(), dale_ratio=ratio))


def test_write_is_atomic(tmp_path, monkeypatch):
    target = save_weights(tmp_path / "net", make_weights(seed=1))
    before = target.read_bytes()

    def crash(src, dst):
        raise OSError("simulated crash during rename")

    monkeypatch.setattr(weight_files.os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        save_weights(target, make_weights(seed=2))
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["net.npz"]  # no temp file remains


def test_write_error_midway_leaves_no_file(tmp_path, monkeypatch):
    def failing_write(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(weight_files.npy_format, "write_array", failing_write)
    with pytest.raises(RuntimeError, match="disk full"):
        save_weights(tmp_path / "net", make_weights())
    assert list(tmp_path.iterdir()) == []


def test_saved_file_mode_follows_umask(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    path = save_weights(tmp_path / "net", make_weights())
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


# ------------------------------------------------------------------ damaged files
def test_missing_file_names_the_path(tmp_path):
    missing = tmp_path / "nope.npz"
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        load_weights(missing)


def test_truncated_file_is_a_weight_file_error(tmp_path):
    path = save_weights(tmp_path / "net", make_weights())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightFileError, match="net.npz"):
        load_weights(path)


@pytest.mark.parametrize("content", [b"", b"this is not a zip archive at all" * 10, b"\x93NUMPY garbage"])
def test_garbage_is_a_weight_file_error(tmp_path, content):
    path = tmp_path / "garbage.npz"
    path.write_bytes(content)
    with pytest.raises(WeightFileError, match="garbage.npz"):
        load_weights(path)


def test_corrupt_member_is_a_weight_file_error(tmp_path):
    path = write_npz(tmp_path / "bad.npz", {"W_in": np.ones((2, 2), np.float32), "W_rec": b"not an npy member"})
    with pytest.raises(WeightFileError, match=r"bad\.npz.*'W_rec'"):
        load_weights(path)


def test_truncated_member_is_a_weight_file_error(tmp_path):
    buffer = io.BytesIO()
    npy_format.write_array(buffer, np.ones((50, 50), np.float32))
    path = write_npz(tmp_path / "short.npz", {"W_rec": buffer.getvalue()[:500]})
    with pytest.raises(WeightFileError, match=r"short\.npz.*'W_rec'"):
        load_weights(path)


def test_unknown_newer_format_is_refused(tmp_path):
    path = write_npz(tmp_path / "new.npz", {"format": np.array("psychrnn_widgets-weights-9"),
                                            "W_rec": np.eye(2, dtype=np.float32)})
    with pytest.raises(WeightFileError, match="newer"):
        load_weights(path)


# --------------------------------------------------------------- PsychRNN files
@pytest.mark.parametrize("which", sorted(PSYCHRNN_FILES))
def test_psychrnn_fixture_files_load(which):
    weights = load_weights(PSYCHRNN_FILES[which])
    assert set(weights) == CORE_KEYS
    assert not any("/" in key for key in weights)
    N_in, N_rec, N_out = 2, 20, 2
    shapes = {"init_state": (1, N_rec), "W_in": (N_rec, N_in), "W_rec": (N_rec, N_rec),
              "W_out": (N_out, N_rec), "b_rec": (N_rec,), "b_out": (N_out,),
              "Dale_rec": (N_rec, N_rec), "Dale_out": (N_rec, N_rec),
              "input_connectivity": (N_rec, N_in), "rec_connectivity": (N_rec, N_rec),
              "output_connectivity": (N_out, N_rec)}
    for key, shape in shapes.items():
        assert weights[key].shape == shape and weights[key].dtype == np.float32, key
    assert weights["dale_ratio"] is None
    expected = "relu" if which == "psychrnn_master" else None
    assert weights["transfer_function"] == expected
    assert type(weights["transfer_function"]) in (str, type(None))  # a plain str, not the placeholder


@pytest.mark.parametrize("which", sorted(PSYCHRNN_FILES))
def test_psychrnn_fixture_reproduces_reference_outputs(which):
    """The loaded (effective) matrices run through Basic's maths give PsychRNN's outputs."""
    weights = load_weights(PSYCHRNN_FILES[which])
    with np.load(DATA / f"{which}_pd_basic_batch.npz") as batch:
        x, outputs, states = batch["x"], batch["outputs"], batch["states"]
    got_outputs, got_states = reference_run_weights(weights, x, 10 / 100)
    np.testing.assert_allclose(got_states, states, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(got_outputs, outputs, atol=1e-4, rtol=1e-4)


def psychrnn_style_file(path, dale_ratio, transfer_payload=None):
    """A file laid out the way PsychRNN's model.save writes it (np.savez of get_weights())."""
    members = {key: value for key, value in make_weights(dale_ratio=dale_ratio).items()
               if key in CORE_KEYS - {"dale_ratio", "transfer_function"}}
    members["W_rec/Adam"] = np.zeros((10, 10), np.float32)
    members["W_rec/Adam_1"] = np.zeros((10, 10), np.float32)
    members["dale_ratio"] = np.array(dale_ratio, dtype=object)  # np.savez(dale_ratio=None)
    if transfer_payload is not None:
        members["transfer_function"] = object_npy(transfer_payload)
    return write_npz(path, members)


@pytest.mark.parametrize("module,name,expected", [
    ("tensorflow.python.ops.gen_nn_ops", "relu", "relu"),
    ("tensorflow.python.ops.math_ops", "tanh", "tanh"),
    ("tensorflow.python.ops.gen_math_ops", "tanh", "tanh"),
    ("tensorflow.python.ops.math_ops", "sigmoid", "sigmoid"),
    ("tensorflow.python.ops.nn_ops", "softplus", "softplus"),
    ("keras.src.activations.activations", "elu", "elu"),
    ("tf_keras.src.activations", "linear", "linear"),
    ("numpy", "tanh", "tanh"),
])
def test_psychrnn_format_file_with_transfer_function_reference(tmp_path, module, name, expected):
    path = psychrnn_style_file(tmp_path / "psy.npz", None, global_reference_pickle(module, name))
    weights = load_weights(path)
    assert weights["transfer_function"] == expected
    assert weights["dale_ratio"] is None
    assert "W_rec/Adam" not in weights and "W_rec/Adam_1" not in weights


@pytest.mark.parametrize("ratio,expected", [(0.8, 0.8), (1.0, 1.0), (0.0, None)])
def test_psychrnn_format_dale_ratio(tmp_path, ratio, expected):
    # PsychRNN applies Dale only `if dale_ratio:`, so a stored 0 means "no Dale's law".
    weights = load_weights(psychrnn_style_file(tmp_path / "psy.npz", ratio))
    assert weights["dale_ratio"] == expected
    assert weights["transfer_function"] is None


def test_numpy_scalar_inside_object_array(tmp_path):
    # np.savez(dale_ratio=np.array(np.float64(0.5), dtype=object)) pickles numpy's scalar().
    path = write_npz(tmp_path / "s.npz", {"dale_ratio": np.array(np.float64(0.5), dtype=object),
                                          "W_rec": np.eye(3, dtype=np.float32)})
    assert load_weights(path)["dale_ratio"] == 0.5


class _Evil:
    def __init__(self, function, argument):
        self.function, self.argument = function, argument

    def __reduce__(self):
        return (self.function, (self.argument,))


@pytest.mark.parametrize("function", [os.system, subprocess.call, eval])
@pytest.mark.parametrize("entry", ["dale_ratio", "transfer_function", "W_in"])
def test_malicious_pickle_is_refused_before_running(tmp_path, function, entry):
    marker = tmp_path / "pwned"
    command = f"touch {marker}"
    if function is subprocess.call:
        command = ["touch", str(marker)]
    elif function is eval:
        command = f"open({str(marker)!r}, 'w').close()"
    members = {"W_rec": np.eye(3, dtype=np.float32)}
    members[entry] = np.array(_Evil(function, command), dtype=object)
    path = write_npz(tmp_path / "evil.npz", members)
    with pytest.raises(WeightFileError, match=r"evil\.npz") as info:
        load_weights(path)
    assert function.__name__ in str(info.value)  # the refused global is named
    assert not marker.exists()


def test_calling_an_allowed_transfer_function_reference_runs_nothing(tmp_path):
    # GLOBAL relu, then REDUCE it with an argument: the placeholder is not callable.
    payload = (b"\x80\x03ctensorflow.python.ops.gen_nn_ops\nrelu\n"
               b"X\x03\x00\x00\x00abc\x85R.")
    path = write_npz(tmp_path / "call.npz", {"transfer_function": object_npy(payload)})
    with pytest.raises(WeightFileError, match=r"call\.npz"):
        load_weights(path)


@pytest.mark.parametrize("module,name", [
    ("tensorflow.python.ops.gen_nn_ops", "relu6"),           # not a known transfer function
    ("keras.layers", "ReLU"),                                # a class
    ("mymodule", "relu"),                                    # not a TF/Keras/NumPy module
    ("numpy", "identity"),                                   # numpy.identity builds a matrix
    ("numpy", "load"),
    ("builtins", "getattr"),
])
def test_other_globals_are_refused(tmp_path, module, name):
    path = psychrnn_style_file(tmp_path / "odd.npz", None, global_reference_pickle(module, name))
    with pytest.raises(WeightFileError, match=rf"odd\.npz.*{module}\.{name}"):
        load_weights(path)


def test_loading_never_imports_tensorflow():
    code = (
        "import sys\n"
        "from psychrnn_widgets.io.weight_files import load_weights\n"
        f"w = load_weights({str(PSYCHRNN_FILES['psychrnn_master'])!r})\n"
        "assert w['transfer_function'] == 'relu'\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras')]\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=Path(__file__).parents[1])
    assert result.returncode == 0, result.stderr


def test_read_npz_safely_keeps_everything():
    raw = read_npz_safely(PSYCHRNN_FILES["psychrnn_master"])
    assert "W_rec/Adam" in raw and raw["dale_ratio"].dtype == object
    assert raw["transfer_function"].item() == "relu"


# ----------------------------------------------------------------------- export
def psychrnn_load_maths(path):
    """What PsychRNN 1.0 does with a file: np.load(allow_pickle=True), .item() on
    dale_ratio, then |W*C| @ Dale when dale_ratio is truthy (W*C otherwise)."""
    with np.load(path, allow_pickle=True) as data:
        init = dict(data)
    ratio = init["dale_ratio"].item() if isinstance(init["dale_ratio"], np.ndarray) else init["dale_ratio"]
    W_rec = init["W_rec"] * init["rec_connectivity"]
    W_in = init["W_in"] * init["input_connectivity"]
    W_out = init["W_out"] * init["output_connectivity"]
    if ratio:
        W_rec = np.abs(W_rec) @ init["Dale_rec"]
        W_in = np.abs(W_in)
        W_out = np.abs(W_out) @ init["Dale_out"]
    return init, ratio, {"W_rec": W_rec, "W_in": W_in, "W_out": W_out}


@pytest.mark.parametrize("dale_ratio", [0.8, 0.5, 1.0, 0.0, None])
def test_export_reproduces_effective_weights_under_psychrnn_maths(tmp_path, dale_ratio):
    weights = make_weights(dale_ratio=dale_ratio, transfer_function="relu")
    path = export_psychrnn(tmp_path / "for_psychrnn", weights)
    assert path.name == "for_psychrnn.npz"
    init, ratio, effective = psychrnn_load_maths(path)
    assert ratio == (dale_ratio or None) and (ratio is None or type(ratio) is float)  # 0: no Dale's law
    assert init["dale_ratio"].dtype == object and init["dale_ratio"].shape == ()
    assert set(init) == CORE_KEYS - {"transfer_function"}
    for key in ("W_rec", "W_in", "W_out"):
        np.testing.assert_array_equal(effective[key], weights[key], err_msg=key)
    for key in ("b_rec", "b_out", "init_state"):
        np.testing.assert_array_equal(init[key], weights[key])
    assert all(init[key].dtype == np.float32 for key in init if key != "dale_ratio")
    if dale_ratio:  # our readout gate: 1 for E, 0 for I
        n_e = int(dale_ratio * 10)
        np.testing.assert_array_equal(np.diag(init["Dale_out"]), [1] * n_e + [0] * (10 - n_e))
    # and it reads back here, with the same effective matrices
    back = load_weights(path)
    for key in ("W_rec", "W_in", "W_out"):
        np.testing.assert_array_equal(back[key], weights[key])
    assert back["dale_ratio"] == (dale_ratio or None)


def test_export_pickle_is_portable_across_numpy_versions(tmp_path):
    path = export_psychrnn(tmp_path / "p", make_weights(dale_ratio=0.8, transfer_function="relu"))
    with zipfile.ZipFile(path) as archive:
        payload = archive.read("dale_ratio.npy")
    assert b"numpy.core.multiarray" in payload and b"numpy._core" not in payload


def test_export_keeps_psychrnn_trained_readout_with_negative_inhibitory_columns(tmp_path):
    # A network trained in PsychRNN had Dale_out == Dale_rec (+1/-1): W_out's I columns are <= 0.
    weights = make_weights(dale_ratio=0.8, transfer_function=None)
    sign = np.diag(weights["Dale_rec"])
    rng = np.random.default_rng(5)
    weights["W_out"] = (np.abs(rng.normal(size=(2, 10))) * sign).astype(np.float32)
    weights["Dale_out"] = weights["Dale_rec"].copy()
    _, _, effective = psychrnn_load_maths(export_psychrnn(tmp_path / "p", weights))
    np.testing.assert_array_equal(effective["W_out"], weights["W_out"])
    # even without the Dale matrices given, export finds PsychRNN's +1/-1 readout
    del weights["Dale_out"], weights["Dale_rec"]
    init, _, effective = psychrnn_load_maths(export_psychrnn(tmp_path / "q", weights))
    np.testing.assert_array_equal(effective["W_out"], weights["W_out"])
    np.testing.assert_array_equal(np.diag(init["Dale_out"]), sign)


def test_export_fills_missing_masks_and_dale(tmp_path):
    weights = {key: value for key, value in make_weights(dale_ratio=None).items()
               if key in ("W_in", "W_rec", "W_out", "b_rec", "b_out", "init_state")}
    weights["init_state"] = weights["init_state"].reshape(-1)  # (N_rec,) is accepted
    init, ratio, effective = psychrnn_load_maths(export_psychrnn(tmp_path / "p", weights))
    assert ratio is None
    np.testing.assert_array_equal(init["rec_connectivity"], np.ones((10, 10)))
    np.testing.assert_array_equal(init["Dale_rec"], np.eye(10))
    assert init["init_state"].shape == (1, 10)
    np.testing.assert_array_equal(effective["W_rec"], weights["W_rec"])


def test_export_refuses_weights_psychrnn_would_change(tmp_path):
    weights = make_weights(dale_ratio=0.8)
    weights["W_rec"] = weights["W_rec"].copy()
    weights["W_rec"][0, -1] = 0.5  # excitatory sign on an inhibitory column
    with pytest.raises(ParameterError, match="W_rec"):
        export_psychrnn(tmp_path / "p", weights)
    weights = make_weights(dale_ratio=None)
    weights["W_in"] = weights["W_in"] + 1.0  # non-zero where the mask is 0
    with pytest.raises(ParameterError, match="W_in"):
        export_psychrnn(tmp_path / "q", weights)
    assert list(tmp_path.iterdir()) == []


def test_export_needs_the_basic_matrices(tmp_path):
    weights = make_weights()
    del weights["b_out"]
    with pytest.raises(ParameterError, match="b_out"):
        export_psychrnn(tmp_path / "p", weights)
    with pytest.raises(ParameterError, match="LSTM"):
        export_psychrnn(tmp_path / "p", dict(make_weights(), model="LSTM"))


def test_export_warns_about_non_relu_transfer_function(tmp_path):
    with pytest.warns(UserWarning, match="tanh"):
        export_psychrnn(tmp_path / "p", make_weights())  # make_weights uses tanh


# ----------------------------------------------------------------------------- issue 9: robustness
def test_non_binary_masks_are_refused_at_save_and_at_load(tmp_path):
    weights = make_weights()
    weights["rec_connectivity"] = weights["rec_connectivity"] * 0.5
    with pytest.raises(ParameterError, match="'rec_connectivity' must hold only 0 and 1"):
        save_weights(tmp_path / "scaled", weights)
    assert not list(tmp_path.iterdir())  # nothing written, not even a temporary
    good = save_weights(tmp_path / "good", make_weights())
    scaled = dict(np.load(good))
    scaled["input_connectivity"] = scaled["input_connectivity"] * 2
    np.savez(tmp_path / "by_hand.npz", **scaled)
    with pytest.raises(WeightFileError, match="by_hand.npz.*'input_connectivity' must hold only 0 and 1"):
        load_weights(tmp_path / "by_hand.npz")


def test_an_interrupted_save_leaves_no_temporary_after_the_next_save(tmp_path):
    target = tmp_path / "net.npz"
    code = ("import os, sys, numpy as np\n"
            "from psychrnn_widgets.io import weight_files\n"
            "real = weight_files.npy_format.write_array\n"
            "def dying(*args, **kwargs):\n"
            "    os._exit(9)  # the process dies half-way through the write\n"
            "weight_files.npy_format.write_array = dying\n"
            f"weight_files.save_weights({str(target)!r}, {{'W_rec': np.ones((3, 3))}})\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 9
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert leftovers and all(name.startswith(".net.npz.") and name.endswith(".tmp") for name in leftovers)
    save_weights(target, make_weights())
    assert [p.name for p in tmp_path.iterdir()] == ["net.npz"]


def test_object_arrays_that_would_need_unbounded_memory_are_refused(tmp_path):
    import pickle

    good = save_weights(tmp_path / "good", make_weights())
    payload = pickle.dumps(np.array([1, 2, 3], dtype=object), protocol=3)
    # the same pickle claiming 2**31 items: NumPy's own unpickling would crash or allocate
    huge = payload.replace(b"(K\x01K\x03\x85", b"(K\x01J\x00\x00\x00\x7f\x85")
    assert huge != payload
    for name, member in (("huge_shape", object_npy(huge, shape=(3,))),
                         ("huge_header", object_npy(payload, shape=(10 ** 9,)))):
        path = with_member(good, tmp_path / f"{name}.npz", "extra", member)
        with pytest.raises(WeightFileError, match=f"{name}.npz.*'extra'.*larger than a weight file may hold"):
            load_weights(path)
    # a plain array whose header promises more bytes than the member holds
    buffer = io.BytesIO()
    npy_format.write_array_header_1_0(buffer, {"descr": "<f4", "fortran_order": False, "shape": (10 ** 11,)})
    buffer.write(b"\0" * 16)
    path = with_member(good, tmp_path / "promise.npz", "extra", buffer.getvalue())
    with pytest.raises(WeightFileError, match="promise.npz.*header promises"):
        load_weights(path)


def test_a_model_and_the_simulator_name_the_file_for_missing_entries_and_wrong_shapes(tmp_path):
    pytest.importorskip("tensorflow")
    from helpers import network_params
    from psychrnn_widgets import Basic, BasicSimulator

    weights = make_weights(N_in=2, N_rec=10, N_out=2)
    missing = dict(weights)
    del missing["b_rec"]
    save_weights(tmp_path / "missing", missing)
    wrong = dict(weights, b_out=np.zeros(5, np.float32))
    save_weights(tmp_path / "wrong", wrong)
    params = network_params(N_rec=10)
    for name, match in (("missing", r"missing\.npz: missing 'b_rec'"),
                        ("wrong", r"wrong\.npz: 'b_out' has shape \(5,\), expected \(2,\)")):
        path = str(tmp_path / f"{name}.npz")
        with pytest.raises(WeightFileError, match=match):
            Basic(dict(params, load_weights_path=path))
        with pytest.raises(WeightFileError, match=match):
            BasicSimulator(weights_path=path)
    save_weights(tmp_path / "other_size", weights)
    with pytest.raises(WeightFileError, match=r"other_size\.npz: the weights are for N_rec=10 \(the network has N_rec=20"):
        Basic(dict(params, N_rec=20, load_weights_path=str(tmp_path / "other_size.npz")))
