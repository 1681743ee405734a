"""Try the bad inputs a careful user makes, and count how many get a clear error.

    python tools/bad_inputs.py            # prints a table by category and every unclear case
    python tools/bad_inputs.py --json     # the same as JSON

Each case is a call that must fail because of one named input: a NaN, inf, negative,
out-of-range, wrong-type or wrong-shape value, a corrupt file, a misuse.  A case counts
as **clear** when the call raises one of the package's errors (``ParameterError``, of
which ``WeightFileError``, ``RegistryError`` and ``UnknownClassError`` are kinds;
``KeyError`` for a missing required key; ``FileNotFoundError`` for a missing file; a
widget's ``TraitError``; for a panel control, the control refusing the value with its
reason shown) whose message names the input.  Inputs that are allowed but almost surely
a mistake (a misspelled key, two networks with one seed) and hostile files a run registry
sets aside (a malformed record is moved to its quarantine) count as clear when a warning
names them.  Anything else is **unclear**: another exception (a TensorFlow or NumPy
traceback), a message that does not name the input, or no error or warning at all (a
silently wrong result).

The cases are generated from the parameter declarations (``psychrnn_widgets.params``:
every declared value is walked through its own invalid examples) plus hand-written ones
for inputs that are not parameters (arrays given to ``test`` and ``run_trials``, weight
files, generators, curricula, perturbations, custom functions, widgets, run registries,
sweeps, ensembles, the class catalog).
``tests/test_bad_inputs.py`` runs this and requires every case to be clear.
"""
import argparse
import io
import json
import math
import os
import pickle
import sys
import tempfile
import warnings
import zipfile
from collections import Counter
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from numpy.lib import format as npy_format  # noqa: E402

CLEAR_TYPES = ("ParameterError", "WeightFileError", "RegistryError", "UnknownClassError", "KeyError",
               "FileNotFoundError", "TraitError")


