#!/usr/bin/env python
"""Side by side with JAX and PyTorch: the hello world trained the same way in each (issue 25).

The same work in fresh processes, alternating, ``--reps`` times (medians):

* **ours** -- ``Basic(params).train(task, ...)``, the package's defaults;
* **ours, Lab** -- the same network trained from the dashboard (``Lab``; every live view
  on, widgets not displayed), timed from the panel's events;
* **JAX** -- a careful JAX user's version: the whole training step (forward pass with
  ``lax.scan`` over time, ``value_and_grad``, per-tensor clipping, Adam written by hand) in
  one ``jax.jit`` with the parameters and Adam state donated; the loop does not wait for
  each step (JAX dispatches asynchronously, so the next batch is drawn while the step
  runs) and reads the loss every ``loss_epoch`` = 10 steps, as ``model.train`` records it;
* **JAX, unrolled** -- the same with ``lax.scan(..., unroll=U)`` (``--jax-unroll``, default 4);
* **PyTorch** -- eager: the input drive of all time steps in one product, a Python loop
  over time (``torch.addmm``), the readout in one product, ``loss.backward()``,
  ``clip_grad_norm_`` per tensor, ``torch.optim.Adam(fused=True)``; its thread count chosen
  by a short calibration run (the faster of 1 and all cores, per item, untimed);
* **PyTorch, compiled** -- the same step with the forward pass under ``torch.compile``
  (hello world only; reported as not compiled when it fails or exceeds ``--compile-timeout``,
  and then not tried again in later repetitions).

All of them train from the same initial weights (our ``Basic`` with the item's seed, saved
by the parent) on the same batches: our NumPy task (``PerceptualDiscrimination``, same
seed) drawn through ``task.training_batches()`` in every process, so the batch generation
is the same code everywhere and its time is part of every end-to-end figure.  The maths is
ours (DESIGN §3.2: leaky update, ReLU, MSE on the masked output, clipping to norm 1 per
tensor, Adam with TensorFlow 1's update); each report shows how far each side's losses over
the first 20 steps are from ours (PyTorch's Adam puts eps outside the bias correction, a
difference of order 1e-8 in the update).

JAX and PyTorch each run in a virtual environment of their own, created on first use
(``~/.cache/psychrnn_widgets/jax-venv`` and ``torch-venv``; ``--venv-root`` to change;
``--jax-spec`` / ``--torch-spec`` for the packages), with this repository on ``PYTHONPATH``
for the task (``psychrnn_widgets.tasks`` imports NumPy only).  This file is the worker in
every environment (``--worker ours|lab|jax|torch|...``, internal).

    python benchmarks/compare_frameworks.py --reps 3              # all items and sides; its section of RESULTS.md
    python benchmarks/compare_frameworks.py --reps 1 --items hello --sides ours,jax
    python benchmarks/compare_frameworks.py --reps 1 --no-write   # print only

Figures per side and item: process start -> first finished training step; the median
step time on a fixed batch (batch excluded); end-to-end trials/s over ``steps`` steps in
the steady state (batch generation, the step and the loop's own work included; ours after
its switch to the XLA program, the others after their first compile); peak RSS.  Ours also
reports the second ``train()`` call on the warm model: call -> its first step's start and
its steady-state step time against the first call's.
"""
import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
REPO = HERE.parents[1]
DT, TAU, T = 10, 100, 2000
LOSS_EPOCH = 10
COMPARED_LOSSES = 20
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "psychrnn_widgets"
DEFAULT_SPECS = {"jax": ["jax==0.10.2", "jaxlib==0.10.2", "numpy"], "torch": ["torch==2.13.0+cpu", "numpy"]}
VENV_OF = {"jax": "jax", "jax_unrolled": "jax", "torch": "torch", "torch_compiled": "torch"}
SIDE_LABELS = {"ours": "psychrnn_widgets, `model.train`", "lab": "psychrnn_widgets, from the `Lab`",
               "jax": "JAX, `lax.scan` + `jit`", "jax_unrolled": "JAX, `lax.scan(unroll=U)` + `jit`",
               "torch": "PyTorch, eager", "torch_compiled": "PyTorch, `torch.compile` forward"}

