"""How a network's dynamics moved over learning: its checkpoints against the final network.

Training keeps checkpoints when asked (``train_params['checkpoint_every']``; see
:mod:`psychrnn_widgets.training.checkpoints`): the weights every N steps, with the trials
trained by then.  :func:`dynamics_over_training` runs every checkpoint on the *same*
noise-free trials of a task and gives, against trials trained:

* **the distance to the final network** (the last checkpoint), by any of the measures of
  :func:`~psychrnn_widgets.analysis.compare` on those trials: ``'procrustes'`` (angular
  shape distance, radians), ``'dsa'`` (dynamical similarity, radians), ``'cka'`` and
  ``'cca'`` (similarities, 1 for the same representation: the figure draws ``1 - value``).
  Each is 0 (similarities 1) at the final checkpoint itself.  A checkpoint whose activity
  does not vary at all (a silent network) has NaN there: no similarity is defined.
* **the number of fixed points, and of stable ones**, found by
  :func:`~psychrnn_widgets.analysis.find_fixed_points` under one constant input
  (``inputs``, default zeros: no stimulus) from ``n_starts`` states the checkpoint
  visited on those trials (:func:`~psychrnn_widgets.analysis.sample_states`, plus noise of
  ``noise_scale``); points closer than ``unique_tolerance`` are one.  A FlipFlop network,
  for example, goes from one stable point (rest) to its 2**n_bits memories.

The checkpoints are read, never trained: this module needs no training code.  They can be
a trainer's store (``Trainer.of(model).checkpoints``, or the trainer itself), a list of
:class:`~psychrnn_widgets.training.checkpoints.Checkpoint`, or a list of
``(trials, network)`` pairs where ``network`` is anything
:func:`~psychrnn_widgets.analysis.as_simulator` takes (a weights dict, a weight file...).
"""
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from ..params import DISTANCE_METRICS as DISTANCES  # the measures, in the order they are drawn
from ._activity import task_inputs
from ._inputs import array, declared, fail
from ._results import AnalysisResult
from ._source import as_simulator, simulate
from .similarity import compare, varies

__all__ = ["TrainingDynamics", "dynamics_over_training", "checkpoint_list"]

_SIMILARITIES = ("cka", "cca")


def checkpoint_list(checkpoints, where="dynamics_over_training"):
    """``[(trials, epoch or None, network)]`` from what :func:`dynamics_over_training` accepts, checked.

    ``network`` is the weights dict of a checkpoint or the second item of a pair.  Raises
    ``ParameterError`` naming ``checkpoints`` (not a sequence, fewer than 2, an entry that
    is neither a checkpoint nor a pair, trials that are not whole numbers >= 0 or that
    decrease).
    """
    store = getattr(checkpoints, "checkpoints", None)
    if store is not None and not isinstance(checkpoints, Mapping):
        checkpoints = store  # a Trainer
    if hasattr(checkpoints, "list") and callable(checkpoints.list):
        checkpoints = checkpoints.list()  # a CheckpointStore: one consistent copy
    if isinstance(checkpoints, (str, bytes, Mapping)) or not isinstance(checkpoints, (Sequence, np.ndarray)):
        fail(where, "checkpoints", f"must be a list of checkpoints (Trainer.of(model).checkpoints) or of (trials, "
             f"weights) pairs, got {type(checkpoints).__name__}", checkpoints,
             "a CheckpointStore, a Trainer or a list of checkpoints / (trials, weights) pairs")
    entries = []
    for i, item in enumerate(checkpoints):
        if hasattr(item, "trials") and hasattr(item, "weights"):
            entries.append((item.trials, getattr(item, "epoch", None), item))
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            entries.append((item[0], None, item[1]))
        else:
            fail(where, f"checkpoints[{i}]", f"must be a Checkpoint or a (trials, weights) pair, got "
                 f"{type(item).__name__}", item, "a Checkpoint or a (trials, weights) pair")
    if len(entries) < 2:
        fail(where, "checkpoints", f"must hold at least 2 checkpoints (an earlier network and the final one), got "
             f"{len(entries)}: train with train_params['checkpoint_every']", len(entries), "at least 2 checkpoints")
    trials = array([t for t, _, _ in entries], "checkpoints", where, shape=("C",), integer=True,
                   what="trials trained: whole numbers >= 0")
    if np.any(trials < 0) or np.any(np.diff(trials) < 0):
        fail(where, "checkpoints", f"must be in the order they were taken, trials >= 0 and never decreasing; got "
             f"trials {trials.tolist()}", trials.tolist(), "checkpoints oldest first")
    return [(int(t), epoch, network) for t, (_, epoch, network) in zip(trials, entries)]


