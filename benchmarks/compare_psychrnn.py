#!/usr/bin/env python
"""Side-by-side performance benchmark: psychrnn_widgets vs PsychRNN 1.0 (issue #5).

Both packages run the same work in *fresh subprocesses* (so both are timed from process
start), alternating which goes first, ``--reps`` times; the report gives medians over the
repetitions and the ratio PsychRNN / ours.  PsychRNN 1.0 runs in its own virtual
environment (created or reused by ``tools/psychrnn_side_by_side.py``'s helpers,
default ``~/.cache/psychrnn_widgets/psychrnn-venv``); this same file is its worker
(``--worker psychrnn``) and imports only PsychRNN, TensorFlow and NumPy there.

Work items:
  hello    PerceptualDiscrimination(dt=10, tau=100, T=2000, N_batch=50), Basic N_rec=50:
           process start -> first finished training step; median step time; end-to-end
           trials/s; time to accuracy 0.9 (checked every 10 steps on a fresh 200-trial
           batch, the same check on both sides); peak RSS.  Then test() on 1,000 trials
           and each package's NumPy simulator (BasicSimulator.run_trials) on 1,000 trials.
  big      the same task and network with N_rec=256, N_batch=256 (fewer steps, no 0.9).
  delayed  DelayedDiscrimination(dt=10, tau=100, T=2000, N_batch=50), Basic N_rec=50.
Floors, measured in this process: the latency floor (NumPy time for the matrix products
of one training step, in their dependency order: forward and backward through all 200
time steps) and the FLOP floor (the step's FLOPs at this machine's large-matmul rate).

    python benchmarks/compare_psychrnn.py                 # 3 reps, writes benchmarks/RESULTS.md
    python benchmarks/compare_psychrnn.py --reps 1 --no-write
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
N_STEPS = T // DT
CHECK_EVERY, CHECK_TRIALS, TARGET_ACC = 10, 200, 0.9


# ============================================================================ workers
# Both workers write one JSON dict.  Times "from process start" are wall-clock seconds
# since the parent's time.time() just before it spawned the process.  Time spent in the
# accuracy checks is excluded from every figure (it is reported separately).

class _Clock:
    def __init__(self, spawn_wall):
        self.ref_perf, self.ref_wall = time.perf_counter(), time.time()
        self.spawn_offset = self.ref_wall - spawn_wall  # process start -> this clock's zero
        self.excluded = 0.0                              # seconds spent in accuracy checks

    def now(self):
        """Seconds since process start, accuracy checks excluded."""
        return self.spawn_offset + time.perf_counter() - self.ref_perf - self.excluded


def _median(values):
    values = sorted(values)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else 0.5 * (values[mid - 1] + values[mid])


def _time_calls(call, prefix, repeats=3):
    """``{prefix_first_s, prefix_median_s}``: the first call, then the median of ``repeats`` more."""
    t0 = time.perf_counter()
    call()
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return {f"{prefix}_first_s": first, f"{prefix}_median_s": _median(times)}


def _maxrss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _summarise(step_ends, n_batch, steps, step_times, gen_times, reached, checks, check_seconds, clock, start=0):
    # step_ends[k] = time step k+1 finished (checks excluded); throughput over steps start+2..start+steps+1
    last = min(start + steps, len(step_ends) - 1)
    span = step_ends[last] - step_ends[start]
    return {
        "first_step_s": step_ends[0],
        "median_step_ms": 1e3 * _median(step_times),
        "median_gen_ms": 1e3 * _median(gen_times) if gen_times else None,
        "trials_per_s": n_batch * (last - start) / span,
        "steps_total": len(step_ends),
        "time_to_acc_s": reached[1] if reached else None,
        "steps_to_acc": reached[0] if reached else None,
        "last_acc": checks[-1][1] if checks else None,
        "check_seconds": check_seconds,
    }


def worker_psychrnn(args, clock):
    import numpy as np
    import tensorflow as tf
    from importlib import metadata
    from psychrnn.backend.models.basic import Basic
    from psychrnn.backend.simulation import BasicSimulator
    from psychrnn.tasks.delayed_discrim import DelayedDiscrimination
    from psychrnn.tasks.perceptual_discrimination import PerceptualDiscrimination

    PD = DelayedDiscrimination if args.task == "delayed" else PerceptualDiscrimination
    np.random.seed(args.seed)
    tf.compat.v1.set_random_seed(args.seed)
    task = PD(dt=DT, tau=TAU, T=T, N_batch=args.n_batch)
    check_task = PD(dt=DT, tau=TAU, T=T, N_batch=args.n_batch)
    model = Basic(dict(task.get_task_params(), name="bench", N_rec=args.n_rec))

    step_ends, gen_times, step_times, checks = [], [], [], []
    state = {"reached": None, "calls": 0, "returned": None}
    check_batches = -(-CHECK_TRIALS // args.n_batch)  # PsychRNN tests only N_batch trials at a time

    def accuracy_check():
        xs, ys, ms = zip(*(check_task.get_trial_batch()[:3] for _ in range(check_batches)))
        outs = [model.test(x)[0] for x in xs]
        return float(check_task.accuracy_function(np.concatenate(ys), np.concatenate(outs), np.concatenate(ms)))

    def timed_batches():
        # PsychRNN's loop: next(gen) [probe], then per epoch: next(gen); sess.run(optimize);
        # every loss_epoch (10) epochs also sess.run(reg_loss).  So the interval between our
        # yield of batch k and the request for batch k+1 is sess.run(optimize) (+ loss eval
        # every 10th epoch, which is left out of the median).
        inner = task.batch_generator()
        while True:
            t_request = time.perf_counter()
            call = state["calls"]
            state["calls"] += 1
            done = call - 1  # training steps finished so far
            if done >= 1:
                step_ends.append(clock.now())
                if done % 10 != 0 and done > 1:
                    step_times.append(t_request - state["returned"])
                if args.to_acc and state["reached"] is None and done % CHECK_EVERY == 0:
                    t0 = time.perf_counter()
                    acc = accuracy_check()
                    clock.excluded += time.perf_counter() - t0
                    checks.append((done, acc))
                    if acc >= TARGET_ACC:
                        state["reached"] = (done, clock.now())
                enough = done >= args.steps + 1 and (not args.to_acc or state["reached"] is not None)
                if enough or done >= args.max_steps:
                    return  # model.train's next() raises StopIteration: training ends here
            t0 = time.perf_counter()
            batch = next(inner)
            state["returned"] = time.perf_counter()
            if call >= 1:
                gen_times.append(state["returned"] - t0)
            yield batch

    try:
        model.train(timed_batches(), {"training_iters": 10 ** 9, "verbosity": False})
    except StopIteration:
        pass
    result = _summarise(step_ends, args.n_batch, args.steps, step_times, gen_times, state["reached"],
                        checks, clock.excluded, clock)
    result["maxrss_mib"] = _maxrss_mib()
    result["versions"] = {"package": "PsychRNN " + metadata.version("psychrnn"), "tensorflow": tf.__version__,
                          "numpy": np.__version__, "python": platform.python_version()}
    if args.sim_trials:
        x = PD(dt=DT, tau=TAU, T=T, N_batch=args.sim_trials).get_trial_batch()[0]
        simulator = BasicSimulator(rnn_model=model)  # the trained weights
        result.update(_time_calls(lambda: simulator.run_trials(x), "sim"))
    model.destruct()
    if args.test_trials:
        # PsychRNN tiles init_state to N_batch rows: test() on 1,000 trials needs N_batch=1000
        big_task = PD(dt=DT, tau=TAU, T=T, N_batch=args.test_trials)
        t0 = time.perf_counter()
        x = big_task.get_trial_batch()[0]
        result["test_gen_s"] = time.perf_counter() - t0
        tmodel = Basic(dict(big_task.get_task_params(), name="bench_test", N_rec=args.n_rec))
        result.update(_time_calls(lambda: tmodel.test(x), "test"))
        tmodel.destruct()
    return result


def worker_ours(args, clock):
    import numpy as np

    import psychrnn_widgets as pw
    from psychrnn_widgets import Basic, BasicSimulator, DelayedDiscrimination, PerceptualDiscrimination
    from psychrnn_widgets.training.events import TrainingControl

    from psychrnn_widgets.training import step as step_module

    if args.xla_after is not None:  # where training switches to the XLA program (default: step 100)
        step_module.XLA_AFTER_STEPS = args.xla_after
    PD = DelayedDiscrimination if args.task == "delayed" else PerceptualDiscrimination
    offset = step_module.XLA_AFTER_STEPS  # throughput is measured after the switch: steady state
    max_steps = max(args.max_steps, offset + args.steps + 1)
    task = PD(dt=DT, tau=TAU, T=T, N_batch=args.n_batch, seed=args.seed)
    check_task = PD(dt=DT, tau=TAU, T=T, N_batch=args.n_batch, seed=args.seed + 1)
    model = Basic(dict(task.get_task_params(), name="bench", N_rec=args.n_rec, seed=args.seed))
    control = TrainingControl()
    step_ends, checks = [], []
    state = {"reached": None}

    def on_event(event):
        if event.kind != "step":
            return
        done = event.epoch
        step_ends.append(clock.now())
        if args.to_acc and state["reached"] is None and done % CHECK_EVERY == 0:
            t0 = time.perf_counter()
            x, y, mask, _ = check_task.generate_batch(N_batch=CHECK_TRIALS)
            out, _ = model.test(x)
            acc = float(check_task.accuracy_function(y, out, mask))
            clock.excluded += time.perf_counter() - t0
            checks.append((done, acc))
            if acc >= TARGET_ACC:
                state["reached"] = (done, clock.now())
        enough = done >= offset + args.steps + 1 and (not args.to_acc or state["reached"] is not None)
        if enough or done >= max_steps:
            control.request_stop()

    model.train(task, {"training_iters": args.n_batch * (max_steps + 1), "verbosity": False,
                       "callbacks": on_event, "control": control})

    # pure step time on a fixed batch: the compiled step the training loop uses
    from psychrnn_widgets.training.trainer import Trainer

    step = Trainer.of(model).training_step()
    x, y, mask, _ = task.get_trial_batch()
    for _ in range(3):
        step(x, y, mask)
    step_times = []
    for _ in range(max(10, min(args.steps, 50))):
        t0 = time.perf_counter()
        step(x, y, mask)
        step_times.append(time.perf_counter() - t0)
    gen_times = []
    for _ in range(10):
        t0 = time.perf_counter()
        task.generate_batch()
        gen_times.append(time.perf_counter() - t0)
    result = _summarise(step_ends, args.n_batch, args.steps, step_times, gen_times, state["reached"],
                        checks, clock.excluded, clock, start=offset)
    result["maxrss_mib"] = _maxrss_mib()
    import tensorflow as tf  # already imported by the package

    result["versions"] = {"package": "psychrnn_widgets " + pw.__version__, "tensorflow": tf.__version__,
                          "numpy": np.__version__, "python": platform.python_version()}
    if args.test_trials:
        t0 = time.perf_counter()
        x = task.generate_batch(N_batch=args.test_trials)[0]
        result["test_gen_s"] = time.perf_counter() - t0
        result.update(_time_calls(lambda: model.test(x), "test"))
    if args.sim_trials:
        x = PD(dt=DT, tau=TAU, T=T, N_batch=args.sim_trials, seed=args.seed + 2).get_trial_batch()[0]
        simulator = BasicSimulator(rnn_model=model)  # the trained weights
        result.update(_time_calls(lambda: simulator.run_trials(x), "sim"))
    return result


def run_worker(args):
    clock = _Clock(args.spawn_wall)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    result = (worker_psychrnn if args.worker == "psychrnn" else worker_ours)(args, clock)
    Path(args.out).write_text(json.dumps(result))
    return 0


# ===================================================================== the harness
def _load_side_by_side():
    import importlib.util

    path = REPO / "tools" / "psychrnn_side_by_side.py"
    spec = importlib.util.spec_from_file_location("psychrnn_side_by_side", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def spawn(sbs, venv, side, item, work, seed, timeout):
    out = Path(work) / f"{side}_{item['name']}_{time.time_ns()}.json"
    if side == "psychrnn":
        python, env = str(sbs.venv_python(venv)), sbs._worker_env()
    else:
        python = sys.executable
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="-1")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    command = [python, str(HERE), "--worker", side, "--out", str(out), "--seed", str(seed),
               "--n-rec", str(item["n_rec"]), "--n-batch", str(item["n_batch"]), "--steps", str(item["steps"]),
               "--max-steps", str(item["max_steps"]), "--test-trials", str(item["test_trials"]),
               "--sim-trials", str(item.get("sim_trials", 0)), "--task", item.get("task", "perceptual")]
    if item["to_acc"]:
        command.append("--to-acc")
    if side == "ours" and item.get("xla_after") is not None:
        command += ["--xla-after", str(item["xla_after"])]
    command += ["--spawn-wall", repr(time.time())]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=work, timeout=timeout)
    if done.returncode != 0 or not out.exists():
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-25:])
        raise RuntimeError(f"{side} worker ({item['name']}) failed (exit {done.returncode}):\n{tail}")
    return json.loads(out.read_text())


def step_flops(n_rec, n_batch, n_in=2, n_out=2, n_steps=N_STEPS):
    """Multiply-add FLOPs of one training step of Basic (matrix products only, elementwise work ignored).

    Per time step and trial: forward 2N^2 (recurrent) + 2 N N_in (input) + 2 N N_out (readout);
    backward 2N^2 (state gradient) + 2N^2 (W_rec gradient) + 2 N N_in (W_in gradient)
    + 4 N N_out (readout: state and W_out gradients).
    """
    per_trial_step = 6 * n_rec ** 2 + 4 * n_rec * n_in + 6 * n_rec * n_out
    return n_steps * n_batch * per_trial_step


def matmul_rate_gflops(size=2048, repeats=5):
    """This machine's large-matmul rate: NumPy float32 (size x size) @ (size x size), best of ``repeats``."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * size ** 3 / best / 1e9


