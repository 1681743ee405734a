"""Interop with PsychRNN 1.0 at the model level: its files run in ``Basic``, ours run in it.

PsychRNN itself is not needed: its load-time maths is re-applied here in NumPy, as its
``WeightInitializer(load_weights_path=...)`` and ``Basic.forward_pass`` do it:

    init = dict(np.load(path, allow_pickle=True)); dale_ratio = init['dale_ratio'].item()
    W_rec_eff = |W_rec * C_rec| @ Dale_rec    (W_rec * C_rec without Dale's law)
    W_in_eff  = |W_in * C_in|                 (W_in * C_in)
    W_out_eff = |W_out * C_out| @ Dale_out    (W_out * C_out)
    x_t = (1 - a) x_{t-1} + a (f(x_{t-1}) W_rec_eff^T + u_t W_in_eff^T + b_rec),  a = dt / tau
    y_t = f(x_t) W_out_eff^T + b_out

The real two-way check against an installed PsychRNN is ``tools/psychrnn_side_by_side.py``.
"""
import importlib.util
import os
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

from helpers import DATA, global_reference_pickle, object_npy, reference_run, with_member
from psychrnn_widgets.errors import ParameterError, WeightFileError
from psychrnn_widgets.io.weight_files import export_psychrnn, load_weights, save_weights
from psychrnn_widgets.models.basic import Basic
from psychrnn_widgets.tasks.perceptual_discrimination import PerceptualDiscrimination

REPO = Path(__file__).resolve().parents[1]
FIXTURES = ("psychrnn1", "psychrnn_master")
DT, TAU = 10.0, 100.0
TOL = dict(atol=1e-5, rtol=0)




def params_for(path, N_rec, N_in=2, N_out=2, N_steps=200, **extra):
    params = dict(name="interop", N_in=N_in, N_rec=N_rec, N_out=N_out, N_steps=N_steps, dt=DT,
                  tau=TAU, N_batch=50, rec_noise=0.0, load_weights_path=str(path))
    params.update(extra)
    return params


def psychrnn_load(path):
    """PsychRNN 1.0's loader: np.load with pickles allowed, dale_ratio unwrapped with .item()."""
    with np.load(path, allow_pickle=True) as data:
        init = dict(data)
    if isinstance(init.get("dale_ratio"), np.ndarray):
        init["dale_ratio"] = init["dale_ratio"].item()
    return init


def psychrnn_effective(init):
    """PsychRNN's get_effective_W_* on loaded initial values (float64)."""
    keys = ("W_in", "W_rec", "W_out", "input_connectivity", "rec_connectivity",
            "output_connectivity", "Dale_rec", "Dale_out")
    f64 = {k: np.asarray(init[k], np.float64) for k in keys}
    W_rec = f64["W_rec"] * f64["rec_connectivity"]
    W_in = f64["W_in"] * f64["input_connectivity"]
    W_out = f64["W_out"] * f64["output_connectivity"]
    if init["dale_ratio"]:
        W_rec = np.abs(W_rec) @ f64["Dale_rec"]
        W_in = np.abs(W_in)
        W_out = np.abs(W_out) @ f64["Dale_out"]
    return W_in, W_rec, W_out


def psychrnn_forward(init, x, transfer="relu"):
    """PsychRNN's Basic.forward_pass in NumPy (float64), noise off: its effective matrices, the shared oracle."""
    W_in, W_rec, W_out = psychrnn_effective(init)
    return reference_run(W_in, W_rec, W_out, init["b_rec"], init["b_out"], init["init_state"], x, DT / TAU,
                         transfer)


def random_batch(seed, B=6, T=80, N_in=2):
    rng = np.random.default_rng(seed)
    return (0.5 + 0.3 * rng.standard_normal((B, T, N_in))).astype(np.float32)


