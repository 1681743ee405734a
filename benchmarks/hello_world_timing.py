"""Timing of the hello-world task in this package (one process, CPU).

Prints:
  * seconds from ``import psychrnn_widgets`` to the first finished training step
    (imports of TensorFlow, network construction and tracing included);
  * the median training-step time (one batch of 50 trials, forward + backward + Adam);
  * the median time to generate one batch of trials;
  * end-to-end trials per second in ``model.train`` (batch generation included), measured
    after the switch to the XLA program (the first 100 steps run the plain graph while XLA
    compiles in the background).

    python benchmarks/hello_world_timing.py [--steps 100] [--n-rec 50] [--n-batch 50]

Issue #5's harness compares these figures side by side with PsychRNN 1.0.
"""
import argparse
import os
import sys
import time

T_START = time.perf_counter()
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=100, help="training steps to time (default 100)")
    parser.add_argument("--n-rec", type=int, default=50)
    parser.add_argument("--n-batch", type=int, default=50)
    args = parser.parse_args(argv)

    import numpy as np

    import psychrnn_widgets
    from psychrnn_widgets import Basic, PerceptualDiscrimination

    task = PerceptualDiscrimination(dt=10, tau=100, T=2000, N_batch=args.n_batch, seed=0)
    model = Basic(dict(task.get_task_params(), name="bench", N_rec=args.n_rec, seed=0))
    step_ends = []

    def on_event(event):
        if event.kind == "step":
            step_ends.append(time.perf_counter())

    from psychrnn_widgets.training.step import XLA_AFTER_STEPS

    warm = XLA_AFTER_STEPS + 5
    model.train(task, dict(training_iters=args.n_batch * (warm + args.steps), verbosity=False, callbacks=on_event))
    first_step = step_ends[0] - T_START
    wall = np.diff(step_ends[warm:])  # batch generation + step + bookkeeping, per step, on XLA

    gen_times = []
    for _ in range(max(args.steps, 20)):
        t0 = time.perf_counter()
        task.generate_batch()
        gen_times.append(time.perf_counter() - t0)

    from psychrnn_widgets.training.trainer import Trainer

    step = Trainer.of(model).training_step()
    x, y, mask, _ = task.get_trial_batch()
    step.compile_xla_now(x, y, mask)  # steady state: the XLA program (training switches to it after 100 steps)
    step_times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step(x, y, mask)
        step_times.append(time.perf_counter() - t0)

    import tensorflow as tf

    print(f"psychrnn_widgets {psychrnn_widgets.__version__}, TensorFlow {tf.__version__}, NumPy {np.__version__}, "
          f"{os.cpu_count()} CPUs")
    print(f"hello world: PerceptualDiscrimination(dt=10, tau=100, T=2000, N_batch={args.n_batch}), "
          f"Basic N_rec={args.n_rec}")
    print(f"time from import to first finished training step: {first_step:8.2f} s")
    print(f"median training-step time:                       {1e3 * np.median(step_times):8.2f} ms")
    print(f"median batch-generation time:                    {1e3 * np.median(gen_times):8.2f} ms")
    print(f"end-to-end throughput (train loop):              {args.n_batch / np.median(wall):8.0f} trials/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