class Case:
    """One bad input: ``call()`` must fail clearly, naming ``token``."""

    def __init__(self, category, label, call, token):
        self.category, self.label, self.call, self.token = category, label, call, token

    def run(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                outcome = self.call()
            except Exception as error:  # noqa: BLE001 - classifying is the point
                kind = type(error).__name__
                message = str(error)
                named = self.token.lower() in message.lower()
                if kind in CLEAR_TYPES and named:
                    return "clear", f"{kind}: {message[:160]}"
                return "unclear", f"{kind}: {message[:300]}"
        if (isinstance(outcome, tuple) and len(outcome) == 2 and isinstance(outcome[0], str)
                and outcome[0] in ("refused", "warned")):
            message = outcome[1]
            return ("clear" if self.token.lower() in message.lower() else "unclear"), message[:160]
        return "unclear", f"no error (returned {type(outcome).__name__})"


def _label(value):
    if isinstance(value, np.ndarray):
        return f"array{value.shape}{' with NaN' if value.dtype.kind == 'f' and np.isnan(value).any() else ''}"
    return repr(value)[:24]


# ----------------------------------------------------------------------------- the cases
def network_params_cases(base, shapes):
    from psychrnn_widgets import Basic
    from psychrnn_widgets.params import NETWORK_PARAMS

    special = {"initializer": ["NoSuchInitializer", 3, object()], "loss_function": ["no_such_loss", 3, None]}
    for key, parameter in NETWORK_PARAMS.items():
        values = special.get(key, parameter.invalid_examples(shapes.get(key)))
        for value in values:
            yield Case("network_params", f"{key}={_label(value)}",
                       lambda key=key, value=value: Basic({**base, key: value}), key)
    for key in ("name", "N_in", "N_rec", "N_out", "N_steps", "dt", "tau", "N_batch"):
        params = {k: v for k, v in base.items() if k != key}
        yield Case("network_params", f"missing {key}", lambda params=params: Basic(params), key)
    yield Case("network_params", "dt > tau", lambda: Basic({**base, "dt": 200.0}), "dt")
    yield Case("network_params", "init_minval >= init_maxval",
               lambda: Basic({**base, "init_minval": 0.5, "init_maxval": 0.1}), "init_minval")
    yield Case("network_params", "not a dict", lambda: Basic([("N_rec", 5)]), "network_params")


def train_params_cases(model, task):
    from psychrnn_widgets.params import TRAIN_PARAMS

    special = {
        "curriculum": [3, "stage 1"], "optimizer": ["sgd", 3], "callbacks": [3, [print, 3]], "control": [3],
        "fixed_weights": [3, {"W_rec": np.full((model.N_rec, model.N_rec), 0.5)},
                          {"W_rec": np.ones((3, 3))}, {"W_recc": np.ones((model.N_rec, model.N_rec))}],
        "generator_function": [3],
    }
    for key, parameter in TRAIN_PARAMS.items():
        for value in special.get(key, parameter.invalid_examples()):
            params = {"training_iters": 8, "verbosity": False, key: value}
            if key == "performance_cutoff":
                params["performance_measure"] = lambda *args: 0.0
            token = "W_rec" if key == "fixed_weights" and isinstance(value, dict) else key
            token = "W_recc" if isinstance(value, dict) and "W_recc" in value else token
            yield Case("train_params", f"{key}={_label(value)}",
                       lambda params=params: model.train(task, params), token)
    yield Case("train_params", "performance_measure without cutoff",
               lambda: model.train(task, {"training_iters": 8, "verbosity": False,
                                          "performance_measure": lambda *a: 1.0}), "performance_cutoff")
    yield Case("train_params", "source is a number", lambda: model.train(3, {"verbosity": False}),
               "trial_batch_generator")


def task_cases():
    from psychrnn_widgets.params import TASK_CORE_PARAMS
    from psychrnn_widgets.tasks import BUILTIN_TASKS

    core = {"dt": 10, "tau": 100, "T": 2000, "N_batch": 8}
    for name, cls in BUILTIN_TASKS.items():
        for key in core:
            for value in TASK_CORE_PARAMS[key].invalid_examples():
                if value is None:
                    continue
                yield Case(f"task {name}", f"{key}={_label(value)}",
                           lambda cls=cls, key=key, value=value: cls(**{**core, key: value}), key)
        for value in (-1, 1.5, "abc"):
            yield Case(f"task {name}", f"seed={value!r}",
                       lambda cls=cls, value=value: cls(**core, seed=value), "seed")
        yield Case(f"task {name}", "dt > tau", lambda cls=cls: cls(dt=200, tau=100, T=2000, N_batch=4), "dt")
    yield from task_parameter_cases(BUILTIN_TASKS)
    from psychrnn_widgets import PerceptualDiscrimination

    for value in (-0.1, math.nan, math.inf, "high", [0.1, -1]):
        yield Case("task PerceptualDiscrimination", f"coherence={_label(value)}",
                   lambda value=value: PerceptualDiscrimination(10, 100, 2000, 8, coherence=value), "coherence")
    for value in (2, -1, 0.5, "left"):
        yield Case("task PerceptualDiscrimination", f"direction={value!r}",
                   lambda value=value: PerceptualDiscrimination(10, 100, 2000, 8, direction=value), "direction")


#: bad values of the task parameters whose declarations check them with a function (durations, value sets)
_DURATION_BAD = (-1.0, math.nan, math.inf, "abc", (500.0, 100.0), (math.nan, 1.0), (-5.0, 5.0), [1, 2, 3])


def task_parameter_cases(tasks):
    """Every declared parameter of every built-in task, given a value it must refuse, in its constructor."""
    import inspect

    for name, cls in tasks.items():
        accepted = inspect.signature(cls.__init__).parameters
        for key, parameter in cls.parameters().items():
            if key not in accepted or key in ("dt", "tau", "T", "N_batch", "N_in", "N_out", "tasks"):
                continue
            values = list(parameter.invalid_examples())
            if parameter.unit == "ms" and parameter.kind == "object":
                values += list(_DURATION_BAD) + ([0.0, (0.0, 100.0)] if parameter.low_open else [])
            elif parameter.kind == "object" and parameter.name in ("coherences", "weights"):
                values += [(), (math.nan,), (-0.1,), "many", [1, "a"]] + ([(2.0,)] if parameter.high else [])
            for value in values:
                if value is None and parameter.allow_none:
                    continue
                yield Case(f"task {name}", f"{key}={_label(value)}",
                           lambda cls=cls, key=key, value=value: _quiet(lambda: cls.with_defaults(**{key: value})),
                           key)
    from psychrnn_widgets.tasks import PerceptualDiscrimination, Task, one_hot  # noqa: F401

    class PerTrialChannel(PerceptualDiscrimination):
        def describe_trials(self, trials):
            super().describe_trials(trials)
            trials.set_target(1.0, "decision", channel=trials["choice"])

    class RepeatedChannel(PerceptualDiscrimination):
        def describe_trials(self, trials):
            super().describe_trials(trials)
            trials.set_mask(1.0, None, channel=(0, 0))

    for label, cls in (("a per-trial array as channel", PerTrialChannel), ("a repeated channel", RepeatedChannel)):
        yield Case("task description", label, lambda cls=cls: cls(10, 100, 2000, 8, seed=0).generate_batch(),
                   "channel")


def _quiet(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a T shorter than the trial is a warning, not what is tested here
        return call()


def test_input_cases(model):
    n_in = model.N_in
    bad = {
        "2-D input": np.zeros((3, 10)), "wrong N_in": np.zeros((3, 10, n_in + 1)), "empty batch": np.zeros((0, 10, n_in)),
        "empty time": np.zeros((3, 0, n_in)), "NaN input": np.full((2, 5, n_in), np.nan),
        "inf input": np.full((2, 5, n_in), np.inf), "string": "abc", "ragged": [[[0.0] * n_in], [[0.0] * n_in] * 2],
    }
    for label, value in bad.items():
        yield Case("model.test", label, lambda value=value: model.test(value), "trial_batch")


def simulator_cases(weights):
    from psychrnn_widgets import BasicSimulator
    from psychrnn_widgets.params import ALPHA, NETWORK_PARAMS
    from psychrnn_widgets.simulation import Clamp, InputPerturbation, Kick, Silence

    for key in ("rec_noise", "dt", "tau", "transfer_function"):
        for value in NETWORK_PARAMS[key].invalid_examples():
            if value is None:
                continue
            params = {"dt": 10.0, "tau": 100.0, key: value}
            yield Case("simulator params", f"{key}={_label(value)}",
                       lambda params=params: BasicSimulator(weights=weights, params=params), key)
    for value in ALPHA.invalid_examples():
        if value is not None:
            yield Case("simulator params", f"alpha={_label(value)}",
                       lambda value=value: BasicSimulator(weights=weights, params={"alpha": value}), "alpha")
    for value in NETWORK_PARAMS["seed"].invalid_examples():
        yield Case("simulator params", f"seed={_label(value)}",
                   lambda value=value: BasicSimulator(weights=weights, seed=value), "seed")
    n_rec, n_in = weights["W_rec"].shape[0], weights["W_in"].shape[1]
    broken = {
        "missing W_rec": ({k: v for k, v in weights.items() if k != "W_rec"}, "W_rec"),
        "W_in wrong shape": (dict(weights, W_in=np.zeros((n_rec + 1, n_in))), "W_in"),
        "b_out wrong shape": (dict(weights, b_out=np.zeros(7)), "b_out"),
        "NaN in W_rec": (dict(weights, W_rec=np.full((n_rec, n_rec), np.nan)), "W_rec"),
        "non-binary mask": (dict(weights, rec_connectivity=np.full((n_rec, n_rec), 0.5)), "rec_connectivity"),
        "dale_ratio 2": (dict(weights, dale_ratio=2.0), "dale_ratio"),
        "string W_out": (dict(weights, W_out="abc"), "W_out"),
    }
    for label, (value, token) in broken.items():
        yield Case("simulator weights", label,
                   lambda value=value: BasicSimulator(weights=value, params={"dt": 10, "tau": 100}), token)
    yield Case("simulator weights", "two sources", lambda: BasicSimulator(weights=weights, weights_path="x.npz"),
               "weights_path")
    yield Case("simulator weights", "no source", lambda: BasicSimulator(), "weights")
    sim = BasicSimulator(weights=weights, params={"dt": 10, "tau": 100})
    x = np.zeros((2, 20, n_in), np.float32)
    runs = {
        "2-D input": (lambda: sim.run_trials(np.zeros((20, n_in))), "trial_input"),
        "wrong N_in": (lambda: sim.run_trials(np.zeros((2, 20, n_in + 2))), "trial_input"),
        "NaN input": (lambda: sim.run_trials(np.full((2, 20, n_in), np.nan)), "trial_input"),
        "t_connectivity shape": (lambda: sim.run_trials(x, t_connectivity=np.ones((3, 3))), "t_connectivity"),
        "t_connectivity NaN": (lambda: sim.run_trials(x, t_connectivity=np.full((n_rec, n_rec), np.nan)),
                               "t_connectivity"),
        "Silence unit out of range": (lambda: sim.run_trials(x, perturbations=[Silence([n_rec])]), "Silence"),
        "Silence negative start": (lambda: sim.run_trials(x, perturbations=[Silence([0], start=-1)]), "Silence"),
        "Silence beyond the trial": (lambda: sim.run_trials(x, perturbations=[Silence([0], start=30)]), "Silence"),
        "Kick NaN delta": (lambda: sim.run_trials(x, perturbations=[Kick(3, np.nan)]), "Kick"),
        "Kick step 1.5": (lambda: sim.run_trials(x, perturbations=[Kick(1.5, 1.0)]), "Kick"),
        "Kick step beyond": (lambda: sim.run_trials(x, perturbations=[Kick(99, 1.0)]), "Kick"),
        "Clamp inf value": (lambda: sim.run_trials(x, perturbations=[Clamp([0], value=np.inf)]), "Clamp"),
        "input perturbation mode": (lambda: sim.run_trials(x, perturbations=[InputPerturbation(1.0, mode="mul")]),
                                    "mode"),
        "not a perturbation": (lambda: sim.run_trials(x, perturbations=[3]), "perturbation"),
        "rnn_step state shape": (lambda: sim.rnn_step(np.zeros((2, n_rec + 1)), np.zeros((2, n_in))), "state"),
        "checkpoint not callable": (lambda: sim.run_trials(x, checkpoint=5), "checkpoint"),
    }
    for label, (call, token) in runs.items():
        yield Case("simulator run", label, call, token)


def weight_file_cases(folder, weights):
    from psychrnn_widgets import Basic, load_weights
    from psychrnn_widgets.io.weight_files import save_weights

    good = save_weights(folder / "good", weights)
    files = {}
    files["truncated"] = good.read_bytes()[: good.stat().st_size // 2]
    files["text"] = b"W_rec = [[1, 2], [3, 4]]\n"
    files["empty"] = b""
    payload = pickle.dumps(np.array([1, 2, 3], dtype=object), protocol=3)

    def member(npy):
        buffer = io.BytesIO()
        with zipfile.ZipFile(good) as old, zipfile.ZipFile(buffer, "w") as new:
            for info in old.infolist():
                new.writestr(info.filename, old.read(info))
            new.writestr("extra.npy", npy)
        return buffer.getvalue()

    def object_npy(body, shape=()):
        buffer = io.BytesIO()
        npy_format.write_array_header_1_0(buffer, {"descr": "|O", "fortran_order": False, "shape": shape})
        buffer.write(body)
        return buffer.getvalue()

    files["os.system pickle"] = member(object_npy(b"cos\nsystem\n(S'echo hacked'\ntR."))
    files["huge object array"] = member(object_npy(payload.replace(b"(K\x01K\x03\x85", b"(K\x01J\x00\x00\x00\x7f\x85"),
                                                   (3,)))
    header = io.BytesIO()
    npy_format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (10 ** 11,)})
    files["header promises 400 GB"] = member(header.getvalue() + b"\0" * 16)
    for label, content in files.items():
        path = folder / f"{label.replace(' ', '_')}.npz"
        path.write_bytes(content)
        yield Case("weight files", label, lambda path=path: load_weights(path), path.name)
    yield Case("weight files", "missing file", lambda: load_weights(folder / "absent.npz"), "absent.npz")
    for label, changed in (("missing b_rec", {k: v for k, v in weights.items() if k != "b_rec"}),
                           ("wrong W_out shape", dict(weights, W_out=np.zeros((5, weights["W_rec"].shape[0]))))):
        path = save_weights(folder / label.replace(" ", "_"), changed)
        n = weights["W_rec"].shape[0]
        params = dict(name="f", N_in=weights["W_in"].shape[1], N_rec=n, N_out=2, N_steps=10, dt=10, tau=100,
                      N_batch=4, load_weights_path=str(path))
        yield Case("weight files", f"model loads {label}", lambda params=params: Basic(params), path.name)
    bad_mask = dict(weights, rec_connectivity=weights["rec_connectivity"] * 0.5)
    yield Case("weight files", "save a non-binary mask", lambda: save_weights(folder / "scaled", bad_mask),
               "rec_connectivity")


def data_cases(model, task):
    n_in, n_out = model.N_in, model.N_out

    def generator(x=None, y=None, mask=None, raw=None):
        def gen():
            while True:
                if raw is not None:
                    yield raw
                else:
                    yield (np.zeros((4, 10, n_in)) if x is None else x, np.zeros((4, 10, n_out)) if y is None else y,
                           np.ones((4, 10, n_out)) if mask is None else mask)
        return gen()

    cases = {
        "y wrong shape": (generator(y=np.zeros((4, 10, n_out + 1))), "y"),
        "mask wrong time": (generator(mask=np.ones((4, 9, n_out))), "mask"),
        "NaN target": (generator(y=np.full((4, 10, n_out), np.nan)), "y"),
        "x wrong N_in": (generator(x=np.zeros((4, 10, n_in + 1))), "x"),
        "yields a number": (generator(raw=3), "yield"),
        "yields (x, y)": (generator(raw=(np.zeros((4, 10, n_in)), np.zeros((4, 10, n_out)))), "yield"),
        "empty generator": (iter(()), "ran out"),
    }
    for label, (source, token) in cases.items():
        yield Case("training data", label,
                   lambda source=source: model.train(source, {"training_iters": 8, "verbosity": False}), token)
    import tensorflow as tf

    losses = {
        "loss returns (B,)": (lambda p, y, m: tf.reduce_mean(tf.square(p - y), axis=[1, 2]), "loss function"),
        "loss returns None": (lambda p, y, m: None, "loss function"),
        "loss returns a string": (lambda p, y, m: "low", "loss function"),
    }
    from psychrnn_widgets import Basic

    base = dict(name="l", N_in=n_in, N_rec=5, N_out=n_out, N_steps=10, dt=10, tau=100, N_batch=4)
    for label, (fn, token) in losses.items():
        yield Case("custom functions", label,
                   lambda fn=fn: Basic(dict(base, loss_function=fn)).train(task, {"training_iters": 8,
                                                                                   "verbosity": False}), token)
    yield Case("custom functions", "regulariser returns a vector",
               lambda: Basic(dict(base, custom_regularization=lambda m, p: tf.ones(3))).train(
                   task, {"training_iters": 8, "verbosity": False}), "custom_regularization")
    yield Case("custom functions", "custom_regularization is a number",
               lambda: Basic(dict(base, custom_regularization=0.1)), "custom_regularization")


def curriculum_and_control_cases(model, task):
    from psychrnn_widgets import Curriculum, MatchToCategory, TrainingControl
    from psychrnn_widgets.training.trainer import Trainer

    other = MatchToCategory(10, 100, 2000, 4, N_in=4)
    cases = {
        "no tasks": (lambda: Curriculum([]), "task"),
        "tasks not tasks": (lambda: Curriculum([3, 4]), "tasks"),
        "different N_in": (lambda: Curriculum([task, other]), "N_in"),
        "threshold NaN": (lambda: Curriculum([task], thresholds=[math.nan]), "thresholds"),
        "threshold text": (lambda: Curriculum([task], thresholds=["high"]), "thresholds"),
        "too few thresholds": (lambda: Curriculum([task, task], thresholds=[0.9]), "thresholds"),
        "metric_epoch 0": (lambda: Curriculum([task], metric_epoch=0), "metric_epoch"),
        "metric_epoch 1.5": (lambda: Curriculum([task], metric_epoch=1.5), "metric_epoch"),
        "set_stage out of range": (lambda: Curriculum([task]).set_stage(3), "stage"),
        "set_threshold inf": (lambda: Curriculum([task]).set_threshold(0, math.inf), "thresholds"),
        "set_threshold stage -1": (lambda: Curriculum([task]).set_threshold(-1, 0.5), "stage"),
    }
    for label, (call, token) in cases.items():
        yield Case("curriculum", label, call, token)
    trainer = Trainer.of(model)
    for value in (math.nan, math.inf, -0.1, 0, "fast"):
        yield Case("trainer", f"learning_rate={value!r}",
                   lambda value=value: setattr(trainer, "learning_rate", value), "learning_rate")
    stopped = TrainingControl()
    stopped.request_stop()
    yield Case("trainer", "reuse a stopped control",
               lambda: model.train(task, {"training_iters": 8, "verbosity": False, "control": stopped}), "control")


def thread_cases():
    """Pool sizes for ``set_tensorflow_threads`` (each refused before anything changes)."""
    from psychrnn_widgets import set_tensorflow_threads

    for pool in ("intra_op", "inter_op"):
        for value in (0, -1, 1.5, math.nan, "2", True, [1], 10 ** 9, 1025, math.inf):
            yield Case("thread pools", f"{pool}={value!r}",
                       lambda pool=pool, value=value: set_tensorflow_threads(**{pool: value}), pool)


def hostile_weight_file_cases(folder, weights):
    """Bombs and wrong dtypes in weight files: each refused (bounded in time and memory), naming the file or entry."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from helpers import laughs_pickle, object_npy, object_pickle_holding
    from psychrnn_widgets import BasicSimulator, load_weights
    from psychrnn_widgets.io.safe_unpickle import MAX_MEMBERS

    plain = {key: weights[key] for key in ("W_in", "W_rec", "W_out", "b_rec", "b_out", "init_state")}

    def npy(array):
        buffer = io.BytesIO()
        npy_format.write_array(buffer, np.asanyarray(array), allow_pickle=True)
        return buffer.getvalue()

    def write(name, members, compression=zipfile.ZIP_DEFLATED):
        path = folder / f"{name}.npz"
        with zipfile.ZipFile(path, "w", compression=compression) as archive:
            for key, value in members.items():
                archive.writestr(key + ".npy", value if isinstance(value, bytes) else npy(value))
        return path

    shared = np.empty(6000, dtype=object)
    shared[:] = [np.zeros(5000)] * 6000
    overstated = write("overstated", plain)
    data = bytearray(overstated.read_bytes())
    start = 0
    while (start := data.find(b"PK\x01\x02", start)) >= 0:  # the central directory's uncompressed sizes
        data[start + 24:start + 28] = (2 ** 32 - 2).to_bytes(4, "little")
        start += 4
    overstated.write_bytes(bytes(data))
    bombs = {
        "billion laughs pickle": write("laughs", {**plain, "extra": object_npy(laughs_pickle(10, 8))}),
        "shared array 6000 times": write("shared", {**plain, "extra": shared}),
        "deflated zip bomb": write("zipbomb", {**plain, "extra": np.zeros(5 << 20, np.float32)}),
        "overstated sizes": overstated,
        "nested 200 deep": write("deep", {"extra": object_npy(object_pickle_holding(b"]" * 200 + b"a" * 199))}),
        "list holding itself": write("itself", {"extra": object_npy(object_pickle_holding(
            b"]r\xe8\x03\x00\x00j\xe8\x03\x00\x00a"))}),
        "60 kB of text": write("text", {"extra": np.array("x" * 60_000, dtype=object)}),
        "20,000-digit integer": write("integer", {"extra": np.array(10 ** 20_000, dtype=object)}),
        "too many members": write("members", {f"m{i}": np.zeros(0, np.float32) for i in range(MAX_MEMBERS + 1)},
                                  zipfile.ZIP_STORED),
    }
    for label, path in bombs.items():
        yield Case("hostile weight files", label, lambda path=path: load_weights(path), path.name)
    n_rec = plain["W_rec"].shape[0]
    wrong = {
        "datetime64": np.arange(n_rec * n_rec).astype("datetime64[s]").reshape(n_rec, n_rec),
        "timedelta64": np.arange(n_rec * n_rec).astype("timedelta64[ms]").reshape(n_rec, n_rec),
        "complex64": np.eye(n_rec, dtype=np.complex64), "complex128": np.eye(n_rec) * (1 + 1j),
        "bytes": np.full((n_rec, n_rec), b"ab"), "void": np.zeros((n_rec, n_rec), "V4"),
        "structured": np.zeros((n_rec, n_rec), [("w", "f4"), ("b", "f4")]),
        "complex in an object array": np.array([[1 + 2j] * n_rec] * n_rec, dtype=object),
    }
    for label, W_rec in wrong.items():
        path = write(f"dtype_{label.split()[0]}", {**plain, "W_rec": W_rec})
        yield Case("hostile weight files", f"W_rec {label}", lambda path=path: load_weights(path), "W_rec")
        yield Case("hostile weight files", f"simulator, W_rec {label}",
                   lambda path=path: BasicSimulator(weights_path=str(path), params={"dt": 10, "tau": 100}), "W_rec")


def history_file_cases(folder):
    """The Lab's saved runs (Runs tab, Load): counts and curves checked before anything is built."""
    from psychrnn_widgets.widgets.history import FORMAT, load_record

    good = {"format": FORMAT, "label": "#1", "epoch": 5, "trials": 160, "network_params": {"N_rec": 6},
            "curves": {"loss": [[32.0, 64.0], [0.5, 0.25]]}}
    bad = {
        "epoch 1e300": ({"epoch": 1e300}, "epoch"), "epoch -1": ({"epoch": -1}, "epoch"),
        "epoch 2.5": ({"epoch": 2.5}, "epoch"), "epoch 'many'": ({"epoch": "many"}, "epoch"),
        "trials 1e20": ({"trials": 1e20}, "trials"), "trials below epoch": ({"epoch": 9, "trials": 3}, "trials"),
        "ragged curve": ({"curves": {"loss": [[1.0, 2.0, 3.0], [0.5]]}}, "curves['loss']"),
        "nested curve": ({"curves": {"loss": [[1.0, [2.0]], [0.5, 0.4]]}}, "curves['loss']"),
        "NaN in a curve": ({"curves": {"accuracy": [[1.0], [float("nan")]]}}, "curves['accuracy']"),
        "text in a curve": ({"curves": {"loss": [["a"], [0.5]]}}, "curves['loss']"),
        "curve not a pair": ({"curves": {"loss": [[1.0]]}}, "curves['loss']"),
        "curves a list": ({"curves": [1, 2]}, "curves"),
        "label a number": ({"label": 3}, "label"),
        "settings a list": ({"network_params": [1]}, "network_params"),
    }
    for label, (change, token) in bad.items():
        path = folder / f"run_{len(label)}_{abs(hash(label)) % 10 ** 6}.json"
        path.write_text(json.dumps({**good, **change}))
        yield Case("bad histories", label, lambda path=path: load_record(path), token)


def analysis_cases(model, task, weights):
    """Every declared analysis argument walked through its invalid examples, then bad arrays and one-class data."""
    from psychrnn_widgets import analysis as A
    from psychrnn_widgets.params import ANALYSIS_PARAMS

    W = {key: weights[key] for key in ("W_in", "W_rec", "W_out", "b_rec", "b_out", "init_state", "dt", "tau")}
    n_rec = weights["W_rec"].shape[0]
    rates = np.abs(np.random.default_rng(0).normal(size=(8, 10, n_rec)))
    outputs = np.random.default_rng(1).normal(size=(8, 10, 2))
    choices, group = np.array([0, 1] * 4), np.arange(8) % 2
    fit = dict(levels=[-0.2, 0.0, 0.2], n_trials=[10, 10, 10], n_choice1=[2, 5, 8])
    calls = {
        "n_per_level": lambda v: A.condition_batch(task, n_per_level=v),
        "n_trials": lambda v: A.condition_batch(task, n_trials=v),
        "seed": lambda v: A.condition_batch(task, seed=v),
        "fixed_timing": lambda v: A.condition_batch(task, fixed_timing=v),
        "noise": lambda v: A.condition_batch(task, noise=v),
        "threshold": lambda v: A.reaction_times(outputs, 0.0, 10, threshold=v),
        "rule": lambda v: A.reaction_times(outputs, 0.0, 10, rule=v),
        "channels": lambda v: A.reaction_times(outputs, 0.0, 10, channels=v),
        "ci": lambda v: A.fit_psychometric(**fit, ci=v),
        "ci_level": lambda v: A.fit_psychometric(**fit, ci_level=v),
        "n_bootstrap": lambda v: A.fit_psychometric(**fit, ci="bootstrap", n_bootstrap=v),
        "lapses": lambda v: A.fit_psychometric(**fit, lapses=v),
        "fit": lambda v: A.psychometric_curve(evidence=[0.1, 0.2], choices=[0, 1], fit=v),
        "correct_only": lambda v: A.chronometric_curve(W, task, correct_only=v),
        "bias": lambda v: A.logistic_with_lapses([0.0], v, 1.0),
        "slope": lambda v: A.logistic_with_lapses([0.0], 0.0, v),
        "guess": lambda v: A.logistic_with_lapses([0.0], 0.0, 1.0, guess=v),
        "lapse": lambda v: A.logistic_with_lapses([0.0], 0.0, 1.0, lapse=v),
        "n_groups": lambda v: A.psth(rates, group, n_groups=v),
        "n_rec": lambda v: A.unit_order(v),
        "window": lambda v: A.choice_selectivity(rates, choices, window=v),
        "n_components": lambda v: A.pca(rates, v),
        "n": lambda v: A.sample_states(rates, v),
        "noise_scale": lambda v: A.sample_states(rates, 3, noise_scale=v),
        "sign": lambda v: A.select_units(W, "selectivity", selectivity=np.zeros(n_rec), sign=v),
        "kind": lambda v: A.perturbations_for([0], kind=v),
        "value": lambda v: A.perturbations_for([0], "clamp", value=v),
        "delta": lambda v: A.perturbations_for([0], "kick", delta=v),
        "step": lambda v: A.perturbations_for([0], "kick", step=v),
        "start": lambda v: A.perturbations_for([0], start=v),
        "stop": lambda v: A.perturbations_for([0], stop=v),
        "eps": lambda v: A.state_jacobian(W, np.zeros(n_rec), eps=v),
        **{name: (lambda v, name=name: A.find_fixed_points(model, np.zeros((2, n_rec)), **{name: v}))
           for name in ("q_tolerance", "unique_tolerance", "max_iterations", "learning_rate", "final_lr_ratio",
                        "chunk", "newton_steps", "progress", "should_stop")},
    }
    special = {"channels": [(0, 0), (0, 5), "ab", (0, 1, 2), (-1, 1)], "window": [(5, 2), (0, 99), "abc", (-1, 3)],
               "sign": [2, "both", 0.5, None]}
    for name, call in calls.items():
        for value in special.get(name, ANALYSIS_PARAMS[name].invalid_examples()):
            yield Case("analysis arguments", f"{name}={_label(value)}", lambda call=call, value=value: call(value),
                       name)
    arrays = {
        "psth rates NaN": (lambda: A.psth(np.full((2, 3, 4), math.nan), [0, 1]), "rates"),
        "psth group 1.5": (lambda: A.psth(rates, group + 0.5), "group"),
        "psth units out of range": (lambda: A.psth(rates, group, units=[n_rec]), "units"),
        "pca states empty": (lambda: A.pca(np.zeros((0, 4))), "states"),
        "selectivity one class": (lambda: A.choice_selectivity(rates, np.ones(8)), "choices"),
        "fit every trial chose 1": (lambda: A.fit_psychometric(**dict(fit, n_choice1=[10, 10, 10])), "n_choice1"),
        "fit n_choice1 > n_trials": (lambda: A.fit_psychometric(**dict(fit, n_choice1=[2, 11, 8])), "n_choice1"),
        "psychometric_data ragged": (lambda: A.psychometric_data([[0.1], [0.2, 0.3]], [0, 1]), "evidence"),
        "psychometric_data choices shorter": (lambda: A.psychometric_data([0.1, 0.2], [1]), "choices"),
        "reaction_times outputs 2-D": (lambda: A.reaction_times(outputs[0], 0.0, 10), "outputs"),
        "reaction_times onset negative": (lambda: A.reaction_times(outputs, -1.0, 10), "onset"),
        "reaction_times dt 0": (lambda: A.reaction_times(outputs, 0.0, 0), "dt"),
        "eigenspectrum not square": (lambda: A.eigenspectrum(np.zeros((2, 3))), "matrix_or_source"),
        "state_jacobian state shorter": (lambda: A.state_jacobian(W, np.zeros(2)), "state"),
        "select_units units 1.5": (lambda: A.select_units(W, units=[1.5]), "units"),
        "connectivity order repeats": (lambda: A.connectivity(W, order=[0] * n_rec), "order"),
        "condition_batch levels NaN": (lambda: A.condition_batch(task, levels=[math.nan]), "levels"),
        "condition_batch task 3": (lambda: A.condition_batch(3), "task"),
        "simulate x wrong N_in": (lambda: A.simulate(W, np.zeros((2, 5, 7))), "x"),
        "find_fixed_points initial_states NaN": (lambda: A.find_fixed_points(model, np.full((2, n_rec), math.nan)),
                                                 "initial_states"),
        "find_fixed_points inputs wrong length": (lambda: A.find_fixed_points(model, np.zeros((2, n_rec)),
                                                                              inputs=np.zeros(5)), "inputs"),
        "sample_states states NaN": (lambda: A.sample_states(np.full((3, 4), math.nan), 2), "states"),
        "lesion units out of range": (lambda: A.lesion(W, task, units=[n_rec + 1]), "units"),
        "psychometric_curve n_per_level 0": (lambda: A.psychometric_curve(W, task, n_per_level=0), "n_per_level"),
    }
    for label, (call, token) in arrays.items():
        yield Case("analysis inputs", label, call, token)


def widget_cases():
    from psychrnn_widgets.params import NETWORK_PARAMS
    from psychrnn_widgets.widgets.connectivity import ConnectivityEditor
    from psychrnn_widgets.widgets.network_panel import DECLARED_CONTROLS, NetworkPanel

    panel = NetworkPanel(dict(N_rec=6))
    for key in DECLARED_CONTROLS:
        parameter = NETWORK_PARAMS[key]
        if parameter.kind in ("bool", "choice"):
            continue
        for value in parameter.invalid_examples():
            if isinstance(value, (bool, str, list)) or value is None:
                continue
            if parameter.kind in ("int", "seed") and (not math.isfinite(value) or value != int(value)):
                continue

            def set_control(key=key, value=value):
                if key == "dale_ratio":
                    panel.controls["dale_enabled"].value = True
                panel.controls[key].value = value
                control = panel.parameter_controls[key]
                result = ("refused", control.error) if not control.valid else "accepted"
                panel.controls[key].value = NETWORK_PARAMS[key].default if NETWORK_PARAMS[key].default is not None \
                    else {"dale_ratio": 0.8, "identity_alpha": 1.0, "seed": 0}[key]
                return result

            yield Case("network panel", f"{key}={value!r}", set_control, key)
    editor = ConnectivityEditor(np.ones((3, 3)))
    for label, value in (("mask of 0.5", [0.5] * 9), ("mask too short", [1, 0, 1]), ("mask NaN", [math.nan] * 9),
                         ("ragged mask", [[1, 0, 1], [1]])):
        yield Case("connectivity editor", label, lambda value=value: setattr(editor, "mask", value), "mask")
    yield Case("connectivity editor", "dale_ratio 2", lambda: setattr(editor, "dale_ratio", 2.0), "dale_ratio")


def warned(call):
    """Run ``call`` recording warnings: ``('warned', their messages)`` if it warned, else what it returned."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outcome = call()
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    return ("warned", " | ".join(messages)) if messages else outcome


def registry_cases(folder, weights):
    """Hostile and damaged run-registry files, and paths that would leave the registry."""
    from psychrnn_widgets import PerceptualDiscrimination, Sweep
    from psychrnn_widgets.sweeps.registry import Registry

    registry = Registry(folder / "registry")
    task = {"class": "PerceptualDiscrimination", "params": {"dt": 10, "tau": 100, "T": 100, "N_batch": 4}}
    config = {"task": task, "network_params": {"N_rec": 6}, "train_params": {}, "values": {}, "seed": 1}
    counter = iter(range(10 ** 6))

    def fresh(**fields):
        run_id = f"run-bad{next(counter):05d}"
        registry.update(run_id, **dict({"index": 0, "status": "queued", "config": config, "seed": 1}, **fields))
        return run_id

    def finished():
        run_id = fresh()
        path, sha = registry.save_weights(run_id, weights)
        registry.update(run_id, status="finished", weights_file=path, weights_sha256=sha)
        return run_id

    def hostile(text=None, change=None):
        def call():
            run_id = finished()
            path = registry.record_path(run_id)
            if change is not None:
                record = json.loads(path.read_text())
                change(record)
                text_ = json.dumps(record)
            else:
                text_ = text
            path.write_text(text_)
            return warned(lambda: registry.record(run_id))
        return call

    documents = {"a JSON list": ("[1, 2, 3]", "JSON list"), "null": ("null", "NoneType"),
                 "a string": ('"finished"', "JSON str"), "a number": ("7", "JSON int"),
                 "broken JSON": ('{"format": "psychrnn_widgets-run-1", "run_', "not readable JSON"),
                 "a NaN token": ('{"final_accuracy": NaN}', "not readable JSON"),
                 "nested 100000 deep": ("[" * 100000 + "]" * 100000, "not readable JSON")}
    for label, (text, token) in documents.items():
        yield Case("hostile records", label, hostile(text=text), token)
    changes = {
        "format": "psychrnn_widgets-run-0", "run_id": "run-someone-else", "status": "done?", "attempts": -3,
        "index": -1, "seed": 1.5, "final_accuracy": 7.5, "final_loss": -1.0, "training_time": "long",
        "metrics": [1, 2], "weights_sha256": "00", "config": "PerceptualDiscrimination", "versions": ["1.0"],
        "ensemble": {"group": "g", "size": 0}, "claim": {"driver": "me"}, "error": 3,
    }
    extra = {"attempts": ["1", 1.5, True, None], "final_accuracy": [-0.1, "high", True], "status": [None, 3]}
    for key, value in changes.items():
        for item in [value] + extra.get(key, []):
            yield Case("hostile records", f"{key}={item!r}"[:40],
                       hostile(change=lambda record, key=key, item=item: record.update({key: item})), key)
    yield Case("hostile records", "finished without a weight file",
               hostile(change=lambda record: record.pop("weights_file")), "weights_file")
    for label, value, token in (("weights_file climbs out", "../../elsewhere.npz", "climbs out"),
                                ("weights_file absolute", "/etc/passwd", "absolute"),
                                ("weights_file another run's", "runs/run-other.npz", "not this run's own"),
                                ("weights_file a list", ["runs/x.npz"], "weights_file")):
        yield Case("hostile records", label,
                   hostile(change=lambda record, value=value: record.update(weights_file=value)), token)
    for name in ("os:system", "subprocess:Popen", "builtins:eval", "evil_module:boom", "psychrnn_widgets.io:x", ""):
        def named(name=name):
            run_id = finished()
            path = registry.record_path(run_id)
            record = json.loads(path.read_text())
            record["config"]["task"]["class"] = name
            path.write_text(json.dumps(record))
            return registry.model(run_id)
        yield Case("hostile records", f"task class {name!r}", named, f"{name!r}")

    def damaged_file(damage):
        def call():
            run_id = finished()
            path = registry.weights_path(run_id)
            damage(path)
            return registry.load_weights(run_id)
        return call

    def swap(path):
        other = finished()
        registry.save_weights(other, {**weights, "W_rec": weights["W_rec"] * 0.5})
        path.write_bytes(registry.weights_path(other).read_bytes())

    def symlink_out(path):
        outside = folder / "outside.npz"
        outside.write_bytes(path.read_bytes())
        path.unlink()
        path.symlink_to(outside)

    for label, damage, token in (("truncated", lambda p: p.write_bytes(p.read_bytes()[:100]), "SHA-256"),
                                 ("emptied", lambda p: p.write_bytes(b""), "SHA-256"),
                                 ("swapped with another run's", swap, "SHA-256"),
                                 ("deleted", lambda p: p.unlink(), "missing"),
                                 ("a symlink out of the registry", symlink_out, "outside the registry")):
        yield Case("registry weight files", label, damaged_file(damage), token)

    # paths that would leave the registry
    for run_id in ("../escaped", "../../escaped", "/tmp/escaped", "a/b", "..", ".hidden", "", 3, "x" * 200,
                   "run-\\x", "run-\0x"):
        for method in ("update", "save_weights", "record", "load_weights"):
            def call(run_id=run_id, method=method):
                if method == "update":
                    return registry.update(run_id, status="queued")
                if method == "save_weights":
                    return registry.save_weights(run_id, weights)
                return getattr(registry, method)(run_id)
            yield Case("registry paths", f"{method}({run_id!r})"[:40], call, "plain name")
    linked = Registry(folder / "linked")
    (folder / "linked").mkdir()
    (folder / "elsewhere").mkdir()
    (folder / "linked" / "runs").symlink_to(folder / "elsewhere", target_is_directory=True)
    yield Case("registry paths", "runs folder links out", lambda: linked.update("run-x", status="queued"),
               "outside the registry")
    yield Case("registry paths", "weights through a linked runs folder",
               lambda: linked.save_weights("run-x", weights), "outside the registry")

    # sweep.json: damaged, or another sweep's
    def sweep_on(path, **kwargs):
        return Sweep(PerceptualDiscrimination, task_params=task["params"], network_params={"N_rec": 6},
                     seed=kwargs.pop("seed", 0), registry=path, **kwargs)

    good = folder / "good-sweep"
    sweep_on(good).registry.write_definition(sweep_on(good).definition())
    original = (good / "sweep.json").read_text()
    damages = {"not JSON": "{oops", "a JSON list": "[]", "seed a string": dict(seed="0"),
               "seed changed by hand": dict(seed=5), "no combinations": dict(combinations=None),
               "identity forged": dict(identity="0" * 64), "grid a string": dict(grid="yes")}
    for label, damage in damages.items():
        for seed in (None, 0):
            def call(damage=damage, seed=seed, label=label):
                path = folder / f"damaged-{label.replace(' ', '_')}-{seed}"
                path.mkdir()
                if isinstance(damage, dict):
                    document = {k: v for k, v in json.loads(original).items()}
                    document.update(damage)
                    if document.get("combinations") is None:
                        document.pop("combinations")
                    damage = json.dumps(document)
                (path / "sweep.json").write_text(damage)
                return sweep_on(path, seed=seed)
            yield Case("registry sweep.json", f"{label} (seed={seed})", call, "sweep.json")
    for label, kwargs in (("other axes", dict(axes={"learning_rate": [0.5]})), ("other seed", dict(seed=1)),
                          ("other name", dict(name="other")), ("other repeats", dict(repeats=2))):
        yield Case("registry sweep.json", f"another sweep: {label}", lambda kwargs=kwargs: sweep_on(good, **kwargs),
                   "another sweep")


def sweep_cases():
    """A sweep's own settings (declared in ``SWEEP_PARAMS``) and its keys, axes and names."""
    from psychrnn_widgets import PerceptualDiscrimination, Sweep
    from psychrnn_widgets.params import SWEEP_PARAMS

    task_params = {"dt": 10, "tau": 100, "T": 100, "N_batch": 4}

    def sweep(**kwargs):
        arguments = dict(task_params=task_params, network_params={"N_rec": 6}, seed=0, registry="unused")
        arguments.update(kwargs)
        return Sweep(PerceptualDiscrimination, **arguments)

    base = sweep()
    # None is each setting's "use the default" (ensemble_size, retries), so it is no bad input here
    for key in ("seed", "repeats", "ensemble_size", "name"):
        for value in [v for v in SWEEP_PARAMS[key].invalid_examples() if v is not None or key == "name"]:
            yield Case("sweep settings", f"{key}={_label(value)}", lambda key=key, value=value: sweep(**{key: value}),
                       key)
    for key in ("n_workers", "threads_per_worker", "retries"):
        for value in [v for v in SWEEP_PARAMS[key].invalid_examples() if v is not None]:
            yield Case("sweep settings", f"{key}={_label(value)}",
                       lambda key=key, value=value: base.execution(in_process=True, **{key: value}), key)
    for name in ("../up", "a/b", "/abs/path", ".hidden", "x" * 200, "a\\b", "c:d", " padded "):
        yield Case("sweep settings", f"name={name!r}"[:40], lambda name=name: sweep(name=name), "name")
    misspelled = {"network_params": [("N_recc", 8), ("dale_ratoi", 0.8), ("rec_nosie", 0.1), ("L2_recc", 0.1),
                                     ("transfer_functoin", "tanh")],
                  "task_params": [("coherance", 0.1), ("N_batchh", 8), ("directon", 1)]}
    for where, pairs in misspelled.items():
        for key, value in pairs:
            def call(where=where, key=key, value=value):
                params = dict(task_params) if where == "task_params" else {"N_rec": 6}
                params[key] = value
                return warned(lambda: sweep(**{where: params}))
            yield Case("sweep keys", f"{where}[{key!r}]", call, key)
    for axis in ("network.N_recc", "network.dale_ratoi", "task.coherance", "task.directon"):
        yield Case("sweep keys", f"axis {axis!r}", lambda axis=axis: warned(lambda: sweep(axes={axis: [1]})),
                   axis.split(".", 1)[1])
    for axis in ("learnig_rate", "N_recc", "coherance", "foo.bar"):
        yield Case("sweep keys", f"bare axis {axis!r}", lambda axis=axis: sweep(axes={axis: [1]}), axis)
    for key in ("learnig_rate", "callbacks", "save_weights_path"):
        yield Case("sweep keys", f"train_params[{key!r}]", lambda key=key: sweep(train_params={key: 1}), key)
    yield Case("sweep keys", "a repeated seed axis", lambda: sweep(axes=[{"seed": 5}, {"seed": 5}]).runs, "seed")
    yield Case("sweep keys", "an axis of no values", lambda: sweep(axes={"learning_rate": []}), "learning_rate")
    yield Case("sweep keys", "an array of objects", lambda: __import__("psychrnn_widgets.sweeps.config",
               fromlist=["from_json"]).from_json({"__ndarray__": [1], "dtype": "object"}), "dtype")


def ensemble_cases():
    """``Ensemble``'s size (declared in ``ENSEMBLE_PARAMS``), its list of params, and repeated seeds."""
    from psychrnn_widgets import Ensemble
    from psychrnn_widgets.params import ENSEMBLE_PARAMS

    params = dict(name="e", N_in=2, N_rec=5, N_out=2, N_steps=5, dt=10.0, tau=100.0, N_batch=2)
    for value in ENSEMBLE_PARAMS["n"].invalid_examples() + ["3", "three", [2]]:
        yield Case("ensemble inputs", f"n={_label(value)}", lambda value=value: Ensemble(params, n=value),
                   "Ensemble: n")
    yield Case("ensemble inputs", "one dict without n", lambda: Ensemble(params), "n")
    yield Case("ensemble inputs", "n disagrees with the list", lambda: Ensemble([params, params], n=3), "n=3")
    yield Case("ensemble inputs", "an empty list", lambda: Ensemble([]), "network_params")
    yield Case("ensemble inputs", "a list of numbers", lambda: Ensemble([1, 2]), "network_params")
    yield Case("ensemble inputs", "different N_rec", lambda: Ensemble([params, dict(params, N_rec=6)]), "N_rec")
    for seeds, token in (((5, 5), "same seed 5"), ((1, 2, 1), "same seed 1"), ((0, 0, 0), "same seed 0")):
        yield Case("ensemble inputs", f"seeds {seeds}",
                   lambda seeds=seeds: warned(lambda: Ensemble([dict(params, seed=s) for s in seeds])), token)


def catalog_cases():
    """Registering and looking up task and model classes by name (nothing is imported because a name says so)."""
    from psychrnn_widgets import PerceptualDiscrimination, register_model, register_task
    from psychrnn_widgets.catalog import model_class, task_class

    for value in (int, 3, "PerceptualDiscrimination", PerceptualDiscrimination(10, 100, 200, 2)):
        yield Case("class catalog", f"register_task({_label(value)})", lambda value=value: register_task(value),
                   "subclasses of Task")
        yield Case("class catalog", f"register_model({_label(value)})", lambda value=value: register_model(value),
                   "subclasses of RNN")
    yield Case("class catalog", "register_model(a task class)", lambda: register_model(PerceptualDiscrimination),
               "subclasses of RNN")
    mine = type("Mine", (PerceptualDiscrimination,), {"__module__": "bad_inputs_module"})
    for name in ("a/b", "../x", "os:system", "", " ", 3, "x" * 200):
        yield Case("class catalog", f"register_task(name={name!r})"[:40],
                   lambda name=name: register_task(mine, name=name), "plain name")
    impostor = type("PerceptualDiscrimination", (PerceptualDiscrimination,), {"__module__": "bad_inputs_module"})
    yield Case("class catalog", "a built-in's name taken", lambda: register_task(impostor), "taken")
    for name in ("os:system", "builtins:eval", "subprocess.Popen", "NoSuchTask", "", 3, None):
        yield Case("class catalog", f"task_class({name!r})", lambda name=name: task_class(name), repr(name))
        yield Case("class catalog", f"model_class({name!r})", lambda name=name: model_class(name), repr(name))


def all_cases(folder):
    from psychrnn_widgets import Basic, PerceptualDiscrimination

    base = dict(name="bad", N_in=2, N_rec=6, N_out=2, N_steps=20, dt=10.0, tau=100.0, N_batch=4)
    shapes = {"input_connectivity": (6, 2), "rec_connectivity": (6, 6), "output_connectivity": (2, 6),
              "W_in": (6, 2), "W_rec": (6, 6), "W_out": (2, 6), "b_rec": (6,), "b_out": (2,), "init_state": (1, 6),
              "Dale_rec": (6, 6), "Dale_out": (6, 6)}
    model = Basic(dict(base, name="bad_model"))
    task = PerceptualDiscrimination(10, 100, 200, 4, seed=0)
    weights = model.get_weights()
    yield from network_params_cases(base, shapes)
    yield from train_params_cases(model, task)
    yield from task_cases()
    yield from test_input_cases(model)
    yield from simulator_cases(weights)
    yield from weight_file_cases(folder, weights)
    yield from data_cases(model, task)
    yield from curriculum_and_control_cases(model, task)
    yield from thread_cases()
    yield from hostile_weight_file_cases(folder, weights)
    yield from history_file_cases(folder)
    yield from analysis_cases(model, task, weights)
    yield from widget_cases()
    yield from registry_cases(folder, weights)
    yield from sweep_cases()
    yield from ensemble_cases()
    yield from catalog_cases()


def run():
    """``(results, counts)``: every case with its outcome, and counts by category and outcome."""
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for case in all_cases(Path(folder)):
            outcome, detail = case.run()
            results.append({"category": case.category, "case": case.label, "outcome": outcome, "detail": detail})
    counts = Counter((r["category"], r["outcome"]) for r in results)
    return results, counts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print every case as JSON")
    args = parser.parse_args(argv)
    results, counts = run()
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    categories = sorted({r["category"] for r in results})
    print(f"{'category':34} {'cases':>6} {'clear':>6} {'unclear':>8}")
    for category in categories:
        clear, unclear = counts[(category, "clear")], counts[(category, "unclear")]
        print(f"{category:34} {clear + unclear:6d} {clear:6d} {unclear:8d}")
    total = len(results)
    clear = sum(r["outcome"] == "clear" for r in results)
    print(f"{'total':34} {total:6d} {clear:6d} {total - clear:8d}")
    for r in results:
        if r["outcome"] != "clear":
            print(f"UNCLEAR {r['category']}: {r['case']}: {r['detail']}")
    return 0 if clear == total else 1


if __name__ == "__main__":
    sys.exit(main())
