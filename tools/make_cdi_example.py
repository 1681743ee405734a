#!/usr/bin/env python
"""Make the shipped context-dependent-integration example: a trained network and "recordings" of it.

    python tools/make_cdi_example.py              # both steps (about 2 minutes on 2 CPU cores)
    python tools/make_cdi_example.py --step data  # only the recordings, from the saved network
    python tools/make_cdi_example.py --step figure  # only docs/cdi_line_attractors.png

Writes, under ``psychrnn_widgets/data/``:

``cdi_network.npz``
    A ``Basic`` network (50 ReLU units, default initialiser, recurrent noise 0.1 while
    training, as Mante et al. 2013 trained theirs) trained on
    :class:`~psychrnn_widgets.tasks.ContextDependentIntegration` at its default settings
    for 30,000 trials (Adam, learning rate 0.005); the script prints its accuracy (the
    task's strict rule) on 500 fresh trials (0.942).  It is the "held-out" network: no
    other example or test trains it, so recovering it from its recordings is a fair test
    (``tests/test_analysis_recordings.py``), and its fixed points are the line attractors
    of ``tests/test_analysis_fixed_point_family.py``.  Seed 25: of the seeds 23-26 trained
    this way (accuracy 0.92, 0.93, 0.942, 0.902) it has the most line-like slow points in
    *both* contexts (the smallest largest gap along the line, 0.42 and 0.36 of its extent;
    the others had a context whose points split into two clusters, gaps 0.61-0.77), and
    without recurrent noise (seed 23) the points clustered at the line's ends in both
    contexts (gaps 0.85, 0.60).

``cdi_recordings.npz``
    Synthetic recordings of 30 of its 50 units (chosen at random) in the format of
    :mod:`psychrnn_widgets.analysis.recordings`: 32 conditions (context 2 x motion
    coherence ±0.15, ±0.5 x colour coherence ±0.15, ±0.5), 16 trials each, one fixed
    timing (fixation 200, stimulus 750, delay 200, decision 300 ms), binned at 50 ms.
    Each trial runs the network with the task's input noise (a new draw per trial) and
    recurrent noise (``rec_noise`` 0.05), then scales every unit's rate by a gain drawn
    per trial and unit (log-normal, sd 0.1) -- the trial-to-trial variability -- and
    draws Poisson spike counts from ``rate * 60 spikes/s`` per bin (a rate of 1 in the
    network's units is 60 Hz).  The spike counts are stored as ``activity`` (uint8).

and ``docs/cdi_line_attractors.png``: the network's slow points per context
(:func:`~psychrnn_widgets.analysis.context_line_attractors`) and their line-attractor
measures (:func:`~psychrnn_widgets.analysis.line_attractor_summary`), printed too.
"""
import argparse
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

DATA = ROOT / "psychrnn_widgets" / "data"
NETWORK = DATA / "cdi_network.npz"
RECORDINGS = DATA / "cdi_recordings.npz"
FIGURE = ROOT / "docs" / "cdi_line_attractors.png"

SEED, N_REC, BUDGET, LEARNING_RATE, TRAIN_REC_NOISE = 25, 50, 30000, 0.005, 0.1
N_NEURONS, TRIALS_PER_CONDITION, BIN_MS, PEAK_HZ = 30, 16, 50.0, 60.0
COHERENCES = (-0.5, -0.15, 0.15, 0.5)
TIMING = dict(fixation=200.0, stimulus=750.0, delay=200.0, decision=300.0)
REC_NOISE, GAIN_SD = 0.05, 0.1


