#!/usr/bin/env python
"""Side-by-side interop check between psychrnn_widgets and the real PsychRNN 1.0.

PsychRNN 1.0 (PyPI ``psychrnn==1.0.0``) runs TensorFlow in TF1 graph mode: importing it
calls ``tf.compat.v1.disable_eager_execution()`` for the whole process.  It therefore
never runs in this process.  It lives in a virtual environment of its own (created on
first use and cached, by default ``~/.cache/psychrnn_widgets/psychrnn-venv``), and this
same file is run there as a *worker* (``--worker ...``) that imports only PsychRNN,
TensorFlow and NumPy.  The psychrnn_widgets side runs in this process.

Checks (all with recurrent noise off, so both sides are deterministic):

  fixtures   the PsychRNN-written weight files shipped in ``tests/data`` load into
             ``psychrnn_widgets.Basic`` and reproduce the outputs/states stored beside them.
  A          PsychRNN trains a PerceptualDiscrimination network, saves it with
             ``model.save`` and runs ``model.test(x)`` on a fixed batch; our ``Basic``
             loads that file and runs the same ``x``.
  B          our ``Basic`` (Dale's law, sparse recurrent and input masks) trains, is
             exported with ``export_psychrnn``; PsychRNN's ``Basic(load_weights_path=...)``
             loads the file and runs our batch.
  matrix     every combination a user can make, both directions: ``dale_ratio`` None /
             0.8 / 1, a sparse recurrent mask or none, ``W_rec`` frozen (``W_rec_train=False``
             or ``fixed_weights``) or not, ``autapses`` False / True, the six transfer
             functions, ``Dale_out`` default / PsychRNN's +1/-1 / our 1/0 (see
             :data:`FACTORS`).  ``--matrix pairwise`` (default) runs a covering design in which
             every pair of levels of every two factors appears in some cell; ``--matrix full``
             runs all 648 combinations (about 30 times longer).
             ours -> PsychRNN: our ``Basic`` trains 3 steps, is saved with ``model.save`` and
             with ``export_psychrnn``; PsychRNN loads each file with ``load_weights_path`` and
             as ``Basic({**params, **dict(np.load(f, allow_pickle=True))})``.
             PsychRNN -> ours: PsychRNN builds and trains the combination 3 steps,
             ``model.save``s it and runs ``test(x)``; our ``Basic`` loads the file both ways.
             A cell passes when every load matches the trained side within ``--tol``, sees
             the same Dale's law (PsychRNN: ``dale_ratio`` falsy exactly when there is none)
             and the training side left the frozen entries of ``W_rec`` unchanged.

Each check reports the largest absolute difference of outputs and states and PASSes
when both are within ``--tol``.  The exit status is 0 only when every check passed.

    python tools/psychrnn_side_by_side.py             # build/reuse the venv, run all
    python tools/psychrnn_side_by_side.py --help
"""
import argparse
import itertools
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve()
REPO = HERE.parents[1]
DEFAULT_VENV = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "psychrnn_widgets" / "psychrnn-venv"
PSYCHRNN_SPEC = "psychrnn==1.0.0"

# One task/network geometry for both sides (PsychRNN's PerceptualDiscrimination defaults).
DT, TAU, T, N_BATCH = 10, 100, 2000, 50
N_IN, N_OUT, N_STEPS = 2, 2, T // DT

# The combination matrix: every factor a user can set that changes what a weight file holds.
FACTORS = {
    "dale_ratio": (None, 0.8, 1.0),
    "rec_mask": ("dense", "sparse"),            # sparse: a random 50% recurrent connectivity mask
    "frozen": ("no", "W_rec_train", "fixed_weights"),  # W_rec_train=False, or half of W_rec fixed
    "autapses": (True, False),
    "transfer": ("relu", "tanh", "sigmoid", "softplus", "elu", "linear"),
    "Dale_out": ("default", "psychrnn", "gate"),  # not given; diag(+1 E, -1 I); diag(1 E, 0 I)
}
# small and short, so that one worker process per direction runs every cell
M_N_REC, M_N_BATCH, M_N_STEPS, M_TRAIN_STEPS, M_LEARNING_RATE = 16, 8, 50, 3, 0.01


# ============================================================================ workers
# These functions run inside the PsychRNN venv (``--worker``): they may import only
# psychrnn, tensorflow and numpy, and they write their results to files in --out.

def _worker_versions():
    from importlib import metadata

    import numpy as np
    import tensorflow as tf

    return {"psychrnn": metadata.version("psychrnn"), "tensorflow": tf.__version__,
            "numpy": np.__version__, "python": platform.python_version()}


def _psychrnn_transfer(name):
    """PsychRNN takes any TensorFlow function as params['transfer_function'] (never from a file)."""
    import tensorflow as tf

    return {"relu": tf.nn.relu, "tanh": tf.nn.tanh, "sigmoid": tf.nn.sigmoid, "softplus": tf.nn.softplus,
            "elu": tf.nn.elu, "linear": tf.identity}[name]


def _plain_ratio(value):
    """PsychRNN's ``model.dale_ratio`` as JSON: None or a float (whatever NumPy type it came as)."""
    return None if value is None else float(value)


