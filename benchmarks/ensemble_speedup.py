"""Issue #14: K hello-world networks trained as one ensemble vs one after another, in one process.

    python benchmarks/ensemble_speedup.py                 # 16 networks, 100 steps, 3 repetitions, 2 thread set-ups
    python benchmarks/ensemble_speedup.py --write         # ... and put the tables in benchmarks/RESULTS.md
    python benchmarks/ensemble_speedup.py --threads 1     # only the one-intra-op-thread configuration
    python benchmarks/ensemble_speedup.py --steps 300     # singles switch to their XLA program after 100 steps

The work: K networks (``Basic``, N_rec 50, seeds 0..K-1), each on its own
``PerceptualDiscrimination(dt=10, tau=100, T=2000, N_batch=50, seed=k)`` (the hello world),
trained for the same number of steps with the defaults (Adam, lr 0.001, clipping).

* **one after another**: ``Basic(params_k).train(task_k, ...)`` for k = 0..K-1 -- what a
  loop over networks in a script does (each network builds and traces its own step; with
  more than 100 steps each also compiles and switches to its XLA program, as ``train`` does);
* **ensemble**: ``Ensemble(params).train(tasks, ...)`` -- one program for the K networks.

TensorFlow sizes its thread pools once per process, so each thread configuration
(``--threads``: TensorFlow's default pools, and one intra-op thread as set by
``psychrnn_widgets.set_tensorflow_threads``) runs in its own child process.  Inside it,
both variants run in that one process, alternating which goes first in each repetition
(other work on the machine then weighs on both alike): wall time from building the
networks to the end of training, medians over repetitions.  Also, interleaved in the same
way, the steady-state time of one training step (a fixed batch; first calls excluded): one
network on its plain graph and on its XLA program, and the K-network ensemble step.

NumPy figures: the "latency floor" of ``compare_psychrnn.py`` -- the step's matrix products
alone in their dependency order (forward ``r W^T``, backward ``g W`` and ``r^T g`` per time
step) -- for one network, and for K networks as batched ``np.matmul`` over a leading
network axis.
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
    from psychrnn_widgets import EnsembleTrainer
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


CONFIGURATIONS = {"default": None, "1": 1}  # --threads names -> intra-op threads (None: TensorFlow's default)


def measure(args):
    """This process's figures for one thread configuration (both variants, step times), as a JSON-able dict."""
    import numpy as np

    walls = {"one after another": [], "ensemble": []}
    difference = None
    load_start = os.getloadavg()
    t_begin = time.perf_counter()
    for rep in range(args.reps):
        order = [("one after another", one_after_another), ("ensemble", as_ensemble)]
        if rep % 2:
            order.reverse()
        results = {}
        for name, run in order:
            wall, result = run(args.networks, args.steps)
            walls[name].append(wall)
            results[name] = result
            print(f"  rep {rep + 1}: {name}: {wall:.2f} s", flush=True)
        if args.steps <= 100:  # both on plain graphs: the same arithmetic, to float32 rounding
            ensemble, models = results["ensemble"], results["one after another"]
            difference = max(float(np.max(np.abs(ensemble.get_variable_values(k)["W_rec"]
                                                 - models[k].get_variable_values()["W_rec"])))
                             for k in range(args.networks))
    times = step_times(args.networks, args.step_rounds)
    from psychrnn_widgets.threads import tensorflow_threads

    return {"walls": walls, "difference": difference, "load": [load_start, os.getloadavg()],
            "seconds": time.perf_counter() - t_begin, "threads": tensorflow_threads(),
            "step_ms": {name: [1e3 * v for v in values] for name, values in times.items()}}


def run_configuration(name, args):
    """Run one thread configuration in a child process (TensorFlow's pools are fixed per process)."""
    import json
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "figures.json"
        command = [sys.executable, __file__, "--child", name, "--json", str(out), "--networks", str(args.networks),
                   "--steps", str(args.steps), "--reps", str(args.reps), "--step-rounds", str(args.step_rounds)]
        subprocess.run(command, check=True)
        return json.loads(out.read_text())