def _weights_of(network):
    """What :func:`as_simulator` takes for a checkpoint (its weights) or a network given in a pair."""
    if hasattr(network, "trials") and hasattr(network, "weights") and not hasattr(network, "get_weights"):
        return network.weights
    return network


@dataclass(repr=False)
class TrainingDynamics(AnalysisResult):
    """A network's checkpoints against its final network (:func:`dynamics_over_training`).

    Attributes:
        trials (C,) int: trials trained at each checkpoint; epochs (C,) int: optimiser steps
            (-1 where a checkpoint was given without them).
        procrustes, dsa, cka, cca (C,) or None: each measure asked for, between the
            checkpoint's and the final network's activity on the same trials (procrustes,
            dsa: distances in radians, 0 at the final checkpoint; cka, cca: similarities,
            1 there); NaN for a checkpoint whose activity does not vary (and DSA for one
            with fewer independent delay coordinates than the DMD rank).
        n_fixed, n_stable (C,) int or None: fixed points found under ``inputs``, and the
            stable ones (every Jacobian eigenvalue inside the unit circle).
        inputs (N_in,): the constant input of the fixed-point search.
        n_trials (int), signal (str), n_starts (int), q_tolerance, unique_tolerance (float).
        stopped (bool): ``should_stop`` ended the analysis early: only the first
            checkpoints (and the final one's activity) were analysed.
    """

    trials: np.ndarray
    epochs: np.ndarray
    procrustes: np.ndarray = None
    dsa: np.ndarray = None
    cka: np.ndarray = None
    cca: np.ndarray = None
    n_fixed: np.ndarray = None
    n_stable: np.ndarray = None
    inputs: np.ndarray = None
    n_trials: int = 0
    signal: str = "rates"
    n_starts: int = 0
    q_tolerance: float = 0.0
    unique_tolerance: float = 0.0
    stopped: bool = False
    figsize = (9.0, 3.5)

    def __len__(self):
        return len(self.trials)

    def distances(self):
        """``{measure: (C,)}`` as drawn: the distances, and ``1 - similarity`` for CKA and CCA."""
        out = {}
        for name in DISTANCES:
            values = getattr(self, name)
            if values is not None:
                out[name] = 1.0 - values if name in _SIMILARITIES else values
        return out

    def draw(self, figure):
        left, right = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
        labels = {"procrustes": "Procrustes (angular, rad)", "dsa": "DSA (angular, rad)", "cka": "1 - CKA",
                  "cca": "1 - SVCCA"}
        for name, values in self.distances().items():
            left.plot(self.trials[:len(values)], values, "o-", ms=3, lw=1.2, label=labels[name])
        left.set_xlabel("trials trained")
        left.set_ylabel("distance to the final network")
        left.set_ylim(bottom=0)
        left.legend(fontsize=7)
        left.set_title("dynamics over learning", fontsize=9)
        if self.n_stable is not None:
            shown = self.trials[:len(self.n_stable)]
            right.step(shown, self.n_fixed, where="post", color="0.6", lw=1, ls="--", label="fixed points")
            right.step(shown, self.n_stable, where="post", color="#d62728", lw=1.5, label="stable")
            right.plot(shown, self.n_stable, "o", color="#d62728", ms=3)
            right.set_ylim(bottom=0)
            right.legend(fontsize=7)
            where = "no input" if not np.any(self.inputs) else f"input {np.round(self.inputs, 2).tolist()}"
            right.set_title(f"fixed points ({where})", fontsize=9)
        else:
            right.text(0.5, 0.5, "fixed points not searched", ha="center", va="center", transform=right.transAxes)
        right.set_xlabel("trials trained")
        right.set_ylabel("number")