def worker_train(out, n_rec, trials, seed):
    """PsychRNN trains, saves, and tests on a fixed batch (check A, PsychRNN's half)."""
    import numpy as np
    import tensorflow as tf
    from psychrnn.backend.models.basic import Basic
    from psychrnn.tasks.perceptual_discrimination import PerceptualDiscrimination

    np.random.seed(seed)                      # PsychRNN's tasks and initialisers use np.random
    tf.compat.v1.set_random_seed(seed)
    task = PerceptualDiscrimination(dt=DT, tau=TAU, T=T, N_batch=N_BATCH)
    params = task.get_task_params()
    params.update(name="side_by_side_a", N_rec=n_rec, rec_noise=0.0)
    model = Basic(params)
    start = time.perf_counter()
    losses, _, _ = model.train(task, {"training_iters": trials, "verbosity": False})
    seconds = time.perf_counter() - start
    weights_path = out / "psychrnn_trained.npz"
    model.save(str(weights_path))
    x, y, mask, _ = task.get_trial_batch()    # a fresh batch, after training
    outputs, states = model.test(x)
    accuracy = float(task.accuracy_function(y, outputs, mask))
    model.destruct()
    np.savez(out / "psychrnn_batch.npz", x=x.astype(np.float32), y=y, mask=mask,
             outputs=outputs, states=states)
    return {"weights": str(weights_path), "batch": str(out / "psychrnn_batch.npz"),
            "first_loss": float(losses[0]) if losses else None,
            "last_loss": float(losses[-1]) if losses else None,
            "accuracy": accuracy, "train_seconds": seconds}


def worker_load(out, jobs):
    """PsychRNN loads weight files written by psychrnn_widgets and tests them (check B, matrix ours -> PsychRNN).

    ``jobs``: a JSON file ``{"batch": npz with x, "jobs": [{id, weights, way, params}]}``;
    ``way`` is ``'path'`` (``load_weights_path``) or ``'dict'`` (PsychRNN's documented
    ``network_params.update(weights)``); ``params['transfer_function']`` is a name.
    """
    import numpy as np
    import tensorflow as tf
    from psychrnn.backend.models.basic import Basic

    spec = json.loads(Path(jobs).read_text())
    with np.load(spec["batch"]) as data:
        x = data["x"]
    arrays, results = {}, {}
    for job in spec["jobs"]:
        # PsychRNN tiles init_state to N_batch rows, so test(x) needs x.shape[0] == N_batch
        params = dict(job["params"], name=f"load_{job['id']}", N_batch=x.shape[0], N_steps=x.shape[1],
                      rec_noise=0.0, transfer_function=_psychrnn_transfer(job["params"]["transfer_function"]))
        try:
            if job["way"] == "path":
                model = Basic(dict(params, load_weights_path=job["weights"]))
            else:
                model = Basic({**params, **dict(np.load(job["weights"], allow_pickle=True))})
            outputs, states = model.test(x)
            results[job["id"]] = {"dale_ratio": _plain_ratio(model.dale_ratio)}
            arrays[f"{job['id']}/outputs"], arrays[f"{job['id']}/states"] = outputs, states
            model.destruct()
        except Exception as error:  # one failing load is a FAIL of its cell, not of the run
            results[job["id"]] = {"error": f"{type(error).__name__}: {error}"}
            tf.compat.v1.reset_default_graph()
    result_path = out / "psychrnn_loads.npz"
    np.savez(result_path, **arrays)
    return {"result": str(result_path), "jobs": results}


