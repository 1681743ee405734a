"""Lesions and perturbations: choose units, silence, clamp or kick them, compare before and after.

Everything runs through the NumPy simulator's perturbations
(:mod:`psychrnn_widgets.simulation.perturbations`) on the *same* trials before and
after (seeded batches, recurrent noise off), so the difference is the perturbation's
alone, and an empty lesion gives results identical to the intact network's.

Kinds: ``'silence'`` (the units send nothing: ``Silence``), ``'clamp'`` (their state held
at ``value``: ``Clamp``), ``'kick'`` (``delta`` added to their state once, at step
``step``: ``Kick``).  Times are steps; ``start``/``stop`` bound silence and clamp windows.
"""
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from ..simulation.perturbations import Clamp, Kick, Silence
from ._results import AnalysisResult, level_colors
from ._source import as_simulator, excitatory_mask
from .behaviour import Behaviour, behaviour_and_states
from .conditions import condition_batch
from .pca import PCA, pca
from .units import condition_average

__all__ = ["KINDS", "select_units", "perturbations_for", "Lesion", "lesion"]

KINDS = ("silence", "clamp", "kick")


def select_units(source, by="index", units=None, selectivity=None, n=None, sign=1):
    """Unit indices (sorted int array) chosen by index, by E/I type or by selectivity.

    Args:
        source: a network (for N_rec and the E/I split).
        by: ``'index'`` (``units`` as given), ``'excitatory'``, ``'inhibitory'`` (all units of
            that type; none without Dale's law), ``'selectivity'`` (the ``n`` units with the
            largest ``sign * selectivity``: ``sign=1`` the choice-1-preferring ones, ``-1``
            the choice-0 ones; ``'abs'`` the most selective either way).
        units: indices for ``by='index'``.
        selectivity: (N_rec,) values for ``by='selectivity'``.
        n: how many units for ``by='selectivity'`` (default 10 % of N_rec, at least 1).
    """
    sim = as_simulator(source)
    if by == "index":
        chosen = np.asarray([] if units is None else units, dtype=np.intp).reshape(-1)
        if chosen.size and (chosen.min() < 0 or chosen.max() >= sim.N_rec):
            raise ParameterError(f"unit indices must lie in 0..{sim.N_rec - 1}, got {chosen.tolist()}")
        return np.unique(chosen)
    if by in ("excitatory", "inhibitory"):
        excitatory = excitatory_mask(sim)
        if sim.dale_ratio is None:
            return np.zeros(0, dtype=np.intp)
        return np.flatnonzero(excitatory if by == "excitatory" else ~excitatory)
    if by == "selectivity":
        if selectivity is None:
            raise ParameterError("choosing units by selectivity needs the selectivity values (unit_activity)")
        values = np.asarray(selectivity, dtype=np.float64)
        values = np.abs(values) if sign == "abs" else float(sign) * values
        count = max(1, sim.N_rec // 10) if n is None else int(n)
        return np.sort(np.argsort(-values, kind="stable")[:count])
    raise ParameterError(f"unknown unit choice {by!r}: use 'index', 'excitatory', 'inhibitory' or 'selectivity'")


def perturbations_for(units, kind="silence", value=0.0, delta=1.0, step=0, start=0, stop=None):
    """The simulator perturbations for a lesion: a list (empty when ``units`` is empty).

    ``kind``: ``'silence'``, ``'clamp'`` (state held at ``value``) or ``'kick'`` (``delta``
    added to the state at ``step``).
    """
    units = np.asarray(units, dtype=np.intp).reshape(-1)
    if kind not in KINDS:
        raise ParameterError(f"kind must be one of {KINDS}, got {kind!r}")
    if units.size == 0:
        return []
    if kind == "silence":
        return [Silence(units, start=start, stop=stop)]
    if kind == "clamp":
        return [Clamp(units, value=value, start=start, stop=stop)]
    return [Kick(step, delta, units=units)]


@dataclass(repr=False)
class Lesion(AnalysisResult):
    """The network's behaviour and trajectories before and after a perturbation.

    Attributes:
        units (U,): perturbed units; kind (str); perturbations (list of simulator objects).
        before, after: :class:`~psychrnn_widgets.analysis.behaviour.Behaviour`.
        accuracy_before, accuracy_after (float): fraction of correct choices over the
            curve's trials (every level, zero evidence included, so below 1 for a perfect
            network when the levels include zero or near-zero evidence).
        trajectories_before, trajectories_after (L, T, k): condition-averaged states on the
            principal components of the intact network's (``pca``).
        pca: :class:`~psychrnn_widgets.analysis.pca.PCA`.
    """

    units: np.ndarray
    kind: str
    perturbations: list
    before: Behaviour
    after: Behaviour
    accuracy_before: float
    accuracy_after: float
    trajectories_before: np.ndarray
    trajectories_after: np.ndarray
    pca: PCA
    figsize = (12.0, 3.6)

    def draw(self, figure):
        axes = figure.subplots(1, 3)
        self.before.psychometric.plot(axes[0], color="k", label=f"intact ({self.accuracy_before:.2f})")
        self.after.psychometric.plot(axes[0], color="#d62728", label=f"{self.kind} ({self.accuracy_after:.2f})")
        axes[0].legend(fontsize=7, title="accuracy", title_fontsize=7)
        axes[0].set_title(f"{self.kind} {len(self.units)} units", fontsize=9)
        self.before.traces.plot(axes[1], channel=1)
        self.after.traces.plot(axes[1], channel=1, linestyle="--")
        axes[1].set_title("output 1 (dashed: after)", fontsize=9)
        colors = level_colors(self.before.traces.levels)
        for trajectories, style in ((self.trajectories_before, "-"), (self.trajectories_after, "--")):
            for line, color in zip(trajectories, colors):
                axes[2].plot(line[:, 0], line[:, 1], style, lw=0.8, color=color)
        axes[2].set_xlabel("PC1")
        axes[2].set_ylabel("PC2")
        axes[2].set_title("trajectories (dashed: after)", fontsize=9)


def _averaged_states(states, batch):
    return condition_average(states, batch.level_index, len(batch.levels))[0]


def lesion(source, task=None, units=(), kind="silence", *, value=0.0, delta=1.0, step=0, start=0, stop=None,
           batch=None, trace_batch=None, levels=None, n_per_level=100, seed=0, n_components=3, baseline=None):
    """Compare the network before and after perturbing ``units``.

    Args:
        source: a network (model, weights dict, weight file or simulator).
        task: the task (or give ``batch`` with the task's timing for the curves and
            ``trace_batch`` with fixed timing for traces and trajectories).
        units: unit indices (see :func:`select_units`); empty: no perturbation.
        kind, value, delta, step, start, stop: see :func:`perturbations_for`.
        baseline: a previous :class:`Lesion` of the same network and trials whose ``before``
            is reused (the panel keeps one so that each new lesion runs once).

    Returns:
        :class:`Lesion`.  With no units, ``after`` is ``before`` (identical values).
    """
    sim = as_simulator(source)
    if batch is None:
        batch = condition_batch(task, levels=levels, n_per_level=n_per_level, seed=seed)
    if trace_batch is None:
        trace_batch = condition_batch(task, levels=batch.levels, n_per_level=max(1, n_per_level // 5), seed=seed,
                                      fixed_timing=True)
    units = np.unique(np.asarray(units, dtype=np.intp).reshape(-1))
    perturbations = perturbations_for(units, kind, value=value, delta=delta, step=step, start=start, stop=stop)
    if baseline is not None:
        before, fitted, trajectories_before = baseline.before, baseline.pca, baseline.trajectories_before
    else:
        before, run = behaviour_and_states(sim, batch=batch, trace_batch=trace_batch)
        states = _averaged_states(run[1], trace_batch)
        fitted = pca(states, n_components)
        trajectories_before = fitted.transform(states)
    if perturbations:
        after, run = behaviour_and_states(sim, batch=batch, trace_batch=trace_batch, perturbations=perturbations)
        trajectories_after = fitted.transform(_averaged_states(run[1], trace_batch))
    else:
        after, trajectories_after = before, trajectories_before
    return Lesion(units=units, kind=kind, perturbations=perturbations, before=before, after=after,
                  accuracy_before=before.psychometric.accuracy, accuracy_after=after.psychometric.accuracy,
                  trajectories_before=trajectories_before, trajectories_after=trajectories_after, pca=fitted)
