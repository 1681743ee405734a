"""Train a small ``Basic`` network on every built-in task and record the accuracy reached.

    python benchmarks/train_task_library.py                 # every case, seeds 0-9; writes TASK_LIBRARY.md
    python benchmarks/train_task_library.py --tasks GoNoGo FlipFlop --seeds 0 --no-write
    python benchmarks/train_task_library.py --tasks FlipFlop --save-weights /tmp/ff   # keep the networks
    python benchmarks/train_task_library.py --tasks       # no training: rewrite TASK_LIBRARY.md from the results file

For each case: the task at the settings of :data:`CASES` (seed ``s``), a ``Basic`` network
(``N_rec`` units, ReLU, default initialiser, seed ``s``) trained with Adam (``learning_rate``)
for ``budget`` trials, then scored with the task's own ``accuracy_function`` on a fresh
batch of 500 trials (task seed ``1000 + s``), recurrent noise off.  The table lists the
task's chance level, the median and the range over seeds, how many seeds stayed below 0.9,
and the wall time of ``train`` (TensorFlow on CPU).  ``tests/test_task_training.py`` holds
each task to a lower accuracy at a smaller budget, on seeds that are not in the table.
"""
import argparse
import json
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from psychrnn_widgets.tasks import BUILTIN_TASKS  # noqa: E402

#: case name -> (constructor overrides, N_rec, budget in trials, learning rate); a case is a built-in
#: task (its name) or a task in another form ("Task (form)", the class before the parenthesis)
CASES = {
    "PerceptualDiscrimination": ({}, 50, 8000, 0.001),
    "DelayedDiscrimination": ({}, 50, 20000, 0.005),
    "MatchToCategory": ({}, 50, 10000, 0.005),
    "ContextDependentIntegration": ({}, 50, 30000, 0.005),
    "GoNoGo": ({}, 50, 10000, 0.005),
    "FlipFlop": ({}, 64, 100000, 0.005),
    "ReadySetGo": ({}, 64, 100000, 0.005),
    "DelayedMatchToSample": ({}, 64, 100000, 0.005),
    "DelayedMatchToSample (sequence)": ({"mode": "sequence", "T": 3300.0}, 128, 200000, 0.005),
    "ProAntiSaccade": ({}, 64, 20000, 0.005),
    "MultiTask": ({}, 64, 100000, 0.005),
}


#: what the table says under a case (measured, not hoped): why a median stays below 0.9, what was tried
NOTES = {
    "DelayedMatchToSample (sequence)": (
        "Miller's sequences stay below 0.9 at this budget (median 0.845, between seeds at 0.81 and 0.88): "
        "four seeds pass 0.9, and three (0.33-0.38) had not yet learnt to ignore the non-matches. Tried on "
        "seed 0: 64 units reached 0.67 after 200,000 trials and 0.34 after 100,000; 128 units 0.96 after "
        "200,000 in a longer trial (T 3,600 ms). A larger budget or a curriculum over the number of "
        "non-matches is the next thing to try."),
    "DelayedMatchToSample": (
        "The two-choice form: three of ten seeds end below 0.9 (0.70-0.87) after 100,000 trials; at 60,000 "
        "the median was 0.92 with four below."),
}


def task_class(name):
    """The built-in class of case ``name``."""
    return BUILTIN_TASKS[name.split(" (")[0]]


def make_task(name, seed, N_batch=50, **overrides):
    """The task of case ``name`` at its benchmark settings."""
    settings = {**CASES[name][0], **overrides}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return task_class(name).with_defaults(dt=10, tau=100, N_batch=N_batch, seed=seed, **settings)