def worker_build(out, jobs):
    """PsychRNN builds, trains, saves and tests each cell of the matrix (PsychRNN -> ours).

    ``jobs``: a JSON file ``{"arrays": npz, "batch": npz with x and the training batches,
    "cells": [{id, dale_ratio, autapses, transfer, frozen, seed, has: [array names]}]}``.
    Per cell: the weight file, ``test(x)``'s outputs and states, ``model.dale_ratio`` and
    the largest change of a frozen ``W_rec`` entry (effective matrix) during training.
    """
    import numpy as np
    import tensorflow as tf
    from psychrnn.backend.models.basic import Basic

    spec = json.loads(Path(jobs).read_text())
    with np.load(spec["batch"]) as data:
        batch = {key: data[key] for key in data.files}
    with np.load(spec["arrays"]) as data:
        cell_arrays = {key: data[key] for key in data.files}
    x = batch["x"]
    n_batch = x.shape[0]

    def batches():
        for i in itertools.count():
            k = i % batch["train_x"].shape[0]
            yield batch["train_x"][k], batch["train_y"][k], batch["train_mask"][k], None

    arrays, results = {}, {}
    for cell in spec["cells"]:
        name = cell["id"]
        np.random.seed(cell["seed"])
        tf.compat.v1.set_random_seed(cell["seed"])
        params = dict(name=f"build_{name}", N_in=x.shape[2], N_rec=M_N_REC, N_out=batch["train_y"].shape[-1],
                      N_steps=x.shape[1], dt=DT, tau=TAU, N_batch=n_batch, rec_noise=0.0,
                      transfer_function=_psychrnn_transfer(cell["transfer"]), autapses=cell["autapses"],
                      W_rec_train=cell["frozen"] != "W_rec_train")
        if cell["dale_ratio"] is not None:
            params["dale_ratio"] = cell["dale_ratio"]
        for key in ("rec_connectivity", "Dale_out"):
            if f"{name}/{key}" in cell_arrays:
                params[key] = cell_arrays[f"{name}/{key}"].astype(np.float64)
        if cell["dale_ratio"] == 1.0:
            # PsychRNN's GaussianSpectralRadius divides by 1 - dale_ratio: give W_rec (WeightInitializer),
            # scaled so that the effective (all-positive) matrix has spectral radius 1.1
            W_rec = np.random.randn(M_N_REC, M_N_REC)
            mask = params.get("rec_connectivity", np.ones((M_N_REC, M_N_REC))).copy()
            if not cell["autapses"]:
                np.fill_diagonal(mask, 0.0)
            params["W_rec"] = W_rec * 1.1 / np.max(np.abs(np.linalg.eigvals(np.abs(W_rec * mask))))
        train_params = {"training_iters": (M_TRAIN_STEPS + 1) * n_batch,  # the first batch only sizes it
                        "learning_rate": M_LEARNING_RATE, "verbosity": False}
        fixed = cell_arrays.get(f"{name}/fixed")
        if fixed is not None:
            train_params["fixed_weights"] = {"W_rec": fixed}
        try:
            model = Basic(params)
            before = model.get_weights()["W_rec"]
            model.train(batches(), train_params)
            after = model.get_weights()["W_rec"]
            path = out / f"psychrnn_{name}.npz"
            model.save(str(path))
            outputs, states = model.test(x)
            frozen = {"no": np.zeros_like(before), "W_rec_train": np.ones_like(before)}.get(cell["frozen"], fixed)
            results[name] = {"weights": str(path), "dale_ratio": _plain_ratio(model.dale_ratio),
                             "frozen_change": float(np.max(np.abs(after - before) * frozen, initial=0.0)),
                             "changed": float(np.max(np.abs(after - before)))}
            arrays[f"{name}/outputs"], arrays[f"{name}/states"] = outputs, states
            model.destruct()
        except Exception as error:
            results[name] = {"error": f"{type(error).__name__}: {error}"}
            tf.compat.v1.reset_default_graph()
    result_path = out / "psychrnn_built.npz"
    np.savez(result_path, **arrays)
    return {"result": str(result_path), "cells": results}


def run_worker(args):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.worker == "versions":
        result = _worker_versions()
    elif args.worker == "train":
        result = worker_train(out, args.n_rec, args.trials, args.seed)
    elif args.worker == "load":
        result = worker_load(out, args.jobs)
    else:
        result = worker_build(out, args.jobs)
    (out / f"{args.worker}.json").write_text(json.dumps(result))
    return 0


# ======================================================================= the venv
def venv_python(venv):
    return Path(venv) / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _venv_ready(venv):
    python = venv_python(venv)
    if not python.exists():
        return False
    probe = subprocess.run([str(python), "-c", "import psychrnn, tensorflow, numpy"],
                           capture_output=True, env=_worker_env())
    return probe.returncode == 0


def default_tensorflow_spec():
    """Pin the venv's TensorFlow to this environment's version when there is one."""
    from importlib import metadata

    for dist in ("tensorflow-cpu", "tensorflow"):
        try:
            return f"tensorflow-cpu=={metadata.version(dist)}"
        except metadata.PackageNotFoundError:
            continue
    return "tensorflow-cpu"


def ensure_venv(venv, tensorflow_spec, reinstall=False, log=print):
    """Create (or reuse) the PsychRNN venv; returns a short description of what happened."""
    venv = Path(venv).expanduser()
    if reinstall and venv.exists():
        shutil.rmtree(venv)
    if _venv_ready(venv):
        return f"reused {venv}"
    start = time.perf_counter()
    log(f"creating the PsychRNN venv at {venv} (one-off; a few minutes) ...")
    venv.parent.mkdir(parents=True, exist_ok=True)
    _quiet_run([sys.executable, "-m", "venv", "--clear", str(venv)])
    pip = [str(venv_python(venv)), "-m", "pip", "install", "--disable-pip-version-check"]
    log(f"  pip install {tensorflow_spec} numpy")
    _quiet_run(pip + [tensorflow_spec, "numpy"])
    # PsychRNN 1.0.0's wheel metadata is invalid for current pip, hence --no-deps;
    # its real dependencies (tensorflow, numpy) are installed above.
    log(f"  pip install --no-deps {PSYCHRNN_SPEC}")
    _quiet_run(pip + ["--no-deps", PSYCHRNN_SPEC])
    if not _venv_ready(venv):
        raise RuntimeError(f"{venv}: psychrnn, tensorflow and numpy do not import after install")
    return f"created {venv} in {time.perf_counter() - start:.0f} s"


def _quiet_run(command):
    """Run a set-up command; show its output only when it fails."""
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-25:])
        raise RuntimeError(f"{' '.join(command)} failed (exit {done.returncode}):\n{tail}")


def _worker_env():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="-1")
    env.pop("PYTHONPATH", None)  # the worker must see PsychRNN only, never this repo
    return env


