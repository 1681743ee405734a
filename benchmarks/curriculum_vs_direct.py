"""Trials needed to reach 90% accuracy on coherence 0.1: curriculum vs direct training.

Curriculum: PerceptualDiscrimination stages with coherence 0.7, 0.5, 0.3, 0.1, threshold
0.9, metric checked every 5 epochs.  Direct: the same network trained on coherence 0.1
alone, accuracy checked on a fresh batch every 5 epochs.  Both count every training
trial (checks excluded) until the coherence-0.1 accuracy first reaches 0.9.

    python benchmarks/curriculum_vs_direct.py [--seeds 3] [--learning-rate 0.005]
"""
import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from psychrnn_widgets import Basic, Curriculum, PerceptualDiscrimination  # noqa: E402

CHECK_EVERY = 5
BUDGET = 400_000


def network(task, seed):
    return Basic(dict(task.get_task_params(), name="net", N_rec=50, seed=seed))


def task_with(coherence, seed):
    return PerceptualDiscrimination(dt=10, tau=100, T=2000, N_batch=50, coherence=coherence, seed=seed)


def curriculum_trials(seed, lr):
    tasks = [task_with(c, seed + i) for i, c in enumerate((0.7, 0.5, 0.3, 0.1))]
    curriculum = Curriculum(tasks, thresholds=[0.9] * 4, metric_epoch=CHECK_EVERY)
    trials = {}
    model = network(tasks[0], seed)
    model.train(None, dict(curriculum=curriculum, training_iters=BUDGET, learning_rate=lr, verbosity=False,
                           callbacks=lambda e: trials.__setitem__("n", e.trials) if e.kind == "step" else None))
    return trials["n"] if curriculum.stop_training else None


def direct_trials(seed, lr):
    task = task_with(0.1, seed + 3)

    def accuracy(x, y, mask, output, epoch, losses, verbosity):
        return task.accuracy_function(y, output, mask) if epoch % CHECK_EVERY == 0 else 0.0

    trials = {}
    model = network(task, seed)
    model.train(task, dict(training_iters=BUDGET, learning_rate=lr, verbosity=False, performance_measure=accuracy,
                           performance_cutoff=0.9,
                           callbacks=lambda e: trials.__setitem__("n", e.trials) if e.kind == "step" else None))
    return trials["n"] if trials["n"] < BUDGET else None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--learning-rate", type=float, default=0.005)
    args = parser.parse_args(argv)
    rows = []
    for seed in range(args.seeds):
        rows.append((seed, curriculum_trials(seed, args.learning_rate), direct_trials(seed, args.learning_rate)))
        print(f"seed {seed}: curriculum {rows[-1][1]} trials, direct {rows[-1][2]} trials", flush=True)
    cur = [r[1] for r in rows if r[1] is not None]
    direct = [r[2] for r in rows if r[2] is not None]
    print(f"median trials to 0.9 at coherence 0.1: curriculum {np.median(cur):.0f}, direct {np.median(direct):.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
