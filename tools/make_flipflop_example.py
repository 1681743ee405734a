#!/usr/bin/env python
"""Make the shipped memory example: a trained 3-bit flip-flop network, its learning view, "recordings" of it.

    python tools/make_flipflop_example.py               # every step (about 9 minutes on 2 busy CPU cores)
    python tools/make_flipflop_example.py --step data   # only the recordings, from the saved network
    python tools/make_flipflop_example.py --step check  # only the fits of the recordings (trained, untrained)

Writes, under ``psychrnn_widgets/data/``:

``flipflop_network.npz``
    A ``Basic`` network (64 ReLU units, default initialiser, recurrent noise 0.05 while
    training) trained on :class:`~psychrnn_widgets.tasks.FlipFlop` (3 bits, default
    settings: 2,000 ms trials, a pulse slot every 100 ms) for 100,000 trials (Adam,
    learning rate 0.005), the task library's recipe (``benchmarks/TASK_LIBRARY.md``).  It
    keeps each bit's last pulse as one of 8 stable fixed points.  No test trains it: it is
    the held-out "network A" whose recordings ``tests/test_analysis_recordings.py`` fits.

``flipflop_recordings.npz``
    Synthetic recordings of 30 of its 64 units (chosen at random), in the format of
    :mod:`psychrnn_widgets.analysis.recordings`: 32 pulse sequences (the conditions,
    ``condition__pulses`` (trials, 30 slots, 3 bits)), 16 trials each, 3,000 ms trials in
    50 ms bins.  Each sequence has its pulses in the first 500 ms only (a pulse per bit and
    slot with probability 0.35, a new random sequence per condition) -- the *load* epoch --
    and none in the 2,500 ms that follow -- the *memory* epoch, where the network holds
    what it was told, as in a delayed working-memory experiment.  (The network trained on
    2,000 ms trials; its memories are stable fixed points, so it holds them longer too.)  Each trial runs the
    network with recurrent noise (``rec_noise`` 0.05; FlipFlop has no input noise), scales
    every unit's rate by a gain drawn per trial and unit (log-normal, sd 0.1) -- the
    trial-to-trial variability -- and draws Poisson spike counts from ``rate * 150
    spikes/s`` per bin (``tools/synthetic_recordings.py``, shared with the CDI example).
    Stored as ``activity`` (uint8 spike counts).

Why a memory task (the CDI recordings, ``tools/make_cdi_example.py``, stay for the line
attractors): must-show 2 of issue 23 asks that the network the data come from fits them
(cross-validated R² >= 0.8) and an untrained network of the same size does not (<= 0.5).
Responses driven by the inputs are easy to fit from the random features of any recurrent
network; what an untrained network cannot give is activity that persists after the inputs
end -- its activity decays within about 130 ms (a time constant) of each pulse -- and in
these recordings most of the variance is the held memories.  The script prints, besides
the fit's R² and CKA, the R² within each epoch (a diagnostic, not the fit's measure):
measured, the source network 0.854 (load epoch 0.89, memory epoch 0.83), five untrained
networks of 64 units 0.398-0.427 (load epoch 0.75-0.78, memory epoch 0.09-0.15).
Shorter memory epochs leave more of the variance to the load epoch: with 2,500 ms trials
the untrained networks reached 0.44-0.48.

And ``docs/flipflop_over_training.png``: the learning view of the training run (it kept a
checkpoint every 100 steps): :func:`~psychrnn_widgets.analysis.dynamics_over_training`,
the distance of each checkpoint to the final network and its stable fixed points under no
input, against trials (the numbers are printed too).
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
NETWORK = DATA / "flipflop_network.npz"
RECORDINGS = DATA / "flipflop_recordings.npz"
FIGURE = ROOT / "docs" / "flipflop_over_training.png"

SEED, N_REC, BUDGET, LEARNING_RATE, TRAIN_REC_NOISE = 3, 64, 100_000, 0.005, 0.05
CHECKPOINT_EVERY, KEEP_CHECKPOINTS = 100, 21  # steps (5,000 trials); 2,000 steps -> 21 checkpoints
N_NEURONS, N_PATTERNS, TRIALS_PER_PATTERN, BIN_MS, PEAK_HZ = 30, 32, 16, 50.0, 150.0
T_MS, LOAD_SLOTS, PULSE_PROBABILITY = 3000.0, 5, 0.35
REC_NOISE, GAIN_SD = 0.05, 0.1
UNTRAINED_SEEDS = (1, 2, 3, 4, 5)


def train():
    """Train the network keeping checkpoints, save it and draw its learning view; returns its accuracy."""
    from psychrnn_widgets import Basic, FlipFlop, analysis
    from psychrnn_widgets.training.trainer import Trainer

    task = FlipFlop(dt=10, tau=100, N_batch=50, seed=SEED)
    params = {**task.get_task_params(), "name": "flipflop_example", "N_rec": N_REC, "seed": SEED,
              "rec_noise": TRAIN_REC_NOISE}
    model = Basic(params)
    start = time.perf_counter()
    model.train(task, dict(training_iters=BUDGET, learning_rate=LEARNING_RATE, verbosity=False,
                           checkpoint_every=CHECKPOINT_EVERY, keep_checkpoints=KEEP_CHECKPOINTS))
    seconds = time.perf_counter() - start
    probe = FlipFlop(dt=10, tau=100, N_batch=500, seed=1000 + SEED)
    x, y, mask, _ = probe.get_trial_batch()
    output, _ = model.test(x, noise=False)
    accuracy = probe.accuracy_function(y, output, mask)
    DATA.mkdir(parents=True, exist_ok=True)
    model.save(NETWORK)
    print(f"trained {BUDGET} trials in {seconds:.0f} s: accuracy {accuracy:.3f} -> {NETWORK.relative_to(ROOT)}")
    checkpoints = Trainer.of(model).checkpoints
    start = time.perf_counter()
    view = analysis.dynamics_over_training(checkpoints, FlipFlop(dt=10, tau=100, seed=0), n_trials=100,
                                           n_starts=128, noise_scale=0.05)
    view.save(FIGURE)
    print(f"learning view of {len(view)} checkpoints in {time.perf_counter() - start:.0f} s -> "
          f"{FIGURE.relative_to(ROOT)}")
    for row in zip(view.trials, view.procrustes, view.dsa, view.n_fixed, view.n_stable):
        print("  trials {:6d}  procrustes {:.3f}  dsa {:.3f}  fixed points {:3d}  stable {:2d}".format(*row))
    return accuracy


def conditions():
    """The 32 pulse sequences: (N_PATTERNS, slots, bits) int8, pulses in the first LOAD_SLOTS slots only."""
    rng = np.random.default_rng(SEED + 1)
    n_slots = int(T_MS // 100.0)
    patterns = set()
    while len(patterns) < N_PATTERNS:
        pulses = np.zeros((n_slots, 3), np.int8)
        hit = rng.random((LOAD_SLOTS, 3)) < PULSE_PROBABILITY
        pulses[:LOAD_SLOTS] = np.where(hit, np.where(rng.random((LOAD_SLOTS, 3)) < 0.5, -1, 1), 0)
        patterns.add(pulses.tobytes())
    return np.stack([np.frombuffer(p, np.int8).reshape(n_slots, 3) for p in sorted(patterns)])


def make_recordings():
    """Simulate the saved network on the pulse sequences and write the recordings file."""
    from psychrnn_widgets import FlipFlop
    from psychrnn_widgets.analysis.recordings import Recordings
    from psychrnn_widgets.io.weight_files import load_weights
    from synthetic_recordings import spike_counts

    rng = np.random.default_rng(SEED + 2)
    task = FlipFlop(dt=10, tau=100, T=T_MS, N_batch=1, seed=SEED + 3)
    pulses = np.repeat(conditions(), TRIALS_PER_PATTERN, axis=0)  # (trials, slots, bits)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, _, _, drawn = task.generate_batch(N_batch=len(pulses), noise=False)
        params = [{**dict(p), "pulses": pulses[i].astype(np.int64).tolist()} for i, p in enumerate(drawn)]
        x, _, _ = task.trials_from_params(params, noise=False)
    counts, units = spike_counts(load_weights(NETWORK), x, N_NEURONS, rng, rec_noise=REC_NOISE, gain_sd=GAIN_SD,
                                 bin_ms=BIN_MS, peak_hz=PEAK_HZ)
    recordings = Recordings(activity=counts, conditions={"pulses": pulses}, dt=BIN_MS,
                            task="FlipFlop", task_params={"T": T_MS, "n_bits": 3}, units="spikes per bin",
                            neuron_ids=units,
                            description=f"synthetic: Poisson spikes of {N_NEURONS} of the {N_REC} units of "
                                        "flipflop_network.npz (tools/make_flipflop_example.py)")
    recordings.save(RECORDINGS)
    print(f"{counts.shape} spike counts (mean {counts.mean():.2f}, max {counts.max()}), "
          f"{RECORDINGS.stat().st_size / 1024:.0f} KiB -> {RECORDINGS.relative_to(ROOT)}")


def check():
    """Must-show 2: fit the recordings from the source network and from untrained networks of its size."""
    from psychrnn_widgets import Basic, FlipFlop, analysis

    recordings = analysis.load_recordings(RECORDINGS)
    load_bins = int(LOAD_SLOTS * 100.0 / BIN_MS)

    def line(name, fit):
        psth = fit.recorded_psth
        by_epoch = []
        for part in (slice(0, load_bins), slice(load_bins, None)):  # R² within each epoch (a diagnostic only)
            recorded, predicted = psth[:, part].reshape(-1, psth.shape[2]), fit.predicted_psth[:, part].reshape(
                -1, psth.shape[2])
            total = np.sum((recorded - recorded.mean(axis=0)) ** 2, axis=0)
            varies = total > 0
            by_epoch.append(np.mean(1 - np.sum((recorded - predicted) ** 2, axis=0)[varies] / total[varies]))
        print(f"  {name:22s} R² {fit.mean_r2:.3f} (median {fit.median_r2:.3f})  CKA {fit.cka:.3f}  "
              f"[load epoch {by_epoch[0]:.2f}, memory epoch {by_epoch[1]:.2f}]")
        return fit

    print(recordings)
    source = line("source network", analysis.fit_recordings(NETWORK, recordings))
    reliability = np.nanmedian(source.reliability)
    print(f"  split-half reliability of the recorded PSTHs, median over neurons: {reliability:.3f}")
    for seed in UNTRAINED_SEEDS:
        untrained = Basic({**FlipFlop().get_task_params(), "name": f"untrained_{seed}", "N_rec": N_REC,
                           "seed": seed})
        try:
            line(f"untrained, seed {seed}", analysis.fit_recordings(untrained, recordings))
        finally:
            untrained.destruct()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--step", choices=("all", "train", "data", "check"), default="all")
    args = parser.parse_args(argv)
    if args.step in ("all", "train"):
        train()
    if args.step in ("all", "data"):
        make_recordings()
    if args.step in ("all", "data", "check"):
        check()


if __name__ == "__main__":
    main()