# ------------------------------------------------------------- PsychRNN's own files
@pytest.mark.parametrize("which", FIXTURES)
def test_psychrnn_fixture_reproduces_its_outputs_and_states(which, time_loop):
    model = Basic(params_for(DATA / f"{which}_pd_basic_weights.npz", N_rec=20))
    with np.load(DATA / f"{which}_pd_basic_batch.npz") as batch:
        x, outputs, states = batch["x"], batch["outputs"], batch["states"]
    got_outputs, got_states = model.test(x, noise=False)
    assert got_outputs.shape == outputs.shape and got_states.shape == states.shape
    np.testing.assert_allclose(got_outputs, outputs, **TOL)
    np.testing.assert_allclose(got_states, states, **TOL)
    # 1.0 stores no transfer function (relu implied); master stores a pickled tf relu
    assert model.transfer_function_name == "relu"
    assert model.dale_ratio is None
    weights = model.get_weights()
    assert not any("/" in key for key in weights)  # Adam slots are dropped
    assert weights["transfer_function"] == "relu"


def test_master_transfer_function_is_taken_by_name_not_by_running_the_pickle(tmp_path):
    """The reference is turned into a name without importing its module: a module that does
    not exist still gives the name, and a reference to tanh gives a tanh network."""
    master = DATA / "psychrnn_master_pd_basic_weights.npz"
    x = random_batch(0)
    for module, name, expected in [("tensorflow.no_such_module_anywhere", "relu", "relu"),
                                   ("tensorflow.python.ops.math_ops", "tanh", "tanh")]:
        path = with_member(master, tmp_path / f"{name}.npz", "transfer_function",
                           object_npy(global_reference_pickle(module, name)))
        model = Basic(params_for(path, N_rec=20, N_steps=x.shape[1]))
        assert model.transfer_function_name == expected
        # reference weights read with our safe reader (np.load would import TF to unpickle)
        want = psychrnn_forward(load_weights(master), x, transfer=expected)
        got = model.test(x, noise=False)
        np.testing.assert_allclose(got[0], want[0], **TOL)
        np.testing.assert_allclose(got[1], want[1], **TOL)


def test_weight_file_shape_mismatch_names_the_file():
    path = DATA / "psychrnn1_pd_basic_weights.npz"
    with pytest.raises(ParameterError, match="psychrnn1_pd_basic_weights"):
        Basic(params_for(path, N_rec=30))


# ------------------------------------------------- a file written the PsychRNN way
def write_psychrnn_style_file(path, dale_ratio_member, stored="effective", seed=3,
                              N_in=3, N_rec=12, N_out=2):
    """np.savez(**weights) as PsychRNN's model.save does after training with Dale's law.

    Dale_out is PsychRNN's default: a copy of Dale_rec (+1/-1), so inhibitory units read
    out negatively.  ``stored='raw'`` writes matrices that are not yet effective (negative
    E weights, weights under a 0 of the mask), to show the maths is re-applied on load.
    """
    rng = np.random.default_rng(seed)
    f32 = np.float32
    C_in = (rng.random((N_rec, N_in)) < 0.8).astype(f32)
    C_rec = (rng.random((N_rec, N_rec)) < 0.6).astype(f32)
    np.fill_diagonal(C_rec, 0)
    C_out = (rng.random((N_out, N_rec)) < 0.9).astype(f32)
    sign = np.ones(N_rec, f32)
    sign[int(0.8 * N_rec):] = -1
    Dale_rec = np.diag(sign)
    raw = {"W_in": rng.normal(0, 0.5, (N_rec, N_in)).astype(f32),
           "W_rec": rng.normal(0, 1.0 / np.sqrt(N_rec), (N_rec, N_rec)).astype(f32),
           "W_out": rng.normal(0, 0.5, (N_out, N_rec)).astype(f32)}
    members = dict(raw)
    if stored == "effective":  # what PsychRNN's get_weights() returns
        members["W_in"] = np.abs(raw["W_in"] * C_in)
        members["W_rec"] = (np.abs(raw["W_rec"] * C_rec) @ Dale_rec).astype(f32)
        members["W_out"] = (np.abs(raw["W_out"] * C_out) @ Dale_rec).astype(f32)
    members.update(
        init_state=(0.1 + 0.05 * rng.standard_normal((1, N_rec))).astype(f32),
        b_rec=(0.1 * rng.standard_normal(N_rec)).astype(f32),
        b_out=(0.1 * rng.standard_normal(N_out)).astype(f32),
        Dale_rec=Dale_rec, Dale_out=Dale_rec.copy(),
        input_connectivity=C_in, rec_connectivity=C_rec, output_connectivity=C_out,
        dale_ratio=dale_ratio_member,
    )
    for key in ("init_state", "W_in", "W_rec", "W_out", "b_rec", "b_out"):  # Adam slots
        members[key + "/Adam"] = np.abs(rng.normal(size=members[key].shape)).astype(f32)
        members[key + "/Adam_1"] = np.abs(rng.normal(size=members[key].shape)).astype(f32) * 1e-3
    np.savez(path, **members)
    return path