ITEMS = {
    "hello": dict(name="hello", label="hello world (N_rec 50, N_batch 50)", n_rec=50, n_batch=50, steps=100,
                  warm=5, sides=("ours", "lab", "jax", "jax_unrolled", "torch", "torch_compiled")),
    "big": dict(name="big", label="N_rec 256, N_batch 256", n_rec=256, n_batch=256, steps=10, warm=2,
                sides=("ours", "jax", "jax_unrolled", "torch")),
}


# ============================================================================ helpers (every environment)
class _Clock:
    """Seconds since the parent spawned this process (its ``time.time()`` just before the spawn)."""

    def __init__(self, spawn_wall):
        self.ref_perf = time.perf_counter()
        self.offset = time.time() - spawn_wall

    def now(self):
        return self.offset + time.perf_counter() - self.ref_perf


def _median(values):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else 0.5 * (values[mid - 1] + values[mid])


def _maxrss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _task(args, n_batch=None):
    """Our hello-world task (NumPy only), seeded as in every process."""
    from psychrnn_widgets.tasks import PerceptualDiscrimination

    return PerceptualDiscrimination(dt=DT, tau=TAU, T=T, N_batch=n_batch or args.n_batch, seed=args.seed)


def _fixed_batch(args):
    """One batch for the step-time figure (from a second task instance: the training stream is untouched)."""
    from psychrnn_widgets.tasks import PerceptualDiscrimination

    task = PerceptualDiscrimination(dt=DT, tau=TAU, T=T, N_batch=args.n_batch, seed=args.seed + 1)
    return next(task.training_batches())[:3]


def _time_steps(call, repeats):
    """``{'median_step_ms', 'median_step_cpu_ms'}`` of ``call()`` (which must wait for its result) after two
    warm-up calls: wall time, and the process's CPU time (all its threads)."""
    call(), call()
    times, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        call()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return {"median_step_ms": 1e3 * _median(times), "median_step_cpu_ms": 1e3 * _median(cpu)}


def _loop_figures(stamps, n_batch, warm, steps):
    """From ``stamps[k]`` = seconds (since spawn) at which step k+1 was known to be finished."""
    span = stamps[warm + steps] - stamps[warm]
    window = stamps[warm:warm + steps + 1]
    intervals = [b - a for a, b in zip(window, window[1:])]
    return {"first_step_s": stamps[0], "trials_per_s": n_batch * steps / span,
            "loop_step_ms": 1e3 * _median(intervals)}


