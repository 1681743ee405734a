#!/usr/bin/env python
"""NeuroGym side by side: the same trials, and networks that learn them (issue 26).

NeuroGym (``neurogym==2.3.1``) cannot be installed beside this package's pins (it pins
``numpy==2.2.*``, ``gymnasium==0.29.*``, ``matplotlib==3.10.*`` and imports PyTorch without
declaring it).  So it lives in a virtual environment of its own, created on first use and
cached (default ``~/.cache/psychrnn_widgets/neurogym-venv``): ``tensorflow-cpu`` (this
environment's version), ``torch==2.13.0``, ``neurogym==2.3.1`` and this repository with
``pip install --no-deps -e``.  This file re-runs itself there as a *worker*
(``--worker ...``), one process per job, and reads the worker's result as JSON.

For every environment of :data:`ENVIRONMENTS` (8 native NeuroGym environments, and
ContextDecisionMaking with its default implicit context and with ``use_expl_context=True``):

trials   ``NeuroGymTask(neurogym.make(id, dt=DT), seed=s)`` draws two batches; a second
         environment seeded with ``env.seed(s)`` draws the same number of trials with
         ``new_trial()``.  Equal when every trial's observations (exactly, float32), ground
         truth, length, periods (``start_t``/``end_t``, ms) and trial info are the same.
         With ``--record``, the environment's first trials are written to
         ``tests/data/neurogym_trials.npz`` (the CI tests convert them without NeuroGym).
ours     ``NeuroGymTask`` + ``Basic`` (``--hidden`` units, ``--tau``, the package's defaults otherwise);
         the loss is the task's preferred one (``categorical_cross_entropy``, named by
         ``get_task_params()``); Adam at ``--lr``; ``--steps`` steps of ``--batch`` trials.
neurogym NeuroGym's supervised recipe (its ``supervised_learning_pytorch`` example):
         ``neurogym.Dataset(id, env_kwargs, batch_size, seq_len)``, ``nn.LSTM(--hidden)`` and an
         ``nn.Linear`` readout, ``nn.CrossEntropyLoss`` on every step, Adam at ``--lr``; the
         same number of steps and sequences per batch; ``seq_len`` twice the 95th percentile
         of the trial length (its context-dependent example's rule), and never less than our
         ``N_steps`` (the longest of 50 trials): at least as many time steps per step as ours.
         ContextDecisionMaking weighs the fixation class 0.05 on both sides, as NeuroGym's
         example for it does (``CrossEntropyLoss(weight=[0.05, 1, 1])``; ours
         ``NeuroGymTask(fixation_weight=0.05)``).

Both networks are scored on the same ``--test-trials`` fresh trials (an environment seeded
with ``--test-seed``), each trial run from the network's initial state:

last step    NeuroGym's supervised examples: the largest output at the trial's last step is
             the ground truth there (``NeuroGymTask.accuracy_function``).
env          NeuroGym's own ``performance``: the network's actions (largest output per step)
             are stepped through a copy of the environment at that trial until the trial
             ends; 1 when the environment scored it correct.

    python tools/neurogym_side_by_side.py                  # build/reuse the venv, run all
    python tools/neurogym_side_by_side.py --envs GoNogo-v0 --steps 300
    python tools/neurogym_side_by_side.py --record --write-results
"""
import argparse
import copy
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve()
REPO = HERE.parents[1]
DEFAULT_VENV = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "psychrnn_widgets" / "neurogym-venv"
NEUROGYM_SPEC = "neurogym==2.3.1"
TORCH_SPEC = "torch==2.13.0"   # a CPU wheel; an unpinned torch pulls a CUDA build of several GB
RECORDING = REPO / "tests" / "data" / "neurogym_trials.npz"

