"""Issue #14: K hello-world networks trained as one ensemble vs one after another, in one process.

    python benchmarks/ensemble_speedup.py                 # 16 networks, 100 steps, 3 repetitions
    python benchmarks/ensemble_speedup.py --write         # ... and put the tables in benchmarks/RESULTS.md
    python benchmarks/ensemble_speedup.py --steps 300     # singles switch to their XLA program after 100 steps

The work: K networks (``Basic``, N_rec 50, seeds 0..K-1), each on its own
``PerceptualDiscrimination(dt=10, tau=100, T=2000, N_batch=50, seed=k)`` (the hello world),
trained for the same number of steps with the defaults (Adam, lr 0.001, clipping).

* **one after another**: ``Basic(params_k).train(task_k, ...)`` for k = 0..K-1 -- what a
  loop over networks in a script does (each network builds and traces its own step; with
  more than 100 steps each also compiles and switches to its XLA program, as ``train`` does);
* **ensemble**: ``Ensemble(params).train(tasks, ...)`` -- one program for the K networks.

Wall time of each variant from building the networks to the end of training, both in this
process, alternating which goes first in each repetition (other work on the machine then
weighs on both alike); medians over repetitions.  Also, interleaved in the same way, the
steady-state time of one training step (a fixed batch; first calls excluded): one network
on its plain graph and on its XLA program, and the K-network ensemble step.

NumPy figures (same process): the "latency floor" of ``compare_psychrnn.py`` -- the step's
matrix products alone in their dependency order (forward ``r W^T``, backward ``g W`` and
``r^T g`` per time step) -- for one network, and for K networks as batched ``np.matmul``
over a leading network axis.  They show what batching the products can give at best with
NumPy's BLAS calls.
"""
import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # this checkout's package, installed or not
N_REC, N_BATCH, T_MS, DT, TAU = 50, 50, 2000, 10, 100


def make_work(k_networks):
    from psychrnn_widgets import PerceptualDiscrimination

    tasks = [PerceptualDiscrimination(dt=DT, tau=TAU, T=T_MS, N_batch=N_BATCH, seed=k) for k in range(k_networks)]
    params = [dict(tasks[k].get_task_params(), name=f"net{k}", N_rec=N_REC, seed=k) for k in range(k_networks)]
    return tasks, params


def one_after_another(k_networks, steps):
    from psychrnn_widgets import Basic

    tasks, params = make_work(k_networks)
    t0 = time.perf_counter()
    models = []
    for task, p in zip(tasks, params):
        model = Basic(p)
        model.train(task, dict(training_iters=steps * N_BATCH, verbosity=False))
        models.append(model)
    return time.perf_counter() - t0, models


def as_ensemble(k_networks, steps):
    from psychrnn_widgets import Ensemble

    tasks, params = make_work(k_networks)
    t0 = time.perf_counter()
    ensemble = Ensemble(params)
    ensemble.train(tasks, dict(training_iters=steps * N_BATCH, verbosity=False))
    return time.perf_counter() - t0, ensemble


def step_times(k_networks, rounds):
    """Interleaved steady-state step times (s): single plain graph, single XLA program, ensemble."""
    import numpy as np

    from psychrnn_widgets import Basic, Ensemble
    from psychrnn_widgets.sweeps.ensemble_training import EnsembleTrainer
    from psychrnn_widgets.training.trainer import Trainer

    tasks, params = make_work(k_networks)
    x, y, mask, _ = tasks[0].generate_batch()
    plain = Trainer.of(Basic(params[0])).training_step(jit_compile=False)
    xla = Trainer.of(Basic(params[1])).training_step()
    xla.compile_xla_now(x, y, mask)
    ensemble = Ensemble(params)
    batches = [task.generate_batch()[:3] for task in tasks]
    stacked = [np.stack([b[i] for b in batches]) for i in range(3)]
    step = EnsembleTrainer.of(ensemble).training_step()
    active = np.ones(k_networks, bool)
    calls = {"plain": lambda: plain(x, y, mask), "xla": lambda: xla(x, y, mask),
             "ensemble": lambda: step(*stacked, active)}
    for call in calls.values():
        call(), call()
    times = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            t0 = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - t0)
    return times