# ============================================================================ JAX
def worker_jax(args, clock):
    import jax
    import jax.numpy as jnp
    import numpy as np

    weights = np.load(args.weights)
    params = {k: jnp.asarray(weights[k]) for k in ("W_in", "W_rec", "W_out", "b_rec", "b_out", "init_state")}
    alpha, lr, b1, b2, eps = DT / TAU, 1e-3, 0.9, 0.999, 1e-8
    unroll = args.unroll

    def forward(p, x):
        drive = jnp.swapaxes(x, 0, 1) @ p["W_in"].T + p["b_rec"]  # (T, B, N): the input drive of every step
        h0 = jnp.broadcast_to(p["init_state"], (x.shape[0], p["W_rec"].shape[0]))

        def cell(h, d):
            h = (1.0 - alpha) * h + alpha * (jax.nn.relu(h) @ p["W_rec"].T + d)
            return h, h

        _, states = jax.lax.scan(cell, h0, drive, unroll=unroll)
        return jnp.swapaxes(jax.nn.relu(states) @ p["W_out"].T + p["b_out"], 0, 1)  # (B, T, N_out)

    def loss_fn(p, x, y, mask):
        return jnp.mean(jnp.square(mask * (forward(p, x) - y)))

    def clip(g):  # tf.clip_by_norm(g, 1.0), per tensor
        return g * (1.0 / jnp.maximum(jnp.sqrt(jnp.sum(g * g)), 1.0))

    def train_step(p, opt, x, y, mask):
        loss, grads = jax.value_and_grad(loss_fn)(p, x, y, mask)
        grads = jax.tree.map(clip, grads)
        t = opt["t"] + 1.0
        m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, opt["m"], grads)
        v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, opt["v"], grads)
        rate = lr * jnp.sqrt(1 - b2 ** t) / (1 - b1 ** t)  # Adam as TensorFlow 1 (and PsychRNN)
        p = jax.tree.map(lambda p, m, v: p - rate * m / (jnp.sqrt(v) + eps), p, m, v)
        return p, {"t": t, "m": m, "v": v}, loss

    step = jax.jit(train_step, donate_argnums=(0, 1))
    zeros = lambda: jax.tree.map(jnp.zeros_like, params)  # noqa: E731
    opt = {"t": jnp.zeros(()), "m": zeros(), "v": zeros()}
    task = _task(args)
    batches = task.training_batches()
    stamps, losses = [], []
    total = args.warm + args.steps + 1
    for k in range(total):
        x, y, mask = next(batches)[:3]
        params, opt, loss = step(params, opt, x, y, mask)
        losses.append(loss)
        # wait only where a figure needs the time (and every loss_epoch steps, where the loss is read)
        if k == 0 or k in (args.warm, args.warm + args.steps) or (k + 1) % LOSS_EPOCH == 0:
            loss.block_until_ready()
        stamps.append(clock.now())
    result = _loop_figures(stamps, args.n_batch, args.warm, args.steps)
    result["losses"] = [float(v) for v in losses[:COMPARED_LOSSES]]
    fixed = [jnp.asarray(a) for a in _fixed_batch(args)]
    state = {"p": params, "opt": opt}

    def one():
        state["p"], state["opt"], loss = step(state["p"], state["opt"], *fixed)
        loss.block_until_ready()

    result.update(_time_steps(one, args.step_repeats))
    result["versions"] = {"package": f"JAX {jax.__version__}", "numpy": np.__version__,
                          "python": platform.python_version(), "unroll": unroll}
    return result


# ============================================================================ PyTorch
def worker_torch(args, clock, compiled=False):
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    weights = np.load(args.weights)
    names = ("W_in", "W_rec", "W_out", "b_rec", "b_out", "init_state")
    p = {k: torch.nn.Parameter(torch.from_numpy(np.array(weights[k], np.float32))) for k in names}
    alpha = DT / TAU

    def forward(x):
        drive = torch.matmul(x.transpose(0, 1), p["W_in"].T) + p["b_rec"]  # (T, B, N)
        h = p["init_state"].expand(x.shape[0], -1)
        W_T = p["W_rec"].T
        states = []
        for d in drive.unbind(0):
            h = (1.0 - alpha) * h + alpha * torch.addmm(d, torch.relu(h), W_T)
            states.append(h)
        states = torch.stack(states)
        return (torch.relu(states) @ p["W_out"].T + p["b_out"]).transpose(0, 1)  # (B, T, N_out)

    run_forward = forward
    if compiled:
        run_forward = torch.compile(forward, dynamic=False)
    optimizer = torch.optim.Adam(list(p.values()), lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                                 **_fused_adam_option(torch))

    def train_step(x, y, mask):
        loss = torch.mean(torch.square(mask * (run_forward(x) - y)))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        for parameter in p.values():  # PsychRNN's clip_by_norm(g, 1.0), per tensor
            torch.nn.utils.clip_grad_norm_(parameter, 1.0)
        optimizer.step()
        return loss.detach()

    task = _task(args)
    batches = task.training_batches()
    stamps, losses = [], []
    for k in range(args.warm + args.steps + 1):
        x, y, mask = (torch.from_numpy(a) for a in next(batches)[:3])
        losses.append(float(train_step(x, y, mask)))  # eager on the CPU: the loss is ready when the step returns
        stamps.append(clock.now())
    result = _loop_figures(stamps, args.n_batch, args.warm, args.steps)
    result["losses"] = losses[:COMPARED_LOSSES]
    fixed = [torch.from_numpy(a) for a in _fixed_batch(args)]
    result.update(_time_steps(lambda: train_step(*fixed), args.step_repeats))
    result["versions"] = {"package": f"PyTorch {torch.__version__}", "numpy": np.__version__,
                          "python": platform.python_version(), "threads": torch.get_num_threads(),
                          "fused_adam": bool(_fused_adam_option(torch))}
    return result