def call_worker(venv, out, worker, **kwargs):
    """Run this file as a worker in the PsychRNN venv; returns its JSON result."""
    command = [str(venv_python(venv)), str(HERE), "--worker", worker, "--out", str(out)]
    for key, value in kwargs.items():
        command += [f"--{key.replace('_', '-')}", str(value)]
    done = subprocess.run(command, capture_output=True, text=True, env=_worker_env(), cwd=out)
    result_file = Path(out) / f"{worker}.json"
    if done.returncode != 0 or not result_file.exists():
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-25:])
        raise RuntimeError(f"PsychRNN worker {worker!r} failed (exit {done.returncode}):\n{tail}")
    return json.loads(result_file.read_text())


# ================================================================= our side + report
def _import_ours():
    try:
        import psychrnn_widgets  # noqa: F401
    except ImportError:
        sys.path.insert(0, str(REPO))  # run from a checkout without installing
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf
    import psychrnn_widgets as pw

    tf.get_logger().setLevel("ERROR")  # the matrix builds many models: no retracing notices
    return np, tf, pw


def _network_params(n_rec, **extra):
    params = dict(name="ours", N_in=N_IN, N_rec=n_rec, N_out=N_OUT, N_steps=N_STEPS, dt=DT,
                  tau=TAU, N_batch=N_BATCH, rec_noise=0.0)
    params.update(extra)
    return params


def _loss(value):
    return "n/a" if value is None else f"{value:.4f}"  # None: fewer than 10 batches trained


class Report:
    def __init__(self, tol):
        self.tol, self.rows, self.failed = tol, [], False

    def differences(self, np, got, want):
        """``(max|d outputs|, max|d states|, problem)``; problem is '' or why they cannot be compared."""
        shapes = [(np.shape(g), np.shape(w)) for g, w in zip(got, want)]
        if any(g != w for g, w in shapes):
            return float("nan"), float("nan"), f"shapes differ (got, expected): {shapes}"
        return float(np.max(np.abs(got[0] - want[0]))), float(np.max(np.abs(got[1] - want[1]))), ""

    def within(self, *values):
        return all(value <= self.tol for value in values)  # NaN compares False: a FAIL

    def compare(self, name, np, got, want, note=""):
        d_out, d_state, problem = self.differences(np, got, want)
        if problem:
            self.add(name, False, problem)
            return
        ok = self.within(d_out, d_state)
        self.add(name, ok, f"max|d outputs| {d_out:.2e}  max|d states| {d_state:.2e}" + (f"  ({note})" if note else ""))

    def add(self, name, ok, detail, show=True):
        self.failed |= not ok
        self.rows.append((name, ok, detail))
        if show:
            print(f"  [{'PASS' if ok else 'FAIL'}] {name}: {detail}", flush=True)


def check_fixtures(report, np, pw):
    data = REPO / "tests" / "data"
    pairs = sorted(data.glob("*_weights.npz")) if data.is_dir() else []
    if not pairs:
        report.add("fixtures", False, f"no PsychRNN fixtures found in {data}")
        return
    for weights in pairs:
        batch = weights.with_name(weights.name.replace("_weights.npz", "_batch.npz"))
        with np.load(batch) as b:
            x, want = b["x"], (b["outputs"], b["states"])
        n_rec = want[1].shape[2]
        model = pw.Basic(_network_params(n_rec, name=weights.stem, load_weights_path=str(weights)))
        report.compare(f"fixture {weights.name} (load_weights_path)", np, model.test(x, noise=False), want,
                       note=f"transfer function {model.transfer_function_name}")
        with np.load(weights, allow_pickle=True) as data:  # PsychRNN's network_params.update(weights)
            model = pw.Basic({**_network_params(n_rec, name=weights.stem), **dict(data)})
        report.compare(f"fixture {weights.name} (network_params)", np, model.test(x, noise=False), want,
                       note=f"transfer function {model.transfer_function_name}")


def check_a(report, np, pw, venv, work, args):
    print(f"  ... PsychRNN trains N_rec={args.n_rec} on {args.trials} trials (seed {args.seed})", flush=True)
    result = call_worker(venv, work, "train", n_rec=args.n_rec, trials=args.trials, seed=args.seed)
    with np.load(result["batch"]) as b:
        x, y, mask, want = b["x"], b["y"], b["mask"], (b["outputs"], b["states"])
    model = pw.Basic(_network_params(args.n_rec, name="a", load_weights_path=result["weights"]))
    got = model.test(x, noise=False)
    ours_acc = float(pw.PerceptualDiscrimination(dt=DT, tau=TAU, T=T, N_batch=N_BATCH)
                     .accuracy_function(y, got[0], mask))
    print(f"      PsychRNN: loss {_loss(result['first_loss'])} -> {_loss(result['last_loss'])} in "
          f"{result['train_seconds']:.1f} s (graph build included), accuracy {result['accuracy']:.2f} "
          f"(ours on its weights: {ours_acc:.2f})")
    report.compare("A  PsychRNN-trained file -> psychrnn_widgets", np, got, want)