#: (row, NeuroGym id, keyword arguments of neurogym.make besides dt, weight of the fixation action in the loss).
#: The weight follows NeuroGym's own examples: 1 (plain CrossEntropyLoss) except for ContextDecisionMaking,
#: whose example weighs the classes [0.05, 1, 1] (see tools/README.md for why it needs that).
ENVIRONMENTS = (
    ("PerceptualDecisionMaking-v0", "PerceptualDecisionMaking-v0", {}, 1.0),
    ("GoNogo-v0", "GoNogo-v0", {}, 1.0),
    ("ContextDecisionMaking-v0", "ContextDecisionMaking-v0", {}, 0.05),
    ("ContextDecisionMaking-v0 (use_expl_context=True)", "ContextDecisionMaking-v0", {"use_expl_context": True}, 0.05),
    ("DelayMatchSample-v0", "DelayMatchSample-v0", {}, 1.0),
    ("DelayComparison-v0", "DelayComparison-v0", {}, 1.0),
    ("ReadySetGo-v0", "ReadySetGo-v0", {}, 1.0),
    ("AntiReach-v0", "AntiReach-v0", {}, 1.0),
    ("DualDelayMatchSample-v0", "DualDelayMatchSample-v0", {}, 1.0),
)
ROWS = {row: (env_id, kwargs) for row, env_id, kwargs, _ in ENVIRONMENTS}
FIXATION_WEIGHT = {row: weight for row, _, _, weight in ENVIRONMENTS}

DT = 100           # ms, both sides (NeuroGym's default and its examples'; NeuroGymTask takes the env's dt)
SEED = 0           # training trials and initial weights
TEST_SEED = 10_000
CHECK_TRIALS = 16  # trials per batch in the trials check (two batches)
RECORD_TRIALS = 8  # trials per environment written by --record
TOLERANCE = 0.05   # the bar: our accuracy at least NeuroGym's minus this
THREADS = 1        # per worker, both sides: on a shared 2-core machine more threads only contend


# ============================================================================ workers
# These run inside the NeuroGym venv (``--worker``); they import neurogym, torch or
# tensorflow only inside functions and write their result to <out>/<worker>.json.

def _make(row):
    import neurogym

    env_id, kwargs = ROWS[row]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gymnasium's registration warnings about NeuroGym's metadata
        return neurogym.make(env_id, dt=DT, **kwargs)


def _env_trial(env):
    """Draw the environment's next trial: (ob float32 (steps, N_in), gt (steps,), periods, info)."""
    import numpy as np

    from psychrnn_widgets.tasks.neurogym_adapter import plain_value

    info = env.unwrapped.new_trial()
    base = env.unwrapped
    periods = {name: [float(base.start_t[name]), float(base.end_t[name])] for name in base.start_t}
    return np.asarray(base.ob, np.float32).reshape(len(base.ob), -1), np.asarray(base.gt).reshape(-1), periods, \
        plain_value(dict(info or {}))