def _fused_adam_option(torch):
    """``{'fused': True}`` where this PyTorch has a fused Adam for CPU tensors, else ``{}``."""
    try:
        probe = torch.nn.Parameter(torch.zeros(2))
        probe.grad = torch.zeros(2)
        torch.optim.Adam([probe], fused=True).step()
        return {"fused": True}
    except (RuntimeError, TypeError):
        return {}


def worker_torch_calibrate(args):
    """The thread count for ``torch.set_num_threads``: the faster of 1 and all cores on the eager step (untimed)."""
    import torch

    args.warm, args.steps, args.step_repeats = 0, 2, 5
    best = None
    for threads in sorted({1, os.cpu_count() or 1}):
        args.threads = threads
        seconds = worker_torch(args, _Clock(time.time()))["median_step_ms"]
        if best is None or seconds < best[1]:
            best = (threads, seconds)
    torch.set_num_threads(best[0])
    return {"threads": best[0]}


# ============================================================================ ours
def worker_ours(args, clock, from_lab=False):
    import numpy as np

    import psychrnn_widgets as pw
    from psychrnn_widgets import Basic
    from psychrnn_widgets.training import step as step_module
    from psychrnn_widgets.training.trainer import Trainer

    task = _task(args)
    params = dict(task.get_task_params(), name="bench", N_rec=args.n_rec, seed=args.seed)
    switch = step_module.XLA_AFTER_STEPS  # the steady state starts after the switch to the XLA program
    warm = switch + 1 if args.n_rec < 128 else args.warm
    if args.n_rec >= 128:
        step_module.XLA_AFTER_STEPS = args.warm  # a short run: switch early (the compile is waited for)
        warm = args.warm + 1
    total = warm + args.steps + 1
    stamps, losses = [], []

    def on_event(event):
        if event.kind == "step":
            stamps.append(clock.now())
            if len(losses) < COMPARED_LOSSES:
                losses.append(event.loss)

    if from_lab:
        from psychrnn_widgets.widgets import Lab

        lab = Lab(task, params, training_iters=args.n_batch * total)
        lab.training.extra_callbacks.append(on_event)
        lab.training.start_button.click()
        if not lab.training.wait(3600) or lab.training.state != "done":
            raise RuntimeError(f"the Lab's run did not finish: {lab.training.status.value}")
        model = lab.model
    else:
        model = Basic(params)
        model.set_weights(dict(np.load(args.weights)))  # the initial weights every side starts from
        model.train(task, {"training_iters": args.n_batch * total, "verbosity": False, "callbacks": on_event})
    result = _loop_figures(stamps, args.n_batch, warm, args.steps)
    result["losses"] = losses
    step = Trainer.of(model).training_step()
    fixed = _fixed_batch(args)
    result.update(_time_steps(lambda: step(*fixed), args.step_repeats))
    if not from_lab:
        result.update(_second_call(model, task, args))
    import tensorflow as tf

    result["versions"] = {"package": f"psychrnn_widgets {pw.__version__} (TensorFlow {tf.__version__})",
                          "numpy": np.__version__, "python": platform.python_version()}
    return result


def _second_call(model, task, args):
    """A second ``train()`` on the warm model: call -> its first step's start, and its step times."""
    marks = {}
    steps = max(args.steps, 20)

    def on_event(event):
        now = time.perf_counter()
        if event.kind == "start":
            marks["start"] = now
        elif event.kind == "step":
            marks.setdefault("ends", []).append(now)

    t0 = time.perf_counter()
    model.train(task, {"training_iters": args.n_batch * steps, "verbosity": False, "callbacks": on_event})
    ends = marks["ends"]
    intervals = [b - a for a, b in zip(ends, ends[1:])]
    return {"second_call_start_ms": 1e3 * (marks["start"] - t0),
            "second_call_first_step_ms": 1e3 * (ends[0] - t0),
            "second_call_step_ms": 1e3 * _median(intervals)}