def check_b(report, np, pw, venv, work, args):
    rng = np.random.default_rng(args.seed)
    rec_mask = (rng.random((args.n_rec, args.n_rec)) < 0.5).astype(np.float32)
    np.fill_diagonal(rec_mask, 0.0)
    in_mask = (rng.random((args.n_rec, N_IN)) < 0.8).astype(np.float32)
    params = _network_params(args.n_rec, name="b", seed=args.seed, dale_ratio=0.8,
                             rec_connectivity=rec_mask, input_connectivity=in_mask)
    task = pw.PerceptualDiscrimination(dt=DT, tau=TAU, T=T, N_batch=N_BATCH, seed=args.seed)
    model = pw.Basic(params)
    print(f"  ... psychrnn_widgets trains N_rec={args.n_rec}, Dale 0.8, masks, on {args.trials} trials", flush=True)
    start = time.perf_counter()
    losses, _, _ = model.train(task, {"training_iters": args.trials, "verbosity": False})
    seconds = time.perf_counter() - start
    x, y, mask, _ = task.get_trial_batch()
    want = model.test(x, noise=False)
    exported = pw.export_psychrnn(work / "ours_exported.npz", model.get_weights())
    np.savez(work / "ours_batch.npz", x=np.asarray(x, np.float32))
    jobs = {"batch": str(work / "ours_batch.npz"), "jobs": [
        {"id": "b", "weights": str(exported), "way": "path",
         "params": dict(N_in=N_IN, N_rec=args.n_rec, N_out=N_OUT, dt=DT, tau=TAU, transfer_function="relu")}]}
    (work / "b_jobs.json").write_text(json.dumps(jobs))
    result = call_worker(venv, work, "load", jobs=work / "b_jobs.json")
    seen = result["jobs"]["b"]
    if "error" in seen:
        report.add("B  psychrnn_widgets export -> PsychRNN", False, seen["error"])
        return
    with np.load(result["result"]) as r:
        got = (r["b/outputs"], r["b/states"])
    accuracy = float(task.accuracy_function(y, want[0], mask))
    first, last = (float(losses[0]), float(losses[-1])) if len(losses) else (None, None)
    print(f"      ours: loss {_loss(first)} -> {_loss(last)} in {seconds:.1f} s, "
          f"accuracy {accuracy:.2f}; PsychRNN sees dale_ratio={seen['dale_ratio']}")
    report.compare("B  psychrnn_widgets export -> PsychRNN", np, got, want)


# ------------------------------------------------------------ the combination matrix
def pairwise_design(factors, seed=0, candidates=50):
    """Rows (tuples of levels) in which every pair of levels of every two factors appears.

    A greedy covering design: each new row is the candidate (out of ``candidates`` random
    completions, seeded) that covers the most pairs not yet covered, started from an
    uncovered pair.  ``factors``: ``{name: levels}``; deterministic for a seed.
    """
    names = list(factors)
    levels = [range(len(factors[name])) for name in names]
    uncovered = {(i, a, j, b) for i, j in itertools.combinations(range(len(names)), 2)
                 for a in levels[i] for b in levels[j]}
    rng = random.Random(seed)
    rows = []

    def gain(row):
        return sum((i, row[i], j, row[j]) in uncovered for i, j in itertools.combinations(range(len(row)), 2))

    while uncovered:
        i, a, j, b = min(uncovered)
        best = None
        for _ in range(candidates):
            row = [rng.choice(list(lv)) for lv in levels]
            row[i], row[j] = a, b
            if best is None or gain(row) > gain(best):
                best = row
        rows.append(tuple(best))
        uncovered -= {(p, best[p], q, best[q]) for p, q in itertools.combinations(range(len(best)), 2)}
    return [tuple(factors[name][k] for name, k in zip(names, row)) for row in rows]


def covers_every_pair(rows, factors):
    """Whether ``rows`` (tuples of levels) hold every pair of levels of every two factors."""
    values = list(factors.values())
    for i, j in itertools.combinations(range(len(values)), 2):
        seen = {(row[i], row[j]) for row in rows}
        if any((a, b) not in seen for a in values[i] for b in values[j]):
            return False
    return True


def matrix_cells(design, seed):
    """The cells: dicts of factor levels plus ``id`` and a per-cell ``seed``."""
    if design == "full":
        rows = list(itertools.product(*FACTORS.values()))
    else:
        rows = pairwise_design(FACTORS, seed)
        assert covers_every_pair(rows, FACTORS)
    return [dict(zip(FACTORS, row), id=f"c{k:03d}", seed=seed + k) for k, row in enumerate(rows, 1)]


def cell_arrays(np, cell):
    """The arrays of a cell: ``rec_connectivity`` (sparse), ``fixed`` (fixed_weights['W_rec']), ``Dale_out``."""
    rng = np.random.default_rng(cell["seed"])
    arrays = {}
    if cell["rec_mask"] == "sparse":
        arrays["rec_connectivity"] = (rng.random((M_N_REC, M_N_REC)) < 0.5).astype(np.float32)
    if cell["frozen"] == "fixed_weights":
        arrays["fixed"] = (rng.random((M_N_REC, M_N_REC)) < 0.5).astype(np.float32)
    sign = np.ones(M_N_REC, np.float32)
    if cell["dale_ratio"] is not None:
        sign[int(cell["dale_ratio"] * M_N_REC):] = -1.0
    if cell["Dale_out"] == "psychrnn":
        arrays["Dale_out"] = np.diag(sign)                           # PsychRNN's default: a copy of Dale_rec
    elif cell["Dale_out"] == "gate":
        arrays["Dale_out"] = np.diag((sign > 0).astype(np.float32))  # ours: inhibitory units not read out
    return arrays