def _timed(call):
    t0 = time.perf_counter()
    call()
    return time.perf_counter() - t0


def latency_floor(n_rec, n_batch, repeats=7, seed=0, weight_gradients=True):
    """NumPy: the matrix products of one training step, in their dependency order (ms).

    Forward: T products ``r_t W^T`` (each needs the previous state); backward: T products
    ``g W`` (each needs the previous gradient) and the T weight-gradient products
    ``r_t^T g`` (left out with ``weight_gradients=False``: the strict dependent chain).
    No elementwise work: the time of the products alone.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    W = np.linalg.qr(rng.standard_normal((n_rec, n_rec)))[0].astype(np.float32)  # orthogonal: no under/overflow
    h0 = rng.standard_normal((n_batch, n_rec)).astype(np.float32)
    rates = [np.empty((n_batch, n_rec), np.float32) for _ in range(N_STEPS)]
    dW = np.empty_like(W)
    buffer = np.empty_like(dW)

    def one_step():
        h = h0
        for t in range(N_STEPS):
            rates[t] = h
            h = h @ W.T
        g = h
        for t in range(N_STEPS - 1, -1, -1):
            if weight_gradients:
                np.matmul(rates[t].T, g, out=buffer)
            g = g @ W
        return g

    one_step()
    return 1e3 * min(_timed(one_step) for _ in range(repeats))  # a floor: the fastest repetition


def measure_floors(items, runs):
    """Append one measurement of the large-matmul rate and each geometry's latency floors to ``runs``."""
    run = {"rate": matmul_rate_gflops()}
    for name in items:
        geometry = ITEMS[name]["n_rec"], ITEMS[name]["n_batch"]
        if geometry not in run:
            run[geometry] = (latency_floor(*geometry), latency_floor(*geometry, weight_gradients=False))
    print(f"floors: large-matmul rate {run['rate']:.0f} GFLOP/s, " + ", ".join(
        f"{k[0]}x{k[1]}: {v[0]:.1f} ms" for k, v in run.items() if k != "rate"), flush=True)
    runs.append(run)