def dynamics_over_training(checkpoints, task, *, metrics=("procrustes", "dsa"), signal="rates", n_trials=None,
                           seed=0, fixed_points=True, inputs=None, n_starts=128, noise_scale=0.0,
                           q_tolerance=1e-8, unique_tolerance=1e-2, max_iterations=5000, dsa_options=None,
                           progress=None, should_stop=None):
    """Each checkpoint against the final network, and its fixed points (see the module docstring).

    Args:
        checkpoints: ``Trainer.of(model).checkpoints`` (or the trainer), a list of
            checkpoints, or a list of ``(trials, network)`` pairs, oldest first; at least 2;
            the last is the final network.  Every network must have the task's inputs and
            the final network's units.
        task: the task whose noise-free trials every checkpoint runs (``n_trials`` of them,
            default 100, from a copy seeded with ``seed``; the task itself is untouched).
        metrics: measures of the distance to the final network, any of ``'procrustes'``,
            ``'dsa'``, ``'cka'``, ``'cca'`` (default ``('procrustes', 'dsa')``).
        signal: ``'rates'`` (default) or ``'states'``: what the measures compare.
        fixed_points: search for fixed points at every checkpoint (default True; needs
            TensorFlow).
        inputs: (N_in,) the constant input of the search, default zeros.
        n_starts: starting states per checkpoint (default 128), drawn from the states it
            visited, plus Gaussian noise of std ``noise_scale`` (default 0).
        q_tolerance, unique_tolerance, max_iterations: as
            :func:`~psychrnn_widgets.analysis.find_fixed_points` (defaults 1e-8, 1e-2, 5000).
        dsa_options: keyword arguments of :func:`~psychrnn_widgets.analysis.dsa_distance`
            (``n_delays``, ``rank``...).
        progress: ``progress(fraction, message)``; should_stop: ``should_stop() -> bool``,
            checked between checkpoints (the result then covers those done).

    Returns:
        :class:`TrainingDynamics`.

    Raises:
        ParameterError: naming the argument (checkpoints that are too few, out of order or
            of other sizes, a task without trials or of other inputs, a final network whose
            activity does not vary, a value outside its declaration).
    """
    where = "dynamics_over_training"
    (metrics_checked, signal, n_trials, seed, fixed_points, n_starts, noise_scale, q_tolerance, unique_tolerance,
     max_iterations, dsa_options, progress, should_stop) = declared(
        where, metrics=metrics, signal=signal, n_trials=n_trials, seed=seed, fixed_points=fixed_points,
        n_starts=n_starts, noise_scale=noise_scale, q_tolerance=q_tolerance, unique_tolerance=unique_tolerance,
        max_iterations=max_iterations, dsa_options=dsa_options, progress=progress, should_stop=should_stop)
    metrics = tuple(m for m in DISTANCES if m in metrics_checked)
    entries = checkpoint_list(checkpoints, where)
    x, _ = task_inputs(task, n_trials, seed, where)
    networks, simulators = [], []
    for i, (_, _, network) in enumerate(entries):
        network = _weights_of(network)  # a checkpoint on disk is read once
        networks.append(network)
        try:
            sim = as_simulator(network)
        except Exception as error:  # noqa: BLE001 - say which checkpoint
            fail(where, f"checkpoints[{i}]", f"is not a network the analyses can run: {error}", None,
                 "a Checkpoint, or a pair whose second item is a weights dict, a weight file or a model")
        if sim.N_in != x.shape[2]:
            fail(where, "task", f"gives {x.shape[2]} inputs, checkpoint {i} has {sim.N_in}", task,
                 f"a task with {sim.N_in} inputs")
        simulators.append(sim)
    sizes = {sim.N_rec for sim in simulators}
    if len(sizes) > 1:
        fail(where, "checkpoints", f"must all be the same network: their unit counts differ ({sorted(sizes)})", None,
             "checkpoints of one network")
    u = np.zeros(x.shape[2]) if inputs is None else array(inputs, "inputs", where, shape=(f"N_in={x.shape[2]}",))
    report = progress or (lambda fraction, message: None)
    stop = should_stop or (lambda: False)

    def activity(sim):
        _, states, rates = simulate(sim, x, rates=signal == "rates")
        return states, (rates if signal == "rates" else states)

    _, final = activity(simulators[-1])
    if not varies(final):
        fail(where, "checkpoints", "end with a network whose activity does not vary on these trials (a silent "
             "network?): no distance to it is defined", None, "a final network whose activity varies")
    C = len(entries)
    values = {name: np.full(C, np.nan) for name in metrics}
    n_fixed = np.zeros(C, np.int64) if fixed_points else None
    n_stable = np.zeros(C, np.int64) if fixed_points else None
    done, stopped = 0, False
    for i, sim in enumerate(simulators):
        if stop():
            stopped = True
            break
        report(i / C, f"checkpoint {i + 1} of {C} ({entries[i][0]} trials)")
        states, own = activity(sim)
        if metrics and varies(own):
            for name, value in _distances(own, final, metrics, dsa_options, last=i == C - 1).items():
                values[name][i] = value
        if fixed_points:
            counts = _count_fixed_points(networks[i], states, u, n_starts, noise_scale, seed, q_tolerance,
                                         unique_tolerance, max_iterations, stop)
            if stop():  # the search may have been cut short: this checkpoint does not count
                stopped = True
                break
            n_fixed[i], n_stable[i] = counts
        done = i + 1
    report(1.0, f"{done} of {C} checkpoints analysed")
    epochs = np.array([-1 if e is None else int(e) for _, e, _ in entries], np.int64)
    trimmed = {name: value[:done] for name, value in values.items()}
    return TrainingDynamics(
        trials=np.array([t for t, _, _ in entries], np.int64)[:done], epochs=epochs[:done], **trimmed,
        n_fixed=None if n_fixed is None else n_fixed[:done], n_stable=None if n_stable is None else n_stable[:done],
        inputs=u.astype(np.float64), n_trials=int(x.shape[0]), signal=signal, n_starts=n_starts,
        q_tolerance=float(q_tolerance), unique_tolerance=float(unique_tolerance), stopped=stopped)