def configuration_label(name):
    return ("TensorFlow's default thread pools (one intra-op and one inter-op thread per core)" if name == "default"
            else f"{name} intra-op thread{'s' if name != '1' else ''} (`set_tensorflow_threads(intra_op={name})` or "
                 f"`TF_NUM_INTRAOP_THREADS={name}`), inter-op threads as default")


def configuration_table(name, figures, K):
    walls, step_ms = figures["walls"], figures["step_ms"]
    med = {variant: statistics.median(v) for variant, v in walls.items()}
    ratios = [a / b for a, b in zip(walls["one after another"], walls["ensemble"])]
    ms = {variant: statistics.median(v) for variant, v in step_ms.items()}
    fastest = {variant: min(v) for variant, v in step_ms.items()}
    load = " → ".join(" ".join(f"{v:.2f}" for v in loads) for loads in figures["load"])
    return [
        f"### {configuration_label(name)}",
        "",
        f"One process ({figures['seconds']:.0f} s; load average 1/5/15 min {load}):",
        "",
        "| variant | wall time, median (s) | per repetition (s) |",
        "|---|---:|---|",
        f"| {K} × `Basic(params).train(task, ...)`, one after another | {med['one after another']:.2f} | "
        + ", ".join(f"{v:.2f}" for v in walls["one after another"]) + " |",
        f"| `Ensemble(params).train(tasks, ...)` | {med['ensemble']:.2f} | "
        + ", ".join(f"{v:.2f}" for v in walls["ensemble"]) + " |",
        f"| **ratio** (one after another / ensemble) | **{med['one after another'] / med['ensemble']:.2f}×** | "
        + ", ".join(f"{v:.2f}×" for v in ratios) + " |",
        "",
        "| steady-state training step (ms; fixed batch; median, fastest in brackets) | one network | "
        f"per network in the ensemble | {K} networks |",
        "|---|---:|---:|---:|",
        f"| one network, plain graph (what `train` runs for its first 100 steps) | {ms['plain']:.1f} "
        f"({fastest['plain']:.1f}) | | {K * ms['plain']:.0f} one after another |",
        f"| one network, XLA program (what `train` switches to after 100 steps) | {ms['xla']:.1f} "
        f"({fastest['xla']:.1f}) | | {K * ms['xla']:.0f} one after another |",
        f"| ensemble step | | {ms['ensemble'] / K:.1f} ({fastest['ensemble'] / K:.1f}) | "
        f"{ms['ensemble']:.0f} ({fastest['ensemble']:.0f}) |",
        "",
        f"Step ratios: {K} plain-graph steps / one ensemble step = {K * ms['plain'] / ms['ensemble']:.2f}×; "
        f"{K} XLA steps / one ensemble step = {K * ms['xla'] / ms['ensemble']:.2f}×.",
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--networks", type=int, default=16)
    parser.add_argument("--steps", type=int, default=100, help="training steps per network (default 100)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions of the wall-time comparison")
    parser.add_argument("--step-rounds", type=int, default=15, help="interleaved calls per step-time figure")
    parser.add_argument("--threads", default="default,1",
                        help="thread configurations, each in its own process: 'default' (TensorFlow's pools) and/or "
                             "a number of intra-op threads (default: 'default,1')")
    parser.add_argument("--write", action="store_true", help="put the tables in benchmarks/RESULTS.md")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # one configuration, in this process
    parser.add_argument("--json", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        import json

        from psychrnn_widgets import set_tensorflow_threads

        if args.child != "default":
            set_tensorflow_threads(intra_op=int(args.child))
        Path(args.json).write_text(json.dumps(measure(args)))
        return 0
    names = [name.strip() for name in args.threads.split(",") if name.strip()]
    for name in names:
        if name != "default" and not name.isdigit():
            parser.error(f"--threads: each configuration is 'default' or a number of intra-op threads, got {name!r}")
    import numpy as np
    import tensorflow as tf

    import psychrnn_widgets

    K, started, t_begin = args.networks, time.strftime("%Y-%m-%d %H:%M"), time.perf_counter()
    figures = {}
    for name in names:
        print(f"{configuration_label(name)}:", flush=True)
        figures[name] = run_configuration(name, args)
    np_single, np_batched = numpy_floors(K)
    lines = [
        f"Generated by `python benchmarks/ensemble_speedup.py{' ' + ' '.join(sys.argv[1:]) if sys.argv[1:] else ''}` "
        f"on {started} ({time.perf_counter() - t_begin:.0f} s).",
        "",
        f"- psychrnn_widgets {psychrnn_widgets.__version__}, TensorFlow {tf.__version__}, NumPy {np.__version__}, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs.",
        f"- Work: {K} hello-world networks (`Basic`, N_rec {N_REC}, seeds 0..{K - 1}), each on its own "
        f"`PerceptualDiscrimination(dt={DT}, tau={TAU}, T={T_MS}, N_batch={N_BATCH}, seed=k)`, {args.steps} "
        "training steps each, default `train_params` (Adam, lr 0.001, clipping).",
        "- TensorFlow sizes its thread pools once per process, so each thread configuration ran in its own "
        "process; inside it both variants ran interleaved, alternating which went first (other work on the "
        "machine weighs on both), wall time from building the networks to the end of training.",
        "",
        "| thread configuration | one after another, median (s) | ensemble, median (s) | ratio |",
        "|---|---:|---:|---:|",
    ]
    for name, found in figures.items():
        med = {variant: statistics.median(v) for variant, v in found["walls"].items()}
        lines.append(f"| {configuration_label(name)} | {med['one after another']:.2f} | {med['ensemble']:.2f} | "
                     f"**{med['one after another'] / med['ensemble']:.2f}×** |")
    for name, found in figures.items():
        lines += [""] + configuration_table(name, found, K)
    lines += [
        "",
        "### NumPy: the step's matrix products alone (latency floor)",
        "",
        f"Forward `r W^T`, backward `g W` and `r^T g` per time step in their dependency order, fastest of 5: one "
        f"network {1e3 * np_single:.1f} ms ({K * 1e3 * np_single:.0f} ms for {K} one after another); {K} networks "
        f"as batched `np.matmul` {1e3 * np_batched:.0f} ms ({1e3 * np_batched / K:.1f} ms per network), "
        f"{K * np_single / np_batched:.2f}× fewer.",
    ]
    differences = [found["difference"] for found in figures.values() if found["difference"] is not None]
    if differences:
        lines += ["", f"Same work: the largest difference between a network's W_rec trained in the ensemble and "
                      f"trained alone was {max(differences):.1e} after {args.steps} steps (float32 rounding of "
                      "near-zero gradients, amplified by Adam's normalisation; one network trained alone in the "
                      "package's two time-loop layouts drifts apart as much; `tests/test_ensemble.py` holds 8 "
                      "networks to 1e-5 after 20 steps)."]
    text = "\n".join(lines)
    print("\n" + text)
    if args.write:
        write_results(text)
    return 0


READING = """Reading it: the ensemble's gain is the per-network set-up it saves (building and tracing,
~0.3-0.6 s per network) plus a cheaper step per network.  How much cheaper depends on the
thread pools: with TensorFlow's defaults every small operation is split over both cores and the
split costs about what it saves, while with one intra-op thread each operation runs whole and
the inter-op threads run the step's independent products (forward, back-propagated and
weight-gradient) side by side.  One network's plain graph gains a little from one intra-op
thread too, so the one-after-another variant is not held back by it.  A 256-unit network's XLA
step is slower with one intra-op thread (`psychrnn_widgets/threads.py`), which is why the
package leaves TensorFlow's default alone and `set_tensorflow_threads` is a choice per workload.
What else was tried and measured: `benchmarks/README.md`, "Ensembles"."""


def write_results(text):
    """Replace (or append) this benchmark's section of RESULTS.md."""
    from results_file import write_section

    path = write_section("ensemble_speedup",
                         f"## Ensembles: many networks in one step (issue #14)\n\n{text}\n\n{READING}")
    print(f"wrote {path}")

if __name__ == "__main__":
    sys.exit(main())