def train():
    """Train the network and save it; returns its accuracy on 500 fresh trials."""
    from psychrnn_widgets import Basic, ContextDependentIntegration

    task = ContextDependentIntegration(dt=10, tau=100, N_batch=50, seed=SEED)
    params = {**task.get_task_params(), "name": "cdi_example", "N_rec": N_REC, "seed": SEED,
              "rec_noise": TRAIN_REC_NOISE}
    model = Basic(params)
    start = time.perf_counter()
    model.train(task, dict(training_iters=BUDGET, learning_rate=LEARNING_RATE, verbosity=False))
    seconds = time.perf_counter() - start
    probe = ContextDependentIntegration(dt=10, tau=100, N_batch=500, seed=1023)
    x, y, mask, _ = probe.get_trial_batch()
    output, _ = model.test(x, noise=False)
    accuracy = probe.accuracy_function(y, output, mask)
    DATA.mkdir(parents=True, exist_ok=True)
    model.save(NETWORK)
    print(f"trained {BUDGET} trials in {seconds:.0f} s: accuracy {accuracy:.3f} -> {NETWORK.relative_to(ROOT)}")
    return accuracy


def make_recordings():
    """Simulate the saved network on the conditions and write the recordings file."""
    from psychrnn_widgets import ContextDependentIntegration
    from psychrnn_widgets.analysis.recordings import Recordings
    from psychrnn_widgets.io.weight_files import load_weights
    from synthetic_recordings import spike_counts

    rng = np.random.default_rng(SEED + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        task = ContextDependentIntegration(dt=10, tau=100, N_batch=1, seed=SEED + 2, **TIMING)
    grid = np.array([(c, m, k) for c in (0, 1) for m in COHERENCES for k in COHERENCES], float)
    rows = np.repeat(grid, TRIALS_PER_CONDITION, axis=0)
    conditions = {"context": rows[:, 0].astype(np.int64), "motion_coherence": rows[:, 1],
                  "color_coherence": rows[:, 2], **{key: np.full(len(rows), value) for key, value in TIMING.items()}}
    _, _, _, drawn = task.generate_batch(N_batch=len(rows), noise=False)
    params = [{**dict(p), **{key: value[i].item() for key, value in conditions.items()}} for i, p in enumerate(drawn)]
    x, _, _ = task.trials_from_params(params, noise=True)  # a new input-noise draw per trial
    counts, units = spike_counts(load_weights(NETWORK), x, N_NEURONS, rng, rec_noise=REC_NOISE, gain_sd=GAIN_SD,
                                 bin_ms=BIN_MS, peak_hz=PEAK_HZ)
    recordings = Recordings(activity=counts, conditions=conditions, dt=BIN_MS,
                            task="ContextDependentIntegration", units="spikes per bin", neuron_ids=units,
                            description="synthetic: Poisson spikes of 30 of the 50 units of cdi_network.npz "
                                        "(tools/make_cdi_example.py)")
    recordings.save(RECORDINGS)
    print(f"{counts.shape} spike counts (max {counts.max()}), {RECORDINGS.stat().st_size / 1024:.0f} KiB "
          f"-> {RECORDINGS.relative_to(ROOT)}")


def figure():
    """Mante et al.'s analysis of the saved network: its line attractors, drawn and quantified."""
    from matplotlib.figure import Figure

    from psychrnn_widgets import analysis

    family = analysis.context_line_attractors(NETWORK)
    summary = analysis.line_attractor_summary(family, "context")
    drawing = Figure(figsize=(10, 4.5), layout="constrained")
    family.plot(drawing.add_subplot(1, 2, 1))
    summary.plot(drawing.add_subplot(1, 2, 2))
    drawing.savefig(FIGURE, dpi=110)
    for key in ("n_points", "pc1_fraction", "largest_gap", "slow_tau", "second_tau", "tau_ratio", "alignment"):
        print(f"{key:14s}", np.round(getattr(summary, key), 3))
    print(f"-> {FIGURE.relative_to(ROOT)}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--step", choices=("all", "train", "data", "figure"), default="all")
    args = parser.parse_args(argv)
    if args.step in ("all", "train"):
        train()
    if args.step in ("all", "data"):
        make_recordings()
    if args.step in ("all", "figure"):
        figure()


if __name__ == "__main__":
    main()