def worker_weights(args):
    """Our ``Basic``'s initial weights for this item and seed (what every side starts from)."""
    import numpy as np

    from psychrnn_widgets import Basic

    task = _task(args)
    model = Basic(dict(task.get_task_params(), name="init", N_rec=args.n_rec, seed=args.seed))
    weights = model.get_weights()
    np.savez(args.out, **{k: np.asarray(weights[k], np.float32)
                          for k in ("W_in", "W_rec", "W_out", "b_rec", "b_out", "init_state")})
    return None


def run_worker(args):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.worker == "weights":
        worker_weights(args)
        return 0
    if args.worker == "torch_calibrate":
        result = worker_torch_calibrate(args)
    else:
        clock = _Clock(args.spawn_wall)
        work = {"ours": lambda: worker_ours(args, clock), "lab": lambda: worker_ours(args, clock, from_lab=True),
                "jax": lambda: worker_jax(args, clock), "jax_unrolled": lambda: worker_jax(args, clock),
                "torch": lambda: worker_torch(args, clock),
                "torch_compiled": lambda: worker_torch(args, clock, compiled=True)}[args.worker]
        result = work()
        result["maxrss_mib"] = _maxrss_mib()
    Path(args.out).write_text(json.dumps(result))
    return 0


# ============================================================================ the harness
def venv_python(venv):
    return Path(venv) / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv(venv, packages, probe, log=print):
    """Create (or reuse) a virtual environment with ``packages`` in which ``import probe`` works."""
    python = venv_python(venv)
    if python.exists() and subprocess.run([str(python), "-c", f"import {probe}"], capture_output=True).returncode == 0:
        return f"reused {venv}"
    log(f"creating {venv} (one-off): pip install {' '.join(packages)}", flush=True)
    start = time.perf_counter()
    venv.parent.mkdir(parents=True, exist_ok=True)
    for command in ([sys.executable, "-m", "venv", "--clear", str(venv)],
                    [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", *packages]):
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-20:])
            raise RuntimeError(f"{' '.join(command)} failed (exit {done.returncode}):\n{tail}")
    return f"created {venv} in {time.perf_counter() - start:.0f} s"


def side_python(side, venvs):
    return sys.executable if side in ("ours", "lab") else str(venv_python(venvs[VENV_OF[side]]))


def side_env():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="-1", JAX_PLATFORMS="cpu")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def spawn(python, worker, item, work, args, extra=(), timeout=None, out=None, env=None):
    out = Path(out or Path(work) / f"{worker}_{item['name']}_{time.time_ns()}.json")
    command = [python, str(HERE), "--worker", worker, "--out", str(out), "--seed", str(args.seed),
               "--n-rec", str(item["n_rec"]), "--n-batch", str(item["n_batch"]), "--steps", str(item["steps"]),
               "--warm", str(item["warm"]), "--step-repeats", str(args.step_repeats),
               "--weights", str(Path(work) / f"weights_{item['name']}.npz"), *extra,
               "--spawn-wall", repr(time.time())]
    done = subprocess.run(command, capture_output=True, text=True, env={**side_env(), **(env or {})}, cwd=work,
                          timeout=timeout or args.timeout)
    if done.returncode != 0 or not out.exists():
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-25:])
        raise RuntimeError(f"{worker} worker ({item['name']}) failed (exit {done.returncode}):\n{tail}")
    return json.loads(out.read_text()) if out.suffix == ".json" else None


def run_side(side, item, work, args, venvs, threads):
    extra = []
    if side.startswith("jax"):
        extra = ["--unroll", str(args.jax_unroll if side == "jax_unrolled" else 1)]
    if side.startswith("torch"):
        extra = ["--threads", str(threads[item["name"]])]
    timeout = args.compile_timeout if side == "torch_compiled" else None  # the whole process, compile included
    env = None
    if side == "torch_compiled":  # Inductor's kernel cache for this run only: a compile cut off by the timeout
        env = {"TORCHINDUCTOR_CACHE_DIR": str(Path(work) / "torchinductor")}  # leaves no broken file behind
    try:
        return spawn(side_python(side, venvs), side, item, work, args, extra, timeout, env=env)
    except subprocess.TimeoutExpired:
        if side != "torch_compiled":
            raise
        return {"failed": f"did not finish within --compile-timeout {args.compile_timeout:.0f} s (compile included)"}
    except RuntimeError as error:
        if side != "torch_compiled":
            raise
        return {"failed": str(error).strip().splitlines()[-1][:300]}


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _fmt(value, spec):
    return "—" if value is None else format(value, spec)