def numpy_floors(k_networks, repeats=5, n_steps=T_MS // DT):
    """(one network, K networks batched) NumPy time of the step's matrix products in order (s, fastest)."""
    import numpy as np

    rng = np.random.default_rng(0)

    def chain(shape_prefix):
        W = np.linalg.qr(rng.standard_normal((N_REC, N_REC)))[0].astype(np.float32)
        W = np.broadcast_to(W, shape_prefix + (N_REC, N_REC)).copy()
        WT = np.swapaxes(W, -1, -2).copy()
        h0 = rng.standard_normal(shape_prefix + (N_BATCH, N_REC)).astype(np.float32)
        rates = [None] * n_steps
        buffer = np.empty_like(W)

        def one_step():
            h = h0
            for t in range(n_steps):
                rates[t] = h
                h = np.matmul(h, WT)
            g = h
            for t in range(n_steps - 1, -1, -1):
                np.matmul(np.swapaxes(rates[t], -1, -2), g, out=buffer)
                g = np.matmul(g, W)
            return g

        one_step()
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            one_step()
            best = min(best, time.perf_counter() - t0)
        return best

    return chain(()), chain((k_networks,))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--networks", type=int, default=16)
    parser.add_argument("--steps", type=int, default=100, help="training steps per network (default 100)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions of the wall-time comparison")
    parser.add_argument("--step-rounds", type=int, default=15, help="interleaved calls per step-time figure")
    parser.add_argument("--write", action="store_true", help="put the tables in benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    import numpy as np

    import psychrnn_widgets

    K, started = args.networks, time.strftime("%Y-%m-%d %H:%M")
    load_start = os.getloadavg()
    t_begin = time.perf_counter()
    walls = {"one after another": [], "ensemble": []}
    difference = None
    for rep in range(args.reps):
        order = [("one after another", one_after_another), ("ensemble", as_ensemble)]
        if rep % 2:
            order.reverse()
        results = {}
        for name, run in order:
            wall, result = run(K, args.steps)
            walls[name].append(wall)
            results[name] = result
            print(f"rep {rep + 1}: {name}: {wall:.2f} s", flush=True)
        if args.steps <= 100:  # both on plain graphs: the same arithmetic, to float32 rounding
            ensemble, models = results["ensemble"], results["one after another"]
            difference = max(float(np.max(np.abs(ensemble.get_variable_values(k)["W_rec"]
                                                 - models[k].get_variable_values()["W_rec"]))) for k in range(K))
    times = step_times(K, args.step_rounds)
    np_single, np_batched = numpy_floors(K)
    load_end = os.getloadavg()

    import tensorflow as tf

    med = {name: statistics.median(v) for name, v in walls.items()}
    ratio = med["one after another"] / med["ensemble"]
    ratios = [a / b for a, b in zip(walls["one after another"], walls["ensemble"])]
    step_ms = {name: 1e3 * statistics.median(v) for name, v in times.items()}
    step_min = {name: 1e3 * min(v) for name, v in times.items()}
    lines = [
        f"Generated by `python benchmarks/ensemble_speedup.py{' ' + ' '.join(sys.argv[1:]) if sys.argv[1:] else ''}` "
        f"on {started} ({time.perf_counter() - t_begin:.0f} s).",
        "",
        f"- psychrnn_widgets {psychrnn_widgets.__version__}, TensorFlow {tf.__version__}, NumPy {np.__version__}, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs; load average (1/5/15 min) at start "
        f"{' '.join(f'{v:.2f}' for v in load_start)}, at end {' '.join(f'{v:.2f}' for v in load_end)} "
        "(other work on the machine: both variants ran interleaved in this one process, alternating which went "
        "first, so it weighs on both).",
        f"- Work: {K} hello-world networks (`Basic`, N_rec {N_REC}, seeds 0..{K - 1}), each on its own "
        f"`PerceptualDiscrimination(dt={DT}, tau={TAU}, T={T_MS}, N_batch={N_BATCH}, seed=k)`, {args.steps} "
        "training steps each, default `train_params` (Adam, lr 0.001, clipping).",
        "",
        "| variant | wall time, median (s) | per repetition (s) |",
        "|---|---:|---|",
        f"| {K} × `Basic(params).train(task, ...)`, one after another | {med['one after another']:.2f} | "
        + ", ".join(f"{v:.2f}" for v in walls["one after another"]) + " |",
        f"| `Ensemble(params).train(tasks, ...)` | {med['ensemble']:.2f} | "
        + ", ".join(f"{v:.2f}" for v in walls["ensemble"]) + " |",
        f"| **ratio** (one after another / ensemble) | **{ratio:.2f}×** | "
        + ", ".join(f"{v:.2f}×" for v in ratios) + " |",
        "",
        "Steady-state training step (ms; fixed batch, first calls excluded; "
        f"{args.step_rounds} interleaved calls each; median, fastest in brackets):",
        "",
        "| what | one network | per network in the ensemble | "
        f"{K} networks |",
        "|---|---:|---:|---:|",
        f"| one network, plain graph (what `train` runs for its first 100 steps) | {step_ms['plain']:.1f} "
        f"({step_min['plain']:.1f}) | | {K * step_ms['plain']:.0f} one after another |",
        f"| one network, XLA program (what `train` switches to after 100 steps) | {step_ms['xla']:.1f} "
        f"({step_min['xla']:.1f}) | | {K * step_ms['xla']:.0f} one after another |",
        f"| ensemble step | | {step_ms['ensemble'] / K:.1f} ({step_min['ensemble'] / K:.1f}) | "
        f"{step_ms['ensemble']:.0f} ({step_min['ensemble']:.0f}) |",
        f"| NumPy: the step's matrix products in order (latency floor, fastest of 5) | {1e3 * np_single:.1f} | "
        f"{1e3 * np_batched / K:.1f} (batched `np.matmul`) | {1e3 * np_batched:.0f} batched, "
        f"{K * 1e3 * np_single:.0f} one after another |",
        "",
        f"Step ratios: {K} plain-graph steps / one ensemble step = {K * step_ms['plain'] / step_ms['ensemble']:.2f}×; "
        f"{K} XLA steps / one ensemble step = {K * step_ms['xla'] / step_ms['ensemble']:.2f}×; "
        f"NumPy, {K} chains one after another / batched = {K * np_single / np_batched:.2f}×.",
    ]
    if difference is not None:
        lines += ["", f"Same work: the largest difference between a network's W_rec trained in the ensemble and "
                      f"trained alone was {difference:.1e} after {args.steps} steps (float32 rounding of near-zero "
                      "gradients, amplified by Adam's normalisation; one network trained alone in the package's two "
                      "time-loop layouts drifts apart as much; `tests/test_ensemble.py` holds 8 networks to 1e-5 "
                      "after 20 steps)."]
    text = "\n".join(lines)
    print("\n" + text)
    if args.write:
        write_results(text)
    return 0


READING = """Reading it: the ensemble's gain here is the per-network set-up it saves (building and tracing
~0.6 s per network) plus a step that is 2-2.6x cheaper per network than one network's plain
graph; it is not 3x or more on this 2-core machine because TensorFlow's batched products of
these small matrices run ~3x slower than the same products as a loop of OpenBLAS calls (the
NumPy row), and one network's XLA program already runs its step at about the ensemble's cost
per network (what was tried and measured: `benchmarks/README.md`, "Ensembles")."""


def write_results(text):
    """Replace (or append) this benchmark's section of RESULTS.md."""
    from results_file import write_section

    path = write_section("ensemble_speedup",
                         f"## Ensembles: many networks in one step (issue #14)\n\n{text}\n\n{READING}")
    print(f"wrote {path}")

if __name__ == "__main__":
    sys.exit(main())
