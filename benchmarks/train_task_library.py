"""Train a small ``Basic`` network on every built-in task and record the accuracy reached.

    python benchmarks/train_task_library.py                 # every task, seeds 0-2; writes TASK_LIBRARY.md
    python benchmarks/train_task_library.py --tasks GoNoGo FlipFlop --seeds 0 --no-write

For each task: the task at the settings of :data:`CASES` (seed ``s``), a ``Basic`` network
(``N_rec`` units, ReLU, default initialiser, seed ``s``) trained with Adam (``learning_rate``)
for ``budget`` trials, then scored with the task's own ``accuracy_function`` on a fresh
batch of 500 trials (task seed ``1000 + s``), recurrent noise off.  The table lists the
median and the range over seeds, and the wall time of ``train`` (TensorFlow on CPU).
``tests/test_task_training.py`` holds each task to a lower accuracy at a smaller budget.
"""
import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from psychrnn_widgets.tasks import BUILTIN_TASKS  # noqa: E402

#: task name -> (constructor overrides, N_rec, budget in trials, learning rate)
CASES = {
    "PerceptualDiscrimination": ({}, 50, 4000, 0.001),
    "DelayedDiscrimination": ({}, 50, 20000, 0.005),
    "MatchToCategory": ({}, 50, 10000, 0.005),
    "ContextDependentIntegration": ({}, 50, 20000, 0.005),
    "GoNoGo": ({}, 50, 10000, 0.005),
    "FlipFlop": ({}, 64, 20000, 0.005),
    "ReadySetGo": ({}, 64, 30000, 0.005),
    "DelayedMatchToSample": ({}, 64, 30000, 0.005),
    "ProAntiSaccade": ({}, 64, 20000, 0.005),
    "MultiTask": ({}, 64, 30000, 0.005),
}


def make_task(name, seed, N_batch=50, **overrides):
    """The task ``name`` at its benchmark settings."""
    settings = {**CASES[name][0], **overrides}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return BUILTIN_TASKS[name].with_defaults(dt=10, tau=100, N_batch=N_batch, seed=seed, **settings)


def train_and_score(name, seed, budget=None, N_rec=None, learning_rate=None, eval_trials=500):
    """Train on task ``name``; returns ``(accuracy, train seconds, N_rec, budget, learning_rate)``."""
    from psychrnn_widgets.models.basic import Basic

    _, default_rec, default_budget, default_lr = CASES[name]
    N_rec, budget = N_rec or default_rec, budget or default_budget
    learning_rate = learning_rate or default_lr
    task = make_task(name, seed)
    params = {**task.get_task_params(), "name": f"{name}_{seed}", "N_rec": N_rec, "seed": seed}
    model = Basic(params)
    start = time.perf_counter()
    model.train(task, dict(training_iters=budget, learning_rate=learning_rate, verbosity=False))
    seconds = time.perf_counter() - start
    probe = make_task(name, 1000 + seed, N_batch=eval_trials)
    x, y, mask, trial_params = probe.get_trial_batch()
    output, _ = model.test(x, noise=False)
    model.destruct()
    return probe.accuracy_function(y, output, mask), seconds, N_rec, budget, learning_rate


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="*", default=list(CASES))
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    parser.add_argument("--budget", type=int, default=None, help="override every task's budget (trials)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)

    rows = []
    for name in args.tasks:
        results = [train_and_score(name, seed, budget=args.budget) for seed in args.seeds]
        accs = [r[0] for r in results]
        secs = [r[1] for r in results]
        _, N_rec, budget, lr = results[0][1:]
        row = (name, N_rec, budget, lr, statistics.median(accs), min(accs), max(accs), statistics.median(secs))
        rows.append(row)
        print(f"{name:28s} N_rec {N_rec:3d}  {budget:6d} trials  lr {lr:g}  accuracy median {row[4]:.3f} "
              f"[{row[5]:.3f}, {row[6]:.3f}]  {row[7]:.1f} s", flush=True)
    if not args.no_write:
        lines = [
            "# Task library: a small Basic network trained on every built-in task",
            "",
            f"Written by `benchmarks/train_task_library.py` (seeds {', '.join(map(str, args.seeds))}; "
            "CPU TensorFlow). Accuracy: the task's own `accuracy_function` on a fresh 500-trial batch, "
            "recurrent noise off. Batch 50 trials, Adam, dt 10 ms, tau 100 ms, default task settings. "
            "Train time: wall time of `train` (median over seeds), indicative only (the machine may be shared).",
            "",
            "| task | N_rec | budget (trials) | learning rate | accuracy (median) | range over seeds "
            "| train time (s) |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [f"| {r[0]} | {r[1]} | {r[2]} | {r[3]:g} | {r[4]:.3f} | {r[5]:.3f}–{r[6]:.3f} | {r[7]:.1f} |"
                  for r in rows]
        out = Path(__file__).resolve().parent / "TASK_LIBRARY.md"
        out.write_text("\n".join(lines) + "\n")
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
