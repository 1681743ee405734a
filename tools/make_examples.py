#!/usr/bin/env python
"""Make the trained example networks the Lab's Runs tab lists under "Examples".

    python tools/make_examples.py                 # every example (a few minutes on 2 CPU cores)
    python tools/make_examples.py PerceptualDiscrimination

Writes ``psychrnn_widgets/data/examples/<task>.npz``: one run file each
(:mod:`psychrnn_widgets.widgets.run_files`), a 50-unit ``Basic`` network (seed 0, default
initialiser, no recurrent noise) trained with Adam (learning rate 0.005) on the built-in
task (the three PsychRNN tasks at the Lab's hello-world timing, dt 10 ms, tau 100 ms, T 2 s,
64 trials per step; the others at their defaults), in blocks of 1,280 trials until the
accuracy on the card's test trials reaches 0.95 (or the task's budget runs out: the card
says what was reached).  FlipFlop has no example: trained this way it reached 0.109 (its
strict all-bits rule) after 61,100 trials.  The card's accuracy is measured as ``example_accuracy`` measures it
(512 trials drawn with seed 2024, recurrent noise off); ``tests/test_widgets_runs.py``
opens every example and checks it.  Each file keeps its loss/accuracy curves and the
training log, so "Copy as code" rebuilds it.
"""
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from psychrnn_widgets import (Basic, ContextDependentIntegration, DelayedDiscrimination,  # noqa: E402
                              DelayedMatchToSample, GoNoGo, MatchToCategory, PerceptualDiscrimination,
                              ProAntiSaccade, ReadySetGo)
from psychrnn_widgets.training.trainer import Trainer  # noqa: E402
from psychrnn_widgets.widgets.history import NetworkRecord, _task_name, jsonable_dict  # noqa: E402
from psychrnn_widgets.widgets.run_files import EXAMPLES_DIR, example_accuracy, save_run  # noqa: E402
from psychrnn_widgets.widgets.run_log import generator_state  # noqa: E402

#: name -> (task factory, title, budget in trials)
EXAMPLES = {
    "PerceptualDiscrimination": (lambda: PerceptualDiscrimination(dt=10, tau=100, T=2000, N_batch=64, seed=0),
                                 "Perceptual discrimination (random dots)", 40_000),
    "DelayedDiscrimination": (lambda: DelayedDiscrimination(dt=10, tau=100, T=2000, N_batch=64, seed=0),
                              "Delayed discrimination (Romo's flutter task)", 60_000),
    "MatchToCategory": (lambda: MatchToCategory(dt=10, tau=100, T=2000, N_batch=64, seed=0),
                        "Match to category", 40_000),
    "GoNoGo": (lambda: GoNoGo(seed=0), "Go / No-Go", 40_000),
    "ProAntiSaccade": (lambda: ProAntiSaccade(seed=0), "Pro- and anti-saccades", 60_000),
    "DelayedMatchToSample": (lambda: DelayedMatchToSample(seed=0), "Delayed match-to-sample", 60_000),
    "ContextDependentIntegration": (lambda: ContextDependentIntegration(seed=0),
                                    "Context-dependent integration (Mante 2013)", 60_000),
    "ReadySetGo": (lambda: ReadySetGo(seed=0), "Ready-Set-Go interval reproduction", 60_000),
}
SETTINGS = {"N_rec": 50, "seed": 0, "rec_noise": 0.0, "transfer_function": "relu"}
LEARNING_RATE = 0.005
BLOCK = 1280
TARGET = 0.95


def make(name):
    factory, title, budget = EXAMPLES[name]
    task = factory()
    params = {**task.get_task_params(), **SETTINGS, "name": f"example_{name}"}
    model = Basic(params)
    trainer = Trainer.of(model)
    segment = {"task": {"class": _task_name(type(task)), "params": jsonable_dict(task.get_task_params())},
               "task_state": generator_state(task.rng), "N_batch": task.N_batch, "pieces": [],
               "start_epoch": 0, "start_trials": 0, "noise_counter": 0, "wall_s": 0.0, "outcome": "done",
               "curriculum": False}
    curves = {"loss": ([], []), "accuracy": ([], []), "stages": ([], [])}
    started = time.monotonic()
    accuracy = 0.0
    while trainer.trials < budget:
        first, first_epoch = trainer.trials, trainer.epoch
        losses, _, _ = model.train(task, {"learning_rate": LEARNING_RATE, "training_iters": BLOCK, "verbosity": False,
                                          "loss_epoch": 10})
        steps = trainer.epoch - first_epoch
        if segment["pieces"]:
            segment["pieces"][-1][1] += steps
        else:
            segment["pieces"].append([LEARNING_RATE, steps])
        for i, loss in enumerate(np.ravel(losses)):
            curves["loss"][0].append(float(first + (i + 1) * 10 * task.N_batch))
            curves["loss"][1].append(float(loss))
        accuracy = example_accuracy(model, task)
        curves["accuracy"][0].append(float(trainer.trials))
        curves["accuracy"][1].append(accuracy)
        print(f"{name}: {trainer.trials:,} trials, loss {float(np.ravel(losses)[-1]):.4f}, accuracy {accuracy:.3f}",
              flush=True)
        if accuracy >= TARGET:
            break
    segment["wall_s"] = round(time.monotonic() - started, 1)
    record = NetworkRecord(model=model, network_params=dict(SETTINGS), task=task,
                           label=f"example · {title}",
                           curves={k: (np.asarray(x, np.float32), np.asarray(y, np.float32))
                                   for k, (x, y) in curves.items()},
                           training=[segment], origin="example")
    card = {"title": title, "accuracy": round(accuracy, 4),
            "summary": f"50-unit Basic network trained on {trainer.trials:,} trials "
                       f"(learning rate {LEARNING_RATE}); accuracy {accuracy:.3f} on {512} test trials"}
    EXAMPLES_DIR.mkdir(parents=True, exist_ok=True)
    path = save_run(record, EXAMPLES_DIR / f"{name}.npz", extra={"example": card})
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB): {card['summary']}", flush=True)


if __name__ == "__main__":
    for name in sys.argv[1:] or list(EXAMPLES):
        make(name)