def digest(*arrays):
    """SHA-256 of arrays (dtype, shape and bytes): how the recording names what NeuroGymTask made of its trials."""
    import numpy as np

    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def worker_trials(out, rows, record):
    """Trial equality for every row; with ``record``, the first trials written for the CI tests."""
    import numpy as np

    from psychrnn_widgets import NeuroGymTask

    results, recording = {}, {}
    for index, row in enumerate(rows):
        task = NeuroGymTask(_make(row), N_batch=CHECK_TRIALS, seed=SEED)
        batches = [task.generate_batch() for _ in range(2)]
        x = np.concatenate([b[0] for b in batches])
        y = np.concatenate([b[1] for b in batches])
        mask = np.concatenate([b[2] for b in batches])
        params = [p for b in batches for p in b[3]]
        reference = _make(row)
        reference.unwrapped.seed(SEED)
        problems, cut = [], 0
        trials = []
        for i, p in enumerate(params):
            ob, gt, periods, info = _env_trial(reference)
            trials.append((ob, gt, periods, info))
            n = min(len(ob), task.N_steps)
            cut += len(ob) > task.N_steps
            checks = {
                "length": p["length"] == n,
                "observations": np.array_equal(x[i, :n], ob[:n]) and not x[i, n:].any(),
                "ground truth": np.array_equal(np.argmax(y[i, :n], axis=-1), gt[:n])
                and np.array_equal(np.asarray(p["gt"])[:n], gt[:n]),
                "mask": bool(mask[i, :n].all()) and not mask[i, n:].any(),
                "periods": p["periods"] == periods,
                "info": p["info"] == info,
            }
            problems += [f"trial {i}: {what} differ" for what, ok in checks.items() if not ok]
        results[row] = {"equal": not problems, "trials": len(params), "cut": int(cut), "N_steps": task.N_steps,
                        "T": task.T, "N_in": task.N_in, "N_out": task.N_out, "chance_level": task.chance_level,
                        "problems": problems[:10]}
        if record:
            recorded = trials[:RECORD_TRIALS]
            prefix = f"env{index}/"
            recording[prefix + "meta"] = np.array(json.dumps({
                "row": row, "id": ROWS[row][0], "kwargs": ROWS[row][1], "dt": DT, "seed": SEED, "T": task.T,
                "N_in": task.N_in, "N_out": task.N_out, "env_class": type(reference.unwrapped).__name__,
                "periods": [t[2] for t in recorded], "info": [t[3] for t in recorded],
                # what NeuroGymTask made of these trials here, with the real environment
                "digest": digest(x[:RECORD_TRIALS], y[:RECORD_TRIALS], mask[:RECORD_TRIALS])}))
            for i, (ob, gt, _, _) in enumerate(recorded):
                recording[f"{prefix}ob{i}"] = ob
                recording[f"{prefix}gt{i}"] = gt.astype(np.int64)
    if record:
        versions = _versions()
        recording["notes"] = np.array(
            "Trials of real NeuroGym environments, for tests/test_neurogym_trials.py (which needs no NeuroGym). "
            "Written by `python tools/neurogym_side_by_side.py --record` in its NeuroGym venv: for each "
            f"environment, neurogym.make(id, dt={DT}, **kwargs), env.seed({SEED}), then the first "
            f"{RECORD_TRIALS} trials of env.new_trial(): env.ob (float32), env.gt (int64), start_t/end_t (ms) "
            "and the trial info (JSON in envN/meta, with T and the SHA-256 of the x, y, mask that NeuroGymTask("
            f"env, seed={SEED}) made of them there). Versions: " + json.dumps(versions))
        np.savez_compressed(Path(out) / "neurogym_trials.npz", **recording)
    return results


def draw_test_trials(row, n, seed=TEST_SEED):
    """``n`` trials of an environment seeded with ``seed``: list of (ob, gt)."""
    env = _make(row)
    env.unwrapped.seed(seed)
    return [_env_trial(env)[:2] for _ in range(n)]


def padded(trials, n_in):
    """Observations (n, L, n_in) float32 zero-padded to the longest trial, and the lengths (n,)."""
    import numpy as np

    lengths = np.array([len(ob) for ob, _ in trials])
    x = np.zeros((len(trials), lengths.max(), n_in), np.float32)
    for i, (ob, _) in enumerate(trials):
        x[i, :len(ob)] = ob
    return x, lengths


def score(row, trials, outputs, lengths, seed=TEST_SEED):
    """``(last-step accuracy, environment performance)`` of outputs (n, L, n_actions) on ``trials``."""
    import numpy as np

    actions = np.argmax(outputs, axis=-1)
    final = actions[np.arange(len(trials)), lengths - 1]
    last_step = float(np.mean(final == np.array([gt[-1] for _, gt in trials])))
    env = _make(row)
    env.unwrapped.seed(seed)
    copies = []  # every trial first: a copy that ends its trial draws the next one, and a timing given as a
    for ob, _ in trials:  # function (ReadySetGo's) draws from the original environment's generator
        _env_trial(env)
        copies.append(copy.deepcopy(env.unwrapped))
        assert np.array_equal(np.asarray(copies[-1].ob, np.float32).reshape(len(ob), -1), ob)
    performance = []
    for i, trial in enumerate(copies):
        trial.t = trial.t_ind = 0
        result = 0.0
        for t in range(lengths[i]):
            *_, info = trial.step(int(actions[i, t]))
            if info.get("new_trial"):
                result = float(info.get("performance", 0.0))
                break
        performance.append(result)
    return last_step, float(np.mean(performance))