def med(results, key):
    values = [r.get(key) for r in results if "failed" not in r]
    return _median(values) if values and None not in values else None


def loss_difference(results, reference):
    """Largest |loss - ours| / ours over the compared steps (median over repetitions)."""
    diffs = []
    for r, ref in zip(results, reference):
        if "failed" in r or not r.get("losses") or not ref.get("losses"):
            continue
        n = min(len(r["losses"]), len(ref["losses"]))
        diffs.append(max(abs(a - b) / abs(b) for a, b in zip(r["losses"][:n], ref["losses"][:n])))
    return _median(diffs)


def build_report(args, collected, versions, command, seconds, load):
    lines = [f"Generated by `{command}` on {time.strftime('%Y-%m-%d %H:%M %Z')} ({seconds / 60:.0f} min).", "",
             *([f"**Note:** {args.note}", ""] if args.note else []),
             f"- CPU: {cpu_model()}, {os.cpu_count()} logical cores; load average (1/5/15 min) "
             f"{' '.join(f'{v:.2f}' for v in load[0])} at start, {' '.join(f'{v:.2f}' for v in load[1])} at end.",
             ]
    for side, v in versions.items():
        detail = ", ".join(f"{k} {v[k]}" for k in ("threads", "fused_adam", "unroll") if k in v)
        lines.append(f"- {SIDE_LABELS[side]}: {v['package']}, NumPy {v['numpy']}, Python {v['python']}"
                     + (f" ({detail})" if detail else ""))
    lines += [f"- {args.reps} repetition(s); every side in a fresh process per item, the order of the sides "
              "rotating from one repetition to the next; medians over repetitions.", ""]
    for name, item in ITEMS.items():
        if name not in collected:
            continue
        sides = collected[name]
        ours = sides.get("ours")
        lines += [f"### {item['label']}", "",
                  "| side | process start → first finished step (s) | median step (ms, batch excluded) | "
                  f"end-to-end trials/s over {item['steps']} steps | ours / this, trials/s | peak RSS (MiB) | "
                  f"losses of the first {COMPARED_LOSSES} steps vs ours (largest relative difference) |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        our_rate = med(ours, "trials_per_s") if ours else None
        for side, results in sides.items():
            if all("failed" in r for r in results):
                lines.append(f"| {SIDE_LABELS[side]} | not run: {results[0]['failed']} | | | | | |")
                continue
            rate = med(results, "trials_per_s")
            ratio = "" if side == "ours" or not (rate and our_rate) else f"{our_rate / rate:.2f}×"
            diff = "" if side == "ours" or not ours else _fmt(loss_difference(results, ours), ".1e")
            lines.append(f"| {SIDE_LABELS[side]} | {_fmt(med(results, 'first_step_s'), '.2f')} | "
                         f"{_fmt(med(results, 'median_step_ms'), '.1f')} | {_fmt(rate, '.0f')} | {ratio} | "
                         f"{_fmt(med(results, 'maxrss_mib'), '.0f')} | {diff} |")
        lines.append("")
    lines += targets(collected) + ["", "Per-repetition raw figures:", "", "```"]
    for name in collected:
        for side, results in collected[name].items():
            for i, r in enumerate(results):
                keep = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()
                        if k not in ("versions", "losses")}
                lines.append(f"{name} {side} rep{i + 1}: {json.dumps(keep)}")
    lines += ["```", "", NOTES]
    return "\n".join(lines)