@pytest.mark.parametrize("stored", ["effective", "raw"])
@pytest.mark.parametrize("dale_member", [np.array(0.8, dtype=object), 0.8],
                         ids=["pickled-object-0.8", "float64-0.8"])
def test_psychrnn_style_dale_file_runs_as_psychrnn_would(tmp_path, dale_member, stored):
    path = write_psychrnn_style_file(tmp_path / "psy.npz", dale_member, stored=stored)
    if isinstance(dale_member, np.ndarray):
        with zipfile.ZipFile(path) as archive:  # really a pickled object array, as PsychRNN writes
            assert b"numpy" in archive.read("dale_ratio.npy") and b"|O" in archive.read("dale_ratio.npy")
    init = psychrnn_load(path)
    assert init["dale_ratio"] == 0.8
    x = random_batch(1, N_in=3)
    model = Basic(params_for(path, N_rec=12, N_in=3, N_steps=x.shape[1]))
    assert model.dale_ratio == 0.8 and model.transfer_function_name == "relu"
    want_outputs, want_states = psychrnn_forward(init, x)
    got_outputs, got_states = model.test(x, noise=False)
    np.testing.assert_allclose(got_outputs, want_outputs, **TOL)
    np.testing.assert_allclose(got_states, want_states, **TOL)
    # get_weights() returns the effective matrices PsychRNN would compute, with its
    # +1/-1 Dale_out (inhibitory units read out negatively) kept
    weights = model.get_weights()
    W_in, W_rec, W_out = psychrnn_effective(init)
    np.testing.assert_allclose(weights["W_rec"], W_rec, atol=1e-7)
    np.testing.assert_allclose(weights["W_in"], W_in, atol=1e-7)
    np.testing.assert_allclose(weights["W_out"], W_out, atol=1e-7)
    assert (weights["W_out"][:, 9:] <= 0).all() and (weights["W_out"][:, 9:] < 0).any()
    assert not any("/" in key for key in weights)


# ------------------------------------------------------------------------- export
def test_export_of_a_trained_dale_network_runs_under_psychrnn_maths(tmp_path):
    N_rec = 20
    rng = np.random.default_rng(7)
    rec_mask = (rng.random((N_rec, N_rec)) < 0.5).astype(np.float32)
    np.fill_diagonal(rec_mask, 0)
    in_mask = (rng.random((N_rec, 2)) < 0.8).astype(np.float32)
    task = PerceptualDiscrimination(dt=DT, tau=TAU, T=1000, N_batch=16, seed=7)
    params = dict(task.get_task_params(), name="export", N_rec=N_rec, seed=7, dale_ratio=0.8,
                  rec_noise=0.05, rec_connectivity=rec_mask, input_connectivity=in_mask)
    model = Basic(params)
    before = model.get_weights()
    model.train(task, {"training_iters": 16 * 8, "verbosity": False, "learning_rate": 0.01})
    weights = model.get_weights()
    assert not np.allclose(weights["W_rec"], before["W_rec"])  # it did train

    path = export_psychrnn(tmp_path / "for_psychrnn", weights)
    assert path == tmp_path / "for_psychrnn.npz"
    init = psychrnn_load(path)
    assert init["dale_ratio"] == 0.8 and type(init["dale_ratio"]) is float
    assert "transfer_function" not in init  # PsychRNN 1.0 takes it from params
    x, _, _, _ = task.get_trial_batch()
    want_outputs, want_states = model.test(x, noise=False)
    got_outputs, got_states = psychrnn_forward(init, x)
    np.testing.assert_allclose(got_outputs, want_outputs, **TOL)
    np.testing.assert_allclose(got_states, want_states, **TOL)
    # the masks and Dale's law survive: PsychRNN's effective matrices are ours
    W_in, W_rec, W_out = psychrnn_effective(init)
    np.testing.assert_array_equal(W_rec, weights["W_rec"])
    np.testing.assert_array_equal(W_in, weights["W_in"])
    np.testing.assert_array_equal(W_out, weights["W_out"])
    assert (W_rec[rec_mask == 0] == 0).all() and (W_rec[:, :16] >= 0).all() and (W_rec[:, 16:] <= 0).all()
    # and the exported file loads back here unchanged
    again = Basic(params_for(path, N_rec=N_rec, N_steps=x.shape[1]))
    back = again.test(x, noise=False)
    np.testing.assert_allclose(back[0], want_outputs, atol=1e-6, rtol=0)
    np.testing.assert_allclose(back[1], want_states, atol=1e-6, rtol=0)