def _distances(a, b, metrics, dsa_options, last):
    """``{measure: value}`` between activity arrays ``a`` and ``b`` (trials, time, units), with compare's measures.

    DSA is left out (NaN) for an earlier checkpoint whose activity holds fewer independent
    delay coordinates than the DMD rank (an early network that barely moves); for the final
    network itself that is an error (lower ``dsa_options['rank']``).
    """
    others = tuple(m for m in metrics if m != "dsa")
    values = compare(a, b, metrics=others).values() if others else {}
    if "dsa" in metrics:
        try:
            values["dsa"] = float(compare(a, b, metrics=("dsa",), dsa_options=dsa_options).dsa.value)
        except ParameterError:
            if last:
                raise
            values["dsa"] = np.nan
    return values


def _count_fixed_points(network, states, u, n_starts, noise_scale, seed, q_tolerance, unique_tolerance,
                        max_iterations, stop):
    """``(fixed points, stable ones)`` of ``network`` under input ``u``, searched from ``states`` it visited."""
    from .fixed_points import find_fixed_points, sample_states

    starts = sample_states(states, n_starts, noise_scale=noise_scale, seed=seed)
    found = find_fixed_points(network, starts, u, q_tolerance=q_tolerance, unique_tolerance=unique_tolerance,
                              max_iterations=max_iterations, should_stop=stop)
    return len(found), int(np.sum(found.stable))