def summarise_floors(items, runs):
    """Per item: medians over the repetitions' floor measurements (and their range)."""
    floors = {}
    for name in items:
        geometry = ITEMS[name]["n_rec"], ITEMS[name]["n_batch"]
        latencies = [run[geometry][0] for run in runs]
        rate = _median([run["rate"] for run in runs])
        gflop = step_flops(*geometry) / 1e9
        floors[name] = {"latency_ms": _median(latencies), "latency_range": (min(latencies), max(latencies)),
                        "chain_ms": _median([run[geometry][1] for run in runs]), "gflop": gflop, "rate": rate,
                        "flop_ms": 1e3 * gflop / rate}
    return floors


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


ITEMS = {
    "hello": dict(name="hello", label="hello world (N_rec 50, N_batch 50)", n_rec=50, n_batch=50, steps=100,
                  max_steps=1500, to_acc=True, test_trials=1000, sim_trials=1000),
    "big": dict(name="big", label="N_rec 256, N_batch 256", n_rec=256, n_batch=256, steps=10,
                max_steps=11, to_acc=False, test_trials=0, xla_after=3),
    "delayed": dict(name="delayed", label="DelayedDiscrimination (N_rec 50, N_batch 50)", n_rec=50, n_batch=50,
                    steps=100, max_steps=101, to_acc=False, test_trials=0, task="delayed"),
}