def worker_ours(out, row, steps, batch, hidden, lr, test_trials, tau):
    """Train through NeuroGymTask with the task's preferred loss; score on the test trials."""
    from psychrnn_widgets import set_tensorflow_threads

    set_tensorflow_threads(intra_op=THREADS, inter_op=THREADS)
    from psychrnn_widgets import Basic, NeuroGymTask

    start = time.perf_counter()
    task = NeuroGymTask(_make(row), N_batch=batch, tau=tau, fixation_weight=FIXATION_WEIGHT[row], seed=SEED)
    params = task.get_task_params()
    params.update(name="ours", N_rec=hidden, seed=SEED)
    model = Basic(params)
    losses, train_seconds, init_seconds = model.train(task, {"training_iters": steps * batch, "learning_rate": lr,
                                                             "loss_epoch": max(1, steps // 20), "verbosity": False})
    trials = draw_test_trials(row, test_trials)
    x, lengths = padded(trials, task.N_in)
    outputs = model.test(x)[0]
    last_step, performance = score(row, trials, outputs, lengths)
    return {"last_step": last_step, "env_performance": performance, "loss": model.loss_name,
            "first_loss": float(losses[0]), "last_loss": float(losses[-1]), "steps": steps, "batch": batch,
            "N_steps": task.N_steps, "train_seconds": train_seconds + init_seconds,
            "seconds": time.perf_counter() - start}


def worker_neurogym(out, row, steps, batch, hidden, lr, test_trials, tau=None):
    """NeuroGym's supervised recipe (Dataset, LSTM + Linear, CrossEntropyLoss, Adam); the same scoring."""
    import neurogym
    import numpy as np
    import torch
    from torch import nn

    from psychrnn_widgets import NeuroGymTask

    start = time.perf_counter()
    torch.set_num_threads(THREADS)
    torch.manual_seed(SEED)
    env_id, kwargs = ROWS[row]
    # its context-dependent example's rule: sequences twice the 95th percentile of the trial length
    # (a sequence runs through consecutive trials; shorter ones cut more trials in two)
    sampler = _make(row).unwrapped
    sampler.seed(SEED)  # it samples trial lengths from the environment's generator: seeded, the same seq_len each run
    stats = sampler.trial_length_stats(num_trials=1000)
    seq_len = max(2 * int(stats["percentile_95"]), NeuroGymTask(_make(row), N_batch=1, seed=SEED).N_steps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = neurogym.Dataset(env_id, env_kwargs=dict(dt=DT, **kwargs), batch_size=batch, seq_len=seq_len)
    # Dataset fills its first cache from unseeded environments in __init__; seed them and refill
    dataset.seed(SEED)
    dataset._cache()
    n_in = dataset.env.observation_space.shape[0]
    n_actions = dataset.env.action_space.n

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(n_in, hidden)
            self.linear = nn.Linear(hidden, n_actions)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.linear(out)

    net = Net()
    weight = FIXATION_WEIGHT[row]
    criterion = nn.CrossEntropyLoss() if weight == 1.0 else \
        nn.CrossEntropyLoss(weight=torch.tensor([weight] + [1.0] * (n_actions - 1)))
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    losses = []
    t0 = time.perf_counter()
    for i in range(steps):
        inputs, labels = dataset()
        inputs = torch.from_numpy(inputs).type(torch.float)
        labels = torch.from_numpy(labels.flatten()).type(torch.long)
        optimizer.zero_grad()
        outputs = net(inputs)
        loss = criterion(outputs.view(-1, n_actions), labels)
        loss.backward()
        optimizer.step()
        if i % max(1, steps // 20) == 0 or i == steps - 1:
            losses.append(float(loss.item()))
    train_seconds = time.perf_counter() - t0
    trials = draw_test_trials(row, test_trials)
    x, lengths = padded(trials, n_in)
    with torch.no_grad():  # (L, n, n_in): the LSTM runs forward in time, so padding at the end changes nothing
        outputs = net(torch.from_numpy(np.ascontiguousarray(x.transpose(1, 0, 2)))).numpy().transpose(1, 0, 2)
    last_step, performance = score(row, trials, outputs, lengths)
    return {"last_step": last_step, "env_performance": performance, "loss": "CrossEntropyLoss",
            "first_loss": losses[0], "last_loss": losses[-1], "steps": steps, "batch": batch, "seq_len": seq_len,
            "train_seconds": train_seconds, "seconds": time.perf_counter() - start}


def _versions():
    from importlib import metadata

    out = {"python": platform.python_version()}
    for dist in ("neurogym", "torch", "tensorflow-cpu", "numpy", "gymnasium"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def run_worker(args):
    out = Path(args.out)
    if args.worker == "versions":
        result = _versions()
    elif args.worker == "trials":
        result = worker_trials(out, args.envs, args.record)
    else:
        function = {"ours": worker_ours, "neurogym": worker_neurogym}[args.worker]
        result = function(out, args.envs[0], args.steps, args.batch, args.hidden, args.lr, args.test_trials,
                          tau=args.tau)
    (out / f"{args.worker}.json").write_text(json.dumps(result))


# ======================================================================= the venv
def venv_python(venv):
    return Path(venv) / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _worker_env():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="-1", PYTHONWARNINGS="ignore")
    env.pop("PYTHONPATH", None)
    return env


_PROBE = ("import neurogym, torch, tensorflow, psychrnn_widgets, pathlib, sys; "
          "sys.stdout.write(str(pathlib.Path(psychrnn_widgets.__file__).resolve().parents[1]))")


def _probe(venv):
    """What the venv lacks: None when ready, 'ours' when only this repository is not the one installed."""
    python = venv_python(venv)
    if not python.exists():
        return "all"
    done = subprocess.run([str(python), "-c", _PROBE], capture_output=True, text=True, env=_worker_env())
    if done.returncode != 0:
        return "all"
    return None if Path(done.stdout.strip()) == REPO else "ours"


def default_tensorflow_spec():
    """The venv's TensorFlow: this environment's version (CPU build)."""
    from importlib import metadata

    for dist in ("tensorflow-cpu", "tensorflow"):
        try:
            return f"tensorflow-cpu=={metadata.version(dist)}"
        except metadata.PackageNotFoundError:
            continue
    return "tensorflow-cpu==2.21.0"


def _run(command):
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-25:])
        raise RuntimeError(f"{' '.join(map(str, command))} failed (exit {done.returncode}):\n{tail}")


def ensure_venv(venv, tensorflow_spec, reinstall=False, log=print):
    """Create (or reuse) the NeuroGym venv; returns what happened."""
    venv = Path(venv).expanduser()
    if reinstall and venv.exists():
        shutil.rmtree(venv)
    missing = _probe(venv)
    if missing is None:
        return f"reused {venv}"
    start = time.perf_counter()
    pip = [str(venv_python(venv)), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    if missing == "all":
        log(f"creating the NeuroGym venv at {venv} (one-off; a few minutes, about 3 GB) ...")
        venv.parent.mkdir(parents=True, exist_ok=True)
        _run([sys.executable, "-m", "venv", "--clear", str(venv)])
        log(f"  pip install {tensorflow_spec} {TORCH_SPEC} {NEUROGYM_SPEC}")
        _run(pip + [tensorflow_spec, TORCH_SPEC, NEUROGYM_SPEC])
    log(f"  pip install --no-deps -e {REPO}")
    _run(pip + ["--no-deps", "-e", str(REPO)])
    if _probe(venv) is not None:
        raise RuntimeError(f"{venv}: neurogym, torch, tensorflow and this repository's psychrnn_widgets do not "
                           "import after install")
    return f"{'created' if missing == 'all' else 'updated'} {venv} in {time.perf_counter() - start:.0f} s"


def call_worker(venv, out, worker, timeout, **options):
    """Run this file as ``worker`` in the venv; returns (its JSON result, seconds)."""
    command = [str(venv_python(venv)), str(HERE), "--worker", worker, "--out", str(out)]
    for key, value in options.items():
        if isinstance(value, bool):
            command += [f"--{key.replace('_', '-')}"] if value else []
        elif isinstance(value, (list, tuple)):
            command += [f"--{key.replace('_', '-')}", *map(str, value)]
        else:
            command += [f"--{key.replace('_', '-')}", str(value)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=_worker_env(), cwd=out, timeout=timeout)
    result_file = Path(out) / f"{worker}.json"
    if done.returncode != 0 or not result_file.exists():
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-25:])
        raise RuntimeError(f"worker {worker!r} failed (exit {done.returncode}):\n{tail}")
    result = json.loads(result_file.read_text())
    result_file.unlink()
    return result, time.perf_counter() - start


# ================================================================== report
def table(rows, trials, ours, theirs, args):
    """The Markdown table of the side by side."""
    lines = ["| environment | trials equal | ours: last step | NeuroGym: last step | ours: env performance | "
             "NeuroGym: env performance | chance | steps × batch | within 0.05 |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for row in rows:
        t, o, n = trials.get(row, {}), ours.get(row, {}), theirs.get(row, {})
        equal = "—" if not t else (f"yes ({t['trials']})" if t["equal"] else "**no**")

        def fmt(result, key):
            return f"{result[key]:.3f}" if key in result else "—"

        within = "—"
        if "last_step" in o and "last_step" in n:
            ok = o["last_step"] >= n["last_step"] - TOLERANCE and \
                o["env_performance"] >= n["env_performance"] - TOLERANCE
            within = "yes" if ok else "**no**"
        chance = f"{t['chance_level']:.3f}" if t else "—"
        lines.append(f"| {row} | {equal} | {fmt(o, 'last_step')} | {fmt(n, 'last_step')} | "
                     f"{fmt(o, 'env_performance')} | {fmt(n, 'env_performance')} | {chance} | "
                     f"{args.steps:,} × {args.batch} | {within} |")
    return "\n".join(lines)


def write_results(text):
    sys.path.insert(0, str(REPO / "benchmarks"))
    from results_file import write_section

    return write_section("neurogym_side_by_side", text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV, help=f"the NeuroGym venv (default {DEFAULT_VENV})")
    parser.add_argument("--reinstall", action="store_true", help="delete and rebuild the venv first")
    parser.add_argument("--tensorflow", default=None, help="pip requirement for TensorFlow in the venv")
    parser.add_argument("--envs", nargs="+", default=list(ROWS), metavar="ROW",
                        help="rows of the table to run (default: all): " + "; ".join(ROWS))
    parser.add_argument("--steps", type=int, default=2000, help="training steps, both sides (default 2000)")
    parser.add_argument("--batch", type=int, default=32, help="trials (ours) or sequences (NeuroGym) per step")
    parser.add_argument("--hidden", type=int, default=64, help="recurrent units, both sides (default 64)")
    parser.add_argument("--lr", type=float, default=0.01, help="Adam's learning rate, both sides (default 0.01, "
                        "NeuroGym's examples)")
    parser.add_argument("--tau", type=float, default=200.0, help="our network's time constant, ms (default 200: "
                        "alpha = dt/tau = 0.5; with tau = dt = 100 the leaky update has no leak, alpha = 1)")
    parser.add_argument("--test-trials", type=int, default=500, help="fresh trials both networks are scored on")
    parser.add_argument("--skip-training", action="store_true", help="only the trials check")
    parser.add_argument("--record", action="store_true", help=f"write the recorded trials to {RECORDING}")
    parser.add_argument("--write-results", action="store_true",
                        help="write the table into benchmarks/RESULTS.md (section neurogym_side_by_side)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds one worker may take")
    parser.add_argument("--worker", choices=["versions", "trials", "ours", "neurogym"], help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        run_worker(args)
        return 0
    unknown = [row for row in args.envs if row not in ROWS]
    if unknown:
        parser.error(f"--envs: unknown row(s) {unknown}; rows: {list(ROWS)}")

    print("NeuroGym side by side")
    try:
        how = ensure_venv(args.venv, args.tensorflow or default_tensorflow_spec(), args.reinstall)
    except (OSError, RuntimeError) as exc:
        print(f"could not set up the NeuroGym venv: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="neurogym-sbs-") as tmp:
        work = Path(tmp)
        versions, _ = call_worker(args.venv, work, "versions", 300)
        print(f"  venv: {how}")
        print("  " + ", ".join(f"{k} {v}" for k, v in versions.items()))
        print(f"  dt {DT} ms; {args.steps} steps x {args.batch}; {args.hidden} units; Adam lr {args.lr}; "
              f"scored on {args.test_trials} trials (seed {TEST_SEED})")
        trials, seconds = call_worker(args.venv, work, "trials", args.timeout, envs=args.envs, record=args.record)
        print(f"  trials check: {seconds:.1f} s")
        for row in args.envs:
            t = trials[row]
            note = f", {t['cut']} cut at T" if t["cut"] else ""
            print(f"  [{'PASS' if t['equal'] else 'FAIL'}] trials {row}: {t['trials']} trials{note}; N_steps "
                  f"{t['N_steps']}, chance {t['chance_level']:.3f}" + "".join(f"\n      {p}" for p in t["problems"]))
        if args.record:
            shutil.copyfile(work / "neurogym_trials.npz", RECORDING)
            print(f"  recorded {RECORDING.relative_to(REPO)} ({RECORDING.stat().st_size / 1024:.0f} KiB)")
        ours, theirs = {}, {}
        if not args.skip_training:
            options = dict(steps=args.steps, batch=args.batch, hidden=args.hidden, lr=args.lr,
                           test_trials=args.test_trials, tau=args.tau)
            for row in args.envs:
                for side, results in (("ours", ours), ("neurogym", theirs)):
                    try:
                        results[row], seconds = call_worker(args.venv, work, side, args.timeout, envs=[row], **options)
                    except (RuntimeError, subprocess.TimeoutExpired) as exc:
                        print(f"  {side} {row}: {exc}", file=sys.stderr)
                        continue
                    r = results[row]
                    print(f"  {side:8s} {row}: last step {r['last_step']:.3f}, env performance "
                          f"{r['env_performance']:.3f}; loss {r['first_loss']:.3f} -> {r['last_loss']:.3f}; "
                          f"training {r['train_seconds']:.0f} s, worker {seconds:.0f} s", flush=True)
    report = table(args.envs, trials, ours, theirs, args)
    print()
    print(report)
    total = time.perf_counter() - started
    print(f"\n{total:.0f} s in all")
    if args.write_results:
        text = "\n".join([
            "## NeuroGym side by side: the same trials, and networks that learn them (issue 26)",
            "",
            f"Generated by `python tools/neurogym_side_by_side.py --steps {args.steps} --batch {args.batch} "
            f"--tau {args.tau:g} "
            f"--write-results` on {time.strftime('%Y-%m-%d %H:%M')} ({total / 60:.0f} min on "
            f"{os.cpu_count()} CPU cores), in its NeuroGym venv: "
            + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".",
            "",
            f"Both sides: dt {DT} ms, {args.hidden} units, Adam at {args.lr}, {args.steps:,} steps of {args.batch} "
            "trials (ours: `NeuroGymTask`, trials padded to `N_steps`, the longest of 50) or sequences (NeuroGym's "
            "`Dataset`, twice the 95th percentile of the trial length, as its context-dependent example sets it: at "
            "least as many time steps per step as ours); cross-entropy over actions on both (ours: "
            "`categorical_cross_entropy`, which `NeuroGymTask` names in `get_task_params()`; ContextDecisionMaking "
            "weighs fixation 0.05 on both sides, as NeuroGym's example for it does). Ours: `Basic` (leaky rate RNN, "
            f"ReLU, tau {args.tau:g} ms). NeuroGym: `nn.LSTM` + `nn.Linear`, as in its examples. One thread per "
            f"side. Scored on the same {args.test_trials} fresh trials (seed {TEST_SEED}): *last step* = "
            "NeuroGym's supervised examples (largest output at the trial's last step equals the ground truth); "
            "*env performance* = NeuroGym's `performance`, the networks' actions stepped through the environment. "
            f"*Trials equal*: `NeuroGymTask(env, seed={SEED})` against `env.seed({SEED})` + `new_trial()` "
            "(observations, ground truth, periods, trial info). *Within 0.05*: ours ≥ NeuroGym's − 0.05 on both "
            "scores. Why ContextDecisionMaking weighs fixation, why ReadySetGo's last-step score is 1 for any "
            "network that ends the trial fixating (its env performance measures the timing), and why tau is 200 ms: "
            "`tools/README.md`.",
            "",
            report,
        ])
        print(f"wrote {write_results(text).relative_to(REPO)}")
    failed = [row for row in args.envs if not trials[row]["equal"]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
