#!/usr/bin/env python
"""Scaling of this package's training step with N_rec and T (issue #5; no PsychRNN).

For every N_rec in ``--n-rec`` and every number of time steps in ``--steps``:
``PerceptualDiscrimination(dt=10, tau=100, T=10*steps, N_batch=50)``, ``Basic`` with that
N_rec, the cached training step compiled to its steady-state XLA program
(``step.compile_xla_now``, compile time excluded), then the median of ``--reps`` calls of
``step(x, y, mask)`` on one fixed batch (forward + backward + clipping + Adam).

Also: NumPy simulation of 1,000 trials (``BasicSimulator.run_trials(noise=False)``,
median of 3) and ``model.test`` on the same 1,000 trials (median of 3, first call -- the
trace -- excluded), at N_rec 50 and 256, T 200.

FLOPs of one training step, counted as multiply-adds x 2 (element-wise work ignored):
  recurrent  B*T * 2*N^2        forward, plus 2x that backward (dL/ds and dL/dW_rec)
  input      B*T * 2*N_in*N     forward, plus 1x backward (dL/dW_in; no dL/dx needed)
  output     B*T * 2*N*N_out    forward, plus 2x backward (dL/ds and dL/dW_out)
GFLOP/s = FLOPs / median step time; compare with ~160 GFLOP/s for large matmuls on 2 cores.

    python benchmarks/scaling.py                        # ~3-4 min on 2 cores
    python benchmarks/scaling.py --n-rec 50 128 --steps 100 200 --no-sim
"""
import argparse
import os
import platform
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

DT, TAU, N_BATCH = 10, 100, 50


def step_flops(n_batch, n_steps, n_in, n_rec, n_out):
    per_step = 2 * n_batch * (3 * n_rec * n_rec + 2 * n_in * n_rec + 3 * n_rec * n_out)
    return per_step * n_steps


def make(n_rec, n_steps, n_batch=N_BATCH):
    from psychrnn_widgets import Basic, PerceptualDiscrimination

    task = PerceptualDiscrimination(dt=DT, tau=TAU, T=DT * n_steps, N_batch=n_batch, seed=0)
    model = Basic(dict(task.get_task_params(), name="s", N_rec=n_rec, seed=0))
    return task, model


def time_step(n_rec, n_steps, reps):
    from psychrnn_widgets.training.trainer import Trainer

    task, model = make(n_rec, n_steps)
    step = Trainer.of(model).training_step()
    x, y, mask, _ = task.get_trial_batch()
    t0 = time.perf_counter()
    ok = step.compile_xla_now(x, y, mask)
    compile_s = time.perf_counter() - t0
    step(x, y, mask)  # first call on the compiled program (not timed)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step(x, y, mask)
        times.append(time.perf_counter() - t0)
    flops = step_flops(x.shape[0], x.shape[1], model.N_in, n_rec, model.N_out)
    return dict(ms=1e3 * float(np.median(times)), min_ms=1e3 * float(np.min(times)),
                compile_s=compile_s, xla=ok, flops=flops, reps=reps)


def time_sim_and_test(n_rec, n_steps, n_trials=1000, reps=3):
    import psychrnn_widgets

    task, model = make(n_rec, n_steps)
    x1000 = task.generate_batch(N_batch=n_trials)[0]
    sim = psychrnn_widgets.BasicSimulator(rnn_model=model)
    sim_times, test_times = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        sim.run_trials(x1000, noise=False)
        sim_times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    model.test(x1000)  # first call traces the forward function
    first_test = time.perf_counter() - t0
    for _ in range(reps):
        t0 = time.perf_counter()
        model.test(x1000)
        test_times.append(time.perf_counter() - t0)
    # forward only: recurrent + input + output products
    fwd_flops = 2 * n_trials * n_steps * (n_rec * n_rec + model.N_in * n_rec + n_rec * model.N_out)
    return dict(sim_ms=1e3 * float(np.median(sim_times)), test_ms=1e3 * float(np.median(test_times)),
                test_first_ms=1e3 * first_test, fwd_flops=fwd_flops)