def _fmt(value, spec, missing="—"):
    return missing if value is None else format(value, spec)


def _ratio(theirs, ours, invert=False):
    if theirs is None or ours is None or (ours == 0 and not invert) or (theirs == 0 and invert):
        return "—"
    return f"{(ours / theirs if invert else theirs / ours):.1f}×"


def med(results, key):
    values = [r[key] for r in results if r.get(key) is not None]
    if len(values) < len(results):
        return None  # a figure missing in any rep (e.g. 0.9 never reached) is not reported as a median
    return _median(values)


def build_report(args, machine, versions, collected, floors, command):
    lines = ["# Side-by-side benchmark: psychrnn_widgets vs PsychRNN 1.0", "",
             f"Generated by `{command}` on {time.strftime('%Y-%m-%d %H:%M')}.", "",
             "## Machine and versions", "",
             f"- CPU: {machine['cpu']}, {machine['cores']} logical cores (`os.cpu_count()`), "
             f"Linux {platform.release()}",
             ]
    for side in ("ours", "psychrnn"):
        v = versions.get(side)
        if v:
            lines.append(f"- {v['package']}: TensorFlow {v['tensorflow']}, NumPy {v['numpy']}, Python {v['python']}")
    lines += [f"- {args.reps} repetition(s), each package in a fresh process per item, order alternating; "
              "figures are medians over repetitions; ratio = PsychRNN / ours (higher is better for us) "
              "except for throughput where it is ours / PsychRNN.", ""]
    lines += ["## Results", "",
              "| item | figure | PsychRNN 1.0 | psychrnn_widgets | ratio |", "|---|---|---:|---:|---:|"]
    for name, item in ITEMS.items():
        if name not in collected:
            continue
        p, o = collected[name]["psychrnn"], collected[name]["ours"]
        rows = [
            ("process start → first finished step (s)", med(p, "first_step_s"), med(o, "first_step_s"), ".2f", False),
            ("median training-step time (ms, batch generation excluded)", med(p, "median_step_ms"),
             med(o, "median_step_ms"), ".1f", False),
            ("median batch-generation time (ms)", med(p, "median_gen_ms"), med(o, "median_gen_ms"), ".1f", False),
            (f"end-to-end trials/s over {item['steps']} steps", med(p, "trials_per_s"), med(o, "trials_per_s"),
             ".0f", True),
        ]
        if item["to_acc"]:
            rows.append(("process start → accuracy ≥ 0.9 (s, checks excluded)", med(p, "time_to_acc_s"),
                         med(o, "time_to_acc_s"), ".1f", False))
            rows.append(("steps to accuracy ≥ 0.9", med(p, "steps_to_acc"), med(o, "steps_to_acc"), ".0f", False))
        rows.append(("peak RSS (MiB, after training)", med(p, "maxrss_mib"), med(o, "maxrss_mib"), ".0f", False))
        if item["test_trials"]:
            n = item["test_trials"]
            rows.append((f"generate {n} trials (s)", med(p, "test_gen_s"), med(o, "test_gen_s"), ".2f", False))
            rows.append((f"test() on {n} trials, first call (s; PsychRNN: new N_batch={n} model, graph build incl.)",
                         med(p, "test_first_s"), med(o, "test_first_s"), ".2f", False))
            rows.append((f"test() on {n} trials, median of 3 later calls (s)", med(p, "test_median_s"),
                         med(o, "test_median_s"), ".3f", False))
        if item.get("sim_trials"):
            n = item["sim_trials"]
            rows.append((f"NumPy simulator on {n} trials, BasicSimulator.run_trials, first call (s)",
                         med(p, "sim_first_s"), med(o, "sim_first_s"), ".3f", False))
            rows.append((f"NumPy simulator on {n} trials, median of 3 later calls (s)", med(p, "sim_median_s"),
                         med(o, "sim_median_s"), ".3f", False))
        for label, pv, ov, spec, higher_better in rows:
            lines.append(f"| {item['label']} | {label} | {_fmt(pv, spec)} | {_fmt(ov, spec)} | "
                         f"{_ratio(pv, ov, invert=higher_better)} |")
        floor = floors.get(name)
        if floor:
            theirs_step, ours_step = med(p, "median_step_ms"), med(o, "median_step_ms")
            low, high = floor["latency_range"]
            for key, text in (("latency_ms", f"latency floor (ms): NumPy, the step's matrix products in order "
                                             f"(range over reps {low:.1f}–{high:.1f})"),
                              ("flop_ms", f"FLOP floor (ms): {floor['gflop']:.3f} GFLOP at "
                                          f"{floor['rate']:.0f} GFLOP/s")):
                lines.append(f"| {item['label']} | {text} | {floor[key]:.1f} | {floor[key]:.1f} | |")
                multiple = [None if v is None else f"{v / floor[key]:.1f}×" for v in (theirs_step, ours_step)]
                lines.append(f"| {item['label']} | median step / {key.split('_')[0]} floor | "
                             f"{multiple[0] or '—'} | {multiple[1] or '—'} | |")
            lines.append(f"| {item['label']} | (strict chain without the weight-gradient products: "
                         f"{floor['chain_ms']:.1f} ms) | | | |")
    lines += ["", "## Per-repetition raw figures", "", "```"]
    for name in collected:
        for side in ("psychrnn", "ours"):
            for i, r in enumerate(collected[name][side]):
                keep = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items() if k != "versions"}
                lines.append(f"{name} {side} rep{i + 1}: {json.dumps(keep)}")
    lines += ["```", "", NOTES]
    return "\n".join(lines) + "\n"