def targets(collected):
    """Issue 25's targets that this run measures, as ratios of figures from this one run."""
    hello, big = collected.get("hello", {}), collected.get("big", {})
    rows = []

    def rate(sides, side):
        return med(sides[side], "trials_per_s") if side in sides else None

    def add(what, value, goal, met):
        rows.append(f"| {what} | {value} | {goal} | {'yes' if met else 'no'} |")

    for side in ("ours", "lab"):
        ours, jax = rate(hello, side), rate(hello, "jax")
        if ours and jax:
            best_jax = max(v for v in (jax, rate(hello, "jax_unrolled")) if v)
            add(f"hello world trials/s, {SIDE_LABELS[side]} / JAX (best of its two)", f"{ours / best_jax:.2f}×",
                "≥ 1", ours >= best_jax)
    if "ours" in hello:
        first = med(hello["ours"], "first_step_s")
        add("process start → first finished step, ours (s)", f"{first:.2f}", "≤ 2.0", first <= 2.0)
        start = med(hello["ours"], "second_call_start_ms")
        add("second `train()` on the warm model: call → its first step starts (ms)", f"{start:.1f}", "≤ 50",
            start <= 50)
        if all("loop_step_ms" in r for r in hello["ours"]):  # like with like: step intervals in the same loop
            ratios = [r["second_call_step_ms"] / r["loop_step_ms"] for r in hello["ours"]]
            ratio = _median(ratios)
            add("second `train()`: its median step interval / the first call's, after its switch to XLA (events, "
                f"batch and loop included; per repetition {', '.join(f'{v:.2f}' for v in ratios)})",
                f"{ratio:.2f}", "≈ 1 (no plain-graph restart)", ratio <= 1.15)
    if "ours" in big:
        ours = rate(big, "ours")
        for side in ("jax", "jax_unrolled", "torch"):
            other = rate(big, side)
            if other:
                add(f"N_rec 256 / N_batch 256 trials/s, ours / {SIDE_LABELS[side]}", f"{ours / other:.2f}×", "≥ 1",
                    ours >= other)
    if not rows:
        return []
    return ["### Issue 25's targets measured here", "", "| target | this run | goal | met |", "|---|---:|---|---|"] + rows