def matrix_batches(np, seed):
    """A test batch ``x`` and ``M_TRAIN_STEPS`` training batches (random inputs and targets, mask 1)."""
    rng = np.random.default_rng(seed)
    shape = (M_N_BATCH, M_N_STEPS)
    x = (0.5 + 0.3 * rng.standard_normal(shape + (N_IN,))).astype(np.float32)
    train_x = (0.5 + 0.3 * rng.standard_normal((M_TRAIN_STEPS,) + shape + (N_IN,))).astype(np.float32)
    train_y = rng.random((M_TRAIN_STEPS,) + shape + (N_OUT,)).astype(np.float32)
    return {"x": x, "train_x": train_x, "train_y": train_y, "train_mask": np.ones_like(train_y)}


def _cell_params(cell, arrays, **extra):
    params = dict(name=f"ours_{cell['id']}", N_in=N_IN, N_rec=M_N_REC, N_out=N_OUT, N_steps=M_N_STEPS, dt=DT,
                  tau=TAU, N_batch=M_N_BATCH, rec_noise=0.0, transfer_function=cell["transfer"],
                  autapses=cell["autapses"])
    params.update(extra)
    return params


def _same_dale(seen, expected):
    """PsychRNN applies Dale's law `if self.dale_ratio:`; ours has None or the ratio."""
    return (not seen) if expected is None else seen == expected


class MatrixTable:
    """One row per cell and direction: the levels, loads that matched, largest differences, PASS/FAIL."""

    COLUMNS = ("cell", "direction", "dale", "rec mask", "frozen", "autapses", "transfer", "Dale_out", "loads",
               "max|d out|", "max|d states|", "")
    WIDTHS = (5, 16, 5, 8, 13, 8, 8, 8, 5, 10, 13, 4)

    def __init__(self, report):
        self.report, self.summary = report, {}

    def header(self):
        print("  " + " ".join(f"{c:<{w}}" for c, w in zip(self.COLUMNS, self.WIDTHS)), flush=True)

    def row(self, cell, direction, loads, problems):
        """``loads``: ``[(label, d_out, d_states)]``; ``problems``: why the cell fails besides the numbers."""
        d_out = max((d for _, d, _ in loads), default=float("nan"))
        d_states = max((d for _, _, d in loads), default=float("nan"))
        matched = sum(self.report.within(a, b) for _, a, b in loads)
        expected = 4 if direction.startswith("ours") else 2
        ok = matched == len(loads) == expected and not problems
        levels = ("None" if cell["dale_ratio"] is None else f"{cell['dale_ratio']:g}", cell["rec_mask"],
                  cell["frozen"], str(cell["autapses"]), cell["transfer"], cell["Dale_out"])
        values = (cell["id"], direction, *levels, f"{matched}/{expected}", f"{d_out:.2e}", f"{d_states:.2e}",
                  "PASS" if ok else "FAIL")
        print("  " + " ".join(f"{v:<{w}}" for v, w in zip(values, self.WIDTHS)), flush=True)
        for label, a, b in loads:
            if not self.report.within(a, b):
                problems = [*problems, f"{label}: max|d outputs| {a:.2e}, max|d states| {b:.2e}"]
        for problem in problems:
            print(f"        ! {problem}", flush=True)
        self.report.add(f"matrix {cell['id']} {direction}", ok, "; ".join(problems), show=False)
        total = self.summary.setdefault(direction, [0, 0, 0.0, 0.0])
        total[0] += ok
        total[1] += 1
        total[2] = max(total[2], d_out) if d_out == d_out else float("nan")
        total[3] = max(total[3], d_states) if d_states == d_states else float("nan")

    def print_summary(self, design, n_cells, seconds):
        print(f"  matrix: {n_cells} cells ({design} design over {len(FACTORS)} factors) in {seconds:.0f} s", flush=True)
        for direction, (passed, count, d_out, d_states) in self.summary.items():
            print(f"    {direction}: {passed}/{count} cells passed, largest max|d outputs| {d_out:.2e}, "
                  f"max|d states| {d_states:.2e}", flush=True)


def _train_ours(np, pw, cell, arrays, batches):
    """Our Basic for a cell, trained M_TRAIN_STEPS steps: ``(model, problems)``."""
    extra = {"seed": cell["seed"], "W_rec_train": cell["frozen"] != "W_rec_train"}
    if cell["dale_ratio"] is not None:
        extra["dale_ratio"] = cell["dale_ratio"]
    for key in ("rec_connectivity", "Dale_out"):
        if key in arrays:
            extra[key] = arrays[key]
    model = pw.Basic(_cell_params(cell, arrays, **extra))
    train_params = {"training_iters": M_TRAIN_STEPS * M_N_BATCH, "learning_rate": M_LEARNING_RATE,
                    "verbosity": False}
    if "fixed" in arrays:
        train_params["fixed_weights"] = {"W_rec": arrays["fixed"]}
    source = ((batches["train_x"][k], batches["train_y"][k], batches["train_mask"][k])
              for k in itertools.cycle(range(M_TRAIN_STEPS)))
    before = model.get_weights()["W_rec"]
    model.train(source, train_params)
    change = np.abs(model.get_weights()["W_rec"] - before)
    frozen = {"no": np.zeros_like(change), "W_rec_train": np.ones_like(change)}.get(cell["frozen"], arrays.get("fixed"))
    problems = []
    if float(np.max(change * frozen)) > 0:
        problems.append(f"training moved frozen W_rec entries by up to {float(np.max(change * frozen)):.2e}")
    return model, problems