NOTES = """## How each figure is measured

- **Process start**: the parent takes `time.time()` just before spawning the worker; the worker
  converts its `perf_counter()` readings to seconds since then.  Interpreter start-up, imports of
  TensorFlow, model construction and graph building / tracing are all included, on both sides.
- **Training** runs through each package's own `model.train`, default Adam (lr 0.001), gradient
  clipping on, `rec_noise` 0 (both defaults), `verbosity=False`.
  - PsychRNN: `model.train` is given a *wrapping generator* around the task's own
    `batch_generator()`.  PsychRNN's loop is `next(gen)` → `sess.run(optimize)` (→ every
    `loss_epoch`=10 epochs an extra `sess.run(reg_loss)`), so the time between the wrapper
    handing out batch *k* and being asked for batch *k+1* is the step; "step *k* finished" is
    stamped at that request.  The median step time leaves out step 1 and every 10th step (the
    loss evaluation).  Training is ended by the wrapper returning (PsychRNN's `next()` raises
    `StopIteration`, caught by the worker).
  - psychrnn_widgets: a `callbacks` function stamps each `'step'` event; a `TrainingControl`
    stops the loop.  The median step time is the compiled step the loop uses
    (`Trainer.of(model).training_step()`) timed on a fixed batch after 3 warm-up calls.
- **End-to-end trials/s**: N_batch × steps / (time from the end of step 1 to the end of step
  steps+1), i.e. batch generation, the step and the loop's own work (loss every 10 epochs)
  included, start-up excluded.  For psychrnn_widgets the window starts after the training
  loop has switched to the XLA-compiled program (by default after 100 plain-graph steps, while
  XLA compiles in the background; the 256-unit item switches after 3 steps to keep the run
  short), i.e. steady state on both sides.
- **Accuracy ≥ 0.9**: every 10 steps, both sides draw a fresh 200-trial batch from a second task
  instance and compute the task's `accuracy_function` (PsychRNN: 4 × `test()` of 50 trials, as its
  test needs `x.shape[0] == N_batch`; ours: one `test()` of 200).  The time these checks take is
  *excluded* from all reported times (reported per rep as `check_seconds`).  The figure is seconds
  from process start to the end of the step whose check first reached 0.9.  A dash means 0.9 was
  not reached within `max_steps` in at least one repetition.  The two packages use different
  random initialisations and trial streams (seeded, but not identically), so steps-to-0.9 differs
  by chance as well as by speed.
- **Peak RSS**: `resource.getrusage(RUSAGE_SELF).ru_maxrss` after training (before the test() item).
- **test() on 1,000 trials**: PsychRNN tiles `init_state` to `N_batch`, so a new `Basic` with
  `N_batch=1000` is built (same N_rec, untrained weights); its first `test()` includes building the
  graph.  Ours calls `test()` on the trained model (any batch size; first call includes tracing).
- **NumPy simulator on 1,000 trials**: each package's `BasicSimulator(rnn_model=model)` built from
  the trained hello-world model, `run_trials(x)` on 1,000 fresh trials (PsychRNN: float64, as it
  computes; ours: float32, its default).
- **Latency floor**: in the parent process, NumPy float32 on the default BLAS threads, the matrix
  products one training step needs, in their dependency order and nothing else: forward 200
  products `h W^T` (each on the previous result), backward 200 products `g W` (each on the
  previous result) and the 200 weight-gradient products `r_t^T g`.  Orthogonal `W`, so values
  neither overflow nor become denormal.  Fastest of 7 after a warm-up, measured once per
  repetition between the workers (so at the same times as the steps it is compared with); the
  table gives the median over repetitions and the range.  The last row of each item gives the
  strict dependent chain alone (forward and backward products, no weight-gradient products).
- **FLOP floor**: the step's multiply-add FLOPs (`benchmarks/compare_psychrnn.py:step_flops`:
  per trial and time step 6 N² + 4 N N_in + 6 N N_out, forward and backward products only)
  divided by this machine's large-matmul rate (NumPy float32 2048×2048 product, best of 5),
  measured once per repetition like the latency floor (median over repetitions).
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=3, help="repetitions per item and package (default 3)")
    parser.add_argument("--items", default="hello,big,delayed",
                        help="comma-separated items (default: hello,big,delayed)")
    parser.add_argument("--venv", type=Path, default=None, help="PsychRNN venv (default: the side-by-side tool's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=600, help="seconds per worker process")
    parser.add_argument("--output", type=Path, default=HERE.parent / "RESULTS.md")
    parser.add_argument("--no-write", action="store_true", help="print the report instead of writing it")
    # internal: worker mode
    parser.add_argument("--worker", choices=("psychrnn", "ours"), help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--n-rec", type=int, default=50, help=argparse.SUPPRESS)
    parser.add_argument("--n-batch", type=int, default=50, help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=100, help=argparse.SUPPRESS)
    parser.add_argument("--max-steps", type=int, default=1500, help=argparse.SUPPRESS)
    parser.add_argument("--test-trials", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--sim-trials", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--task", choices=("perceptual", "delayed"), default="perceptual", help=argparse.SUPPRESS)
    parser.add_argument("--to-acc", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--spawn-wall", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--xla-after", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        if args.spawn_wall is None:
            args.spawn_wall = time.time()
        return run_worker(args)

    sbs = _load_side_by_side()
    venv = args.venv or sbs.DEFAULT_VENV
    print(f"PsychRNN venv: {sbs.ensure_venv(venv, sbs.default_tensorflow_spec())}", flush=True)
    items = [name.strip() for name in args.items.split(",") if name.strip()]
    machine = {"cpu": cpu_model(), "cores": os.cpu_count()}
    collected, versions, floor_runs = {}, {}, []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="psychrnn_bench_") as work:
        for rep in range(args.reps):
            for name in items:
                item = ITEMS[name]
                order = ("psychrnn", "ours") if (rep + items.index(name)) % 2 == 0 else ("ours", "psychrnn")
                for side in order:
                    t0 = time.perf_counter()
                    result = spawn(sbs, venv, side, item, work, args.seed + rep, args.timeout)
                    versions[side] = result["versions"]
                    collected.setdefault(name, {"psychrnn": [], "ours": []})[side].append(result)
                    print(f"rep {rep + 1} {name:5s} {side:8s} {time.perf_counter() - t0:6.1f} s wall: "
                          f"first step {result['first_step_s']:.2f} s, step {result['median_step_ms']:.1f} ms, "
                          f"{result['trials_per_s']:.0f} trials/s, 0.9 at {result['time_to_acc_s']} s "
                          f"(step {result['steps_to_acc']}), rss {result['maxrss_mib']:.0f} MiB", flush=True)
            measure_floors(items, floor_runs)  # once per repetition, between the workers
    floors = summarise_floors(items, floor_runs)
    arguments = argv if argv is not None else sys.argv[1:]
    command = " ".join(["python benchmarks/compare_psychrnn.py", *arguments])
    report = build_report(args, machine, versions, collected, floors, command.strip())
    print(f"total {time.perf_counter() - started:.0f} s", flush=True)
    if args.no_write:
        print(report)
    else:
        from results_file import write_section

        print(f"wrote {write_section('compare_psychrnn', report, first=True, path=args.output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