NOTES = """How each figure is measured:

- **Process start → first finished step**: the parent takes `time.time()` just before it starts the
  worker; the worker converts its clock to seconds since then.  Interpreter start, imports, building
  the network, tracing or compiling and the first batch are all included.
- **Median step**: the compiled training step alone on one fixed batch (ours: the program the loop
  uses, after its switch to XLA; JAX: the jitted step, waiting for its result; PyTorch: one eager
  step), after two warm-up calls.
- **End-to-end trials/s**: N_batch × steps / the time from the end of step `warm` to the end of step
  `warm + steps` of the training loop: batch generation from our NumPy task, the step and the loop's
  own work (ours: events to a callback after every step, the loss recorded every 10 steps; JAX: the
  loss read every 10 steps, asynchronous dispatch otherwise).  Ours: the window starts after the
  switch to the XLA program (step 101; at N_rec 256 the switch is moved to step `warm`, the compile
  waited for, to keep the run short).  The Lab: its panel's run of the same length, the dashboard's
  live views on, timed from its events.
- **Second `train()`**: on the model the first run trained, the same task and defaults: from the call
  to the `start` event (the loop begins its first step right after it), and the median interval
  between its step events against the median interval between the first call's step events in its
  timed window (after its switch to XLA): the same loop, batch and events included in both
  (`loop_step_ms` in the raw figures; for JAX, whose loop does not wait for a step, it is the
  interval between dispatches, not a step time).
- **Losses vs ours**: every side starts from our initial weights and draws the same batches; the
  figure is the largest relative difference of the loss over the first 20 steps (float32 rounding
  grows through training; PyTorch's Adam adds eps after the bias correction)."""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--items", default="hello,big", help="comma-separated items (default: hello,big)")
    parser.add_argument("--sides", default=None, help="comma-separated sides (default: every side of each item)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jax-unroll", type=int, default=4)
    parser.add_argument("--step-repeats", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=900, help="seconds per worker process")
    parser.add_argument("--compile-timeout", type=float, default=300,
                        help="seconds for a torch.compile process, compile included (reported as not run past it)")
    parser.add_argument("--venv-root", type=Path, default=CACHE)
    parser.add_argument("--jax-spec", default=" ".join(DEFAULT_SPECS["jax"]))
    parser.add_argument("--torch-spec", default=" ".join(DEFAULT_SPECS["torch"]))
    parser.add_argument("--no-write", action="store_true", help="print the report instead of writing its section of "
                        "benchmarks/RESULTS.md")
    parser.add_argument("--note", default=None, help="a line put under the report's heading (e.g. how loaded the "
                        "machine was)")
    parser.add_argument("--output", type=Path, default=HERE.parent / "RESULTS.md")
    # internal: worker mode
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--weights", help=argparse.SUPPRESS)
    parser.add_argument("--n-rec", type=int, default=50, help=argparse.SUPPRESS)
    parser.add_argument("--n-batch", type=int, default=50, help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=100, help=argparse.SUPPRESS)
    parser.add_argument("--warm", type=int, default=5, help=argparse.SUPPRESS)
    parser.add_argument("--unroll", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--spawn-wall", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        if args.spawn_wall is None:
            args.spawn_wall = time.time()
        return run_worker(args)

    items = [name.strip() for name in args.items.split(",") if name.strip()]
    wanted = None if args.sides is None else {s.strip() for s in args.sides.split(",") if s.strip()}
    plan = {name: [s for s in ITEMS[name]["sides"] if wanted is None or s in wanted] for name in items}
    venvs = {kind: args.venv_root / f"{kind}-venv" for kind in ("jax", "torch")}
    specs = {"jax": args.jax_spec.split(), "torch": args.torch_spec.split()}
    for kind, probe in (("jax", "jax"), ("torch", "torch")):
        if any(VENV_OF.get(s) == kind for sides in plan.values() for s in sides):
            print(f"{kind} venv: {ensure_venv(venvs[kind], specs[kind], probe)}", flush=True)
    started, load_start = time.perf_counter(), os.getloadavg()
    collected, versions = {}, {}
    with tempfile.TemporaryDirectory(prefix="psychrnn_frameworks_") as work:
        threads = {}
        for name in items:
            item = ITEMS[name]
            spawn(sys.executable, "weights", item, work, args, out=Path(work) / f"weights_{name}.npz")
            if any(s.startswith("torch") for s in plan[name]):
                found = spawn(side_python("torch", venvs), "torch_calibrate", item, work, args, ["--threads", "1"])
                threads[name] = found["threads"]
                print(f"{name}: PyTorch calibration chose {threads[name]} thread(s)", flush=True)
        for rep in range(args.reps):
            for name in items:
                sides = plan[name]
                shift = (rep + items.index(name)) % len(sides)
                for side in sides[shift:] + sides[:shift]:
                    t0 = time.perf_counter()
                    earlier = collected.get(name, {}).get(side, [])
                    if side == "torch_compiled" and earlier and "failed" in earlier[0]:
                        result = {"failed": earlier[0]["failed"] + " (in repetition 1; not tried again)"}
                    else:
                        result = run_side(side, ITEMS[name], work, args, venvs, threads)
                    collected.setdefault(name, {s: [] for s in sides})[side].append(result)
                    if "failed" in result:
                        print(f"rep {rep + 1} {name} {side}: not run ({result['failed']})", flush=True)
                        continue
                    versions[side] = result["versions"]
                    print(f"rep {rep + 1} {name:5s} {side:14s} {time.perf_counter() - t0:6.1f} s wall: first step "
                          f"{result['first_step_s']:.2f} s, step {result['median_step_ms']:.1f} ms, "
                          f"{result['trials_per_s']:.0f} trials/s", flush=True)
    arguments = argv if argv is not None else sys.argv[1:]
    command = " ".join(["python benchmarks/compare_frameworks.py", *arguments])
    report = build_report(args, collected, versions, command.strip(), time.perf_counter() - started,
                          (load_start, os.getloadavg()))
    text = "## Side by side with JAX and PyTorch (issue 25)\n\n" + report
    if args.no_write:
        print(text)
    else:
        from results_file import write_section

        print(f"wrote {write_section('compare_frameworks', text, path=args.output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
