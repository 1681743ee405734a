"""What the dashboard costs: wall time per trial, training from ``Lab`` vs ``model.train``, side by side.

    python benchmarks/dashboard_overhead.py            # 5 repetitions, ~3 min on 2 cores
    python benchmarks/dashboard_overhead.py --write    # and append the table to benchmarks/RESULTS.md

The hello world (``PerceptualDiscrimination(dt=10, tau=100, T=2000, N_batch=50)``,
``Basic`` N_rec 50).  Each repetition builds two identical networks (same seed) and
trains each first for 150 steps (start-up, the first compile and the switch to the XLA
program are excluded: ``model.train`` switches at step 100; the Lab never waits for the
compiler, so the benchmark waits for it after the warm-up, and for the warm-up run's
analysis), then for ``--trials`` more trials, timed:

* ``model.train``: the plain call, no callbacks;
* the dashboard: a ``Lab`` (every live view on: loss and accuracy curves, status and
  progress, PCA trajectories, the 3-D view, the connectivity heatmap at the end) whose
  Start button is pressed; timed from the click to the run's end as the panel reports it.
  The widgets are not displayed, so their messages go to comms with no front-end: the
  Python side of every update (computing views, serialising, sending) is paid in full.
  After the timed run, the analysis of the trained network that the Lab starts in the
  background is waited for (untimed, reported) before the next variant runs.

The two variants alternate within each repetition (the order alternates too), so a busy
machine slows both; the table reports the median seconds per 1,000 trials and their ratio.
"""
import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

WARM_UP_TRIALS = 150 * 50


def build(seed):
    from psychrnn_widgets import Basic, PerceptualDiscrimination

    task = PerceptualDiscrimination(dt=10, tau=100, T=2000, N_batch=50, seed=seed)
    params = {**task.get_task_params(), "name": f"overhead{seed}", "N_rec": 50, "seed": seed}
    return task, params, Basic


def time_plain(seed, trials):
    task, params, Basic = build(seed)
    model = Basic(params)
    model.train(task, {"training_iters": WARM_UP_TRIALS, "verbosity": False})
    t0 = time.perf_counter()
    model.train(task, {"training_iters": trials, "verbosity": False})
    return time.perf_counter() - t0


def time_dashboard(seed, trials):
    from psychrnn_widgets.training.trainer import Trainer
    from psychrnn_widgets.widgets import Lab

    task, params, _ = build(seed)
    lab = Lab(task, params, training_iters=WARM_UP_TRIALS)
    lab.training.start_button.click()
    assert lab.training.wait(600) and lab.training.state == "done", lab.training.status.value
    # the Lab never waits for the XLA compiler (it trains on the plain graph until the program is ready,
    # which on a busy machine can take longer than the warm-up): wait for it here, untimed, as model.train does
    step = Trainer.of(lab.model).training_step()
    assert all(warm.wait(600) for warm in list(step.xla_shapes.values()))
    assert lab.analysis.wait(600)  # and for the analysis of the warm-up run
    lab.training.budget.value = trials
    sent = lab.updater.messages_sent
    t0 = time.perf_counter()
    lab.training.start_button.click()
    assert lab.training.wait(600) and lab.training.state == "done", lab.training.status.value
    elapsed = time.perf_counter() - t0
    sent = lab.updater.messages_sent - sent  # the timed run's, its final flush included
    # the analysis of the trained network (after every run, in the background; untimed): let it
    # finish here so that it does not run into the next variant's measurement
    t1 = time.perf_counter()
    assert lab.analysis.wait(600), "the analysis did not finish"
    analysis = time.perf_counter() - t1
    return elapsed, sent, lab.trajectories.n_refreshes, analysis


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--trials", type=int, default=20000)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)
    plain, dashboard, messages, analysis_times = [], [], [], []
    for rep in range(args.reps):
        order = ("plain", "dashboard") if rep % 2 == 0 else ("dashboard", "plain")
        for variant in order:
            if variant == "plain":
                plain.append(time_plain(rep, args.trials))
            else:
                elapsed, sent, refreshes, analysis = time_dashboard(rep, args.trials)
                analysis_times.append(analysis)
                dashboard.append(elapsed)
                messages.append(sent / elapsed)
        print(f"rep {rep + 1}: model.train {plain[-1]:.2f} s, dashboard {dashboard[-1]:.2f} s", flush=True)
    per_k = lambda seconds: 1000 * np.median(seconds) / args.trials  # noqa: E731
    ratio = np.median(dashboard) / np.median(plain)
    ratios = [d / p for d, p in zip(dashboard, plain)]
    text = "\n".join([
        "## Dashboard overhead: training from the Lab vs model.train (hello world)",
        "",
        f"Generated by `python benchmarks/dashboard_overhead.py --reps {args.reps}` on "
        f"{time.strftime('%Y-%m-%d %H:%M')}; "
        f"{args.trials:,} trials per timed run after a 7,500-trial warm-up (first compile and XLA switch excluded), "
        "variants alternating.",
        "",
        "| | model.train | Lab (every live view on) | ratio |",
        "|---|---:|---:|---:|",
        f"| seconds per 1,000 trials (median) | {per_k(plain):.3f} | {per_k(dashboard):.3f} | {ratio:.3f} |",
        "",
        f"Per repetition, dashboard / model.train: {', '.join(f'{r:.3f}' for r in ratios)}.  The dashboard sent "
        f"{np.median(messages):.1f} comm messages per second during the timed run (median; its final flush "
        "included).  After each run the Lab analyses the trained network in the background (Analysis tab): "
        f"{np.median(analysis_times):.1f} s (median) after the timed run, waited for outside the timing so that it "
        "does not run into the next variant; a new Start drops an unfinished analysis.",
        "",
    ])
    print(text)
    if args.write:
        from results_file import write_section

        print(f"wrote {write_section('dashboard_overhead', text)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