def train_and_score(name, seed, budget=None, N_rec=None, learning_rate=None, eval_trials=500, save_weights=None,
                    memories=None):
    """Train on case ``name``; returns ``(accuracy, train seconds, N_rec, budget, learning_rate)``.

    ``save_weights``: a folder to save the trained network in (``<case>_seed<s>.npz``).
    ``memories``: a dict that receives ``seed -> memories found`` (:func:`flipflop_memories`)
    for the FlipFlop case.
    """
    from psychrnn_widgets.models.basic import Basic

    _, default_rec, default_budget, default_lr = CASES[name]
    N_rec, budget = N_rec or default_rec, budget or default_budget
    learning_rate = learning_rate or default_lr
    task = make_task(name, seed)
    params = {**task.get_task_params(), "name": f"{name.split(' (')[0]}_{seed}", "N_rec": N_rec, "seed": seed}
    model = Basic(params)
    start = time.perf_counter()
    model.train(task, dict(training_iters=budget, learning_rate=learning_rate, verbosity=False))
    seconds = time.perf_counter() - start
    probe = make_task(name, 1000 + seed, N_batch=eval_trials)
    x, y, mask, trial_params = probe.get_trial_batch()
    output, _ = model.test(x, noise=False)
    if memories is not None and name == "FlipFlop":
        memories[seed] = flipflop_memories(model, task, seed=seed)
    if save_weights:
        Path(save_weights).mkdir(parents=True, exist_ok=True)
        model.save(Path(save_weights) / f"{name.replace(' (', '_').rstrip(')')}_seed{seed}")
    model.destruct()
    return probe.accuracy_function(y, output, mask), seconds, N_rec, budget, learning_rate


def flipflop_memories(model, task, tolerance=None, seed=0):
    """Which of the ``2**n_bits`` memories of a trained FlipFlop network are stable fixed points.

    Runs 200 noise-free trials, searches for fixed points of the network with zero input
    from 512 states visited on them (plus small noise), and reads each *stable* fixed
    point out through the network's output: a point stores memory ``s`` (a vector of +-1)
    when every output is within ``tolerance`` (default the task's) of ``s``.  Returns the
    set of memories found (tuples of +-1).
    """
    from psychrnn_widgets import analysis

    tolerance = task.tolerance if tolerance is None else tolerance
    probe = make_task("FlipFlop", 2000 + seed, N_batch=200)
    x, _, _, _ = probe.get_trial_batch()
    _, states = model.test(x, noise=False)
    start = analysis.sample_states(states, 512, noise_scale=0.05, seed=seed)
    found = analysis.find_fixed_points(model, start, inputs=np.zeros(task.N_in, np.float32))
    stable = found.points[found.stable]
    weights = model.get_weights()
    rates = np.maximum(stable, 0.0) if model.transfer_function_name == "relu" else np.tanh(stable)
    readout = rates @ weights["W_out"].T + weights["b_out"]
    memories = set()
    for out in readout:
        corner = np.where(out > 0, 1.0, -1.0)
        if np.all(np.abs(out - corner) <= tolerance):
            memories.add(tuple(int(c) for c in corner))
    return memories


