"""Steps to 90 % accuracy on the hello world, here and in PsychRNN 1.0, over many seeds, with a rank test.

    python benchmarks/learning_speed.py                 # 20 seeds per package (~6 min on 2 cores)
    python benchmarks/learning_speed.py --seeds 30 --write

The same harness for both packages: ``PerceptualDiscrimination(dt=10, tau=100, T=2000,
N_batch=50)``, ``Basic`` with ``N_rec=50`` and every default (Adam, learning rate 0.001,
gradient clipping, ``rec_noise=0``), the task and the network seeded with the same
integer ``s`` (PsychRNN: ``np.random.seed(s); tf.compat.v1.set_random_seed(s)`` before
building them; here ``seed=s`` for both, which since issue 15 feed independent random
streams).  Every 10 training steps the network is tested on a fresh 200-trial batch of a
second task seeded ``s + 1000`` (PsychRNN: 4 x 50 trials, its ``test`` needs
``N_batch`` trials); the first step count whose check reaches 0.9 is recorded (runs that
do not reach it within ``--max-steps`` count as ``max-steps + 10``, the worst rank).

The question (issue 15): is learning here slower than in PsychRNN?  A one-sided
Mann-Whitney U test of "steps here > steps in PsychRNN" (scipy): p < 0.05 would say so.
PsychRNN runs in its own virtual environment (see ``tools/psychrnn_side_by_side.py``);
each package runs all its seeds in one process, one after the other.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]
DT, TAU, T, N_BATCH, N_REC = 10, 100, 2000, 50, 50
CHECK_EVERY, CHECK_TRIALS, TARGET = 10, 200, 0.9


def worker_ours(seeds, max_steps):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, str(ROOT))
    from psychrnn_widgets import Basic, PerceptualDiscrimination, TrainingControl

    results = []
    for seed in seeds:
        task = PerceptualDiscrimination(dt=DT, tau=TAU, T=T, N_batch=N_BATCH, seed=seed)
        check = PerceptualDiscrimination(dt=DT, tau=TAU, T=T, N_batch=CHECK_TRIALS, seed=seed + 1000)
        model = Basic(dict(task.get_task_params(), name=f"speed{seed}", N_rec=N_REC, seed=seed))
        control = TrainingControl()
        reached = {}

        def on_event(event, model=model, check=check, control=control, reached=reached):
            if event.kind != "step" or event.epoch % CHECK_EVERY:
                return
            x, y, mask, _ = check.get_trial_batch()
            accuracy = check.accuracy_function(y, model.test(x)[0], mask)
            if accuracy >= TARGET or event.epoch >= max_steps:
                reached["steps"] = event.epoch if accuracy >= TARGET else None
                control.request_stop()

        model.train(task, {"training_iters": N_BATCH * max_steps, "verbosity": False, "callbacks": on_event,
                           "control": control})
        results.append({"seed": seed, "steps": reached.get("steps")})
    return results


def worker_psychrnn(seeds, max_steps):
    import numpy as np
    import tensorflow as tf
    from psychrnn.backend.models.basic import Basic
    from psychrnn.tasks.perceptual_discrimination import PerceptualDiscrimination

    results = []
    for seed in seeds:
        np.random.seed(seed)
        tf.compat.v1.set_random_seed(seed)
        task = PerceptualDiscrimination(dt=DT, tau=TAU, T=T, N_batch=N_BATCH)
        check = PerceptualDiscrimination(dt=DT, tau=TAU, T=T, N_batch=N_BATCH)
        model = Basic(dict(task.get_task_params(), name=f"speed{seed}", N_rec=N_REC))
        reached = {}
        checker = np.random.RandomState(seed + 1000)  # the check batches draw from their own stream

        def accuracy():
            state = np.random.get_state()
            np.random.set_state(checker.get_state())
            batches = [check.get_trial_batch()[:3] for _ in range(CHECK_TRIALS // N_BATCH)]
            checker.set_state(np.random.get_state())
            np.random.set_state(state)
            outputs = [model.test(x)[0] for x, _, _ in batches]
            return check.accuracy_function(np.concatenate([b[1] for b in batches]), np.concatenate(outputs),
                                           np.concatenate([b[2] for b in batches]))

        def batches():
            inner = task.batch_generator()
            calls = 0
            while True:
                done = calls - 1  # PsychRNN draws one batch before its first step
                calls += 1
                if done >= CHECK_EVERY and done % CHECK_EVERY == 0:
                    if accuracy() >= TARGET:
                        reached["steps"] = done
                        return
                    if done >= max_steps:
                        return
                yield next(inner)

        try:
            model.train(batches(), {"training_iters": 10 ** 9, "verbosity": False})
        except (StopIteration, RuntimeError):
            pass
        model.destruct()
        results.append({"seed": seed, "steps": reached.get("steps")})
    return results


def run_side(side, seeds, max_steps, venv):
    if side == "psychrnn":
        sys.path.insert(0, str(ROOT / "tools"))
        import psychrnn_side_by_side as sbs

        sbs.ensure_venv(venv, sbs.default_tensorflow_spec(), log=lambda *a: None)
        python = str(sbs.venv_python(venv))
    else:
        python = sys.executable
    command = [python, str(HERE), "--worker", side, "--max-steps", str(max_steps), "--seed-list",
               ",".join(map(str, seeds))]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH="" if side == "psychrnn" else str(ROOT))
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=4 * 3600)
    if done.returncode != 0:
        raise RuntimeError(f"{side} worker failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def summarise(ours, theirs, max_steps):
    import numpy as np
    from scipy.stats import mannwhitneyu

    def steps(results):
        return np.array([max_steps + CHECK_EVERY if r["steps"] is None else r["steps"] for r in results], float)

    a, b = steps(ours), steps(theirs)
    test = mannwhitneyu(a, b, alternative="greater")  # H1: more steps here than in PsychRNN
    return {
        "ours": a.tolist(), "psychrnn": b.tolist(), "median_ours": float(np.median(a)),
        "median_psychrnn": float(np.median(b)), "mean_ours": float(a.mean()), "mean_psychrnn": float(b.mean()),
        "U": float(test.statistic), "p_one_sided": float(test.pvalue), "n": [len(a), len(b)],
        "not_reached": [int(sum(r["steps"] is None for r in ours)), int(sum(r["steps"] is None for r in theirs))],
    }


def report(summary, seeds, max_steps, elapsed):
    lines = [
        "## Learning speed: steps to 90 % accuracy (hello world), here and in PsychRNN 1.0",
        "",
        f"Generated by `python benchmarks/learning_speed.py --seeds {len(seeds)} --write` on "
        f"{time.strftime('%Y-%m-%d %H:%M')} ({elapsed / 60:.0f} min).  Seeds {seeds[0]}..{seeds[-1]}, "
        f"accuracy checked every {CHECK_EVERY} steps on {CHECK_TRIALS} fresh trials, at most {max_steps} steps.",
        "",
        "| | PsychRNN 1.0 | psychrnn_widgets |",
        "|---|---:|---:|",
        f"| median steps to 0.9 | {summary['median_psychrnn']:.0f} | {summary['median_ours']:.0f} |",
        f"| mean steps to 0.9 | {summary['mean_psychrnn']:.1f} | {summary['mean_ours']:.1f} |",
        f"| runs not reaching 0.9 | {summary['not_reached'][1]} | {summary['not_reached'][0]} |",
        "",
        f"One-sided Mann-Whitney U test, H1 \"more steps here\": U = {summary['U']:.1f}, "
        f"p = {summary['p_one_sided']:.3f} ({'slower here' if summary['p_one_sided'] < 0.05 else 'not slower here'} "
        "at p < 0.05).",
        "",
        "Steps per seed (PsychRNN): " + ", ".join(f"{v:.0f}" for v in summary["psychrnn"]),
        "",
        "Steps per seed (psychrnn_widgets): " + ", ".join(f"{v:.0f}" for v in summary["ours"]),
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--max-steps", type=int, default=400)
    parser.add_argument("--write", action="store_true", help="append the table to benchmarks/RESULTS.md")
    parser.add_argument("--venv", default=None, help="PsychRNN virtual environment (default: the shared one)")
    parser.add_argument("--worker", choices=("ours", "psychrnn"), help=argparse.SUPPRESS)
    parser.add_argument("--seed-list", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        seeds = [int(s) for s in args.seed_list.split(",")]
        worker = worker_ours if args.worker == "ours" else worker_psychrnn
        print(json.dumps(worker(seeds, args.max_steps)))
        return 0
    sys.path.insert(0, str(ROOT / "tools"))
    import psychrnn_side_by_side as sbs

    venv = Path(args.venv) if args.venv else sbs.DEFAULT_VENV
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    t0 = time.perf_counter()
    theirs = run_side("psychrnn", seeds, args.max_steps, venv)
    ours = run_side("ours", seeds, args.max_steps, venv)
    summary = summarise(ours, theirs, args.max_steps)
    text = report(summary, seeds, args.max_steps, time.perf_counter() - t0)
    print(text)
    print(json.dumps(summary))
    if args.write:
        from results_file import write_section

        print(f"wrote {write_section('learning_speed', text)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