def check_matrix_ours_to_psychrnn(report, table, np, pw, venv, work, cells, batches):
    """Our Basic per cell -> model.save and export_psychrnn -> PsychRNN loads each both ways."""
    x = batches["x"]
    np.savez(work / "matrix_x.npz", x=x)
    jobs, wants, problems = [], {}, {}
    for cell in cells:
        arrays = cell_arrays(np, cell)
        model, problems[cell["id"]] = _train_ours(np, pw, cell, arrays, batches)
        wants[cell["id"]] = model.test(x, noise=False)
        with warnings.catch_warnings():  # export warns that PsychRNN takes the transfer function from params
            warnings.simplefilter("ignore")
            files = {"save": model.save(work / f"ours_{cell['id']}_save.npz"),
                     "export": pw.export_psychrnn(work / f"ours_{cell['id']}_export.npz", model.get_weights())}
        params = dict(N_in=N_IN, N_rec=M_N_REC, N_out=N_OUT, dt=DT, tau=TAU, transfer_function=cell["transfer"],
                      autapses=cell["autapses"])
        for (kind, path), way in itertools.product(files.items(), ("path", "dict")):
            jobs.append({"id": f"{cell['id']}-{kind}-{way}", "weights": str(path), "way": way, "params": params})
    (work / "matrix_load_jobs.json").write_text(json.dumps({"batch": str(work / "matrix_x.npz"), "jobs": jobs}))
    print(f"  ... PsychRNN loads {len(jobs)} files (model.save and export_psychrnn, load_weights_path and "
          "network_params)", flush=True)
    result = call_worker(venv, work, "load", jobs=work / "matrix_load_jobs.json")
    with np.load(result["result"]) as r:
        got = {key: r[key] for key in r.files}
    for cell in cells:
        loads, cell_problems = [], list(problems[cell["id"]])
        for kind, way in itertools.product(("save", "export"), ("path", "dict")):
            job = f"{cell['id']}-{kind}-{way}"
            label = f"{'model.save' if kind == 'save' else 'export_psychrnn'} via {_way(way)}"
            seen = result["jobs"][job]
            if "error" in seen:
                cell_problems.append(f"{label}: PsychRNN failed: {seen['error']}")
                continue
            if not _same_dale(seen["dale_ratio"], cell["dale_ratio"]):
                cell_problems.append(f"{label}: PsychRNN sees dale_ratio={seen['dale_ratio']}, expected "
                                     f"{cell['dale_ratio']}")
            d_out, d_states, problem = report.differences(np, (got[f"{job}/outputs"], got[f"{job}/states"]),
                                                          wants[cell["id"]])
            if problem:
                cell_problems.append(f"{label}: {problem}")
            loads.append((label, d_out, d_states))
        table.row(cell, "ours -> PsychRNN", loads, cell_problems)


def _way(way):
    return "load_weights_path" if way == "path" else "network_params"


def check_matrix_psychrnn_to_ours(report, table, np, pw, venv, work, cells, batches):
    """PsychRNN builds and trains each cell, saves it -> our Basic loads it both ways."""
    np.savez(work / "matrix_batches.npz", **batches)
    arrays = {f"{cell['id']}/{key}": value for cell in cells for key, value in cell_arrays(np, cell).items()}
    np.savez(work / "matrix_arrays.npz", **arrays)
    spec = {"batch": str(work / "matrix_batches.npz"), "arrays": str(work / "matrix_arrays.npz"),
            "cells": [{k: cell[k] for k in ("id", "seed", *FACTORS)} for cell in cells]}
    (work / "matrix_build_jobs.json").write_text(json.dumps(spec))
    print(f"  ... PsychRNN builds and trains {len(cells)} networks ({M_TRAIN_STEPS} steps each)", flush=True)
    result = call_worker(venv, work, "build", jobs=work / "matrix_build_jobs.json")
    with np.load(result["result"]) as r:
        wanted = {key: r[key] for key in r.files}
    x = batches["x"]
    for cell in cells:
        built = result["cells"][cell["id"]]
        if "error" in built:
            table.row(cell, "PsychRNN -> ours", [], [f"PsychRNN failed to build or train it: {built['error']}"])
            continue
        problems = []
        if built["frozen_change"] > 0:
            problems.append(f"PsychRNN moved frozen W_rec entries by up to {built['frozen_change']:.2e}")
        if not _same_dale(built["dale_ratio"], cell["dale_ratio"]):
            problems.append(f"PsychRNN built dale_ratio={built['dale_ratio']}, expected {cell['dale_ratio']}")
        want = (wanted[f"{cell['id']}/outputs"], wanted[f"{cell['id']}/states"])
        params = _cell_params(cell, {})
        loads = []
        for way in ("path", "dict"):
            label = f"ours via {_way(way)}"
            try:
                if way == "path":
                    model = pw.Basic(dict(params, load_weights_path=built["weights"]))
                else:
                    with np.load(built["weights"], allow_pickle=True) as data:
                        model = pw.Basic({**params, **dict(data)})
            except Exception as error:
                problems.append(f"{label}: {type(error).__name__}: {error}")
                continue
            if model.dale_ratio != cell["dale_ratio"]:
                problems.append(f"{label}: dale_ratio {model.dale_ratio}, expected {cell['dale_ratio']}")
            d_out, d_states, problem = report.differences(np, model.test(x, noise=False), want)
            if problem:
                problems.append(f"{label}: {problem}")
            loads.append((label, d_out, d_states))
        table.row(cell, "PsychRNN -> ours", loads, problems)