# ------------------------------------------------- every combination, both ways back in
def _side_by_side_tool():
    """``tools/psychrnn_side_by_side.py`` as a module (it imports only the standard library at the top)."""
    spec = importlib.util.spec_from_file_location("psychrnn_side_by_side", REPO / "tools" / "psychrnn_side_by_side.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SBS = _side_by_side_tool()
#: the tool's combination matrix (every pair of levels of dale_ratio, mask, frozen W_rec, autapses,
#: transfer function, Dale_out): the same cells run here without PsychRNN
CELLS = SBS.matrix_cells("pairwise", seed=11)
M_STEPS, M_BATCH = 20, 4


def _cell_id(cell):
    return "-".join(str(cell[key]) for key in SBS.FACTORS)


def _cell_network(cell, tmp_path):
    """The cell's network with raw weights as training leaves them (any sign, entries under masked zeros)."""
    arrays = SBS.cell_arrays(np, cell)
    params = dict(name=f"cell_{cell['id']}", N_in=2, N_rec=SBS.M_N_REC, N_out=2, N_steps=M_STEPS, dt=DT, tau=TAU,
                  N_batch=M_BATCH, rec_noise=0.0, seed=cell["seed"], transfer_function=cell["transfer"],
                  autapses=cell["autapses"], W_rec_train=cell["frozen"] != "W_rec_train", dale_ratio=cell["dale_ratio"])
    params.update({key: arrays[key] for key in ("rec_connectivity", "Dale_out") if key in arrays})
    model = Basic(params)
    rng = np.random.default_rng(cell["seed"])
    n = SBS.M_N_REC
    model.set_weights({"W_in": rng.normal(0, 0.5, (n, 2)), "W_rec": rng.normal(0, 0.8 / np.sqrt(n), (n, n)),
                       "W_out": rng.normal(0, 0.5, (2, n)), "b_rec": rng.normal(0, 0.1, n),
                       "b_out": rng.normal(0, 0.1, 2)})
    if "fixed" in arrays:  # a frozen part of W_rec: a short training run must leave it as it is
        before = model.get_weights()["W_rec"]
        x, y = random_batch(cell["seed"], B=M_BATCH, T=M_STEPS), np.zeros((M_BATCH, M_STEPS, 2), np.float32)
        model.train(iter([(x, y, np.ones_like(y))] * 2), {"training_iters": 2 * M_BATCH, "verbosity": False,
                                                        "learning_rate": 0.05, "fixed_weights": {"W_rec": arrays["fixed"]}})
        after = model.get_weights()["W_rec"]
        assert np.array_equal(after[arrays["fixed"] == 1], before[arrays["fixed"] == 1]) and not np.array_equal(after, before)
    return model


@pytest.mark.parametrize("cell", CELLS, ids=_cell_id)
def test_every_combination_saved_here_loads_back_both_ways_with_identical_outputs(tmp_path, cell):
    """model.save and export_psychrnn files, loaded with load_weights_path and the PsychRNN way
    (Basic({**params, **dict(np.load(f, allow_pickle=True))})): same network, same dale_ratio."""
    assert SBS.covers_every_pair([tuple(c[k] for k in SBS.FACTORS) for c in CELLS], SBS.FACTORS)
    model = _cell_network(cell, tmp_path)
    x = random_batch(cell["seed"], B=3, T=M_STEPS)
    want = model.test(x, noise=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # export warns that PsychRNN takes a non-relu transfer function from params
        files = {"save": model.save(tmp_path / "saved"),
                 "export": export_psychrnn(tmp_path / "exported", model.get_weights())}
    base = dict(name="back", N_in=2, N_rec=SBS.M_N_REC, N_out=2, N_steps=M_STEPS, dt=DT, tau=TAU, N_batch=M_BATCH)
    for kind, path in files.items():
        assert load_weights(path)["dale_ratio"] == cell["dale_ratio"]  # None -> None, 0.8 -> 0.8, 1 -> 1
        # what PsychRNN 1.0 reads (`.item()`, then `if self.dale_ratio:`) and computes
        init = psychrnn_load(path)
        assert bool(init["dale_ratio"]) == (cell["dale_ratio"] is not None)
        reference = psychrnn_forward(init, x, transfer=cell["transfer"])
        np.testing.assert_allclose(want[0], reference[0], atol=1e-5, rtol=0)
        # our own file names its transfer function; PsychRNN's form does not (pass it, as PsychRNN users do)
        params = base if kind == "save" else dict(base, transfer_function=cell["transfer"])
        with np.load(path, allow_pickle=True) as data:
            loaded = {"load_weights_path": Basic(dict(params, load_weights_path=str(path))),
                      "network_params": Basic({**params, **dict(data)})}
        for way, again in loaded.items():
            assert again.dale_ratio == cell["dale_ratio"], (kind, way)
            assert again.transfer_function_name == cell["transfer"], (kind, way)
            got = again.test(x, noise=False)
            np.testing.assert_array_equal(got[0], want[0], err_msg=f"{kind} via {way}")
            np.testing.assert_array_equal(got[1], want[1], err_msg=f"{kind} via {way}")


def _old_format_file(path, weights):
    """A file as psychrnn_widgets wrote it before format 2: NaN for no Dale's law, plain metadata names."""
    saved = save_weights(path, weights)
    with np.load(saved) as data:
        members = {key: data[key] for key in data.files}
    members["format"] = np.array("psychrnn_widgets-weights-1")
    members["dale_ratio"] = np.array(np.nan)
    for name in ("dt", "tau", "rec_noise", "transfer_function"):
        members[name] = members.pop(f"meta_{name}")
    np.savez(saved, **members)
    return saved


def test_no_dale_is_stored_as_a_zero_psychrnn_reads_as_falsy_and_we_read_as_none(tmp_path):
    model = Basic(dict(name="nd", N_in=2, N_rec=6, N_out=2, N_steps=10, dt=DT, tau=TAU, N_batch=2, seed=3,
                       transfer_function="tanh"))
    path = model.save(tmp_path / "no_dale")
    with np.load(path, allow_pickle=False) as data:  # never pickled
        stored = data["dale_ratio"]
    assert stored.dtype == np.float64 and stored.shape == () and float(stored) == 0.0
    # PsychRNN 1.0: WeightInitializer(load_weights_path) and WeightInitializer(**params) both
    # unwrap with .item() and apply Dale's law `if self.dale_ratio:`
    with np.load(path, allow_pickle=True) as data:
        assert not data["dale_ratio"].item()
    assert load_weights(path)["dale_ratio"] is None
    x = random_batch(4, B=2, T=10)
    want = model.test(x, noise=False)
    base = dict(name="b", N_in=2, N_rec=6, N_out=2, N_steps=10, dt=DT, tau=TAU, N_batch=2)
    for again in (Basic(dict(base, load_weights_path=str(path))), Basic({**base, **dict(np.load(path))})):
        assert again.dale_ratio is None and again.transfer_function_name == "tanh"
        np.testing.assert_array_equal(again.test(x, noise=False)[0], want[0])


def test_an_old_file_with_a_nan_dale_ratio_still_loads_as_no_dale(tmp_path):
    model = Basic(dict(name="old", N_in=2, N_rec=6, N_out=2, N_steps=10, dt=DT, tau=TAU, N_batch=2, seed=4,
                       transfer_function="softplus"))
    path = _old_format_file(tmp_path / "old", model.get_weights())
    x = random_batch(5, B=2, T=10)
    want = model.test(x, noise=False)
    assert load_weights(path)["dale_ratio"] is None and load_weights(path)["transfer_function"] == "softplus"
    base = dict(name="b", N_in=2, N_rec=6, N_out=2, N_steps=10, dt=DT, tau=TAU, N_batch=2)
    with np.load(path) as data:
        members = dict(data)
    for again in (Basic(dict(base, load_weights_path=str(path))), Basic({**base, **members})):
        assert again.dale_ratio is None and again.transfer_function_name == "softplus"
        np.testing.assert_array_equal(again.test(x, noise=False)[0], want[0])
    # without its format entry a NaN could mean anything: a clear error that says how to load the file
    del members["format"]
    with pytest.raises(ParameterError, match=r"dale_ratio.*NaN.*load_weights_path") as info:
        Basic({**base, **members})
    assert info.value.parameter == "dale_ratio"


@pytest.mark.parametrize("zero", [0, 0.0, np.array(0.0), np.array(0, dtype=object), False])
def test_dale_ratio_zero_means_no_dales_law_as_in_psychrnn(zero):
    base = dict(name="z", N_in=2, N_rec=6, N_out=2, N_steps=10, dt=DT, tau=TAU, N_batch=2, seed=5)
    model, plain = Basic(dict(base, dale_ratio=zero)), Basic(base)
    assert model.dale_ratio is None
    x = random_batch(6, B=2, T=10)
    np.testing.assert_array_equal(model.test(x, noise=False)[0], plain.test(x, noise=False)[0])
    assert (model.get_weights()["W_rec"] < 0).any() and (model.get_weights()["W_out"] != 0).all()


@pytest.mark.parametrize("which", FIXTURES)
def test_psychrnn_fixture_loads_as_network_params_the_psychrnn_way(which):
    path = DATA / f"{which}_pd_basic_weights.npz"
    with np.load(DATA / f"{which}_pd_basic_batch.npz") as batch:
        x, outputs, states = batch["x"], batch["outputs"], batch["states"]
    params = {key: value for key, value in params_for(path, N_rec=20).items() if key != "load_weights_path"}
    with np.load(path, allow_pickle=True) as data:  # PsychRNN's pickled dale_ratio (None); master: a pickled relu
        model = Basic({**params, **dict(data)})
    assert model.dale_ratio is None and model.transfer_function_name == "relu"
    got = model.test(x, noise=False)
    np.testing.assert_allclose(got[0], outputs, **TOL)
    np.testing.assert_allclose(got[1], states, **TOL)


# ------------------------------------------------------------------------- safety
class _RunsACommand:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


@pytest.mark.parametrize("entry", ["dale_ratio", "transfer_function", "W_rec"])
def test_malicious_weight_file_is_refused_by_basic_and_runs_nothing(tmp_path, entry):
    marker = tmp_path / "pwned"
    members = dict(psychrnn_load(DATA / "psychrnn1_pd_basic_weights.npz"))
    members[entry] = np.array(_RunsACommand(f"touch {marker}"), dtype=object)
    path = tmp_path / "evil_weights.npz"
    np.savez(path, **members)  # pickles the object; nothing runs while writing
    assert not marker.exists()
    with pytest.raises(WeightFileError, match=r"evil_weights\.npz") as info:
        Basic(params_for(path, N_rec=20))
    assert "system" in str(info.value)  # the refused global is named
    assert not marker.exists()


# ------------------------------------------------------------------- the tool
def test_side_by_side_tool_has_help_and_imports_nothing_heavy():
    tool = REPO / "tools" / "psychrnn_side_by_side.py"
    done = subprocess.run([sys.executable, str(tool), "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "--venv" in done.stdout and "PsychRNN" in done.stdout
    code = (f"import sys; sys.argv = ['x']; import runpy; "
            f"m = runpy.run_path({str(tool)!r}, run_name='not_main'); "
            "bad = [k for k in sys.modules if k.split('.')[0] in ('tensorflow', 'psychrnn', 'psychrnn_widgets')]; "
            "assert not bad, bad")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