def load():
    try:
        return os.getloadavg()
    except OSError:
        return None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-rec", type=int, nargs="+", default=[50, 128, 256, 512])
    parser.add_argument("--steps", type=int, nargs="+", default=[100, 200, 400], help="time steps (T = 10 * steps ms)")
    parser.add_argument("--reps", type=int, default=15, help="timed steps per cell (default 15; 5 at N_rec >= 512)")
    parser.add_argument("--skip", nargs="*", default=[], metavar="NxSTEPS",
                        help="cells to skip, e.g. 512x400")
    parser.add_argument("--no-sim", action="store_true", help="skip the simulator / test() rows")
    args = parser.parse_args(argv)

    import tensorflow as tf

    import psychrnn_widgets

    start_load = load()
    wall0 = time.perf_counter()
    skip = set(args.skip)
    results = {}
    for n in args.n_rec:
        for s in args.steps:
            if f"{n}x{s}" in skip:
                continue
            reps = args.reps if n < 512 else min(args.reps, 5)
            results[(n, s)] = r = time_step(n, s, reps)
            print(f"  N_rec {n:4d}  T {s:4d} steps: {r['ms']:9.2f} ms/step  (XLA compile {r['compile_s']:.1f} s, "
                  f"fastest {r['min_ms']:.2f} ms, {r['reps']} reps{'' if r['xla'] else ', XLA FAILED: plain graph'})",
                  file=sys.stderr, flush=True)
    sims = {}
    if not args.no_sim:
        for n in (50, 256):
            sims[n] = time_sim_and_test(n, 200)
            print(f"  sim/test N_rec {n}: done", file=sys.stderr, flush=True)
    end_load = load()

    print("## Scaling (this package only)\n")
    print(f"psychrnn_widgets {psychrnn_widgets.__version__}, TensorFlow {tf.__version__}, NumPy {np.__version__}, "
          f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}")
    if start_load and end_load:
        print(f"load average (1/5/15 min) at start {start_load[0]:.2f} {start_load[1]:.2f} {start_load[2]:.2f}, "
              f"at end {end_load[0]:.2f} {end_load[1]:.2f} {end_load[2]:.2f}; run took "
              f"{time.perf_counter() - wall0:.0f} s")
    print(f"\nMedian training-step time (ms), steady-state XLA program, `PerceptualDiscrimination(dt=10, tau=100, "
          f"T=10*steps, N_batch={N_BATCH})`, `Basic`:\n")
    cols = args.steps
    ratio = len(cols) > 1
    head = "| N_rec | " + " | ".join(f"T={s}" for s in cols) + " |"
    if ratio:
        head += f" T={cols[-1]} / T={cols[0]} (medians) | same, fastest reps |"
    print(head)
    print("|---:|" + "---:|" * (len(cols) + 2 * ratio))
    for n in args.n_rec:
        cells = [f"{results[(n, s)]['ms']:.1f}" if (n, s) in results else "skipped" for s in cols]
        line = f"| {n} | " + " | ".join(cells) + " |"
        if ratio:
            a, b = results.get((n, cols[0])), results.get((n, cols[-1]))
            line += (f" {b['ms'] / a['ms']:.2f}x (ideal {cols[-1] / cols[0]:.0f}x) | {b['min_ms'] / a['min_ms']:.2f}x |"
                     if a and b else " - | - |")
        print(line)

    print("\nFLOPs of one training step (forward + backward, matrix products only) and the rate achieved:\n")
    print("| N_rec | " + " | ".join(f"T={s}: MFLOP / GFLOP/s" for s in cols) + " |")
    print("|---:|" + "---:|" * len(cols))
    for n in args.n_rec:
        cells = []
        for s in cols:
            r = results.get((n, s))
            cells.append(f"{r['flops'] / 1e6:.0f} / {r['flops'] / (r['ms'] * 1e-3) / 1e9:.1f}" if r else "skipped")
        print(f"| {n} | " + " | ".join(cells) + " |")
    print("\n(large-matmul rate of this machine: ~160 GFLOP/s on 2 cores; "
          "FLOPs = 2*B*T*(3*N^2 + 2*N_in*N + 3*N*N_out))")

    if sims:
        print("\n1,000 trials, T=200 steps (median of 3; simulator with `noise=False`, `test()` with its default "
              "noise and excluding its first, tracing call):\n")
        print("| N_rec | NumPy `BasicSimulator.run_trials` (ms) | `model.test` (ms) | `test` first call (ms) | "
              "test GFLOP/s (forward) |")
        print("|---:|---:|---:|---:|---:|")
        for n, r in sims.items():
            print(f"| {n} | {r['sim_ms']:.0f} | {r['test_ms']:.0f} | {r['test_first_ms']:.0f} | "
                  f"{r['fwd_flops'] / (r['test_ms'] * 1e-3) / 1e9:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