def _table(results):
    """TASK_LIBRARY.md's lines from ``results``: case -> {"seeds": {seed: [accuracy, seconds]}, ...}."""
    all_seeds = sorted({int(s) for case in results.values() for s in case["seeds"]})
    seed_text = (f"{all_seeds[0]}-{all_seeds[-1]}" if all_seeds == list(range(all_seeds[0], all_seeds[-1] + 1))
                 else ", ".join(map(str, all_seeds)))
    lines = [
        "# Task library: a small Basic network trained on every built-in task",
        "",
        f"Written by `benchmarks/train_task_library.py` (seeds {seed_text}; CPU TensorFlow). "
        "Accuracy: the task's own `accuracy_function` (each task's docstring states its scoring rule and "
        "source) on a fresh 500-trial batch (task seed 1000 + seed), recurrent noise off. Chance: the task's "
        "`chance_level`, what an answer that ignores the stimulus scores. Batch 50 trials, Adam, dt 10 ms, "
        "tau 100 ms, default task settings unless the case says otherwise. Train time: wall time of `train` "
        "(median over seeds), indicative only (the machine was shared). The accuracy tests "
        "(`tests/test_task_training.py`) use other seeds.",
        "",
        "| task | N_rec | budget (trials) | learning rate | chance | accuracy (median) | range over seeds "
        "| seeds below 0.9 | train time (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in [n for n in CASES if n in results] + [n for n in results if n not in CASES]:
        case = results[name]
        accs = [a for a, _ in case["seeds"].values()]
        secs = [t for _, t in case["seeds"].values()]
        lines.append(f"| {name} | {case['N_rec']} | {case['budget']} | {case['learning_rate']:g} | "
                     f"{case['chance']:.3f} | {statistics.median(accs):.3f} | {min(accs):.3f}–{max(accs):.3f} | "
                     f"{sum(a < 0.9 for a in accs)} of {len(accs)} | {statistics.median(secs):.1f} |")
    notes = [(name, NOTES[name]) for name in results if name in NOTES]
    if notes:
        lines += [""] + [f"*{name}*: {text}" for name, text in notes]
    memories = results.get("FlipFlop", {}).get("memories")
    if memories:
        n_memories = 2 ** make_task("FlipFlop", 0).n_bits
        order = sorted(memories, key=int)
        counts = [memories[seed] for seed in order]
        lines += [
            "",
            "## FlipFlop: a stable fixed point at every memory",
            "",
            "For each FlipFlop network above: fixed points with zero input (`analysis.find_fixed_points`, "
            "from 512 states visited on 200 trials plus noise of std 0.05), read out through the network; "
            f"a memory (one of the {n_memories} corners of +-1) counts when a *stable* fixed point's outputs "
            "are all within the task's tolerance (0.5) of it.",
            "",
            "| seed | " + " | ".join(order) + " |",
            "|---|" + "---|" * len(order),
            "| memories with a stable fixed point | " + " | ".join(str(c) for c in counts) + " |",
            "",
            f"All {n_memories} on {sum(c == n_memories for c in counts)} of {len(counts)} seeds.",
        ]
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="*", default=list(CASES), help="case names (default: all)")
    parser.add_argument("--seeds", nargs="*", type=int, default=list(range(10)))
    parser.add_argument("--budget", type=int, default=None, help="override every case's budget (trials)")
    parser.add_argument("--save-weights", default=None, metavar="DIR", help="keep every trained network in DIR")
    parser.add_argument("--results", default=str(Path(__file__).resolve().parent / "task_library_results.json"),
                        metavar="JSON", help="merge each case's per-seed results into this file as they finish (a "
                        "long run can be split or resumed; the table is written from everything in it; default: "
                        "benchmarks/task_library_results.json)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)

    results_path = Path(args.results) if args.results else None
    results = json.loads(results_path.read_text()) if results_path and results_path.exists() else {}
    for name in args.tasks:
        per_seed, memories = {}, {}
        for seed in args.seeds:
            accuracy, seconds, N_rec, budget, lr = train_and_score(
                name, seed, budget=args.budget, save_weights=args.save_weights, memories=memories)
            per_seed[str(seed)] = [accuracy, seconds]
            found = f", stable memories {len(memories[seed])}/8" if seed in memories else ""
            print(f"  {name} seed {seed}: accuracy {accuracy:.3f} ({seconds:.1f} s){found}", flush=True)
        case = {"N_rec": N_rec, "budget": budget, "learning_rate": lr, "chance": make_task(name, 0).chance_level,
                "seeds": per_seed}
        if memories:
            case["memories"] = {str(seed): len(found) for seed, found in memories.items()}
        results[name] = case
        accs = [a for a, _ in per_seed.values()]
        print(f"{name:32s} N_rec {N_rec:3d}  {budget:6d} trials  lr {lr:g}  chance {case['chance']:.3f}  accuracy "
              f"median {statistics.median(accs):.3f} [{min(accs):.3f}, {max(accs):.3f}]  below 0.9: "
              f"{sum(a < 0.9 for a in accs)}/{len(accs)}", flush=True)
        if results_path:
            results_path.write_text(json.dumps(results, indent=1) + "\n")
    if not args.no_write:
        out = Path(__file__).resolve().parent / "TASK_LIBRARY.md"
        out.write_text("\n".join(_table(results)) + "\n")
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