def check_matrix(report, np, pw, venv, work, args):
    cells = matrix_cells(args.matrix, args.seed)
    n_full = 1
    for levels in FACTORS.values():
        n_full *= len(levels)
    print(f"  combination matrix: {len(cells)} cells ({args.matrix}; the full product has {n_full}), N_rec "
          f"{M_N_REC}, N_steps {M_N_STEPS}, N_batch {M_N_BATCH}, {M_TRAIN_STEPS} training steps", flush=True)
    start = time.perf_counter()
    batches = matrix_batches(np, args.seed)
    table = MatrixTable(report)
    table.header()
    check_matrix_ours_to_psychrnn(report, table, np, pw, venv, work, cells, batches)
    check_matrix_psychrnn_to_ours(report, table, np, pw, venv, work, cells, batches)
    table.print_summary(args.matrix, len(cells), time.perf_counter() - start)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Two-way interop check of psychrnn_widgets against the real PsychRNN 1.0, "
                    "which runs in its own virtual environment (created on first use).",
        epilog="Exit status 0: every check passed; 1: a check failed; 2: the PsychRNN side could not run.")
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV,
                        help=f"virtual environment for PsychRNN (default: {DEFAULT_VENV})")
    parser.add_argument("--reinstall", action="store_true", help="delete and rebuild the venv first")
    parser.add_argument("--tensorflow", default=None, metavar="SPEC",
                        help="pip requirement for TensorFlow in the venv (default: tensorflow-cpu "
                             "pinned to this environment's TensorFlow version)")
    parser.add_argument("--n-rec", type=int, default=32, help="recurrent units in checks A and B (default: 32)")
    parser.add_argument("--trials", type=int, default=3000,
                        help="training trials for each side in checks A and B (default: 3000 = 60 batches of 50)")
    parser.add_argument("--seed", type=int, default=2020, help="seed for both sides (default: 2020)")
    parser.add_argument("--tol", type=float, default=1e-5,
                        help="largest allowed absolute difference (default: 1e-5)")
    parser.add_argument("--matrix", choices=("pairwise", "full", "none"), default="pairwise",
                        help="the combination matrix: a covering design with every pair of levels (default), "
                             "every combination (648 cells, about 30x longer), or none")
    parser.add_argument("--only-matrix", action="store_true", help="run the combination matrix only")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep the weight files and batches here (default: a temporary folder)")
    parser.add_argument("--skip-fixtures", action="store_true", help="skip the shipped-fixtures check")
    # internal: run as a worker inside the PsychRNN venv
    parser.add_argument("--worker", choices=("versions", "train", "load", "build"), help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--jobs", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return run_worker(args)
    if args.only_matrix and args.matrix == "none":
        parser.error("--only-matrix needs a --matrix design")

    print("PsychRNN 1.0 side-by-side check", flush=True)
    try:
        how = ensure_venv(args.venv, args.tensorflow or default_tensorflow_spec(), args.reinstall)
    except (RuntimeError, OSError) as exc:
        print(f"could not set up the PsychRNN venv: {exc}", file=sys.stderr)
        return 2
    np, tf, pw = _import_ours()
    with tempfile.TemporaryDirectory(prefix="psychrnn_sbs_") as tmp:
        work = (args.workdir or Path(tmp)).resolve()
        work.mkdir(parents=True, exist_ok=True)
        try:
            theirs = call_worker(args.venv, work, "versions")
        except RuntimeError as exc:
            print(exc, file=sys.stderr)
            return 2
        for label, tf_v, np_v, py_v in (
                (f"psychrnn_widgets {pw.__version__}", tf.__version__, np.__version__, platform.python_version()),
                (f"PsychRNN {theirs['psychrnn']}", theirs["tensorflow"], theirs["numpy"], theirs["python"])):
            print(f"  {label:<24}TensorFlow {tf_v}  NumPy {np_v}  Python {py_v}")
        print(f"  PsychRNN venv: {how}")
        print(f"  tolerance {args.tol:g}; recurrent noise off on both sides", flush=True)
        report = Report(args.tol)
        try:
            if not args.only_matrix:
                if not args.skip_fixtures:
                    check_fixtures(report, np, pw)
                check_a(report, np, pw, args.venv, work, args)
                check_b(report, np, pw, args.venv, work, args)
            if args.matrix != "none":
                check_matrix(report, np, pw, args.venv, work, args)
        except RuntimeError as exc:
            print(exc, file=sys.stderr)
            return 2
    passed = sum(ok for _, ok, _ in report.rows)
    verdict = "FAIL" if report.failed else "PASS"
    print(f"{verdict}: {passed}/{len(report.rows)} checks passed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
