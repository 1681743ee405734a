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

Each check reports the largest absolute difference of outputs and states and PASSes
when both are within ``--tol``.  The exit status is 0 only when every check passed.

    python tools/psychrnn_side_by_side.py             # build/reuse the venv, run all
    python tools/psychrnn_side_by_side.py --help
"""
import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
REPO = HERE.parents[1]
DEFAULT_VENV = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "psychrnn_widgets" / "psychrnn-venv"
PSYCHRNN_SPEC = "psychrnn==1.0.0"

# One task/network geometry for both sides (PsychRNN's PerceptualDiscrimination defaults).
DT, TAU, T, N_BATCH = 10, 100, 2000, 50
N_IN, N_OUT, N_STEPS = 2, 2, T // DT


# ============================================================================ workers
# These functions run inside the PsychRNN venv (``--worker``): they may import only
# psychrnn, tensorflow and numpy, and they write their results to files in --out.

def _worker_versions():
    from importlib import metadata

    import numpy as np
    import tensorflow as tf

    return {"psychrnn": metadata.version("psychrnn"), "tensorflow": tf.__version__,
            "numpy": np.__version__, "python": platform.python_version()}


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


def worker_load(out, weights, batch, n_rec):
    """PsychRNN loads a weight file written by psychrnn_widgets and tests it (check B)."""
    import numpy as np
    from psychrnn.backend.models.basic import Basic

    with np.load(batch) as data:
        x = data["x"]
    # PsychRNN tiles init_state to N_batch rows, so test(x) needs x.shape[0] == N_batch
    params = dict(name="side_by_side_b", N_in=N_IN, N_rec=n_rec, N_out=N_OUT, N_steps=N_STEPS,
                  dt=DT, tau=TAU, N_batch=x.shape[0], rec_noise=0.0, load_weights_path=weights)
    model = Basic(params)
    outputs, states = model.test(x)
    dale_ratio = model.dale_ratio
    model.destruct()
    result_path = out / "psychrnn_on_export.npz"
    np.savez(result_path, outputs=outputs, states=states)
    return {"result": str(result_path), "dale_ratio_seen_by_psychrnn": dale_ratio}


def run_worker(args):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.worker == "versions":
        result = _worker_versions()
    elif args.worker == "train":
        result = worker_train(out, args.n_rec, args.trials, args.seed)
    else:
        result = worker_load(out, args.weights, args.batch, args.n_rec)
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

    def compare(self, name, np, got, want, note=""):
        shapes = [(np.shape(g), np.shape(w)) for g, w in zip(got, want)]
        if any(g != w for g, w in shapes):
            self.add(name, False, f"shapes differ (got, expected): {shapes}")
            return
        d_out = float(np.max(np.abs(got[0] - want[0])))
        d_state = float(np.max(np.abs(got[1] - want[1])))
        ok = d_out <= self.tol and d_state <= self.tol  # NaN compares False: a FAIL
        self.add(name, ok, f"max|d outputs| {d_out:.2e}  max|d states| {d_state:.2e}" + (f"  ({note})" if note else ""))

    def add(self, name, ok, detail):
        self.failed |= not ok
        self.rows.append((name, ok, detail))
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
        got = model.test(x, noise=False)
        report.compare(f"fixture {weights.name}", np, got, want,
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
    result = call_worker(venv, work, "load", weights=exported, batch=work / "ours_batch.npz", n_rec=args.n_rec)
    with np.load(result["result"]) as r:
        got = (r["outputs"], r["states"])
    accuracy = float(task.accuracy_function(y, want[0], mask))
    first, last = (float(losses[0]), float(losses[-1])) if len(losses) else (None, None)
    print(f"      ours: loss {_loss(first)} -> {_loss(last)} in {seconds:.1f} s, "
          f"accuracy {accuracy:.2f}; PsychRNN sees dale_ratio={result['dale_ratio_seen_by_psychrnn']}")
    report.compare("B  psychrnn_widgets export -> PsychRNN", np, got, want)


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
    parser.add_argument("--n-rec", type=int, default=32, help="recurrent units (default: 32)")
    parser.add_argument("--trials", type=int, default=3000,
                        help="training trials for each side (default: 3000 = 60 batches of 50)")
    parser.add_argument("--seed", type=int, default=2020, help="seed for both sides (default: 2020)")
    parser.add_argument("--tol", type=float, default=1e-5,
                        help="largest allowed absolute difference (default: 1e-5)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep the weight files and batches here (default: a temporary folder)")
    parser.add_argument("--skip-fixtures", action="store_true", help="skip the shipped-fixtures check")
    # internal: run as a worker inside the PsychRNN venv
    parser.add_argument("--worker", choices=("versions", "train", "load"), help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--weights", help=argparse.SUPPRESS)
    parser.add_argument("--batch", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return run_worker(args)

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
            if not args.skip_fixtures:
                check_fixtures(report, np, pw)
            check_a(report, np, pw, args.venv, work, args)
            check_b(report, np, pw, args.venv, work, args)
        except RuntimeError as exc:
            print(exc, file=sys.stderr)
            return 2
    passed = sum(ok for _, ok, _ in report.rows)
    verdict = "FAIL" if report.failed else "PASS"
    print(f"{verdict}: {passed}/{len(report.rows)} checks passed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
